// The conformance cases: plain async functions that take a store and throw (an AssertionError) when it does not
// keep the contract. `runStoreConformance` registers them with a test runner; they can also be called directly.

import assert from 'node:assert/strict';
import { DuplicateCredentialError, DuplicateIdentifierError } from '../store/errors.js';
import type { FlowRecord, Identity, JsonValue, Passkey, Store } from '../store/types.js';
import { makeFlow, makeIdentity, makePasskey, randomBase64url } from './fixtures.js';

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
  assertDate(actual.createdAt, expected.createdAt, `${what}.createdAt`);
  assertDate(actual.updatedAt, expected.updatedAt, `${what}.updatedAt`);
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
  assertDate(actual.expiresAt, expected.expiresAt, `${what}.expiresAt`);
  assert.equal(actual.challenge, expected.challenge, `${what}.challenge`);
  assert.equal(actual.anonymous, expected.anonymous, `${what}.anonymous`);
  assert.deepStrictEqual(actual.data, expected.data, `${what}.data`);
}

/** Creates an identity with `count` passkeys (created one millisecond apart, oldest first) and returns them. */
async function seed(store: Store, count = 1): Promise<{ identity: Identity; passkeys: Passkey[] }> {
  const identity = makeIdentity();
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
    assertFlow(await store.getFlow(flow.id), flow);
    const replaced: FlowRecord = {
      ...flow,
      expiresAt: new Date(flow.expiresAt.getTime() + 5 * MINUTE),
      challenge: null,
      anonymous: true,
      data: { state: 'sent_email' },
    };
    await store.saveFlow(replaced);
    assertFlow(await store.getFlow(flow.id), replaced, 'the replaced flow');
    const again = { ...replaced, challenge: randomBase64url(), data: { state: 'passkey', step: 2 } };
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
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consumeChallenge(flow.id, challenge)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one consume wins (${results.filter(Boolean).length} did)`);
    const after = await store.getFlow(flow.id);
    assertFlow(after, { ...flow, challenge: null }, 'after consumption the challenge is null, the rest unchanged');
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'consumed: gone at once');
    // A new ceremony on the same flow.
    const next = randomBase64url();
    await store.saveFlow({ ...after!, challenge: next });
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'the old challenge stays dead');
    const again = await Promise.all(Array.from({ length: 10 }, () => store.consumeChallenge(flow.id, next)));
    assert.equal(again.filter(Boolean).length, 1, 'the new challenge is consumed exactly once');
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
    const identity = makeIdentity({ traits: { username: 'copy', profile: { langs: ['en'] } } });
    const passkey = makePasskey(identity.id, { lastUsedAt: new Date(Date.now() - MINUTE) });
    const identityBefore = structuredClone(identity);
    const passkeyBefore = structuredClone(passkey);
    await store.createIdentity(identity, passkey);
    // Mutate what was passed in.
    (identity.traits['profile'] as { langs: string[] }).langs.push('fr');
    identity.traits['username'] = 'mutated';
    identity.createdAt.setTime(0);
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
    const found = (await store.findIdentityByUserHandle(identityBefore.userHandle))!;
    found.traits['username'] = 'mutated';
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
    assertFlow(await store.getFlow(flow.id), flowBefore, 'after mutating a returned flow');
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
    const identities = Array.from({ length: count }, (_, i) => makeIdentity({ identifier: `${prefix}${i}` }));
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
      assertPasskey(await store.getPasskey(passkeys[i]!.id), passkeys[i]!, `passkey #${i}`);
    });
    assert.equal(await store.findIdentityByIdentifier(`${prefix}${count}`), null, 'one past the end');
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
  const { identity, passkeys } = await seed(store, 2);
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
