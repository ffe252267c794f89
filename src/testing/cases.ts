// The conformance cases: plain async functions that take a store and throw (an AssertionError) when it does not
// keep the contract. `runStoreConformance` registers them with a test runner; they can also be called directly.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  DuplicateAddressError,
  DuplicateCredentialError,
  DuplicateIdentifierError,
  FlowVersionConflictError,
} from '../store/errors.js';
import type {
  FlowRecord,
  Identity,
  JsonValue,
  Passkey,
  RecoveryAddress,
  Store,
  VerifiableAddress,
} from '../store/types.js';
import {
  makeFlow,
  makeIdentity,
  makePasskey,
  makeRecoveryAddress,
  makeVerifiableAddress,
  randomBase64url,
} from './fixtures.js';

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

const MINUTE = 60 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function scaleOf(context: Partial<CaseContext> | undefined): ConformanceScale {
  return { ...defaultScale, ...context?.scale };
}

function assertDate(value: unknown, expected: Date, what: string): void {
  assert.ok(value instanceof Date, `${what} must be a Date, got ${Object.prototype.toString.call(value)}`);
  assert.equal(value.getTime(), expected.getTime(), `${what} must round-trip to the millisecond`);
}

function assertBytes(value: unknown, expected: Uint8Array, what: string): void {
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
async function seed(
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
async function inChunks<T>(items: readonly T[], size: number, fn: (item: T, index: number) => Promise<unknown>) {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, i) => fn(item, start + i)));
  }
}

/** `Date.now()` moved by `offsetMs` while `fn` runs. */
async function withClockAhead<T>(offsetMs: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

/** Asserts that `promise` rejects with an instance of `type`, and returns the error. */
async function rejectsWith<E extends Error>(
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
async function assertNoTrace(store: Store, identity: Identity, passkey: Passkey, what: string): Promise<void> {
  assert.equal(await store.getIdentity(identity.id), null, `${what}: no orphan identity by id`);
  assert.equal(await store.findIdentityByUserHandle(identity.userHandle), null, `${what}: no orphan by user handle`);
  assert.deepEqual(await store.listPasskeys(identity.id), [], `${what}: no orphan passkeys`);
  const stored = await store.getPasskey(passkey.id);
  assert.ok(stored === null || stored.identityId !== identity.id, `${what}: the passkey is not bound to the identity`);
}

function settled<T>(results: PromiseSettledResult<T>[]) {
  const fulfilled = results.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return { fulfilled, rejected };
}

/** A 10 KB string of mixed scripts, emoji (astral plane), combining marks and a right-to-left run. */
function longUnicode(): string {
  const piece = 'Zoë 山田 🦄 👩🏽‍💻 مرحبا e\u0301 Ω ß ﬃ ';
  return piece.repeat(Math.ceil(10_240 / piece.length)).slice(0, 10_240);
}

// ---------------------------------------------------------------------------------------------------------------
// The cases

/**
 * Every conformance case, by name. Each is a plain async function: call it with a store to check one thing, or let
 * `runStoreConformance` register them all. A case only touches records it creates (random ids), so cases may share a
 * store.
 */
export const cases = {
  async 'createIdentity stores the identity and its passkey; every lookup finds them'(store: Store) {
    const identity = makeIdentity({
      traits: {
        username: 'ada',
        email: 'ada@example.com',
        age: 36,
        tags: ['a'],
        // Keys that are special in JavaScript objects are plain data here.
        ...(JSON.parse('{"__proto__": {"admin": true}, "constructor": "x", "toString": 1}') as Record<
          string,
          JsonValue
        >),
      },
    });
    const passkey = makePasskey(identity.id, {
      signCount: 0xffffffff,
      transports: ['usb', 'nfc'],
      backupEligible: false,
      backedUp: false,
      lastUsedAt: new Date(Date.now() - MINUTE),
    });
    await store.createIdentity(identity, passkey);
    assertIdentity(await store.getIdentity(identity.id), identity, 'getIdentity');
    assertIdentity(await store.findIdentityByUserHandle(identity.userHandle), identity, 'findIdentityByUserHandle');
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, 'findIdentityByIdentifier');
    assertPasskey(await store.getPasskey(passkey.id), passkey, 'getPasskey');
    const list = await store.listPasskeys(identity.id);
    assert.equal(list.length, 1, 'listPasskeys: one passkey');
    assertPasskey(list[0], passkey, 'listPasskeys[0]');
  },

  async 'lookups return null / [] / false / not_found for what does not exist, whatever the key looks like'(
    store: Store,
  ) {
    const { identity, passkeys } = await seed(store);
    const usage = { expectedSignCount: 0, signCount: 1, backedUp: true, lastUsedAt: new Date() };
    const keys = [
      randomBase64url(16),
      'not-a-uuid',
      '',
      ' ',
      "'; DROP TABLE x; --",
      '%',
      '_',
      '山田🦄',
      'a'.repeat(2048),
    ];
    for (const key of keys) {
      const what = JSON.stringify(key.length > 20 ? `${key.slice(0, 20)}...` : key);
      assert.equal(await store.getIdentity(key), null, `getIdentity(${what})`);
      assert.equal(await store.findIdentityByUserHandle(key), null, `findIdentityByUserHandle(${what})`);
      assert.equal(await store.findIdentityByIdentifier(key), null, `findIdentityByIdentifier(${what})`);
      assert.equal(
        await store.findIdentityByAddress('recovery', key),
        null,
        `findIdentityByAddress(recovery, ${what})`,
      );
      assert.equal(
        await store.findIdentityByAddress('verification', key),
        null,
        `findIdentityByAddress(verification, ${what})`,
      );
      assert.equal(
        await store.updateIdentity({ ...makeIdentity(), id: key }, identity.updatedAt),
        false,
        `updateIdentity of ${what}`,
      );
      assert.equal(await store.getPasskey(key), null, `getPasskey(${what})`);
      assert.deepEqual(await store.listPasskeys(key), [], `listPasskeys(${what})`);
      assert.equal(await store.updatePasskeyUsage(key, usage), false, `updatePasskeyUsage(${what})`);
      assert.equal(await store.renamePasskey(identity.id, key, 'x'), false, `renamePasskey(identity, ${what})`);
      assert.equal(await store.renamePasskey(key, key, 'x'), false, `renamePasskey(${what}, ${what})`);
      assert.equal(await store.removePasskey(identity.id, key), 'not_found', `removePasskey(identity, ${what})`);
      assert.equal(await store.removePasskey(key, key), 'not_found', `removePasskey(${what}, ${what})`);
      assert.equal(await store.getFlow(key), null, `getFlow(${what})`);
      assert.equal(await store.consumeChallenge(key, key), false, `consumeChallenge(${what})`);
    }
    assert.equal(await store.removePasskey(randomBase64url(), passkeys[0]!.id), 'not_found', 'unknown identity');
    assertIdentity(await store.getIdentity(identity.id), identity, 'updates of unknown ids changed nothing');
    for (const key of keys) assert.equal(await store.getIdentity(key), null, 'updateIdentity created nothing');
  },

  async 'keys are compared exactly: case and accents matter'(store: Store) {
    const a = makeIdentity({
      identifier: `case-${randomBase64url(6).toLowerCase()}`,
      userHandle: 'abc' + randomBase64url(16),
    });
    const b = makeIdentity({
      identifier: a.identifier.toUpperCase(),
      userHandle: a.userHandle.slice(0, 3).toUpperCase() + a.userHandle.slice(3),
    });
    const credential = randomBase64url(24).replace(/^./, 'k');
    const pa = makePasskey(a.id, { id: credential });
    const pb = makePasskey(b.id, { id: credential.replace(/^k/, 'K') });
    await store.createIdentity(a, pa);
    await store.createIdentity(b, pb); // must not collide: base64url and identifiers are case-sensitive here
    assert.equal((await store.findIdentityByUserHandle(a.userHandle))?.id, a.id, 'user handle, lower');
    assert.equal((await store.findIdentityByUserHandle(b.userHandle))?.id, b.id, 'user handle, upper');
    assert.equal((await store.findIdentityByIdentifier(a.identifier))?.id, a.id, 'identifier, lower');
    assert.equal((await store.findIdentityByIdentifier(b.identifier))?.id, b.id, 'identifier, upper');
    assert.equal((await store.getPasskey(pa.id))?.identityId, a.id, 'credential id, lower');
    assert.equal((await store.getPasskey(pb.id))?.identityId, b.id, 'credential id, upper');
    const accented = makeIdentity({ identifier: `résumé-${randomBase64url(6).toLowerCase()}` });
    await store.createIdentity(accented, makePasskey(accented.id));
    assert.equal(await store.findIdentityByIdentifier(accented.identifier.replace('é', 'e')), null, 'accents matter');
    assert.equal(await store.findIdentityByIdentifier(`${a.identifier} `), null, 'trailing space matters');
  },

  async 'createIdentity rejects a duplicate identifier with DuplicateIdentifierError and leaves no orphan'(
    store: Store,
  ) {
    const { identity } = await seed(store);
    const twin = makeIdentity({ identifier: identity.identifier });
    const twinPasskey = makePasskey(twin.id);
    const error = await rejectsWith(
      store.createIdentity(twin, twinPasskey),
      DuplicateIdentifierError,
      'createIdentity with a taken identifier',
    );
    assert.equal(error.code, 'ERR_PASSKEYS_DUPLICATE_IDENTIFIER');
    await assertNoTrace(store, twin, twinPasskey, 'after DuplicateIdentifierError');
    assert.equal(await store.getPasskey(twinPasskey.id), null, 'the rejected passkey was not stored');
    assert.equal((await store.findIdentityByIdentifier(identity.identifier))?.id, identity.id, 'the first one stays');
  },

  async 'createIdentity rejects a duplicate credential id with DuplicateCredentialError and leaves no orphan'(
    store: Store,
  ) {
    const { identity, passkeys } = await seed(store);
    const other = makeIdentity();
    const clash = makePasskey(other.id, { id: passkeys[0]!.id });
    const error = await rejectsWith(
      store.createIdentity(other, clash),
      DuplicateCredentialError,
      'createIdentity with a taken credential id',
    );
    assert.equal(error.code, 'ERR_PASSKEYS_DUPLICATE_CREDENTIAL');
    await assertNoTrace(store, other, clash, 'after DuplicateCredentialError');
    assert.equal(await store.findIdentityByIdentifier(other.identifier), null, 'no orphan by identifier');
    assert.equal((await store.getPasskey(passkeys[0]!.id))?.identityId, identity.id, 'the passkey is untouched');
    // The identifier of the failed attempt is free: the same person can retry with a new credential.
    await store.createIdentity(other, makePasskey(other.id));
    assert.equal((await store.findIdentityByIdentifier(other.identifier))?.id, other.id, 'retry succeeds');
  },

  async 'createIdentity: of 10 concurrent sign-ups with one identifier, exactly one succeeds'(store: Store) {
    const identifier = `race-${randomBase64url(9).toLowerCase()}`;
    const attempts = Array.from({ length: 10 }, () => {
      const identity = makeIdentity({ identifier });
      return { identity, passkey: makePasskey(identity.id) };
    });
    const results = await Promise.allSettled(attempts.map((a) => store.createIdentity(a.identity, a.passkey)));
    const { fulfilled, rejected } = settled(results);
    assert.equal(fulfilled.length, 1, `exactly one sign-up wins (${fulfilled.length} did)`);
    for (const r of rejected) {
      assert.ok(r.reason instanceof DuplicateIdentifierError, `losers get DuplicateIdentifierError: ${r.reason}`);
    }
    const winner = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
    assert.equal((await store.findIdentityByIdentifier(identifier))?.id, winner.identity.id);
    for (const a of attempts) {
      if (a !== winner) await assertNoTrace(store, a.identity, a.passkey, 'a losing sign-up');
    }
  },

  async 'recovery and verifiable addresses round-trip with their dates, through every lookup'(store: Store) {
    const base = Date.now() - 3 * 24 * 60 * MINUTE;
    const at = (ms: number) => new Date(base + ms);
    const identity = makeIdentity({
      recoveryAddresses: [
        makeRecoveryAddress({ createdAt: at(1), updatedAt: at(2_001) }),
        makeRecoveryAddress({ value: `zoë.山田+🦄-${randomBase64url(6).toLowerCase()}@例え.jp` }),
      ],
      verifiableAddresses: [
        makeVerifiableAddress({
          verified: true,
          status: 'completed',
          verifiedAt: at(5_123),
          createdAt: at(7),
          updatedAt: at(5_124),
        }),
        makeVerifiableAddress({ status: 'sent', createdAt: at(999), updatedAt: at(60_999) }),
        makeVerifiableAddress(),
      ],
      createdAt: at(1),
      updatedAt: at(61_001),
    });
    await store.createIdentity(identity, makePasskey(identity.id));
    assertIdentity(await store.getIdentity(identity.id), identity, 'getIdentity');
    assertIdentity(await store.findIdentityByUserHandle(identity.userHandle), identity, 'findIdentityByUserHandle');
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, 'findIdentityByIdentifier');
    for (const address of identity.recoveryAddresses) {
      assertIdentity(
        await store.findIdentityByAddress('recovery', address.value),
        identity,
        `findIdentityByAddress('recovery', ${address.value})`,
      );
    }
    for (const address of identity.verifiableAddresses) {
      assertIdentity(
        await store.findIdentityByAddress('verification', address.value),
        identity,
        `findIdentityByAddress('verification', ${address.value})`,
      );
    }
    // No addresses at all is `[]` both ways.
    const bare = makeIdentity();
    await store.createIdentity(bare, makePasskey(bare.id));
    const got = await store.getIdentity(bare.id);
    assert.deepEqual(got?.recoveryAddresses, [], 'an identity without recovery addresses has []');
    assert.deepEqual(got?.verifiableAddresses, [], 'an identity without verifiable addresses has []');
  },

  async 'findIdentityByAddress finds by each kind, exactly, and never across kinds'(store: Store) {
    const shared = `shared-${randomBase64url(9).toLowerCase()}@example.com`;
    const onlyVerifiable = `only-verify-${randomBase64url(9).toLowerCase()}@example.com`;
    const onlyRecovery = `only-recover-${randomBase64url(9).toLowerCase()}@example.com`;
    // Uniqueness is per kind: one identity's recovery address may be another's verifiable address.
    const a = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress({ value: shared }), makeRecoveryAddress({ value: onlyRecovery })],
      verifiableAddresses: [makeVerifiableAddress({ value: onlyVerifiable })],
    });
    const b = makeIdentity({ verifiableAddresses: [makeVerifiableAddress({ value: shared })] });
    await store.createIdentity(a, makePasskey(a.id));
    await assert.doesNotReject(
      store.createIdentity(b, makePasskey(b.id)),
      'a verifiable address may equal another identity’s recovery address: uniqueness is per kind',
    );
    assertIdentity(await store.findIdentityByAddress('recovery', shared), a, 'the recovery address');
    assertIdentity(await store.findIdentityByAddress('verification', shared), b, 'the same value, verifiable');
    assert.equal((await store.findIdentityByAddress('recovery', onlyRecovery))?.id, a.id, 'a recovery address');
    assert.equal(
      await store.findIdentityByAddress('verification', onlyRecovery),
      null,
      'a recovery address is not a verifiable address',
    );
    assert.equal((await store.findIdentityByAddress('verification', onlyVerifiable))?.id, a.id, 'a verifiable one');
    assert.equal(
      await store.findIdentityByAddress('recovery', onlyVerifiable),
      null,
      'a verifiable address is not a recovery address',
    );
    // Values are normalised by the library: the store compares exactly.
    for (const kind of ['recovery', 'verification'] as const) {
      assert.equal(await store.findIdentityByAddress(kind, shared.toUpperCase()), null, `${kind}: case matters`);
      assert.equal(await store.findIdentityByAddress(kind, ` ${shared}`), null, `${kind}: a leading space matters`);
      assert.equal(await store.findIdentityByAddress(kind, shared.slice(0, -1)), null, `${kind}: a prefix is not it`);
      assert.equal(await store.findIdentityByAddress(kind, `${shared}%`), null, `${kind}: no pattern matching`);
      assert.equal(await store.findIdentityByAddress(kind, a.identifier), null, `${kind}: the identifier is not it`);
    }
  },

  async 'createIdentity rejects an address another identity holds with DuplicateAddressError, per kind, and writes nothing'(
    store: Store,
  ) {
    const owner = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
    });
    await store.createIdentity(owner, makePasskey(owner.id));
    const taken = { recovery: owner.recoveryAddresses[0]!.value, verification: owner.verifiableAddresses[0]!.value };
    for (const kind of ['recovery', 'verification'] as const) {
      const freeRecovery = makeRecoveryAddress();
      const freeVerifiable = makeVerifiableAddress();
      const twin = makeIdentity({
        recoveryAddresses: [
          freeRecovery,
          ...(kind === 'recovery' ? [makeRecoveryAddress({ value: taken.recovery })] : []),
        ],
        verifiableAddresses: [
          ...(kind === 'verification' ? [makeVerifiableAddress({ value: taken.verification })] : []),
          freeVerifiable,
        ],
      });
      const twinPasskey = makePasskey(twin.id);
      const error = await rejectsWith(
        store.createIdentity(twin, twinPasskey),
        DuplicateAddressError,
        `createIdentity with a taken ${kind} address`,
      );
      assert.equal(error.code, 'ERR_PASSKEYS_DUPLICATE_ADDRESS', `${kind}: the code`);
      assert.equal(error.kind, kind, `${kind}: the error names the kind`);
      assert.equal(error.value, taken[kind], `${kind}: the error names the taken value`);
      await assertNoTrace(store, twin, twinPasskey, `after DuplicateAddressError (${kind})`);
      assert.equal(await store.getPasskey(twinPasskey.id), null, `${kind}: the rejected passkey was not stored`);
      assert.equal(await store.findIdentityByIdentifier(twin.identifier), null, `${kind}: no orphan by identifier`);
      assert.equal(
        await store.findIdentityByAddress('recovery', freeRecovery.value),
        null,
        `${kind}: none of the rejected identity's addresses was stored`,
      );
      assert.equal(await store.findIdentityByAddress('verification', freeVerifiable.value), null, `${kind}: none`);
      assert.equal((await store.findIdentityByAddress(kind, taken[kind]))?.id, owner.id, `${kind}: the owner keeps it`);
      // Retrying without the taken address succeeds: nothing of the failed attempt is in the way.
      const retry = { ...twin, recoveryAddresses: [freeRecovery], verifiableAddresses: [freeVerifiable] };
      await store.createIdentity(retry, makePasskey(retry.id));
      assertIdentity(await store.findIdentityByAddress('recovery', freeRecovery.value), retry, `${kind}: the retry`);
    }
    assertIdentity(await store.getIdentity(owner.id), owner, 'the owner is untouched');
  },

  async 'createIdentity: of 10 concurrent sign-ups with one address, exactly one succeeds'(store: Store) {
    for (const kind of ['recovery', 'verification'] as const) {
      const value = `race-${randomBase64url(9).toLowerCase()}@example.com`;
      const attempts = Array.from({ length: 10 }, () => {
        const identity = makeIdentity(
          kind === 'recovery'
            ? { recoveryAddresses: [makeRecoveryAddress({ value })] }
            : { verifiableAddresses: [makeVerifiableAddress({ value })] },
        );
        return { identity, passkey: makePasskey(identity.id) };
      });
      const results = await Promise.allSettled(attempts.map((a) => store.createIdentity(a.identity, a.passkey)));
      const { fulfilled, rejected } = settled(results);
      assert.equal(fulfilled.length, 1, `${kind}: exactly one sign-up wins (${fulfilled.length} did)`);
      for (const r of rejected) {
        assert.ok(r.reason instanceof DuplicateAddressError, `${kind}: losers get DuplicateAddressError: ${r.reason}`);
      }
      const winner = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
      assert.equal((await store.findIdentityByAddress(kind, value))?.id, winner.identity.id, `${kind}: the winner`);
      for (const a of attempts) {
        if (a !== winner) await assertNoTrace(store, a.identity, a.passkey, `${kind}: a losing sign-up`);
      }
    }
  },

  async 'updateIdentity is a compare-and-set on updatedAt, to the millisecond; a refused one changes nothing'(
    store: Store,
  ) {
    const identity = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
      updatedAt: new Date(Date.now() - 10 * MINUTE + 123),
    });
    await store.createIdentity(identity, makePasskey(identity.id));
    const stamp = identity.updatedAt.getTime();
    const change = (n: number): Identity => ({
      ...identity,
      traits: { ...identity.traits, newsletter: true, n },
      identifier: `${identity.identifier}-v${n}`,
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [],
      updatedAt: new Date(stamp + 1000 * n),
    });
    const assertUnchanged = async (what: string) => {
      assertIdentity(await store.getIdentity(identity.id), identity, what);
      assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, `${what} (by identifier)`);
      const [recovery] = identity.recoveryAddresses;
      assert.equal((await store.findIdentityByAddress('recovery', recovery!.value))?.id, identity.id, what);
    };
    for (const [offset, label] of [
      [-1, '1 ms before'],
      [1, '1 ms after'],
      [-1000, '1 s before'],
      [1000, '1 s after'],
    ] as const) {
      const stale = change(1);
      assert.equal(
        await store.updateIdentity(stale, new Date(stamp + offset)),
        false,
        `an expectedUpdatedAt ${label} the stored one: refused`,
      );
      await assertUnchanged(`refused (${label}) changed nothing`);
      assert.equal(
        await store.findIdentityByIdentifier(stale.identifier),
        null,
        `refused (${label}): no new identifier`,
      );
      assert.equal(
        await store.findIdentityByAddress('recovery', stale.recoveryAddresses[0]!.value),
        null,
        `refused (${label}): no new address`,
      );
    }
    const first = change(1);
    assert.equal(await store.updateIdentity(first, new Date(stamp)), true, 'the stored updatedAt: applied');
    assertIdentity(await store.getIdentity(identity.id), first, 'after the update');
    // The same write again: its expectedUpdatedAt is stale now.
    const again = change(2);
    assert.equal(await store.updateIdentity(again, new Date(stamp)), false, 'a replay from the old updatedAt: refused');
    assertIdentity(await store.getIdentity(identity.id), first, 'the replay changed nothing');
    assert.equal(await store.updateIdentity(again, first.updatedAt), true, 'from the new updatedAt: applied');
    assertIdentity(await store.getIdentity(identity.id), again, 'after the second update');
    // An identity that does not exist is not created.
    const ghost = makeIdentity();
    assert.equal(await store.updateIdentity(ghost, ghost.updatedAt), false, 'no such identity: false');
    assert.equal(await store.getIdentity(ghost.id), null, 'and it was not created');
    assert.equal(await store.findIdentityByIdentifier(ghost.identifier), null, 'not even by identifier');
  },

  async 'updateIdentity replaces traits, identifier and addresses; the old ones no longer find it; id, user handle, schema and createdAt stay'(
    store: Store,
  ) {
    const identity = makeIdentity({
      traits: { username: 'before', email: 'before@example.com', profile: { langs: ['en'] } },
      recoveryAddresses: [makeRecoveryAddress(), makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
      createdAt: new Date(Date.now() - 60 * MINUTE + 7),
      updatedAt: new Date(Date.now() - 30 * MINUTE + 9),
    });
    const passkey = makePasskey(identity.id);
    await store.createIdentity(identity, passkey);
    const kept = identity.recoveryAddresses[1]!;
    const verified = {
      ...identity.verifiableAddresses[0]!,
      verified: true,
      status: 'completed' as const,
      verifiedAt: new Date(Date.now() - MINUTE + 3),
      updatedAt: new Date(Date.now() - MINUTE + 3),
    };
    const updated: Identity = {
      ...identity,
      traits: { username: 'after', email: 'after@example.com', profile: { langs: ['fr', 'de'] }, extra: null },
      identifier: `${identity.identifier}-renamed`,
      recoveryAddresses: [kept, makeRecoveryAddress()],
      verifiableAddresses: [verified, makeVerifiableAddress()],
      updatedAt: new Date(identity.updatedAt.getTime() + 1),
    };
    // What the store must ignore: a caller cannot move the immutable fields.
    const attempt: Identity = structuredClone({
      ...updated,
      userHandle: randomBase64url(32),
      schemaId: 'another-schema',
      createdAt: new Date(0),
    });
    assert.equal(await store.updateIdentity(attempt, identity.updatedAt), true, 'applied');
    const movedHandle = attempt.userHandle;
    // Mutating what was passed in changes nothing.
    attempt.traits['username'] = 'mutated';
    attempt.recoveryAddresses[0]!.value = 'mutated@example.com';
    attempt.recoveryAddresses.push(makeRecoveryAddress());
    attempt.verifiableAddresses[0]!.verifiedAt!.setTime(0);
    attempt.updatedAt.setTime(0);
    assertIdentity(await store.getIdentity(identity.id), updated, 'by id');
    assertIdentity(await store.findIdentityByUserHandle(identity.userHandle), updated, 'by the unchanged user handle');
    assert.equal(await store.findIdentityByUserHandle(movedHandle), null, 'the user handle did not move');
    assertIdentity(await store.findIdentityByIdentifier(updated.identifier), updated, 'by the new identifier');
    assert.equal(await store.findIdentityByIdentifier(identity.identifier), null, 'the old identifier finds nothing');
    for (const address of updated.recoveryAddresses) {
      assertIdentity(
        await store.findIdentityByAddress('recovery', address.value),
        updated,
        'by a new recovery address',
      );
    }
    for (const address of updated.verifiableAddresses) {
      assertIdentity(await store.findIdentityByAddress('verification', address.value), updated, 'by a new verifiable');
    }
    const dropped = identity.recoveryAddresses[0]!;
    assert.equal(await store.findIdentityByAddress('recovery', dropped.value), null, 'a dropped address finds nothing');
    assert.equal((await store.listPasskeys(identity.id)).length, 1, 'the passkeys stay');
    // The freed identifier and address can be taken by another identity.
    const next = makeIdentity({
      identifier: identity.identifier,
      recoveryAddresses: [makeRecoveryAddress({ value: dropped.value })],
    });
    await store.createIdentity(next, makePasskey(next.id));
    assert.equal((await store.findIdentityByAddress('recovery', dropped.value))?.id, next.id, 'the freed address');
    assert.equal((await store.findIdentityByIdentifier(identity.identifier))?.id, next.id, 'the freed identifier');
    // All addresses removed.
    const none: Identity = { ...updated, recoveryAddresses: [], verifiableAddresses: [], updatedAt: new Date() };
    assert.equal(await store.updateIdentity(none, updated.updatedAt), true);
    assertIdentity(await store.getIdentity(identity.id), none, 'without addresses');
    assert.equal(await store.findIdentityByAddress('recovery', kept.value), null, 'no address left');
    assert.equal(await store.findIdentityByAddress('verification', verified.value), null, 'no address left');
  },

  async 'updateIdentity rejects an identifier or address another identity holds, and then changes nothing'(
    store: Store,
  ) {
    const owner = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
    });
    const other = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
    });
    await store.createIdentity(owner, makePasskey(owner.id));
    await store.createIdentity(other, makePasskey(other.id));
    const later = new Date(other.updatedAt.getTime() + 5);
    const attempts: [string, Identity, abstract new (...args: never[]) => Error][] = [
      ['a taken identifier', { ...other, identifier: owner.identifier, updatedAt: later }, DuplicateIdentifierError],
      [
        'a taken recovery address',
        {
          ...other,
          traits: { ...other.traits, newsletter: true },
          identifier: `${other.identifier}-x`,
          recoveryAddresses: [makeRecoveryAddress(), makeRecoveryAddress({ value: owner.recoveryAddresses[0]!.value })],
          updatedAt: later,
        },
        DuplicateAddressError,
      ],
      [
        'a taken verifiable address',
        {
          ...other,
          identifier: `${other.identifier}-y`,
          verifiableAddresses: [makeVerifiableAddress({ value: owner.verifiableAddresses[0]!.value })],
          updatedAt: later,
        },
        DuplicateAddressError,
      ],
    ];
    for (const [what, attempt, type] of attempts) {
      const error = await rejectsWith(
        store.updateIdentity(attempt, other.updatedAt),
        type,
        `updateIdentity with ${what}`,
      );
      if (error instanceof DuplicateAddressError) {
        const kind = what.includes('recovery') ? 'recovery' : 'verification';
        assert.equal(error.code, 'ERR_PASSKEYS_DUPLICATE_ADDRESS', `${what}: the code`);
        assert.equal(error.kind, kind, `${what}: the kind`);
        const value = kind === 'recovery' ? owner.recoveryAddresses[0]!.value : owner.verifiableAddresses[0]!.value;
        assert.equal(error.value, value, `${what}: the value`);
      } else {
        assert.equal((error as DuplicateIdentifierError).code, 'ERR_PASSKEYS_DUPLICATE_IDENTIFIER', `${what}: code`);
      }
      assertIdentity(await store.getIdentity(other.id), other, `${what}: the identity is unchanged`);
      assertIdentity(await store.getIdentity(owner.id), owner, `${what}: the owner is unchanged`);
      assertIdentity(await store.findIdentityByIdentifier(other.identifier), other, `${what}: by its identifier`);
      if (attempt.identifier !== owner.identifier) {
        assert.equal(await store.findIdentityByIdentifier(attempt.identifier), null, `${what}: no new identifier`);
      }
      // Each address of the attempt is held by whoever held it before (owner, other) or by no one.
      for (const [kind, field] of [
        ['recovery', 'recoveryAddresses'],
        ['verification', 'verifiableAddresses'],
      ] as const) {
        const holderBefore = (value: string) =>
          owner[field].some((a) => a.value === value)
            ? owner.id
            : other[field].some((a) => a.value === value)
              ? other.id
              : null;
        for (const address of attempt[field]) {
          const holder = await store.findIdentityByAddress(kind, address.value);
          assert.equal(holder?.id ?? null, holderBefore(address.value), `${what}: who holds ${address.value}`);
        }
      }
      for (const address of other.recoveryAddresses) {
        assertIdentity(await store.findIdentityByAddress('recovery', address.value), other, `${what}: its recovery`);
      }
      for (const address of other.verifiableAddresses) {
        assertIdentity(await store.findIdentityByAddress('verification', address.value), other, `${what}: its own`);
      }
    }
    // An identity does not collide with itself: keeping its identifier and addresses is fine.
    const same: Identity = { ...other, traits: { ...other.traits, newsletter: true }, updatedAt: later };
    assert.equal(await store.updateIdentity(same, other.updatedAt), true, 'keeping its own identifier and addresses');
    assertIdentity(await store.getIdentity(other.id), same, 'after a self-consistent update');
  },

  async 'updateIdentity: of 20 concurrent compare-and-sets from one updatedAt, exactly one applies'(store: Store) {
    const identity = makeIdentity({ recoveryAddresses: [makeRecoveryAddress()] });
    await store.createIdentity(identity, makePasskey(identity.id));
    let current = identity;
    for (let round = 0; round < 5; round++) {
      const attempts = Array.from(
        { length: 20 },
        (_, i): Identity => ({
          ...current,
          traits: { ...current.traits, round, i },
          identifier: `${identity.identifier}-${round}-${i}`,
          recoveryAddresses: [makeRecoveryAddress()],
          updatedAt: new Date(current.updatedAt.getTime() + 1 + i),
        }),
      );
      const results = await Promise.all(attempts.map((a) => store.updateIdentity(a, current.updatedAt)));
      const winners = results.flatMap((ok, i) => (ok ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: exactly one compare-and-set applies (${winners.length} did)`);
      const won = attempts[winners[0]!]!;
      assertIdentity(await store.getIdentity(identity.id), won, `round ${round}: the stored identity is the winner's`);
      for (const [i, a] of attempts.entries()) {
        if (i === winners[0]) continue;
        assert.equal(await store.findIdentityByIdentifier(a.identifier), null, `round ${round}: a loser's identifier`);
        assert.equal(
          await store.findIdentityByAddress('recovery', a.recoveryAddresses[0]!.value),
          null,
          `round ${round}: a loser's address`,
        );
      }
      current = won;
    }
  },

  async 'addPasskey adds to an identity; a credential id is unique across identities'(store: Store) {
    const { identity, passkeys } = await seed(store);
    const other = await seed(store);
    const added = makePasskey(identity.id, {
      name: 'Second',
      createdAt: new Date(passkeys[0]!.createdAt.getTime() + 1),
    });
    await store.addPasskey(added);
    assertPasskey(await store.getPasskey(added.id), added, 'the added passkey');
    assert.equal((await store.listPasskeys(identity.id)).length, 2);
    // The same credential id, on the other identity and on the same one.
    const stolen = makePasskey(other.identity.id, { id: added.id, name: 'Stolen' });
    await rejectsWith(store.addPasskey(stolen), DuplicateCredentialError, 'addPasskey with an id of another identity');
    await rejectsWith(store.addPasskey({ ...added, name: 'Again' }), DuplicateCredentialError, 'addPasskey twice');
    assertPasskey(await store.getPasskey(added.id), added, 'the original passkey, untouched');
    assert.equal((await store.listPasskeys(other.identity.id)).length, 1, 'the other identity gained nothing');
  },

  async 'addPasskey: of 10 concurrent adds of one credential id to different identities, exactly one succeeds'(
    store: Store,
  ) {
    const owners = await Promise.all(Array.from({ length: 10 }, () => seed(store)));
    const credentialId = randomBase64url(32);
    const results = await Promise.allSettled(
      owners.map((o) => store.addPasskey(makePasskey(o.identity.id, { id: credentialId }))),
    );
    const { fulfilled, rejected } = settled(results);
    assert.equal(fulfilled.length, 1, `exactly one add wins (${fulfilled.length} did)`);
    for (const r of rejected) {
      assert.ok(r.reason instanceof DuplicateCredentialError, `losers get DuplicateCredentialError: ${r.reason}`);
    }
    const winner = owners[results.findIndex((r) => r.status === 'fulfilled')]!;
    assert.equal((await store.getPasskey(credentialId))?.identityId, winner.identity.id);
    let holders = 0;
    for (const o of owners) {
      if ((await store.listPasskeys(o.identity.id)).some((p) => p.id === credentialId)) holders++;
    }
    assert.equal(holders, 1, 'one identity holds the credential');
  },

  async 'listPasskeys returns an identity’s passkeys oldest first, and only its own'(store: Store) {
    const identity = makeIdentity();
    const base = Date.now() - 10 * MINUTE;
    const at = (minutes: number) => new Date(base + minutes * MINUTE);
    const p1 = makePasskey(identity.id, { name: 'one', createdAt: at(1) });
    const p2 = makePasskey(identity.id, { name: 'two', createdAt: at(2) });
    const p3 = makePasskey(identity.id, { name: 'three', createdAt: at(3) });
    const p0 = makePasskey(identity.id, { name: 'zero', createdAt: at(0) });
    await store.createIdentity(identity, p2);
    await store.addPasskey(p3);
    await store.addPasskey(p1);
    await store.addPasskey(p0); // inserted last, created first
    await seed(store, 3); // someone else's
    const list = await store.listPasskeys(identity.id);
    assert.deepEqual(
      list.map((p) => p.name),
      ['zero', 'one', 'two', 'three'],
      'ordered by createdAt, oldest first',
    );
    [p0, p1, p2, p3].forEach((p, i) => {
      assertPasskey(list[i], p, `listPasskeys[${i}]`);
    });
  },

  async 'updatePasskeyUsage is a compare-and-set on the sign count'(store: Store) {
    const { passkeys } = await seed(store);
    const passkey = passkeys[0]!;
    const t1 = new Date(Date.now() - 2 * MINUTE);
    assert.equal(
      await store.updatePasskeyUsage(passkey.id, {
        expectedSignCount: 0,
        signCount: 5,
        backedUp: false,
        lastUsedAt: t1,
      }),
      true,
      'expected count matches: applied',
    );
    assertPasskey(await store.getPasskey(passkey.id), { ...passkey, signCount: 5, backedUp: false, lastUsedAt: t1 });
    const t2 = new Date(Date.now() - MINUTE);
    assert.equal(
      await store.updatePasskeyUsage(passkey.id, {
        expectedSignCount: 0,
        signCount: 9,
        backedUp: true,
        lastUsedAt: t2,
      }),
      false,
      'stale expected count: refused',
    );
    assertPasskey(
      await store.getPasskey(passkey.id),
      { ...passkey, signCount: 5, backedUp: false, lastUsedAt: t1 },
      'refused update changed nothing',
    );
    assert.equal(
      await store.updatePasskeyUsage(passkey.id, {
        expectedSignCount: 5,
        signCount: 5,
        backedUp: true,
        lastUsedAt: t2,
      }),
      true,
      'an unchanged counter (authenticators that do not count) still applies',
    );
    assertPasskey(await store.getPasskey(passkey.id), { ...passkey, signCount: 5, backedUp: true, lastUsedAt: t2 });
    assert.equal(
      await store.updatePasskeyUsage(passkey.id, {
        expectedSignCount: 5,
        signCount: 0xffffffff,
        backedUp: true,
        lastUsedAt: t2,
      }),
      true,
      'the full 32-bit range',
    );
    assert.equal((await store.getPasskey(passkey.id))?.signCount, 0xffffffff);
  },

  async 'updatePasskeyUsage: of 20 concurrent compare-and-sets from one count, exactly one applies'(store: Store) {
    const { passkeys } = await seed(store);
    const id = passkeys[0]!.id;
    assert.equal(
      await store.updatePasskeyUsage(id, {
        expectedSignCount: 0,
        signCount: 100,
        backedUp: true,
        lastUsedAt: new Date(),
      }),
      true,
    );
    for (let round = 0; round < 5; round++) {
      const current = (await store.getPasskey(id))!.signCount;
      const attempts = Array.from({ length: 20 }, (_, i) => ({
        expectedSignCount: current,
        signCount: current + 1 + i,
        backedUp: i % 2 === 0,
        lastUsedAt: new Date(Date.now() + i),
      }));
      const results = await Promise.all(attempts.map((usage) => store.updatePasskeyUsage(id, usage)));
      const winners = results.flatMap((ok, i) => (ok ? [i] : []));
      assert.equal(winners.length, 1, `round ${round}: exactly one compare-and-set applies (${winners.length} did)`);
      const won = attempts[winners[0]!]!;
      const stored = (await store.getPasskey(id))!;
      assert.equal(stored.signCount, won.signCount, 'the stored counter is the winner’s: it never regresses');
      assert.equal(stored.backedUp, won.backedUp, 'backedUp is the winner’s');
      assertDate(stored.lastUsedAt, won.lastUsedAt, 'lastUsedAt is the winner’s');
      assert.ok(stored.signCount > current, 'the counter moved forward');
    }
  },

  async 'renamePasskey renames only a passkey of the given identity'(store: Store) {
    const { identity, passkeys } = await seed(store, 2);
    const other = await seed(store);
    assert.equal(await store.renamePasskey(identity.id, passkeys[1]!.id, 'Work laptop 💻'), true);
    assert.equal((await store.getPasskey(passkeys[1]!.id))?.name, 'Work laptop 💻');
    assertPasskey(await store.getPasskey(passkeys[0]!.id), passkeys[0]!, 'the sibling is untouched');
    assert.equal(
      await store.renamePasskey(identity.id, other.passkeys[0]!.id, 'hijacked'),
      false,
      'another identity’s passkey: false',
    );
    assertPasskey(await store.getPasskey(other.passkeys[0]!.id), other.passkeys[0]!, 'and it is untouched');
    assert.equal(await store.renamePasskey(other.identity.id, passkeys[0]!.id, 'hijacked'), false, 'the other way');
    assert.equal((await store.getPasskey(passkeys[0]!.id))?.name, passkeys[0]!.name);
  },

  async 'removePasskey removes, answers not_found for another identity’s passkey, refuses the last one'(store: Store) {
    const { identity, passkeys } = await seed(store, 3);
    const other = await seed(store, 2);
    assert.equal(await store.removePasskey(identity.id, other.passkeys[0]!.id), 'not_found', 'another identity’s');
    assertPasskey(await store.getPasskey(other.passkeys[0]!.id), other.passkeys[0]!, 'it stays');
    assert.equal((await store.listPasskeys(other.identity.id)).length, 2, 'the other identity keeps both');
    assert.equal(await store.removePasskey(identity.id, passkeys[1]!.id), 'removed');
    assert.equal(await store.getPasskey(passkeys[1]!.id), null, 'gone');
    assert.equal(await store.removePasskey(identity.id, passkeys[1]!.id), 'not_found', 'removing twice');
    assert.equal(await store.removePasskey(identity.id, passkeys[0]!.id), 'removed');
    assert.equal(await store.removePasskey(identity.id, passkeys[2]!.id), 'last_credential', 'the last one');
    const left = await store.listPasskeys(identity.id);
    assert.equal(left.length, 1, 'one left');
    assertPasskey(left[0], passkeys[2]!, 'the last passkey, untouched');
    assert.ok(await store.getIdentity(identity.id), 'the identity stays');
  },

  async 'removePasskey: concurrent removal of an identity’s last two passkeys leaves exactly one (20 times)'(
    store: Store,
  ) {
    for (let round = 0; round < 20; round++) {
      const { identity, passkeys } = await seed(store, 2);
      const results = await Promise.all(passkeys.map((p) => store.removePasskey(identity.id, p.id)));
      assert.deepEqual(
        [...results].sort(),
        ['last_credential', 'removed'],
        `round ${round}: one removal wins, the other is refused (got ${results.join(', ')})`,
      );
      const left = await store.listPasskeys(identity.id);
      assert.equal(left.length, 1, `round ${round}: exactly one passkey left`);
      assert.equal(left[0]!.id, passkeys[results.indexOf('last_credential')]!.id, 'the refused one is the one left');
    }
    // Three at once: two go, one stays.
    const { identity, passkeys } = await seed(store, 3);
    const results = await Promise.all(passkeys.map((p) => store.removePasskey(identity.id, p.id)));
    assert.deepEqual([...results].sort(), ['last_credential', 'removed', 'removed']);
    assert.equal((await store.listPasskeys(identity.id)).length, 1);
  },

  async 'saveFlow / getFlow round-trip; saveFlow replaces'(store: Store) {
    const flow = makeFlow({
      anonymous: false,
      data: {
        type: 'api',
        nested: { list: [1, -2.5, 0, 9007199254740991, true, false, null, 'x'], empty: {}, none: [] },
        text: 'Zoë 山田 🦄 مرحبا "quoted" \\ back\nslash\t',
      },
    });
    await store.saveFlow(flow);
    const stored = await store.getFlow(flow.id);
    assertFlow(stored, flow);
    // A replacement is a save of the version read (see the versioning case).
    const replaced: FlowRecord = {
      ...flow,
      version: stored!.version,
      expiresAt: new Date(flow.expiresAt.getTime() + 5 * MINUTE),
      challenge: null,
      anonymous: true,
      data: { state: 'sent_email' },
    };
    await store.saveFlow(replaced);
    const storedReplaced = await store.getFlow(flow.id);
    assertFlow(storedReplaced, replaced, 'the replaced flow');
    const again = {
      ...replaced,
      version: storedReplaced!.version,
      challenge: randomBase64url(),
      data: { state: 'passkey', step: 2 },
    };
    await store.saveFlow(again);
    assertFlow(await store.getFlow(flow.id), again, 'replaced again');
  },

  async 'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed'(
    store: Store,
  ) {
    const flow = makeFlow();
    await store.saveFlow(flow);
    const challenge = flow.challenge!;
    assert.equal(await store.consumeChallenge(flow.id, challenge.slice(1)), false, 'a wrong challenge');
    assert.equal(await store.consumeChallenge(flow.id, challenge.toUpperCase()), false, 'case matters');
    assert.equal(await store.consumeChallenge(flow.id, ''), false, 'empty');
    assert.equal((await store.getFlow(flow.id))?.challenge, challenge, 'a failed consume changes nothing');
    const version = (await store.getFlow(flow.id))!.version;
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consumeChallenge(flow.id, challenge)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one consume wins (${results.filter(Boolean).length} did)`);
    const after = await store.getFlow(flow.id);
    assertFlow(after, { ...flow, challenge: null }, 'after consumption the challenge is null, the rest unchanged');
    assert.equal(after!.version, version + 1, 'only the winning consume moved the version, by one');
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'consumed: gone at once');
    // A new ceremony on the same flow.
    const next = randomBase64url();
    await store.saveFlow({ ...after!, challenge: next });
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'the old challenge stays dead');
    const again = await Promise.all(Array.from({ length: 10 }, () => store.consumeChallenge(flow.id, next)));
    assert.equal(again.filter(Boolean).length, 1, 'the new challenge is consumed exactly once');
    assert.equal((await store.getFlow(flow.id))!.version, version + 3, 'consume, save, consume: three versions on');
  },

  async 'saveFlow is versioned: getFlow returns the version; a save of the version read bumps it; a stale or clashing save is refused and changes nothing'(
    store: Store,
  ) {
    const flow = makeFlow({ data: { state: 'choose_method', n: 0 } });
    assert.equal(flow.version, 0, 'a new flow has version 0');
    await store.saveFlow(flow);
    const v1 = await store.getFlow(flow.id);
    assertFlow(v1, flow, 'the inserted flow');
    assert.equal(v1!.version, 1, 'inserting a new flow (version 0) stores version 1');
    assert.equal((await store.getFlow(flow.id))!.version, 1, 'reading does not move the version');
    // A save of the version read.
    const second: FlowRecord = { ...v1!, challenge: randomBase64url(), data: { state: 'sent_email', n: 1 } };
    await store.saveFlow(second);
    const v2 = await store.getFlow(flow.id);
    assertFlow(v2, second, 'the replaced flow');
    assert.equal(v2!.version, 2, 'saving version 1 stores version 2');
    // Stale writes: the version read before the last save, a new flow with this id, a version never stored.
    const refused: [string, FlowRecord][] = [
      ['a stale version (1)', { ...v1!, data: { state: 'stale', n: 99 } }],
      ['a new flow (version 0) whose id exists', { ...makeFlow({ id: flow.id }), data: { state: 'clash' } }],
      ['a version ahead of the stored one (3)', { ...v2!, version: 3, challenge: null, data: { state: 'ahead' } }],
      ['a version far ahead (1000)', { ...v2!, version: 1000, data: { state: 'far' } }],
    ];
    for (const [what, attempt] of refused) {
      const error = await rejectsWith(store.saveFlow(attempt), FlowVersionConflictError, `saveFlow with ${what}`);
      assert.equal(error.code, 'ERR_PASSKEYS_FLOW_VERSION_CONFLICT', `${what}: the code`);
      assert.equal(error.flowId, flow.id, `${what}: the error names the flow`);
      const after = await store.getFlow(flow.id);
      assertFlow(after, second, `${what}: the stored flow is unchanged`);
      assert.equal(after!.version, 2, `${what}: the version is unchanged`);
    }
    // The version moves by one with every save, and each save must be of the version just read.
    let current = v2!;
    for (let n = 3; n <= 6; n++) {
      const next: FlowRecord = { ...current, expiresAt: new Date(current.expiresAt.getTime() + 1), data: { n } };
      await store.saveFlow(next);
      current = (await store.getFlow(flow.id))!;
      assertFlow(current, next, `save #${n}`);
      assert.equal(current.version, n, `save #${n}: version ${n}`);
    }
    // A version other than 0 for an id that does not exist inserts nothing.
    const absent = makeFlow({ version: 1 });
    await rejectsWith(store.saveFlow(absent), FlowVersionConflictError, 'saveFlow of version 1 for an absent id');
    assert.equal(await store.getFlow(absent.id), null, 'nothing was inserted');
    await store.saveFlow({ ...absent, version: 0 });
    assert.equal((await store.getFlow(absent.id))?.version, 1, 'the same id at version 0 inserts');
  },

  async 'saveFlow: of 20 concurrent saves of one version exactly one succeeds, the others get FlowVersionConflictError'(
    store: Store,
  ) {
    // Inserts of one new id.
    const id = makeFlow().id;
    const inserts = Array.from({ length: 20 }, (_, i) => makeFlow({ id, data: { writer: i } }));
    const inserted = await Promise.allSettled(inserts.map((f) => store.saveFlow(f)));
    const first = settled(inserted);
    assert.equal(first.fulfilled.length, 1, `exactly one insert of a new id wins (${first.fulfilled.length} did)`);
    for (const r of first.rejected) {
      assert.ok(r.reason instanceof FlowVersionConflictError, `losers get FlowVersionConflictError: ${r.reason}`);
    }
    const insertWinner = inserts[inserted.findIndex((r) => r.status === 'fulfilled')]!;
    let current = await store.getFlow(id);
    assertFlow(current, insertWinner, 'the stored flow is the winning insert');
    assert.equal(current!.version, 1);
    // Replacements of one version read, round after round.
    for (let round = 0; round < 5; round++) {
      const read = current!;
      const attempts = Array.from(
        { length: 20 },
        (_, i): FlowRecord => ({ ...read, challenge: randomBase64url(), data: { round, writer: i } }),
      );
      const results = await Promise.allSettled(attempts.map((f) => store.saveFlow(f)));
      const { fulfilled, rejected } = settled(results);
      assert.equal(fulfilled.length, 1, `round ${round}: exactly one save of version ${read.version} wins`);
      for (const r of rejected) {
        assert.ok(r.reason instanceof FlowVersionConflictError, `round ${round}: losers get the conflict: ${r.reason}`);
      }
      const won = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
      current = await store.getFlow(id);
      assertFlow(current, won, `round ${round}: the stored flow is the winner's (no lost or mixed update)`);
      assert.equal(current!.version, read.version + 1, `round ${round}: the version moved by one`);
    }
  },

  async 'consumeChallenge bumps the version: a save from before the consume is refused, so a consumed challenge is never written back'(
    store: Store,
  ) {
    const flow = makeFlow({ data: { state: 'sent_email', submissions: 0 } });
    await store.saveFlow(flow);
    const read = (await store.getFlow(flow.id))!;
    assert.equal(read.version, 1);
    assert.equal(await store.consumeChallenge(flow.id, 'not-' + flow.challenge!), false, 'a wrong challenge');
    assert.equal((await store.getFlow(flow.id))!.version, 1, 'a failed consume does not move the version');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), true, 'consumed');
    const consumed = (await store.getFlow(flow.id))!;
    assertFlow(consumed, { ...flow, challenge: null }, 'after the consume');
    assert.equal(consumed.version, 2, 'a successful consume moves the version by one');
    // A request that read the flow before the consume writes it back, challenge and all: refused.
    await rejectsWith(
      store.saveFlow({ ...read, data: { state: 'sent_email', submissions: 1 } }),
      FlowVersionConflictError,
      'a save of the version read before the consume',
    );
    assert.equal((await store.getFlow(flow.id))!.challenge, null, 'the consumed challenge stays consumed');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false, 'and cannot be consumed again');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false, 'a consume of nothing is false');
    assert.equal((await store.getFlow(flow.id))!.version, 2, 'failed consumes moved nothing');
    // A save of the version after the consume goes through.
    const renewed = { ...consumed, challenge: randomBase64url(), data: { state: 'sent_email', submissions: 1 } };
    await store.saveFlow(renewed);
    assert.equal((await store.getFlow(flow.id))!.version, 3);
    // Racing: a consume and a save of the version read before it. Whatever the order, a consume that won leaves the
    // challenge consumed.
    for (let round = 0; round < 20; round++) {
      const racing = makeFlow();
      await store.saveFlow(racing);
      const before = (await store.getFlow(racing.id))!;
      const [consume, save] = await Promise.allSettled([
        store.consumeChallenge(racing.id, racing.challenge!),
        store.saveFlow({ ...before, data: { round } }),
      ]);
      // The save keeps the challenge it read: if it goes first, the consume still finds it.
      assert.ok(consume.status === 'fulfilled' && consume.value === true, `round ${round}: the consume wins`);
      assert.ok(
        save.status === 'fulfilled' || save.reason instanceof FlowVersionConflictError,
        `round ${round}: the save succeeds (before the consume) or gets FlowVersionConflictError (after it)`,
      );
      const after = (await store.getFlow(racing.id))!;
      assert.equal(after.challenge, null, `round ${round}: the consumed challenge must not be written back`);
      assert.equal(after.version, save.status === 'fulfilled' ? 3 : 2, `round ${round}: one version per write`);
      assert.equal(await store.consumeChallenge(racing.id, racing.challenge!), false, `round ${round}: single use`);
    }
  },

  async 'expired flows are still returned 59 minutes after they expired'(store: Store) {
    const justExpired = makeFlow({ expiresAt: new Date(Date.now() - 1000) });
    const expiredLong = makeFlow({ expiresAt: new Date(Date.now() - 59 * MINUTE), anonymous: false });
    await store.saveFlow(justExpired);
    await store.saveFlow(expiredLong);
    // Other traffic, which may drive an adapter's sweeping.
    for (let i = 0; i < 20; i++) {
      const other = makeFlow();
      await store.saveFlow(other);
      await store.consumeChallenge(other.id, other.challenge!);
      await store.getFlow(other.id);
    }
    assertFlow(await store.getFlow(justExpired.id), justExpired, 'expired a second ago');
    assertFlow(await store.getFlow(expiredLong.id), expiredLong, 'expired 59 minutes ago');
  },

  async 'expired flows are still returned when Date.now() is 59 minutes past their expiry'(store: Store) {
    const lifetime = 10 * MINUTE;
    const flow = makeFlow({ expiresAt: new Date(Date.now() + lifetime) });
    await store.saveFlow(flow);
    await withClockAhead(lifetime + 59 * MINUTE, async () => {
      for (let i = 0; i < 20; i++) await store.saveFlow(makeFlow());
      assertFlow(await store.getFlow(flow.id), flow, 'an hour later');
    });
    await withClockAhead(lifetime + 2 * MINUTE, async () => {
      assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), true, 'the store does not judge expiry');
    });
  },

  async 'listPasskeyIds (optional) lists exactly the ids listPasskeys does'(store: Store) {
    if (!store.listPasskeyIds) return;
    const identity = makeIdentity();
    const first = makePasskey(identity.id);
    await store.createIdentity(identity, first);
    const second = makePasskey(identity.id);
    await store.addPasskey(second);
    const other = makeIdentity();
    await store.createIdentity(other, makePasskey(other.id));
    assert.deepEqual([...(await store.listPasskeyIds(identity.id))].sort(), [first.id, second.id].sort());
    assert.deepEqual(await store.listPasskeyIds(randomUUID()), []);
    await store.removePasskey(identity.id, first.id);
    assert.deepEqual(await store.listPasskeyIds(identity.id), [second.id]);
  },

  async 'deleteFlow (optional) deletes a flow; deleting an absent flow is a no-op'(store: Store) {
    if (!store.deleteFlow) return;
    const flow = makeFlow();
    const other = makeFlow();
    await store.saveFlow(flow);
    await store.saveFlow(other);
    await store.deleteFlow(flow.id);
    assert.equal(await store.getFlow(flow.id), null);
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false);
    await store.deleteFlow(flow.id);
    await store.deleteFlow(randomBase64url());
    assertFlow(await store.getFlow(other.id), other, 'other flows stay');
  },

  async 'returned objects are copies: mutating inputs or results never changes the store'(store: Store) {
    const identity = makeIdentity({
      traits: { username: 'copy', profile: { langs: ['en'] } },
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress({ verified: true, status: 'completed', verifiedAt: new Date() })],
    });
    const passkey = makePasskey(identity.id, { lastUsedAt: new Date(Date.now() - MINUTE) });
    const identityBefore = structuredClone(identity);
    const passkeyBefore = structuredClone(passkey);
    await store.createIdentity(identity, passkey);
    // Mutate what was passed in.
    (identity.traits['profile'] as { langs: string[] }).langs.push('fr');
    identity.traits['username'] = 'mutated';
    identity.createdAt.setTime(0);
    identity.recoveryAddresses[0]!.value = 'mutated@example.com';
    identity.recoveryAddresses[0]!.createdAt.setTime(0);
    identity.verifiableAddresses[0]!.verifiedAt!.setTime(0);
    identity.verifiableAddresses[0]!.verified = false;
    identity.verifiableAddresses.push(makeVerifiableAddress());
    passkey.publicKey[0] = passkey.publicKey[0]! ^ 0xff;
    passkey.transports.push('usb');
    passkey.createdAt.setTime(0);
    passkey.lastUsedAt!.setTime(0);
    assertIdentity(await store.getIdentity(identity.id), identityBefore, 'after mutating the input identity');
    assertPasskey(await store.getPasskey(passkey.id), passkeyBefore, 'after mutating the input passkey');
    // Mutate what came out.
    const got = (await store.getIdentity(identity.id))!;
    (got.traits['profile'] as { langs: string[] }).langs.push('de');
    got.traits['username'] = 'mutated';
    got.createdAt.setTime(0);
    got.identifier = 'mutated';
    got.recoveryAddresses[0]!.value = 'mutated@example.com';
    got.recoveryAddresses[0]!.updatedAt.setTime(0);
    got.verifiableAddresses[0]!.status = 'pending';
    got.verifiableAddresses[0]!.verifiedAt!.setTime(0);
    got.verifiableAddresses.length = 0;
    const found = (await store.findIdentityByUserHandle(identityBefore.userHandle))!;
    found.traits['username'] = 'mutated';
    const byAddress = (await store.findIdentityByAddress('recovery', identityBefore.recoveryAddresses[0]!.value))!;
    byAddress.recoveryAddresses.push(makeRecoveryAddress());
    byAddress.traits['username'] = 'mutated';
    const gotPasskey = (await store.getPasskey(passkey.id))!;
    gotPasskey.publicKey[1] = gotPasskey.publicKey[1]! ^ 0xff;
    gotPasskey.transports.length = 0;
    gotPasskey.signCount = 999;
    gotPasskey.createdAt.setTime(0);
    const listed = await store.listPasskeys(identity.id);
    listed[0]!.name = 'mutated';
    listed[0]!.lastUsedAt!.setTime(0);
    listed.length = 0;
    assertIdentity(await store.getIdentity(identity.id), identityBefore, 'after mutating a returned identity');
    assertIdentity(
      await store.findIdentityByIdentifier(identityBefore.identifier),
      identityBefore,
      'after mutating a returned identity (by identifier)',
    );
    assertIdentity(
      await store.findIdentityByAddress('verification', identityBefore.verifiableAddresses[0]!.value),
      identityBefore,
      'after mutating a returned identity (by address)',
    );
    assert.equal(
      await store.findIdentityByAddress('recovery', 'mutated@example.com'),
      null,
      'a mutated address is not indexed',
    );
    assertPasskey(await store.getPasskey(passkey.id), passkeyBefore, 'after mutating a returned passkey');
    assert.equal((await store.listPasskeys(identity.id)).length, 1);
    // Flows.
    const flow = makeFlow({ data: { list: [1, 2], nested: { a: 'b' } } });
    const flowBefore = structuredClone(flow);
    await store.saveFlow(flow);
    (flow.data['list'] as number[]).push(3);
    flow.expiresAt.setTime(0);
    assertFlow(await store.getFlow(flow.id), flowBefore, 'after mutating the saved flow');
    const gotFlow = (await store.getFlow(flow.id))!;
    (gotFlow.data['nested'] as Record<string, string>)['a'] = 'mutated';
    gotFlow.challenge = null;
    gotFlow.expiresAt.setTime(0);
    const storedVersion = gotFlow.version;
    gotFlow.version = storedVersion + 10;
    assertFlow(await store.getFlow(flow.id), flowBefore, 'after mutating a returned flow');
    assert.equal((await store.getFlow(flow.id))!.version, storedVersion, 'the version is the stored one');
    assert.equal(await store.consumeChallenge(flow.id, flowBefore.challenge!), true, 'the challenge is still pending');
  },

  async 'unicode identifiers, names and 10 KB traits round-trip'(store: Store) {
    const long = longUnicode();
    const identity = makeIdentity({
      identifier: `zoë-山田-🦄-مرحبا-${randomBase64url(6).toLowerCase()}`,
      traits: {
        username: 'Zoë 山田 🦄',
        bio: long,
        nested: { rtl: 'مرحبا بالعالم', emoji: ['👩🏽‍💻', '🇫🇷', '🏳️‍🌈'], combining: 'e\u0301', 'clé 🔑': 'valeur' },
      },
    });
    const passkey = makePasskey(identity.id, { name: '🔑 Clé de Zoë — 山田のパスキー'.padEnd(40, '·') });
    await store.createIdentity(identity, passkey);
    assertIdentity(await store.getIdentity(identity.id), identity, 'unicode identity');
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, 'found by unicode identifier');
    assert.equal(await store.findIdentityByIdentifier(identity.identifier.normalize('NFD')), null, 'no normalisation');
    assertPasskey(await store.getPasskey(passkey.id), passkey, 'unicode passkey name');
    const flow = makeFlow({ data: { traits: identity.traits, message: long } });
    await store.saveFlow(flow);
    assertFlow(await store.getFlow(flow.id), flow, 'unicode flow data');
  },

  async 'a large identity: 500 passkeys listed in order, all but one removable at once'(
    store: Store,
    context?: Partial<CaseContext>,
  ) {
    const count = scaleOf(context).passkeysPerIdentity;
    assert.ok(count >= 2, 'passkeysPerIdentity must be at least 2');
    const identity = makeIdentity();
    const base = Date.now() - count * 1000;
    const passkeys = Array.from({ length: count }, (_, i) =>
      makePasskey(identity.id, { name: `Key ${i}`, createdAt: new Date(base + i * 1000) }),
    );
    await store.createIdentity(identity, passkeys[count - 1]!);
    // Add the rest in an order that is not the creation order.
    const rest = passkeys.slice(0, count - 1).reverse();
    await inChunks(rest, 50, (p) => store.addPasskey(p));
    const list = await store.listPasskeys(identity.id);
    assert.equal(list.length, count, `all ${count} passkeys are listed`);
    list.forEach((p, i) => {
      assert.equal(p.id, passkeys[i]!.id, `listPasskeys[${i}] in creation order`);
    });
    assertPasskey(list[count - 1], passkeys[count - 1]!, 'the first one stored');
    // Remove every one of them at once: all but one go.
    const results = await Promise.all(passkeys.map((p) => store.removePasskey(identity.id, p.id)));
    assert.equal(results.filter((r) => r === 'removed').length, count - 1, 'all but one removed');
    assert.equal(results.filter((r) => r === 'last_credential').length, 1, 'one refused as the last');
    assert.equal((await store.listPasskeys(identity.id)).length, 1);
  },

  async 'many identities: create 100,000 (scale.identities), then find each sample by every key'(
    store: Store,
    context?: Partial<CaseContext>,
  ) {
    const count = scaleOf(context).identities;
    const prefix = `bulk-${randomBase64url(6).toLowerCase()}-`;
    const identities = Array.from({ length: count }, (_, i) =>
      makeIdentity({
        identifier: `${prefix}${i}`,
        recoveryAddresses: [makeRecoveryAddress({ value: `${prefix}${i}@example.com` })],
        verifiableAddresses: [makeVerifiableAddress({ value: `${prefix}${i}@example.com` })],
      }),
    );
    const passkeys = identities.map((identity) => makePasskey(identity.id));
    await inChunks(identities, 500, (identity, i) => store.createIdentity(identity, passkeys[i]!));
    const step = Math.max(1, Math.floor(count / 500));
    const sample: number[] = [];
    for (let i = 0; i < count; i += step) sample.push(i);
    sample.push(count - 1);
    await inChunks(sample, 50, async (i) => {
      const identity = identities[i]!;
      assertIdentity(await store.getIdentity(identity.id), identity, `identity #${i} by id`);
      assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, `#${i} by identifier`);
      assertIdentity(await store.findIdentityByUserHandle(identity.userHandle), identity, `#${i} by user handle`);
      const address = `${prefix}${i}@example.com`;
      assertIdentity(await store.findIdentityByAddress('recovery', address), identity, `#${i} by recovery address`);
      assertIdentity(await store.findIdentityByAddress('verification', address), identity, `#${i} by verifiable one`);
      assertPasskey(await store.getPasskey(passkeys[i]!.id), passkeys[i]!, `passkey #${i}`);
    });
    assert.equal(await store.findIdentityByIdentifier(`${prefix}${count}`), null, 'one past the end');
    assert.equal(
      await store.findIdentityByAddress('recovery', `${prefix}${count}@example.com`),
      null,
      'no such address',
    );
    const lateAddress = makeIdentity({
      recoveryAddresses: [makeRecoveryAddress({ value: `${prefix}${Math.floor(count / 3)}@example.com` })],
    });
    await rejectsWith(
      store.createIdentity(lateAddress, makePasskey(lateAddress.id)),
      DuplicateAddressError,
      'a duplicate address is still detected at scale',
    );
    const late = makeIdentity({ identifier: `${prefix}${Math.floor(count / 2)}` });
    await rejectsWith(
      store.createIdentity(late, makePasskey(late.id)),
      DuplicateIdentifierError,
      'a duplicate is still detected at scale',
    );
  },
} satisfies Record<string, ConformanceCase>;

/** The name of a conformance case. */
export type CaseName = keyof typeof cases;

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
  ];
  if (store.deleteFlow) calls.push(['deleteFlow', () => store.deleteFlow!(flow.id)]);
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
