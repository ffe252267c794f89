// Conformance cases. Records as values: copies in and out, unicode and large traits.

import assert from 'node:assert/strict';
import type { Store } from '../../store/types.js';
import {
  makeFlow,
  makeIdentity,
  makePasskey,
  makeRecoveryAddress,
  makeVerifiableAddress,
  randomBase64url,
} from '../fixtures.js';
import { assertFlow, assertIdentity, assertPasskey, type ConformanceCase, longUnicode, MINUTE } from './support.js';

export const recordCases = {
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
} satisfies Record<string, ConformanceCase>;
