// Identity state (Kratos's `active` / `inactive`): who may sign in, recover and keep sessions.

import type { Identity, IdentityState } from './store/types.js';

/** The identity's state; a record written before identities had one reads as `active`. */
export function stateOf(identity: Pick<Identity, 'state'>): IdentityState {
  return identity.state === 'inactive' ? 'inactive' : 'active';
}

/** May this identity sign in, recover its account and keep its sessions? */
export function isActive(identity: Pick<Identity, 'state'>): boolean {
  return stateOf(identity) === 'active';
}
