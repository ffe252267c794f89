// What the conformance cases share: the scale, the assertions on records, seeding and concurrency helpers.

import assert from 'node:assert/strict';
import type { FlowRecord, Identity, Passkey, RecoveryAddress, Store, VerifiableAddress } from '../../store/types.js';
import { makeIdentity, makePasskey } from '../fixtures.js';

/** How big the scale cases go. */
export interface ConformanceScale {
  /** Identities created by the "many identities" case. Default 100,000. */
  identities: number;
  /** Passkeys put on one identity by the "large identity" case. Default 500. */
  passkeysPerIdentity: number;
}

/** What a case gets besides the store. */
export interface CaseContext {
  scale: ConformanceScale;
}

/** One conformance case: resolves when the store conforms, rejects (usually with an `AssertionError`) otherwise. */
export type ConformanceCase = (store: Store, context?: Partial<CaseContext>) => Promise<void>;

/** The default scale: 100,000 identities, 500 passkeys on one identity. */
export const defaultScale: Readonly<ConformanceScale> = Object.freeze({
  identities: 100_000,
  passkeysPerIdentity: 500,
});

export const MINUTE = 60 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function scaleOf(context: Partial<CaseContext> | undefined): ConformanceScale {
  return { ...defaultScale, ...context?.scale };
}

export function assertDate(value: unknown, expected: Date, what: string): void {
  assert.ok(value instanceof Date, `${what} must be a Date, got ${Object.prototype.toString.call(value)}`);
  assert.equal(value.getTime(), expected.getTime(), `${what} must round-trip to the millisecond`);
}

export function assertBytes(value: unknown, expected: Uint8Array, what: string): void {
  assert.ok(value instanceof Uint8Array, `${what} must be a Uint8Array (a Buffer is one)`);
  assert.deepEqual(Array.from(value), Array.from(expected), `${what} must round-trip byte for byte`);
}

/** Asserts that `actual` is a faithful copy of `expected`. */
export function assertIdentity(actual: Identity | null, expected: Identity, what = 'identity'): void {
  assert.ok(actual, `${what}: expected an identity, got ${String(actual)}`);
  assert.equal(actual.id, expected.id, `${what}.id`);
  assert.equal(actual.schemaId, expected.schemaId, `${what}.schemaId`);
  assert.deepStrictEqual(actual.traits, expected.traits, `${what}.traits`);
  assert.equal(actual.identifier, expected.identifier, `${what}.identifier`);
  assert.equal(actual.userHandle, expected.userHandle, `${what}.userHandle`);
  assertAddresses(actual.recoveryAddresses, expected.recoveryAddresses ?? [], `${what}.recoveryAddresses`);
  assertAddresses(actual.verifiableAddresses, expected.verifiableAddresses ?? [], `${what}.verifiableAddresses`);
  assert.equal(actual.state ?? 'active', expected.state ?? 'active', `${what}.state`);
  if (expected.stateChangedAt) assertDate(actual.stateChangedAt, expected.stateChangedAt, `${what}.stateChangedAt`);
  else
    assert.ok(
      actual.stateChangedAt == null,
      `${what}.stateChangedAt must be null, got ${String(actual.stateChangedAt)}`,
    );
  assert.deepStrictEqual(actual.metadataPublic ?? null, expected.metadataPublic ?? null, `${what}.metadataPublic`);
  assert.deepStrictEqual(actual.metadataAdmin ?? null, expected.metadataAdmin ?? null, `${what}.metadataAdmin`);
  assertDate(actual.createdAt, expected.createdAt, `${what}.createdAt`);
  assertDate(actual.updatedAt, expected.updatedAt, `${what}.updatedAt`);
}

/**
 * Asserts that `actual` holds faithful copies of the `expected` addresses (recovery or verifiable), in any order:
 * every field, dates to the millisecond, `verifiedAt` `null` or a date.
 */
export function assertAddresses(
  actual: readonly (RecoveryAddress | VerifiableAddress)[] | undefined,
  expected: readonly (RecoveryAddress | VerifiableAddress)[],
  what = 'addresses',
): void {
  assert.ok(Array.isArray(actual), `${what} must be an array, got ${String(actual)}`);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const got = [...actual].sort(byId);
  const want = [...expected].sort(byId);
  assert.deepEqual(
    got.map((a) => a?.id),
    want.map((a) => a.id),
    `${what}: the ids of the addresses`,
  );
  want.forEach((expectedAddress, i) => {
    const address = got[i]! as Partial<VerifiableAddress>;
    const at = `${what}[id ${expectedAddress.id}]`;
    assert.equal(address.value, expectedAddress.value, `${at}.value`);
    assert.equal(address.via, expectedAddress.via, `${at}.via`);
    assertDate(address.createdAt, expectedAddress.createdAt, `${at}.createdAt`);
    assertDate(address.updatedAt, expectedAddress.updatedAt, `${at}.updatedAt`);
    if ('verified' in expectedAddress) {
      assert.equal(address.verified, expectedAddress.verified, `${at}.verified (a boolean)`);
      assert.equal(address.status, expectedAddress.status, `${at}.status`);
      if (expectedAddress.verifiedAt === null) assert.equal(address.verifiedAt, null, `${at}.verifiedAt`);
      else assertDate(address.verifiedAt, expectedAddress.verifiedAt, `${at}.verifiedAt`);
    }
  });
}

/** Asserts that `actual` is a faithful copy of `expected`. */
export function assertPasskey(actual: Passkey | null | undefined, expected: Passkey, what = 'passkey'): void {
  assert.ok(actual, `${what}: expected a passkey, got ${String(actual)}`);
  assert.equal(actual.id, expected.id, `${what}.id`);
  assert.equal(actual.identityId, expected.identityId, `${what}.identityId`);
  assertBytes(actual.publicKey, expected.publicKey, `${what}.publicKey`);
  assert.equal(actual.signCount, expected.signCount, `${what}.signCount (a number)`);
  assert.deepStrictEqual(actual.transports, expected.transports, `${what}.transports`);
  assert.equal(actual.aaguid, expected.aaguid, `${what}.aaguid`);
  assert.equal(actual.name, expected.name, `${what}.name`);
  assert.equal(actual.backupEligible, expected.backupEligible, `${what}.backupEligible`);
  assert.equal(actual.backedUp, expected.backedUp, `${what}.backedUp`);
  assert.equal(
    actual.backupFlagsUnknown === true,
    expected.backupFlagsUnknown === true,
    `${what}.backupFlagsUnknown (true, or false / absent)`,
  );
  assertDate(actual.createdAt, expected.createdAt, `${what}.createdAt`);
  if (expected.lastUsedAt === null) assert.equal(actual.lastUsedAt, null, `${what}.lastUsedAt`);
  else assertDate(actual.lastUsedAt, expected.lastUsedAt, `${what}.lastUsedAt`);
}

/** Asserts that `actual` is a faithful copy of `expected`. */
export function assertFlow(actual: FlowRecord | null, expected: FlowRecord, what = 'flow'): void {
  assert.ok(actual, `${what}: expected a flow, got ${String(actual)}`);
  assert.equal(actual.id, expected.id, `${what}.id`);
  assert.ok(
    typeof actual.version === 'number' && Number.isSafeInteger(actual.version) && actual.version >= 1,
    `${what}.version must be a positive integer (a stored flow was saved at least once), got ${typeof actual.version} ${String(actual.version)}`,
  );
  assertDate(actual.expiresAt, expected.expiresAt, `${what}.expiresAt`);
  assert.equal(actual.challenge, expected.challenge, `${what}.challenge`);
  assert.equal(actual.anonymous, expected.anonymous, `${what}.anonymous`);
  assert.deepStrictEqual(actual.data, expected.data, `${what}.data`);
}

/**
 * Creates an identity (with `overrides`) with `count` passkeys (created one millisecond apart, oldest first) and
 * returns them.
 */
export async function seed(
  store: Store,
  count = 1,
  overrides: Partial<Identity> = {},
): Promise<{ identity: Identity; passkeys: Passkey[] }> {
  const identity = makeIdentity(overrides);
  const base = Date.now() - count;
  const passkeys = Array.from({ length: count }, (_, i) =>
    makePasskey(identity.id, { name: `Passkey ${i + 1}`, createdAt: new Date(base + i) }),
  );
  const [first, ...rest] = passkeys;
  await store.createIdentity(identity, first!);
  for (const passkey of rest) await store.addPasskey(passkey);
  return { identity, passkeys };
}

/** Runs `fn` over `items` in chunks of `size` parallel calls. */
export async function inChunks<T>(items: readonly T[], size: number, fn: (item: T, index: number) => Promise<unknown>) {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, i) => fn(item, start + i)));
  }
}

/** `Date.now()` moved by `offsetMs` while `fn` runs. */
export async function withClockAhead<T>(offsetMs: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

/** Asserts that `promise` rejects with an instance of `type`, and returns the error. */
export async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
  what: string,
): Promise<E> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  assert.ok(error !== undefined, `${what}: expected a rejection with ${type.name}, but it resolved`);
  assert.ok(error instanceof type, `${what}: expected ${type.name}, got ${String(error)}`);
  return error;
}

/** Asserts that nothing of `identity` (and of its passkey) was left behind. */
export async function assertNoTrace(store: Store, identity: Identity, passkey: Passkey, what: string): Promise<void> {
  assert.equal(await store.getIdentity(identity.id), null, `${what}: no orphan identity by id`);
  assert.equal(await store.findIdentityByUserHandle(identity.userHandle), null, `${what}: no orphan by user handle`);
  assert.deepEqual(await store.listPasskeys(identity.id), [], `${what}: no orphan passkeys`);
  const stored = await store.getPasskey(passkey.id);
  assert.ok(stored === null || stored.identityId !== identity.id, `${what}: the passkey is not bound to the identity`);
}

export function settled<T>(results: PromiseSettledResult<T>[]) {
  const fulfilled = results.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return { fulfilled, rejected };
}

/** A 10 KB string of mixed scripts, emoji (astral plane), combining marks and a right-to-left run. */
export function longUnicode(): string {
  const piece = 'Zoë 山田 🦄 👩🏽‍💻 مرحبا e\u0301 Ω ß ﬃ ';
  return piece.repeat(Math.ceil(10_240 / piece.length)).slice(0, 10_240);
}
