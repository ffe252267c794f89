// The `hints` option (WebAuthn L3 `hints`): validated when the factory is called, passed into the creation options of
// registration and settings flows and the request options of login flows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import { creationOptionsOf, initFlow, makeApp, register, requestOptionsOf } from './helpers/app.js';

const typeError = (options: Record<string, unknown>, pattern: RegExp) =>
  assert.throws(
    () =>
      passkeys({
        rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'] },
        store: new MemoryStore(),
        ...options,
      } as PasskeysOptions),
    (error: unknown) => error instanceof TypeError && pattern.test(error.message),
  );

describe('hints', () => {
  it('none by default: no hints member in any options', async () => {
    const { agent } = makeApp();
    const a = agent();
    assert.equal('hints' in creationOptionsOf(await initFlow(a, 'registration')), false);
    assert.equal('hints' in requestOptionsOf(await initFlow(a, 'login')), false);
    await register(a);
    assert.equal('hints' in creationOptionsOf(await initFlow(a, 'settings')), false);
  });

  it('are put, in order, into registration, settings and login options', async () => {
    const hints: PasskeysOptions['hints'] = ['security-key', 'hybrid'];
    const { agent } = makeApp({ hints });
    const a = agent();
    assert.deepEqual(creationOptionsOf(await initFlow(a, 'registration')).hints, ['security-key', 'hybrid']);
    assert.deepEqual(requestOptionsOf(await initFlow(a, 'login')).hints, ['security-key', 'hybrid']);
    await register(a);
    assert.deepEqual(creationOptionsOf(await initFlow(a, 'settings')).hints, ['security-key', 'hybrid']);
    assert.deepEqual(requestOptionsOf(await initFlow(a, 'login', '?refresh=true')).hints, ['security-key', 'hybrid']);
    // The caller's array is copied, not kept.
    hints.push('client-device');
    assert.deepEqual(requestOptionsOf(await initFlow(agent(), 'login')).hints, ['security-key', 'hybrid']);
  });

  it('an empty list sends none', async () => {
    const { agent } = makeApp({ hints: [] });
    assert.equal('hints' in requestOptionsOf(await initFlow(agent(), 'login')), false);
  });

  it('a bad value is a TypeError naming the option', () => {
    typeError({ hints: ['platform'] }, /`hints\.0` must be one of 'security-key', 'client-device', 'hybrid'/);
    typeError({ hints: ['hybrid', 'hybrid'] }, /`hints` must NOT have duplicate items/);
    typeError({ hints: 'hybrid' }, /`hints` must be array/);
    typeError({ hints: [1] }, /`hints\.0` must be one of/);
  });
});
