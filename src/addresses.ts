// An identity's recovery and verifiable addresses: derived from its traits, kept in step when the traits change.

import { randomUUID } from 'node:crypto';
import type { IdentitySchema } from './schema.js';
import type { Identity, JsonValue, RecoveryAddress, VerifiableAddress } from './store/types.js';

/**
 * The addresses the traits call for. An address whose value is unchanged keeps its id, creation time and
 * verification; a new or changed one starts unverified (`pending`), and one no longer in the traits is dropped, so it
 * stops working for recovery at once.
 */
export function addressesFor(
  schema: IdentitySchema,
  traits: Record<string, JsonValue>,
  previous?: Pick<Identity, 'recoveryAddresses' | 'verifiableAddresses'>,
  now = new Date(),
): Pick<Identity, 'recoveryAddresses' | 'verifiableAddresses'> {
  const { recovery, verification } = schema.addresses(traits);
  const recoveryAddresses = recovery.map(
    (value): RecoveryAddress =>
      previous?.recoveryAddresses.find((a) => a.value === value) ?? {
        id: randomUUID(),
        value,
        via: 'email',
        createdAt: now,
        updatedAt: now,
      },
  );
  const verifiableAddresses = verification.map(
    (value): VerifiableAddress =>
      previous?.verifiableAddresses.find((a) => a.value === value) ?? {
        id: randomUUID(),
        value,
        via: 'email',
        verified: false,
        status: 'pending',
        verifiedAt: null,
        createdAt: now,
        updatedAt: now,
      },
  );
  return { recoveryAddresses, verifiableAddresses };
}

/** Kratos's JSON of an identity's addresses. */
export function addressesJson(identity: Identity) {
  return {
    recovery_addresses: (identity.recoveryAddresses ?? []).map((a) => ({
      id: a.id,
      value: a.value,
      via: a.via,
      created_at: a.createdAt.toISOString(),
      updated_at: a.updatedAt.toISOString(),
    })),
    verifiable_addresses: (identity.verifiableAddresses ?? []).map((a) => ({
      id: a.id,
      value: a.value,
      verified: a.verified,
      via: a.via,
      status: a.status,
      ...(a.verifiedAt ? { verified_at: a.verifiedAt.toISOString() } : {}),
      created_at: a.createdAt.toISOString(),
      updated_at: a.updatedAt.toISOString(),
    })),
  };
}

/**
 * Apply `change` to the stored identity and write it back with compare-and-set, re-reading and redoing it when a
 * racing update got there first. `change` returns the new identity, or null to leave it. Returns the stored result
 * (null when the identity is gone). Duplicate errors from the store propagate.
 */
export async function updateIdentityWith(
  store: { getIdentity(id: string): Promise<Identity | null>; updateIdentity(i: Identity, at: Date): Promise<boolean> },
  id: string,
  change: (identity: Identity) => Identity | null,
): Promise<Identity | null> {
  for (let attempt = 0; attempt < 16; attempt++) {
    const current = await store.getIdentity(id);
    if (!current) return null;
    const next = change(current);
    if (!next) return current;
    // Strictly later than the stored time, so that compare-and-set on it can never see an old value again.
    const updatedAt = new Date(Math.max(Date.now(), current.updatedAt.getTime() + 1));
    const written = { ...next, updatedAt };
    if (await store.updateIdentity(written, current.updatedAt)) return written;
  }
  throw new Error('express-passkeys: the identity kept changing under concurrent updates; giving up.');
}
