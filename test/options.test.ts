// Options: defaults, snake_case, and a clear TypeError for every kind of bad config.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import { parseDuration, resolveOptions } from '../src/options.js';
import { RP } from './helpers/app.js';

const base = () => ({ rp: { ...RP }, store: new MemoryStore() });

function throwsType(options: unknown, pattern: RegExp) {
  assert.throws(
    () => passkeys(options as PasskeysOptions),
    (error: unknown) => error instanceof TypeError && pattern.test(error.message),
  );
}

describe('options', () => {
  it('fills defaults; `{ x: undefined }` means the default', () => {
    const resolved = resolveOptions({ ...base(), attestation: undefined, lifespans: { flow: undefined } });
    assert.equal(resolved.attestation, 'none');
    assert.equal(resolved.authenticatorSelection.residentKey, 'required');
    assert.equal(resolved.authenticatorSelection.userVerification, 'preferred');
    assert.equal(resolved.authenticatorSelection.authenticatorAttachment, undefined);
    assert.deepEqual(resolved.lifespans, {
      flow: 3_600_000,
      ceremony: 300_000,
      session: 86_400_000,
      privilegedSession: 3_600_000,
    });
    assert.equal(resolved.urls.defaultReturnTo, '/');
    assert.deepEqual(resolved.urls.allowedReturnTo, ['http://localhost:3000']);
    assert.equal(resolved.hooks.session, true);
    assert.equal(resolved.signCountPolicy, 'reject');
  });

  it("accepts Kratos's snake_case keys and a pasted selfservice.methods.passkey.config", () => {
    const snake = resolveOptions({
      rp: { id: 'localhost', display_name: 'Snake', origins: ['http://localhost:3000'] },
      store: new MemoryStore(),
      authenticator_selection: { user_verification: 'required' },
      lifespans: { privileged_session: '10m' },
    });
    assert.equal(snake.rp.displayName, 'Snake');
    assert.equal(snake.authenticatorSelection.userVerification, 'required');
    assert.equal(snake.lifespans.privilegedSession, 600_000);
    const pasted = resolveOptions({
      selfservice: {
        methods: {
          passkey: {
            enabled: true,
            config: { rp: { display_name: 'Pasted', id: 'example.com', origins: ['https://example.com'] } },
          },
        },
      },
      store: new MemoryStore(),
    });
    assert.equal(pasted.rp.displayName, 'Pasted');
    assert.deepEqual(pasted.rp.origins, ['https://example.com']);
    const origin = resolveOptions({
      ...base(),
      rp: { id: 'example.com', displayName: 'x', origins: 'https://app.example.com:8443' },
    });
    assert.deepEqual(origin.rp.origins, ['https://app.example.com:8443']);
  });

  it('explains `app.use(passkeys)` and a missing options object', () => {
    throwsType(passkeys, /app\.use\(passkeys\)`.*`app\.use\(passkeys\(\{ rp, store \}\)\)`/);
    throwsType(undefined, /needs an options object/);
  });

  it('names missing options', () => {
    throwsType({ store: new MemoryStore() }, /option `rp` is required/);
    throwsType({ rp: RP }, /option `store` is required.*MemoryStore/);
    throwsType(
      { ...base(), rp: { id: 'localhost', origins: ['http://localhost:3000'] } },
      /`rp.displayName` is required/,
    );
  });

  it('suggests the option meant by a typo', () => {
    throwsType({ ...base(), lifespan: {} }, /unknown option `lifespan`. Did you mean `lifespans`\?/);
    throwsType(
      { ...base(), authenticatorSelection: { userVerifcation: 'required' } },
      /Did you mean `userVerification`\?/,
    );
  });

  it('refuses a bad rp.id', () => {
    throwsType({ ...base(), rp: { ...RP, id: 'https://example.com' } }, /must not contain a scheme/);
    throwsType({ ...base(), rp: { ...RP, id: 'localhost:3000' } }, /must not contain a port/);
    throwsType({ ...base(), rp: { ...RP, id: '127.0.0.1' } }, /not an IP address/);
    throwsType({ ...base(), rp: { ...RP, id: 'exa mple.com' } }, /bare domain/);
  });

  it('refuses origins that do not belong to rp.id', () => {
    throwsType(
      { ...base(), rp: { id: 'example.com', displayName: 'x', origins: ['https://evil.com'] } },
      /"evil.com", which is neither `rp.id`.*nor a subdomain/,
    );
    throwsType(
      { ...base(), rp: { id: 'example.com', displayName: 'x', origins: ['https://notexample.com'] } },
      /neither `rp.id`/,
    );
    throwsType(
      { ...base(), rp: { id: 'example.com', displayName: 'x', origins: ['http://example.com'] } },
      /uses http/,
    );
    throwsType(
      { ...base(), rp: { id: 'example.com', displayName: 'x', origins: ['https://example.com/path'] } },
      /origin only/,
    );
    throwsType({ ...base(), rp: { id: 'example.com', displayName: 'x', origins: [] } }, /rp.origins/);
    throwsType({ ...base(), rp: { id: 'example.com', displayName: 'x', origins: ['example.com'] } }, /not a URL/);
    // Android app origins are allowed as they are.
    assert.doesNotThrow(() =>
      passkeys({
        ...base(),
        rp: { id: 'example.com', displayName: 'x', origins: ['https://example.com', 'android:apk-key-hash:abc'] },
      }),
    );
  });

  it('refuses a store missing methods, naming them', () => {
    const { consumeChallenge: _, ...partial } = Object.fromEntries(
      Object.getOwnPropertyNames(MemoryStore.prototype).map((name) => [name, () => {}]),
    );
    throwsType({ rp: RP, store: partial }, /`store` is missing `consumeChallenge\(\)`/);
  });

  it('refuses bad enums, durations, hooks, URLs and schemas', () => {
    throwsType(
      { ...base(), attestation: 'full' },
      /`attestation` must be one of 'none', 'indirect', 'direct', 'enterprise'/,
    );
    throwsType({ ...base(), lifespans: { ceremony: '5 minutes' } }, /`lifespans.ceremony` must be a positive number/);
    throwsType({ ...base(), lifespans: { ceremony: -1 } }, /lifespans.ceremony/);
    throwsType({ ...base(), lifespans: { flow: '1m', ceremony: '5m' } }, /must not be longer than `lifespans.flow`/);
    throwsType({ ...base(), hooks: { onLogin: 'yes' } }, /`hooks.onLogin` must be a function/);
    throwsType(
      { ...base(), urls: { publicBase: 'example.com/auth' } },
      /`urls.publicBase` must be an absolute http\(s\) URL/,
    );
    throwsType({ ...base(), urls: { ui: { login: 'javascript:alert(1)' } } }, /`urls.ui.login`/);
    throwsType({ ...base(), identitySchema: { type: 'object' } }, /properties.traits/);
    throwsType(
      {
        ...base(),
        identitySchema: {
          type: 'object',
          properties: { traits: { type: 'object', properties: { email: { type: 'string' } } } },
        },
      },
      /marks no trait as the passkey display name/,
    );
  });

  it('parses durations', () => {
    assert.equal(parseDuration('90s', 'x'), 90_000);
    assert.equal(parseDuration('1h30m', 'x'), 5_400_000);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration(1234, 'x'), 1234);
    assert.throws(() => parseDuration('', 'x'), TypeError);
    assert.throws(() => parseDuration('1y', 'x'), TypeError);
  });

  it('answers a clear 500 when express-session is not mounted', async () => {
    const app = express();
    app.use('/auth', passkeys(base()));
    const original = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const res = await request(app).get('/auth/sessions/whoami').set('Accept', 'application/json');
      assert.equal(res.status, 500);
      assert.match(res.body.error.reason, /Did you forget to use express-session/);
      assert.ok(logged.length > 0);
    } finally {
      console.error = original;
    }
  });

  it('works with a 2020-12 identity schema and custom traits', async () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            username: {
              type: 'string',
              minLength: 2,
              title: 'Username',
              'ory.sh/kratos': { credentials: { passkey: { display_name: true } } },
            },
            age: { type: 'integer', minimum: 0, title: 'Age' },
            newsletter: { type: 'boolean', title: 'Newsletter' },
          },
          required: ['username'],
        },
      },
    };
    const resolved = resolveOptions({ ...base(), identitySchema: schema });
    assert.equal(resolved.schema.displayNameField, 'traits.username');
    assert.deepEqual(
      resolved.schema.fields.map((f) => [f.name, f.type, f.required]),
      [
        ['traits.username', 'text', true],
        ['traits.age', 'number', false],
        ['traits.newsletter', 'checkbox', false],
      ],
    );
    assert.equal(resolved.schema.validate({ username: 'ab', age: 3 }, false), null);
    assert.ok(resolved.schema.validate({ username: 'ab', age: '3' }, false));
    assert.equal(resolved.schema.validate({ username: 'ab', age: '3', newsletter: 'true' }, true), null);
  });
});
