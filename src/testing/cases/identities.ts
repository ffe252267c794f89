// Conformance cases. Identities and their addresses: create, every lookup, update (compare-and-set), uniqueness under races.

import assert from 'node:assert/strict';
import { DuplicateAddressError, DuplicateCredentialError, DuplicateIdentifierError } from '../../store/errors.js';
import type { Identity, JsonValue, Store } from '../../store/types.js';
import { makeIdentity, makePasskey, makeRecoveryAddress, makeVerifiableAddress, randomBase64url } from '../fixtures.js';
import {
  assertIdentity,
  assertNoTrace,
  assertPasskey,
  type ConformanceCase,
  MINUTE,
  rejectsWith,
  seed,
  settled,
} from './support.js';

export const identityCases = {
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
} satisfies Record<string, ConformanceCase>;
