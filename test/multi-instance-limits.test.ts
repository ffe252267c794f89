// Limits hold across instances (issue 14, finding 3): two app processes (test/fixtures/instance-server.ts) over one
// PostgreSQL schema share the send limit, the failure budget and the long-code switch, because every count lives in
// the store (PostgresStore.incrementCounter). Requests alternate between the instances; per-process limits would let
// each allow its own share. Mail goes to a real SMTP server in this process through the example's nodemailer courier.
// PostgreSQL and Redis must be up (as for test/multi-instance.test.ts): when either is down every case fails.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import { makeIdentity, makePasskey, makeRecoveryAddress } from '../src/testing/index.js';
import { type Inbox, startSmtp } from './helpers/smtp.js';

const env = process.env;
const root = fileURLToPath(new URL('..', import.meta.url));
const id = randomBytes(6).toString('hex');
const schema = `passkeys_limits_${id}`;
const LIMITS = { maxSendsPerAddress: 3, maxSendsPerClient: 100, maxFailuresPerClient: 4, maxFailuresPerAddress: 3 };

interface Instance {
  name: string;
  base: string;
  proc: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
}

const instances: Instance[] = [];
let inbox: Inbox;
let pool: pg.Pool;

async function spawnInstance(name: string): Promise<Instance> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/instance-server.ts'], {
    cwd: root,
    env: {
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      INSTANCE_NAME: name,
      PASSKEYS_PG_SCHEMA: schema,
      PASSKEYS_REDIS_PREFIX: `passkeys_limits_${id}:`,
      RP_ORIGIN: 'http://localhost:3000',
      SMTP_URL: inbox.url,
      PASSKEYS_SECRET: `limits secret ${id} that is long enough`,
      PASSKEYS_CODE_OPTIONS: JSON.stringify(LIMITS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const instance: Instance = { name, base: '', proc, stderr, exited };
  instances.push(instance);
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not listening; stderr:\n${stderr.join('\n')}`)), 30_000);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening; stderr:\n${stderr.join('\n')}`));
    });
  });
  instance.base = `http://127.0.0.1:${port}`;
  return instance;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
type Body = any;

/** A JSON request (native-app flows: no cookies) to an instance. */
async function call(instance: Instance, path: string, body?: unknown): Promise<{ status: number; body: Body }> {
  const res = await fetch(new URL(path, instance.base), {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = { status: res.status, body: await res.json() };
  assert.ok(reply.status < 500, `${instance.name} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply;
}

type Kind = 'recovery' | 'verification';
const init = async (instance: Instance, kind: Kind) => {
  const res = await call(instance, `/auth/self-service/${kind}/api`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id as string;
};
const post = (instance: Instance, kind: Kind, flow: string, body: Record<string, unknown>) =>
  call(instance, `/auth/self-service/${kind}?flow=${flow}`, body);
const ids = (body: Body): number[] => (body.ui?.messages ?? []).map((m: { id: number }) => m.id);

/** The recovery code in the next mail to `to` (6 or 12 digits). */
async function codeOf(to: string): Promise<string> {
  const mail = await inbox.waitForMail(to);
  const code = /\b(\d{12}|\d{6})\b/.exec(mail.text)?.[1];
  assert.ok(code, mail.text);
  return code;
}

before(async () => {
  inbox = await startSmtp();
  pool = new pg.Pool({
    host: env.PGHOST || '127.0.0.1',
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || 'postgres',
    database: env.PGDATABASE || 'test',
    password: env.PGPASSWORD,
  });
  await migrate(pool, schema);
  await Promise.all([spawnInstance('A'), spawnInstance('B')]);
});

after(async () => {
  for (const instance of instances) {
    if (instance.proc.exitCode === null && instance.proc.signalCode === null) instance.proc.kill('SIGTERM');
    const timer = setTimeout(() => instance.proc.kill('SIGKILL'), 15_000);
    await instance.exited;
    clearTimeout(timer);
  }
  await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`).catch(() => {});
  await pool?.end();
  await inbox?.close();
});

describe('limits across two instances on one PostgreSQL', () => {
  it('the per-address send limit is shared: 3 sends alternating A, B, A; the 4th (on B) is refused with 4000505', async () => {
    const [a, b] = instances as [Instance, Instance];
    const email = `nobody-${id}@example.com`;
    const answers = [];
    for (const instance of [a, b, a, b]) {
      const flow = await init(instance, 'recovery');
      const res = await post(instance, 'recovery', flow, { method: 'code', email });
      answers.push([res.status, ids(res.body)]);
    }
    assert.deepEqual(answers, [
      [200, [1060003]],
      [200, [1060003]],
      [200, [1060003]],
      [400, [4000505]],
    ]);
  });

  it('the failure budget of a client is shared: 4 wrong codes alternating A and B; the 5th submission (on A) is told to wait', async () => {
    const [a, b] = instances as [Instance, Instance];
    const email = `nobody-fail-${id}@example.com`;
    const flows = [await init(a, 'verification'), await init(b, 'verification')];
    await post(a, 'verification', flows[0]!, { method: 'code', email });
    await post(b, 'verification', flows[1]!, { method: 'code', email });
    for (let i = 0; i < 4; i++) {
      const instance = i % 2 === 0 ? a : b;
      const res = await post(instance, 'verification', flows[i % 2]!, { method: 'code', code: String(100000 + i) });
      assert.equal(res.status, 200);
      assert.deepEqual(ids(res.body), [4070006]);
    }
    const res = await post(a, 'verification', flows[0]!, { method: 'code', code: '100009' });
    assert.equal(res.status, 400);
    assert.deepEqual(ids(res.body), [4000505]);
  });

  it('failures for an address are shared: after 3 wrong codes across A and B the next code (the third send) is long, and it recovers the account', async () => {
    const [a, b] = instances as [Instance, Instance];
    const store = new PostgresStore(pool, { schema });
    const address = makeRecoveryAddress({ value: `owner-${id}@example.com` });
    const identity = makeIdentity({ recoveryAddresses: [address] });
    await store.createIdentity(identity, makePasskey(identity.id));
    const email = address.value;
    // Two "attackers" (a flow on each instance): three wrong codes in all.
    for (const [instance, tries] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const flow = await init(instance, 'recovery');
      await post(instance, 'recovery', flow, { method: 'code', email });
      const code = await codeOf(email);
      assert.equal(code.length, 6, 'the address was calm');
      for (let i = 0; i < tries; i++) {
        const wrong = String(500000 + i) === code ? '599999' : String(500000 + i);
        assert.deepEqual(
          ids((await post(instance, 'recovery', flow, { method: 'code', code: wrong })).body),
          [4060006],
        );
      }
    }
    // The owner asks on B: a 12-digit code; typed on A, it recovers the account (the flow is in the shared store).
    const flow = await init(b, 'recovery');
    const sent = await post(b, 'recovery', flow, { method: 'code', email });
    assert.equal(sent.status, 200);
    const maxlength = sent.body.ui.nodes.find((n: Body) => n.attributes.name === 'code')?.attributes.maxlength;
    assert.equal(maxlength, 12);
    const code = await codeOf(email);
    assert.equal(code.length, 12);
    const ok = await post(a, 'recovery', flow, { method: 'code', code });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.state, 'passed_challenge');
    assert.ok(
      ok.body.continue_with.some((c: Body) => c.action === 'set_ory_session_token'),
      JSON.stringify(ok.body.continue_with),
    );
    // The counters are rows of the shared table.
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${quoteIdentifier(schema)}.limit_counters`);
    assert.ok(rows[0].n >= 6, `counters in PostgreSQL: ${rows[0].n}`);
  });
});
