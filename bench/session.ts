// The cost of checking the session record at every request: an app route behind `requireSession()` against the same
// route behind express-session alone (reading `req.session`), same app, same signed-in cookies, same run.
//
//   npx tsx bench/session.ts [--seconds 5] [--rounds 3] [--concurrency 16]
//
// Both routes sit behind the same express-session (its MemoryStore); the guarded one also reads the session record
// from the passkeys store: MemoryStore, then the example PostgresStore (PostgreSQL at PGHOST, default 127.0.0.1).
// Measurements alternate route by route in rounds; ratios are taken within a round, figures are medians. The headline
// lines:
//   session check: router <n>/s = <r>x express-session
//   session check (PostgreSQL): router <n>/s = <r>x express-session

import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import { MemoryStore, passkeys, requireSession, type Store } from '../src/index.js';
import { SoftwareAuthenticator } from '../test/helpers/authenticator.js';
import {
  appThreadCpuMs,
  emitResult,
  fmt,
  Interference,
  LoadRunner,
  machineLine,
  median,
  numberArg,
  ORIGIN,
  printTable,
  RP,
  spread,
} from './lib.js';

interface App {
  base: string;
  close(): Promise<void>;
}

async function startApp(store: Store): Promise<App> {
  const app = express();
  app.disable('x-powered-by');
  app.use(session({ secret: 'bench secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use('/auth', passkeys({ rp: RP, store }));
  // The baseline: what an app does with express-session alone.
  app.get('/plain', (req, res) => {
    if (!req.session.passkeys?.identityId) {
      res.status(401).json({ error: 'no session' });
      return;
    }
    res.json({ ok: true, identity: req.session.passkeys.identityId });
  });
  app.get('/guarded', requireSession(), (_req, res) => {
    res.json({ ok: true, identity: res.locals.passkeysSession?.identityId });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 60_000;
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Register one identity through the router as a browser does; returns its session cookie (`sid=...`). */
async function signedInCookie(base: string, index: number): Promise<string> {
  const authenticator = new SoftwareAuthenticator({ alg: -7 });
  const init = await fetch(`${base}/auth/self-service/registration/browser`, {
    headers: { accept: 'application/json' },
  });
  const csrfCookie = init.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const flow = (await init.json()) as {
    ui: { action: string; nodes: { attributes: { name?: string; value?: unknown } }[] };
  };
  const value = (name: string) => String(flow.ui.nodes.find((n) => n.attributes.name === name)?.attributes.value);
  const data = JSON.parse(value('passkey_create_data'));
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin: ORIGIN });
  const done = await fetch(flow.ui.action, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', cookie: csrfCookie },
    body: JSON.stringify({
      method: 'passkey',
      csrf_token: value('csrf_token'),
      traits: { email: `session-bench-${index}-${Date.now()}@example.com` },
      passkey_register: JSON.stringify(credential),
    }),
  });
  if (done.status !== 200) throw new Error(`registration: ${done.status} ${await done.text()}`);
  const sid = done.headers.getSetCookie().find((c) => c.startsWith('sid='));
  if (!sid) throw new Error('no session cookie');
  return sid.split(';')[0] as string;
}

type Route = 'plain' | 'guarded';

async function benchStore(label: string, store: Store, seconds: number, rounds: number, concurrency: number) {
  const app = await startApp(store);
  const cookies: string[] = [];
  for (let i = 0; i < concurrency; i++) cookies.push(await signedInCookie(app.base, i));
  const runner = new LoadRunner();
  const measure = async (route: Route, ms: number) => {
    const interference = new Interference();
    const cpu0 = appThreadCpuMs();
    const result = await runner.run({
      kind: 'get',
      base: app.base,
      path: `/${route}`,
      concurrency,
      durationMs: ms,
      cookies: false,
      cookieHeaders: cookies,
    });
    return {
      opsPerSec: result.ops / (result.elapsedMs / 1000),
      cpuPerOp: ((appThreadCpuMs() - cpu0) * 1000) / Math.max(1, result.ops),
      errors: result.errors,
      samples: result.errorSamples,
      other: interference.otherShare(),
    };
  };
  for (const route of ['plain', 'guarded'] as const) await measure(route, Math.min(2000, seconds * 1000)); // warm-up
  const runs = {
    plain: [] as Awaited<ReturnType<typeof measure>>[],
    guarded: [] as Awaited<ReturnType<typeof measure>>[],
  };
  for (let round = 0; round < rounds; round++) {
    runs.plain.push(await measure('plain', seconds * 1000));
    runs.guarded.push(await measure('guarded', seconds * 1000));
  }
  await runner.close();
  await app.close();
  const ratios = runs.guarded.map((g, i) => g.opsPerSec / (runs.plain[i]?.opsPerSec ?? Number.NaN));
  const rows = (['plain', 'guarded'] as const).map((route) => [
    `${label}: ${route === 'plain' ? 'express-session alone (req.session)' : 'requireSession() (record check)'}`,
    spread(runs[route].map((r) => r.opsPerSec)),
    fmt.int(median(runs[route].map((r) => r.cpuPerOp))),
    runs[route].reduce((n, r) => n + r.errors, 0),
    `${((runs[route].reduce((n, r) => n + r.other, 0) / rounds) * 100).toFixed(0)}%`,
  ]);
  for (const route of ['plain', 'guarded'] as const) {
    for (const sample of runs[route].flatMap((r) => r.samples).slice(0, 3))
      console.log(`  error in ${route}: ${sample}`);
  }
  // CPU per request of the baseline ÷ the guarded route's, by round: the cost ratio, steadier on a loaded machine.
  const cpuRatio = median(runs.guarded.map((g, i) => (runs.plain[i]?.cpuPerOp ?? Number.NaN) / g.cpuPerOp));
  return { rows, opsPerSec: median(runs.guarded.map((r) => r.opsPerSec)), ratio: median(ratios), ratios, cpuRatio };
}

export async function benchSession(seconds: number, rounds: number, concurrency: number) {
  console.log(
    `# session check: ${rounds} rounds x ${seconds} s per route, ${concurrency} concurrent keep-alive clients, each a signed-in browser`,
  );
  console.log(`# ${machineLine()}`);
  const memory = await benchStore('MemoryStore', new MemoryStore(), seconds, rounds, concurrency);

  const env = process.env;
  const pool = new pg.Pool({
    host: env.PGHOST || '127.0.0.1',
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || 'postgres',
    database: env.PGDATABASE || 'test',
    password: env.PGPASSWORD,
    max: 10,
  });
  const schema = `passkeys_bench_session_${process.pid}`;
  let postgres: Awaited<ReturnType<typeof benchStore>>;
  try {
    await migrate(pool, schema);
    postgres = await benchStore('PostgreSQL', new PostgresStore(pool, { schema }), seconds, rounds, concurrency);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`).catch(() => {});
    await pool.end();
  }

  console.log();
  printTable(
    ['route', 'req/s median (min..max)', 'app CPU µs/req', 'errors', 'other CPU'],
    [...memory.rows, ...postgres.rows],
  );
  console.log(
    'one request: GET of an app route by a signed-in browser (express-session MemoryStore for both routes; the guarded one also reads the session record from the passkeys store)',
  );
  console.log(
    `app CPU per request, express-session ÷ router: MemoryStore ${memory.cpuRatio.toFixed(2)}x, PostgreSQL ${postgres.cpuRatio.toFixed(2)}x`,
  );
  console.log(`session check: router ${Math.round(memory.opsPerSec)}/s = ${memory.ratio.toFixed(2)}x express-session`);
  console.log(
    `session check (PostgreSQL): router ${Math.round(postgres.opsPerSec)}/s = ${postgres.ratio.toFixed(2)}x express-session`,
  );
  return { seconds, rounds, concurrency, memory, postgres, machine: machineLine() };
}

if (process.argv[1]?.endsWith('bench/session.ts')) {
  const data = await benchSession(
    numberArg('seconds', 'BENCH_SECONDS', 5),
    numberArg('rounds', 'BENCH_ROUNDS', 3),
    numberArg('concurrency', 'BENCH_CONCURRENCY', 16),
  );
  emitResult('session', data);
}
