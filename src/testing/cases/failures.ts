// The check that a broken store rejects every call instead of answering "not found".

import assert from 'node:assert/strict';
import type { JsonValue, Store } from '../../store/types.js';
import { makeFlow, makeIdentity, makePasskey, makeRecoveryAddress, makeSession } from '../fixtures.js';
import { counterCalls } from './limits.js';
import { seed } from './support.js';

/** How long one call on a broken store may take before the check gives up on it. */
const BROKEN_CALL_TIMEOUT_MS = 15_000;

/**
 * Checks that a store reports its failures: seeds a few records, calls `breakStore(store)` (close the pool, drop the
 * tables, ...), then calls every method and asserts that each one rejects (within 15 s) instead of answering "not
 * found", `false` or `[]`.
 */
export async function checkFailuresReject(
  store: Store,
  breakStore: (store: Store) => void | Promise<void>,
): Promise<void> {
  const { identity, passkeys } = await seed(store, 2, { recoveryAddresses: [makeRecoveryAddress()] });
  const address = identity.recoveryAddresses[0]!.value;
  const flow = makeFlow();
  await store.saveFlow(flow);
  const passkey = passkeys[0]!;
  const session = makeSession(identity.id);
  await store.createSession(session);
  await breakStore(store);
  const fresh = makeIdentity();
  const calls: [string, () => Promise<unknown>][] = [
    ['createIdentity', () => store.createIdentity(fresh, makePasskey(fresh.id))],
    ['getIdentity', () => store.getIdentity(identity.id)],
    ['findIdentityByUserHandle', () => store.findIdentityByUserHandle(identity.userHandle)],
    ['findIdentityByIdentifier', () => store.findIdentityByIdentifier(identity.identifier)],
    ['findIdentityByAddress', () => store.findIdentityByAddress('recovery', address)],
    [
      'updateIdentity',
      () => store.updateIdentity({ ...identity, traits: { ...identity.traits, n: 1 } }, identity.updatedAt),
    ],
    ['getPasskey', () => store.getPasskey(passkey.id)],
    ['listPasskeys', () => store.listPasskeys(identity.id)],
    ['addPasskey', () => store.addPasskey(makePasskey(identity.id))],
    [
      'updatePasskeyUsage',
      () =>
        store.updatePasskeyUsage(passkey.id, {
          expectedSignCount: 0,
          signCount: 1,
          backedUp: true,
          lastUsedAt: new Date(),
        }),
    ],
    ['renamePasskey', () => store.renamePasskey(identity.id, passkey.id, 'renamed')],
    ['removePasskey', () => store.removePasskey(identity.id, passkey.id)],
    ['saveFlow', () => store.saveFlow(makeFlow())],
    ['getFlow', () => store.getFlow(flow.id)],
    ['consumeChallenge', () => store.consumeChallenge(flow.id, flow.challenge!)],
    ['deleteIdentity', () => store.deleteIdentity(identity.id)],
    ['listIdentities', () => store.listIdentities({ limit: 10 })],
  ];
  calls.push(
    ['createSession', () => store.createSession(makeSession(identity.id))],
    ['getSession', () => store.getSession(session.id)],
    ['updateSession', () => store.updateSession({ ...session, authenticatedAt: new Date() })],
    ['listSessions', () => store.listSessions(identity.id, { limit: 10 })],
    ['revokeSession', () => store.revokeSession(identity.id, session.id)],
    ['revokeSessions', () => store.revokeSessions(identity.id)],
    ['deleteSessions', () => store.deleteSessions(identity.id)],
    ['extendSession', () => store.extendSession(session.id, new Date(Date.now() + 60_000))],
  );
  if (store.deleteFlow) calls.push(['deleteFlow', () => store.deleteFlow!(flow.id)]);
  calls.push(...counterCalls(store));
  const failures: string[] = [];
  for (const [name, call] of calls) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      call().then(
        (value) => ({ rejected: false, value }),
        () => ({ rejected: true, value: undefined }),
      ),
      new Promise<{ rejected: false; value: string }>((resolve) => {
        timer = setTimeout(() => resolve({ rejected: false, value: 'no answer within 15 s' }), BROKEN_CALL_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!outcome.rejected) failures.push(`${name} resolved (${formatValue(outcome.value)}) instead of rejecting`);
  }
  assert.deepEqual(failures, [], `a broken store must reject every call:\n${failures.join('\n')}`);
}

function formatValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value as JsonValue)?.slice(0, 60) ?? String(value);
  } catch {
    return String(value);
  }
}
