// Several instances in the middle of a `secrets` rotation (test/fixtures/instance-server.ts over one PostgreSQL schema
// and one Redis prefix, mail through a real SMTP server here): A and B sign with different `secrets[0]` and share
// `secrets[1]`; C is an instance not yet redeployed, whose only secret is the shared one. One browser (a cookie jar
// for every port of localhost) goes from one to the other. Passkey flows, their CSRF cookie and the sessions do not
// depend on `secrets`: they cross every way. A code is hashed with the first secret of the instance that sends it,
// every secret is tried on compare (SPEC §6): one sent by C (the shared key) is accepted by A and B.
// PostgreSQL and Redis must be up (as for test/multi-instance.test.ts): when either is down every case fails.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { migrate, quoteIdentifier } from '../examples/postgres-store/store.js';
import { creationOptionsOf, csrfOf, type FlowJson, ORIGIN, requestOptionsOf } from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import {
  type Body,
  Browser,
  expectStatus,
  type Instance,
  type Reply,
  spawnInstance,
  stopInstance,
} from './helpers/instances.js';
import { codeFrom, type Inbox, startSmtp } from './helpers/smtp.js';

const env = process.env;
const id = randomBytes(6).toString('hex');
const schema = `passkeys_rotation_${id}`;
const prefix = `passkeys_rotation_${id}:`;
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';
const SHARED = `shared secret ${id}, the one every instance has`;

const all: Instance[] = [];
let inbox: Inbox;
const pool = new pg.Pool({
  host: env.PGHOST || '127.0.0.1',
  port: Number(env.PGPORT || 5432),
  user: env.PGUSER || 'postgres',
  database: env.PGDATABASE || 'test',
  password: env.PGPASSWORD,
  max: 2,
  connectionTimeoutMillis: 5_000,
});
pool.on('error', () => {});
const redis = createClient({ url: redisUrl, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
redis.on('error', () => {});

const browser = new Browser();
const call = (instance: Instance, target: string, init?: { method?: string; body?: unknown }) =>
  browser.call(instance, target, init);
const expect = (reply: Reply, status: number, what: string) => expectStatus(reply, status, what, all);

async function initFlow(instance: Instance, kind: string): Promise<FlowJson> {
  const reply = await call(instance, `/auth/self-service/${kind}/browser`);
  expect(reply, 200, `${kind} flow on ${instance.name}`);
  assert.equal(reply.instance, instance.name);
  return reply.body as FlowJson;
}

async function logout(instance: Instance): Promise<void> {
  const { status, body } = await call(instance, '/auth/self-service/logout/browser');
  assert.equal(status, 200, JSON.stringify(body));
  expect(await call(instance, body.logout_url), 204, `logout on ${instance.name}`);
}

const removeIds = (flow: FlowJson) =>
  flow.ui.nodes.filter((n) => n.attributes.name === 'passkey_remove').map((n) => String(n.attributes.value));

describe('instances mid-rotation: different secrets[0], a shared secrets[1]', () => {
  let A: Instance;
  let B: Instance;
  let C: Instance;
  const email = `rotation-${id}@example.com`;
  const first = new SoftwareAuthenticator();
  let identityId = '';

  before(async () => {
    inbox = await startSmtp();
    await pool.query('SELECT 1');
    await redis.connect();
    await migrate(pool, schema);
    const common = {
      PASSKEYS_PG_SCHEMA: schema,
      PASSKEYS_REDIS_PREFIX: prefix,
      RP_ORIGIN: ORIGIN,
      REDIS_URL: redisUrl,
      SESSION_SECRET: `rotation session secret ${id}`,
      SMTP_URL: inbox.url,
    };
    const secrets = (...list: string[]) => ({ ...common, PASSKEYS_SECRETS: JSON.stringify(list) });
    [A, B, C] = await Promise.all([
      spawnInstance('A', secrets(`secret of A ${id}, prepended on A`, SHARED), all),
      spawnInstance('B', secrets(`secret of B ${id}, prepended on B`, SHARED), all),
      spawnInstance('C', secrets(SHARED), all),
    ]);
  });

  after(async () => {
    await Promise.allSettled(all.map((i) => stopInstance(i, 'SIGKILL')));
    await Promise.allSettled([
      pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`),
      (async () => {
        if (!redis.isOpen) return;
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
          if (keys.length > 0) await redis.del(keys);
        }
      })(),
    ]);
    await Promise.allSettled([pool.end(), redis.isOpen ? redis.close() : Promise.resolve(), inbox?.close()]);
  });

  it('registration on A finishes on B, login on B finishes on A, a passkey added through A on a flow of B', async () => {
    const flow = await initFlow(A, 'registration');
    assert.ok(browser.jar.has('passkeys_csrf_token'), 'A set the CSRF cookie');
    const done = await call(B, flow.ui.action, {
      body: {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        traits: { email },
        passkey_register: JSON.stringify(first.create(creationOptionsOf(flow), { origin: ORIGIN })),
      },
    });
    expect(done, 200, 'registration submitted on B');
    identityId = done.body.identity.id;
    for (const instance of [A, B, C]) {
      const who = await call(instance, '/auth/sessions/whoami');
      expect(who, 200, `whoami on ${instance.name}`);
      assert.equal(who.body.identity.id, identityId);
    }
    await logout(A);

    const login = await initFlow(B, 'login');
    const signed = await call(A, login.ui.action, {
      body: {
        method: 'passkey',
        csrf_token: csrfOf(login),
        passkey_login: JSON.stringify(first.get(requestOptionsOf(login), { origin: ORIGIN })),
      },
    });
    expect(signed, 200, 'login submitted on A');
    assert.equal(signed.body.session.identity.id, identityId);
    expect(await call(B, '/auth/sessions/whoami'), 200, 'whoami on B');

    const settings = await initFlow(B, 'settings');
    const second = new SoftwareAuthenticator();
    const added = await call(A, settings.ui.action, {
      body: {
        method: 'passkey',
        csrf_token: csrfOf(settings),
        passkey_settings_register: JSON.stringify(second.create(creationOptionsOf(settings), { origin: ORIGIN })),
      },
    });
    expect(added, 200, 'passkey added on A');
    assert.equal(added.body.state, 'success');
    assert.equal(removeIds(added.body).length, 2);
    await logout(B);
  });

  for (const [home, sender, submit] of [
    ['C', 'C', 'A'],
    ['A', 'C', 'B'],
  ] as const) {
    it(`recovery: flow on ${home}, code sent by ${sender} (the shared key), accepted on ${submit}; a passkey added`, async () => {
      const at = { A, B, C } as Record<string, Instance>;
      const flow = await initFlow(at[home]!, 'recovery');
      const sent = await call(at[sender]!, flow.ui.action, {
        body: { method: 'code', csrf_token: csrfOf(flow), email },
      });
      expect(sent, 200, `code sent by ${sender}`);
      assert.equal(sent.body.state, 'sent_email');
      const code = codeFrom(await inbox.waitForMail(email, { match: (m) => /recovery code/i.test(m.subject) }));
      const done = await call(at[submit]!, sent.body.ui.action, {
        body: { method: 'code', csrf_token: csrfOf(sent.body), code },
      });
      expect(done, 200, `code submitted on ${submit}`);
      assert.equal(done.body.state, 'passed_challenge', JSON.stringify(done.body.ui.messages));
      const next = done.body.continue_with.find((c: Body) => c.action === 'show_settings_ui');
      assert.ok(next, JSON.stringify(done.body.continue_with));

      // The privileged session (in Redis) and the settings flow (in PostgreSQL) are good on another instance.
      const other = submit === 'A' ? B : A;
      const who = await call(other, '/auth/sessions/whoami');
      expect(who, 200, `whoami on ${other.name}`);
      assert.equal(who.body.identity.id, identityId);
      assert.equal(who.body.authentication_methods[0].method, 'code_recovery');
      const settings = await call(other, `/auth/self-service/settings/flows?id=${next.flow.id}`);
      expect(settings, 200, `settings flow on ${other.name}`);
      const fresh = new SoftwareAuthenticator();
      const added = await call(other, settings.body.ui.action, {
        body: {
          method: 'passkey',
          csrf_token: csrfOf(settings.body),
          passkey_settings_register: JSON.stringify(fresh.create(creationOptionsOf(settings.body), { origin: ORIGIN })),
        },
      });
      expect(added, 200, `passkey added on ${other.name}`);
      assert.equal(added.body.state, 'success');
      await logout(sender === 'C' ? C : A);
    });
  }

  it('no instance logged an error', () => {
    for (const instance of all) assert.deepEqual(instance.stderr, [], `${instance.name} stderr`);
  });
});
