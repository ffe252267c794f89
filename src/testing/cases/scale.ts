// Conformance cases. Scale: a large identity and many identities (sizes from the configured scale).

import assert from 'node:assert/strict';
import { DuplicateAddressError, DuplicateIdentifierError } from '../../store/errors.js';
import type { Store } from '../../store/types.js';
import { makeIdentity, makePasskey, makeRecoveryAddress, makeVerifiableAddress, randomBase64url } from '../fixtures.js';
import {
  assertIdentity,
  assertPasskey,
  type CaseContext,
  type ConformanceCase,
  type ConformanceScale,
  inChunks,
  rejectsWith,
  scaleOf,
} from './support.js';

export const scaleCases = {
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

/** `100000` → "100,000": sizes in titles read as the defaults do. */
const size = (n: number) => n.toLocaleString('en-US');

/**
 * The titles the scale cases are registered under, with the sizes actually configured. Their names (the keys of
 * `cases`, what `skip` takes) show the default sizes; with the default scale, title and name are the same.
 */
export const scaleCaseTitles: Record<keyof typeof scaleCases, (scale: ConformanceScale) => string> = {
  'a large identity: 500 passkeys listed in order, all but one removable at once': (scale) =>
    `a large identity: ${size(scale.passkeysPerIdentity)} passkeys listed in order, all but one removable at once`,
  'many identities: create 100,000 (scale.identities), then find each sample by every key': (scale) =>
    `many identities: create ${size(scale.identities)} (scale.identities), then find each sample by every key`,
};
