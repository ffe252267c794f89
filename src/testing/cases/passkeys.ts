// Conformance cases. Passkeys: add, list, usage (compare-and-set on the sign count), rename, remove (never the last one).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DuplicateCredentialError } from '../../store/errors.js';
import type { Store } from '../../store/types.js';
import { makeIdentity, makePasskey, randomBase64url } from '../fixtures.js';
import { assertDate, assertPasskey, type ConformanceCase, MINUTE, rejectsWith, seed, settled } from './support.js';

export const passkeyCases = {
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
} satisfies Record<string, ConformanceCase>;
