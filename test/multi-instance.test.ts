// Several instances, one deployment: two app processes (test/fixtures/instance-server.ts) over one PostgreSQL schema
// (the example PostgresStore) and one Redis key prefix (sessions through connect-redis), driven by one "browser" (a
// cookie jar that, like a browser, sends the cookies of `localhost` to every port). Every flow starts on one
// instance and finishes on the other; replays and concurrent submits across the two are refused but for one.
// PostgreSQL (PGHOST... default 127.0.0.1:5432, user postgres, db test) and Redis (REDIS_URL, default
// redis://127.0.0.1:6379) must be up: when either is down every case fails, nothing is skipped.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { quoteIdentifier } from '../examples/postgres-store/store.js';
import { creationOptionsOf, csrfOf, type FlowJson, node, ORIGIN, requestOptionsOf } from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type Instance, spawnInstance as spawnShared, stopInstance } from './helpers/instances.js';

const env = process.env;
const id = randomBytes(6).toString('hex');
const schema = `passkeys_multi_${id}`;
const prefix = `passkeys_multi_${id}:`;
const redisUrl = env.REDIS_URL || 'redis://127.0.0.1:6379';

// --- timings -----------------------------------------------------------------------------------------------------

const timings: Array<{ step: string; ms: number }> = [];

async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    timings.push({ step, ms: performance.now() - start });
  }
}

// --- the two instances -------------------------------------------------------------------------------------------

const instances: Instance[] = [];

/** Spawn one instance on this test's schema, Redis prefix and session secret (see test/helpers/instances.ts). */
const spawnInstance = (name: string) =>
  spawnShared(
    name,
    {
      PASSKEYS_PG_SCHEMA: schema,
      PASSKEYS_REDIS_PREFIX: prefix,
      RP_ORIGIN: ORIGIN,
      REDIS_URL: redisUrl,
      SESSION_SECRET: `multi-instance secret ${id}`,
    },
    instances,
  );

// --- one browser: a cookie jar shared by every port of localhost ---------------------------------------------------

const jar = new Map<string, { value: string; path: string }>();

function storeCookies(headers: Headers): void {
  for (const line of headers.getSetCookie()) {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq);
    let path = '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key = '', value = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path' && value.startsWith('/')) path = value;
      if (key.toLowerCase() === 'max-age' && Number(value) <= 0) expired = true;
      if (key.toLowerCase() === 'expires' && Date.parse(value) <= Date.now()) expired = true;
    }
    if (expired) jar.delete(name);
    else jar.set(name, { value: pair.slice(eq + 1), path });
  }
}

function cookieHeader(pathname: string): string {
  return [...jar]
    .filter(([, c]) => c.path === '/' || pathname === c.path || pathname.startsWith(`${c.path}/`))
    .map(([name, c]) => `${name}=${c.value}`)
    .join('; ');
}

/** The session id in the jar's express-session cookie (`s:<id>.<signature>`). */
function sessionId(): string | undefined {
  const cookie = jar.get('connect.sid');
  return cookie && /^s:([^.]+)\./.exec(decodeURIComponent(cookie.value))?.[1];
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
type Body = any;
interface Reply {
  status: number;
  body: Body;
  /** The `X-Instance` header: which process answered. */
  instance: string | null;
}

/** A JSON request to an instance. `target` is a path or an absolute URL (another instance's: its origin is replaced). */
async function call(
  instance: Instance,
  target: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Reply> {
  const url = new URL(target, instance.base);
  const onInstance = new URL(url.pathname + url.search, instance.base);
  const headers: Record<string, string> = { Accept: 'application/json' };
  const cookies = cookieHeader(onInstance.pathname);
  if (cookies) headers['Cookie'] = cookies;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(onInstance, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    redirect: 'manual',
  });
  storeCookies(res.headers);
  const text = await res.text();
  let body: Body = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body, instance: res.headers.get('x-instance') };
}

/** Assert a status, showing the body and both instances' stderr when it is not the one expected. */
function expectStatus(reply: Reply, status: number, what: string): void {
  const logs = instances.map((i) => `${i.name} stderr:\n${i.stderr.join('\n')}`).join('\n');
  assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}\n${logs}`);
}

async function initFlow(instance: Instance, kind: 'registration' | 'login' | 'settings'): Promise<FlowJson> {
  const reply = await call(instance, `/auth/self-service/${kind}/browser`);
  expectStatus(reply, 200, `${kind} flow on ${instance.name}`);
  assert.equal(reply.instance, instance.name);
  return reply.body as FlowJson;
}

async function whoami(instance: Instance): Promise<Reply> {
  return call(instance, '/auth/sessions/whoami');
}

async function logout(instance: Instance): Promise<void> {
  const { status, body } = await call(instance, '/auth/self-service/logout/browser');
  assert.equal(status, 200, JSON.stringify(body));
  assert.ok(body.logout_url.startsWith(`${instance.base}/auth/`), body.logout_url);
  expectStatus(await call(instance, body.logout_url), 204, `logout on ${instance.name}`);
}

const removeIds = (flow: FlowJson) =>
  flow.ui.nodes.filter((n) => n.attributes.name === 'passkey_remove').map((n) => String(n.attributes.value));

// --- the deployment's shared services, for checks and clean-up ----------------------------------------------------

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

async function count(table: 'identities' | 'passkeys' | 'flows'): Promise<number> {
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${quoteIdentifier(schema)}.${table}`);
  return rows[0].n;
}

describe('several instances: store in PostgreSQL, sessions in Redis', () => {
  let A: Instance;
  let B: Instance;
  const first = new SoftwareAuthenticator();
  // No counter: only the single-use challenge (consumed in PostgreSQL) can stop a second submit of one assertion.
  const second = new SoftwareAuthenticator({ counter: false });
  const email = `multi-${id}@example.com`;
  let identityId = '';

  before(async () => {
    await timed('check PostgreSQL and Redis are up', async () => {
      await pool.query('SELECT 1');
      await redis.connect();
      await redis.ping();
    });
    // Both start together: both migrate the same fresh schema (migrate() serialises them with an advisory lock).
    [A, B] = await timed('spawn two instances (each migrates the schema) until LISTENING', () =>
      Promise.all([spawnInstance('A'), spawnInstance('B')]),
    );
    assert.notEqual(A.base, B.base);
    assert.notEqual(A.proc.pid, B.proc.pid);
  });

  after(async () => {
    await Promise.allSettled(instances.map((i) => stopInstance(i, 'SIGKILL')));
    const cleanup = await Promise.allSettled([
      pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`),
      (async () => {
        if (!redis.isOpen) return;
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) {
          if (keys.length > 0) await redis.del(keys);
        }
      })(),
    ]);
    await Promise.allSettled([pool.end(), redis.isOpen ? redis.close() : Promise.resolve()]);
    const width = Math.max(...timings.map((t) => t.step.length));
    console.log(
      `multi-instance timings:\n${timings.map((t) => `  ${t.step.padEnd(width)}  ${t.ms.toFixed(1).padStart(8)} ms`).join('\n')}`,
    );
    for (const result of cleanup) if (result.status === 'rejected') throw result.reason;
  });

  it('registration started on A finishes on B; A sees the session, which lives in Redis', async () => {
    await timed('registration: init on A, submit on B, whoami on A', async () => {
      const flow = await initFlow(A, 'registration');
      assert.ok(jar.has('passkeys_csrf_token'), 'A set the CSRF cookie');
      assert.ok(flow.ui.action.startsWith(`${A.base}/auth/`), flow.ui.action);
      // The flow is in PostgreSQL: B serves it.
      const fetched = await call(B, `/auth/self-service/registration/flows?id=${encodeURIComponent(flow.id)}`);
      expectStatus(fetched, 200, 'registration flow fetched on B');
      assert.equal(fetched.body.id, flow.id);

      const credential = first.create(creationOptionsOf(flow), { origin: ORIGIN });
      const done = await call(B, flow.ui.action, {
        body: {
          method: 'passkey',
          csrf_token: csrfOf(flow),
          traits: { email },
          passkey_register: JSON.stringify(credential),
        },
      });
      expectStatus(done, 200, 'registration submitted on B');
      assert.equal(done.instance, 'B');
      assert.equal(done.body.identity.traits.email, email);
      assert.ok(done.body.session, 'the session hook signed the new identity in');
      identityId = done.body.identity.id;

      const who = await whoami(A);
      expectStatus(who, 200, 'whoami on A');
      assert.equal(who.instance, 'A');
      assert.equal(who.body.identity.id, identityId);
      assert.equal(who.body.id, done.body.session.id);
    });
    const sid = sessionId();
    assert.ok(sid, 'a session cookie');
    assert.equal(await redis.exists(`${prefix}${sid}`), 1, 'the session is in Redis under the prefix');
    assert.equal(await count('identities'), 1);
    assert.equal(await count('passkeys'), 1);
  });

  it('logout on B ends the session on A too', async () => {
    const sid = sessionId();
    await timed('logout on B, whoami on A', async () => {
      await logout(B);
      expectStatus(await whoami(A), 401, 'whoami on A after logout on B');
      expectStatus(await whoami(B), 401, 'whoami on B after logout on B');
    });
    assert.equal(await redis.exists(`${prefix}${sid}`), 0, 'the session was destroyed in Redis');
  });

  it('login flow created on A is submitted on B (A’s CSRF cookie, B’s answer); A sees the session', async () => {
    await timed('login: init on A, submit on B, whoami on A, logout on A', async () => {
      const flow = await initFlow(A, 'login');
      const assertion = first.get(requestOptionsOf(flow), { origin: ORIGIN });
      const done = await call(B, flow.ui.action, {
        body: { method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) },
      });
      expectStatus(done, 200, 'login on B of a flow made by A');
      assert.equal(done.instance, 'B');
      assert.equal(done.body.session.identity.id, identityId);
      const who = await whoami(A);
      expectStatus(who, 200, 'whoami on A');
      assert.equal(who.body.id, done.body.session.id);
      await logout(A);
    });
  });

  it('login flow created on B finishes on B; A sees the new session', async () => {
    await timed('login: init and submit on B, whoami on A', async () => {
      const flow = await initFlow(B, 'login');
      const assertion = first.get(requestOptionsOf(flow), { origin: ORIGIN });
      const done = await call(B, flow.ui.action, {
        body: { method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) },
      });
      expectStatus(done, 200, 'login on B');
      assert.equal(done.body.session.identity.id, identityId);
      const who = await whoami(A);
      expectStatus(who, 200, 'whoami on A');
      assert.equal(who.body.id, done.body.session.id);
    });
  });

  it('settings: flow on A, a second passkey added through B, the first removed through A', async () => {
    const firstId = first.credentials[0]!.idB64u;
    await timed('settings: init on A, add on B, remove on A', async () => {
      const flow = await initFlow(A, 'settings');
      assert.deepEqual(removeIds(flow), [firstId]);

      const credential = second.create(creationOptionsOf(flow), { origin: ORIGIN });
      const added = await call(B, flow.ui.action, {
        body: { method: 'passkey', csrf_token: csrfOf(flow), passkey_settings_register: JSON.stringify(credential) },
      });
      expectStatus(added, 200, 'passkey added on B');
      assert.equal(added.instance, 'B');
      assert.equal(added.body.state, 'success');
      assert.deepEqual(removeIds(added.body).sort(), [firstId, credential.id].sort());

      const removed = await call(A, added.body.ui.action, {
        body: { method: 'passkey', csrf_token: csrfOf(added.body), passkey_remove: firstId },
      });
      expectStatus(removed, 200, 'passkey removed on A');
      assert.equal(removed.instance, 'A');
      assert.equal(removed.body.state, 'success');
      assert.deepEqual(removeIds(removed.body), [credential.id]);
      assert.equal(node(removed.body, 'passkey_remove').attributes.disabled, true, 'the last one cannot be removed');

      // B sees the same flow and the same passkeys.
      const fetched = await call(B, `/auth/self-service/settings/flows?id=${encodeURIComponent(flow.id)}`);
      expectStatus(fetched, 200, 'settings flow fetched on B');
      assert.deepEqual(removeIds(fetched.body), [credential.id]);
    });
    assert.equal(await count('passkeys'), 1);
  });

  it('replay: an assertion whose login flow was consumed on A is refused on B', async () => {
    await timed('replay: logout on A, login on A, logout on B, replays on B', async () => {
      await logout(A);
      const flow = await initFlow(A, 'login');
      const body = {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        passkey_login: JSON.stringify(second.get(requestOptionsOf(flow), { origin: ORIGIN })),
      };
      const done = await call(A, flow.ui.action, { body });
      expectStatus(done, 200, 'login on A with the passkey added on B');
      assert.equal(done.body.session.identity.id, identityId);
      await logout(B);

      const sameFlow = await call(B, flow.ui.action, { body });
      expectStatus(sameFlow, 400, 'the same submit replayed on B');
      assert.equal(sameFlow.instance, 'B');

      const other = await initFlow(B, 'login');
      const otherFlow = await call(B, other.ui.action, { body: { ...body, csrf_token: csrfOf(other) } });
      expectStatus(otherFlow, 400, 'the assertion replayed on a new flow on B');
      assert.equal(otherFlow.body.ui.messages[0].id, 4000043);

      expectStatus(await whoami(A), 401, 'no session after the replays');
    });
    await timed('login with the removed passkey, on B', async () => {
      const flow = await initFlow(B, 'login');
      const assertion = first.get(requestOptionsOf(flow), { origin: ORIGIN });
      const reply = await call(B, flow.ui.action, {
        body: { method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) },
      });
      expectStatus(reply, 400, 'the removed passkey signs in nowhere');
    });
  });

  it('two concurrent submits of one assertion, one to A and one to B: exactly one 200 (5 rounds)', async (t) => {
    const winners: string[] = [];
    for (let round = 0; round < 5; round++) {
      const home = round % 2 === 0 ? A : B;
      await timed(`concurrent submits, round ${round + 1} (flow on ${home.name})`, async () => {
        const flow = await initFlow(home, 'login');
        const body = {
          method: 'passkey',
          csrf_token: csrfOf(flow),
          passkey_login: JSON.stringify(second.get(requestOptionsOf(flow), { origin: ORIGIN })),
        };
        const replies = await Promise.all([call(A, flow.ui.action, { body }), call(B, flow.ui.action, { body })]);
        const statuses = replies.map((r) => r.status);
        assert.deepEqual(
          [...statuses].sort(),
          [200, 400],
          `statuses ${statuses}: ${JSON.stringify(replies.map((r) => r.body))}`,
        );
        const winner = replies.find((r) => r.status === 200)!;
        const loser = replies.find((r) => r.status === 400)!;
        assert.equal(loser.body.ui.messages[0].id, 4000043, JSON.stringify(loser.body.ui.messages));
        winners.push(winner.instance ?? '?');
        expectStatus(await whoami(home), 200, 'the winner signed the browser in');
        await logout(home);
      });
    }
    assert.equal(winners.length, 5);
    t.diagnostic(`winners by round: ${winners.join(', ')}`);
  });

  it('a session revoked on one instance is refused by the other at its next request (browser and native)', async () => {
    /** A native app's JSON request: no cookies, its session token when it has one. */
    const native = async (
      instance: Instance,
      target: string,
      init: { method?: string; body?: unknown; token?: string },
    ) => {
      const url = new URL(
        new URL(target, instance.base).pathname + new URL(target, instance.base).search,
        instance.base,
      );
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (init.token) headers['X-Session-Token'] = init.token;
      if (init.body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(url, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, instance: res.headers.get('x-instance') };
    };
    const browserLogin = async (instance: Instance) => {
      const flow = await initFlow(instance, 'login');
      const done = await call(instance, flow.ui.action, {
        body: {
          method: 'passkey',
          csrf_token: csrfOf(flow),
          passkey_login: JSON.stringify(second.get(requestOptionsOf(flow), { origin: ORIGIN })),
        },
      });
      expectStatus(done, 200, `browser login on ${instance.name}`);
      return done.body.session.id as string;
    };
    await timed('revoke on one instance, refused on the other', async () => {
      const browserSession = await browserLogin(A);
      const flow = await native(B, '/auth/self-service/login/api', {});
      expectStatus(flow, 200, 'native login flow on B');
      const signed = await native(B, flow.body.ui.action, {
        body: {
          method: 'passkey',
          passkey_login: JSON.stringify(second.get(requestOptionsOf(flow.body), { origin: ORIGIN })),
        },
      });
      expectStatus(signed, 200, 'native login on B');
      const token = signed.body.session_token as string;
      // The native app, on B, ends the browser's session (which A issued).
      const listed = await native(B, '/auth/sessions', { token });
      expectStatus(listed, 200, 'list on B');
      assert.ok(
        listed.body.some((s: { id: string }) => s.id === browserSession),
        'B lists the browser session',
      );
      expectStatus(
        await native(B, `/auth/sessions/${browserSession}`, { method: 'DELETE', token }),
        204,
        'revoke on B',
      );
      expectStatus(await whoami(A), 401, 'the browser’s next request, on A');
      expectStatus(await call(A, '/auth/sessions'), 401, 'its session list on A');
      // The other way round: the browser signs in again on B and ends every other session through A.
      await browserLogin(B);
      const revoked = await call(A, '/auth/sessions', { method: 'DELETE' });
      expectStatus(revoked, 200, 'revoke the others on A');
      assert.equal(revoked.body.count, 1, 'the native app');
      expectStatus(await native(B, '/auth/sessions/whoami', { token }), 401, 'the token’s next request, on B');
      expectStatus(await whoami(B), 200, 'the browser goes on');
      await logout(A);
    });
  });

  it('both instances shut down cleanly on SIGTERM', async () => {
    const codes = await timed('SIGTERM both instances until exit', () =>
      Promise.all([stopInstance(A), stopInstance(B)]),
    );
    assert.deepEqual(codes, [0, 0], instances.map((i) => `${i.name}: ${i.stderr.join('\n')}`).join('\n'));
    for (const instance of [A, B]) assert.ok(instance.stdout.includes('CLOSED'), `${instance.name} stdout`);
    for (const instance of [A, B]) assert.deepEqual(instance.stderr, [], `${instance.name} logged errors`);
  });
});
