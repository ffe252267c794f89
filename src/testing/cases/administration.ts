// Conformance cases. What administration needs: identity state and metadata, identities without passkeys, delete with
// everything that hangs off an identity, keyset pages of identities.

import assert from 'node:assert/strict';
import type { Identity, Store } from '../../store/types.js';
import {
  makeFlow,
  makeIdentity,
  makePasskey,
  makeRecoveryAddress,
  makeVerifiableAddress,
  randomBase64url,
} from '../fixtures.js';
import { assertFlow, assertIdentity, assertPasskey, MINUTE, seed } from './support.js';

export const administrationCases = {
  async 'identity state and metadata round-trip through createIdentity, every lookup and updateIdentity'(store: Store) {
    const changedAt = new Date(Date.now() - 5 * MINUTE);
    const identity = makeIdentity({
      state: 'inactive',
      stateChangedAt: changedAt,
      metadataPublic: { plan: 'pro', seats: 3, tags: ['a', 'b'], nested: { ok: true } },
      metadataAdmin: { note: 'Zoë 山田 🦄', flagged: null },
      recoveryAddresses: [makeRecoveryAddress()],
    });
    await store.createIdentity(identity, makePasskey(identity.id));
    assertIdentity(await store.getIdentity(identity.id), identity, 'getIdentity');
    assertIdentity(await store.findIdentityByUserHandle(identity.userHandle), identity, 'findIdentityByUserHandle');
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, 'findIdentityByIdentifier');
    const address = identity.recoveryAddresses[0]!.value;
    assertIdentity(await store.findIdentityByAddress('recovery', address), identity, 'findIdentityByAddress');

    // Re-activated, metadata replaced and cleared: every field is written by updateIdentity.
    const reactivated: Identity = {
      ...identity,
      state: 'active',
      stateChangedAt: new Date(Date.now() - MINUTE),
      metadataPublic: null,
      metadataAdmin: ['list', 1, false],
      updatedAt: new Date(identity.updatedAt.getTime() + 1),
    };
    assert.equal(await store.updateIdentity(reactivated, identity.updatedAt), true, 'updateIdentity applies');
    assertIdentity(await store.getIdentity(identity.id), reactivated, 'after re-activation');
    const disabled: Identity = {
      ...reactivated,
      state: 'inactive',
      stateChangedAt: new Date(),
      metadataPublic: 'a string is JSON too',
      updatedAt: new Date(reactivated.updatedAt.getTime() + 1),
    };
    assert.equal(await store.updateIdentity(disabled, reactivated.updatedAt), true, 'updateIdentity applies again');
    assertIdentity(await store.getIdentity(identity.id), disabled, 'after disabling');
    const [listed] = await store.listIdentities({ limit: 1, identifier: identity.identifier });
    assertIdentity(listed ?? null, disabled, 'listIdentities');
  },

  async 'createIdentity without a passkey stores the identity alone; passkeys can be added to it later'(store: Store) {
    const identity = makeIdentity({ verifiableAddresses: [makeVerifiableAddress()] });
    await store.createIdentity(identity);
    assertIdentity(await store.getIdentity(identity.id), identity, 'getIdentity');
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), identity, 'findIdentityByIdentifier');
    assert.deepEqual(await store.listPasskeys(identity.id), [], 'listPasskeys: none');
    const passkey = makePasskey(identity.id);
    await store.addPasskey(passkey);
    assertPasskey(await store.getPasskey(passkey.id), passkey, 'the passkey added later');
    assert.equal(await store.removePasskey(identity.id, passkey.id), 'last_credential', 'its only passkey stays');
  },

  async 'a passkey imported without backup flags keeps backupFlagsUnknown until a usage records backupEligible'(
    store: Store,
  ) {
    const identity = makeIdentity();
    const passkey = makePasskey(identity.id, { backupEligible: false, backedUp: false, backupFlagsUnknown: true });
    await store.createIdentity(identity, passkey);
    assertPasskey(await store.getPasskey(passkey.id), passkey, 'getPasskey after create');
    const known = makePasskey(identity.id, { backupEligible: false, backedUp: false });
    await store.addPasskey(known);
    const lastUsedAt = new Date();
    const usage = { expectedSignCount: 0, signCount: 3, backedUp: true, lastUsedAt, backupEligible: true };
    assert.equal(await store.updatePasskeyUsage(passkey.id, usage), true, 'the usage applies');
    assertPasskey(
      await store.getPasskey(passkey.id),
      { ...passkey, signCount: 3, backedUp: true, backupEligible: true, backupFlagsUnknown: false, lastUsedAt },
      'after the first usage: flags recorded, no longer unknown',
    );
    // A passkey whose flags are known keeps its backupEligible whatever a usage says.
    assert.equal(await store.updatePasskeyUsage(known.id, usage), true, 'a usage of the other passkey applies');
    assertPasskey(
      await store.getPasskey(known.id),
      { ...known, signCount: 3, backedUp: true, lastUsedAt },
      'a known backupEligible never changes',
    );
  },

  async 'deleteIdentity removes the identity, its passkeys, addresses and flows, frees its keys, and nothing else'(
    store: Store,
  ) {
    const { identity, passkeys } = await seed(store, 3, {
      recoveryAddresses: [makeRecoveryAddress()],
      verifiableAddresses: [makeVerifiableAddress()],
    });
    const other = await seed(store, 1, { recoveryAddresses: [makeRecoveryAddress()] });
    const ownFlows = [makeFlow({ identityId: identity.id }), makeFlow({ identityId: identity.id, anonymous: false })];
    const otherFlow = makeFlow({ identityId: other.identity.id });
    const anonymousFlow = makeFlow();
    for (const flow of [...ownFlows, otherFlow, anonymousFlow]) await store.saveFlow(flow);
    // A flow that belonged to nobody at first and to the identity after a later save.
    const adopted = makeFlow();
    await store.saveFlow(adopted);
    await store.saveFlow({ ...adopted, version: 1, identityId: identity.id });

    assert.equal(await store.deleteIdentity(identity.id), true, 'deleteIdentity of an existing identity: true');
    assert.equal(await store.getIdentity(identity.id), null, 'getIdentity: gone');
    assert.equal(await store.findIdentityByUserHandle(identity.userHandle), null, 'by user handle: gone');
    assert.equal(await store.findIdentityByIdentifier(identity.identifier), null, 'by identifier: gone');
    const recovery = identity.recoveryAddresses[0]!.value;
    const verifiable = identity.verifiableAddresses[0]!.value;
    assert.equal(await store.findIdentityByAddress('recovery', recovery), null, 'by recovery address: gone');
    assert.equal(await store.findIdentityByAddress('verification', verifiable), null, 'by verifiable address: gone');
    assert.deepEqual(await store.listPasskeys(identity.id), [], 'listPasskeys: none left');
    for (const passkey of passkeys) assert.equal(await store.getPasskey(passkey.id), null, 'getPasskey: gone');
    for (const flow of [...ownFlows, adopted]) {
      assert.equal(await store.getFlow(flow.id), null, 'the flows saved with its identityId are gone');
    }
    assert.deepEqual(await store.listIdentities({ limit: 10, identifier: identity.identifier }), [], 'not listed');

    // Everything else stays.
    assertIdentity(await store.getIdentity(other.identity.id), other.identity, 'another identity');
    assertPasskey(await store.getPasskey(other.passkeys[0]!.id), other.passkeys[0]!, "another identity's passkey");
    assertFlow(await store.getFlow(otherFlow.id), otherFlow, "another identity's flow");
    assertFlow(await store.getFlow(anonymousFlow.id), anonymousFlow, 'a flow of no identity');

    // Its keys are free again: a new identity may take its identifier, user handle, addresses and credential ids.
    const reborn = makeIdentity({
      identifier: identity.identifier,
      userHandle: identity.userHandle,
      recoveryAddresses: [makeRecoveryAddress({ value: recovery })],
      verifiableAddresses: [makeVerifiableAddress({ value: verifiable })],
    });
    const rebornPasskey = makePasskey(reborn.id, { id: passkeys[0]!.id });
    await store.createIdentity(reborn, rebornPasskey);
    assertIdentity(await store.findIdentityByIdentifier(identity.identifier), reborn, 'the identifier, taken again');
    assert.equal((await store.getPasskey(rebornPasskey.id))?.identityId, reborn.id, 'the credential id, reused');

    assert.equal(await store.deleteIdentity(identity.id), false, 'a second delete: false');
    for (const key of [randomBase64url(16), 'not-a-uuid', '', "'; DROP TABLE x; --"]) {
      assert.equal(await store.deleteIdentity(key), false, `deleteIdentity(${JSON.stringify(key)}): false`);
    }
  },

  async 'listIdentities pages in ascending id order: limit, after (exclusive), identifier; [] past the end'(
    store: Store,
  ) {
    const created: Identity[] = [];
    // With addresses, so that a LIMIT that counts joined address rows (instead of identities) shows.
    for (let i = 0; i < 7; i++) {
      const addresses = {
        recoveryAddresses: [makeRecoveryAddress(), makeRecoveryAddress()],
        verifiableAddresses: [makeVerifiableAddress()],
      };
      created.push((await seed(store, 1, i % 2 === 0 ? addresses : {})).identity);
    }
    // The store may hold identities of other cases: page from the start until past the last of ours.
    const last = created.map((i) => i.id).sort()[created.length - 1]!;
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listIdentities({ limit: 3, ...(after !== undefined ? { after } : {}) });
      assert.ok(page.length <= 3, `a page holds at most limit (3), got ${page.length}`);
      if (page.length === 0) break;
      const previous = after;
      assert.ok(previous === undefined || page[0]!.id > previous, `a page after ${previous} starts after it`);
      for (const identity of page) {
        seen.push(identity.id);
        const ours = created.find((c) => c.id === identity.id);
        if (ours) assertIdentity(identity, ours, 'a listed identity');
      }
      after = page[page.length - 1]!.id;
      if (page.length < 3) {
        // The library reads a page shorter than `limit` as the last one.
        assert.deepEqual(
          await store.listIdentities({ limit: 3, after }),
          [],
          `a page of ${page.length} (fewer than limit, 3) must be the last one: identities follow it`,
        );
        break;
      }
      if (after >= last) break;
    }
    const sorted = [...seen].sort();
    assert.deepEqual(seen, sorted, 'ascending id order, across pages');
    assert.equal(new Set(seen).size, seen.length, 'no identity twice');
    for (const identity of created) assert.ok(seen.includes(identity.id), 'every identity is listed');
    const ours = [...created].sort((a, b) => (a.id < b.id ? -1 : 1));
    const first = ours[0]!;
    const fromFirst = await store.listIdentities({ limit: 1, after: first.id });
    assert.ok(fromFirst.length === 1 && fromFirst[0]!.id > first.id, '`after` is exclusive');
    assertIdentity(
      (await store.listIdentities({ limit: 5, identifier: first.identifier }))[0] ?? null,
      first,
      'identifier filter',
    );
    assert.equal((await store.listIdentities({ limit: 5, identifier: first.identifier })).length, 1, 'just that one');
    assert.deepEqual(
      await store.listIdentities({ limit: 5, identifier: `${first.identifier}-nobody` }),
      [],
      'an unknown identifier: []',
    );
    assert.deepEqual(
      await store.listIdentities({ limit: 5, identifier: first.identifier.toUpperCase() }),
      [],
      'the identifier is compared exactly',
    );
    assert.deepEqual(await store.listIdentities({ limit: 5, after: '\uffff' }), [], 'past the end: []');
  },
};
