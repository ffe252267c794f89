// Cost growth: complete sign-ins per second through the router as what the store holds grows. Credential lookups are by
// id and nothing scans, so the figures should stay flat.
//
//   node --max-old-space-size=6144 --import tsx bench/growth.ts [--seconds 3] [--rounds 3] [--concurrency 16]
//        [--identities 1000,100000,1000000] [--pg-identities 100000] [--no-pg]
//
// Configurations (one app each, all in this process and measured in interleaved rounds, so that every configuration
// sees the same heap, the same machine and the same load generator):
//   - MemoryStore, every signing-in identity holding 1, 10, 100 or 500 passkeys (the first is the one used);
//   - MemoryStore prefilled with 1k, 100k or 1M identities (one passkey each) besides the signing-in ones;
//   - the PostgreSQL example adapter (examples/postgres-store) on 127.0.0.1:5432, database `test`, prefilled with 1k and
//     with 100k identities, each in a schema of its own (dropped at the end).
// Ratios are taken within a round against the reference of the group (1 passkey; 1k identities; PostgreSQL with 1k).

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import { MemoryStore, type PasskeysOptions } from '../src/index.js';
import type { Identity, Passkey, Store } from '../src/store/types.js';
import { coseEncodePublicKey } from '../test/helpers/authenticator.js';
import {
  type BenchServer,
  emitResult,
  fmt,
  Interference,
  LoadRunner,
  machineLine,
  median,
  numberArg,
  printTable,
  spread,
  startServer,
} from './lib.js';

/** The COSE key of the filler passkeys (never used to sign in). */
const FILLER_KEY = coseEncodePublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, -7);

function fillerPasskey(identityId: string): Passkey {
  return {
    id: randomBytes(32).toString('base64url'),
    identityId,
    publicKey: FILLER_KEY,
    signCount: 0,
    transports: ['internal'],
    aaguid: '00000000-0000-0000-0000-000000000000',
    name: 'filler',
    backupEligible: false,
    backedUp: false,
    createdAt: new Date(),
    lastUsedAt: null,
  };
}

function fillerIdentity(i: number): Identity {
  const now = new Date();
  const email = `filler-${i}-${randomUUID()}@example.com`;
  return {
    id: randomUUID(),
    schemaId: 'default',
    traits: { email },
    identifier: email,
    userHandle: randomBytes(32).toString('base64url'),
    recoveryAddresses: [],
    verifiableAddresses: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** Create `n` identities with one passkey each, `parallel` at a time (a database wants a few in flight). */
async function prefill(store: Store, n: number, parallel: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const identity = fillerIdentity(next++);
      await store.createIdentity(identity, fillerPasskey(identity.id));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

interface Config {
  group: string;
  name: string;
  server: BenchServer<Store>;
}

export async function benchGrowth(opts: {
  seconds: number;
  rounds: number;
  concurrency: number;
  identities: number[];
  pgIdentities: number;
  pg: boolean;
}) {
  const { seconds, rounds, concurrency } = opts;
  console.log(
    `# growth: ${rounds} rounds x ${seconds} s per configuration, ${concurrency} concurrent clients signing in`,
  );
  console.log(`# ${machineLine()}`);
  const configs: Config[] = [];
  const started = performance.now();

  for (const n of [1, 10, 100, 500]) {
    const store = new MemoryStore();
    const extra: Partial<PasskeysOptions> =
      n === 1
        ? {}
        : {
            hooks: {
              // Each signing-in identity gets n - 1 more passkeys right after it registers (before any sign-in).
              onRegistered: async ({ identity }) => {
                for (let i = 1; i < n; i++) await store.addPasskey(fillerPasskey(identity.id));
              },
            },
          };
    configs.push({
      group: 'passkeys per identity',
      name: `${n} passkey${n === 1 ? '' : 's'}`,
      server: await startServer({ store, passkeys: extra }),
    });
  }
  for (const n of opts.identities) {
    const store = new MemoryStore();
    const t0 = performance.now();
    await prefill(store, n, 1);
    console.log(
      `# MemoryStore prefilled with ${fmt.int(n)} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    configs.push({
      group: 'identities in MemoryStore',
      name: `${fmt.int(n)} identities`,
      server: await startServer({ store }),
    });
  }

  const env = process.env;
  const pool = opts.pg
    ? new pg.Pool({
        host: env.PGHOST || '127.0.0.1',
        port: Number(env.PGPORT || 5432),
        user: env.PGUSER || 'postgres',
        database: env.PGDATABASE || 'test',
        password: env.PGPASSWORD,
        max: 20,
        // Prefilling speed only (commits do not wait for the WAL flush); the sign-ins measured run with it too.
        options: env.PGOPTIONS ?? '-c synchronous_commit=off',
      })
    : undefined;
  const schemas: string[] = [];
  if (pool) {
    pool.on('error', () => {});
    for (const n of [1000, opts.pgIdentities]) {
      const schema = `passkeys_bench_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      await migrate(pool, schema);
      const store = new PostgresStore(pool, { schema });
      const t0 = performance.now();
      await prefill(store, n, 16);
      await pool.query(`ANALYZE ${quoteIdentifier(schema)}.identities`);
      await pool.query(`ANALYZE ${quoteIdentifier(schema)}.passkeys`);
      console.log(
        `# PostgresStore prefilled with ${fmt.int(n)} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      configs.push({
        group: 'identities in PostgreSQL',
        name: `${fmt.int(n)} identities (PostgreSQL)`,
        server: await startServer({ store }),
      });
    }
  }
  console.log(`# set up in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const runner = new LoadRunner();
  const measure = async (c: Config, ms: number) => {
    const interference = new Interference();
    const result = await runner.run({ kind: 'signin', base: c.server.base, concurrency, durationMs: ms });
    return {
      opsPerSec: result.ops / (result.elapsedMs / 1000),
      errors: result.errors,
      samples: result.errorSamples,
      other: interference.otherShare(),
    };
  };
  for (const c of configs) await measure(c, 1000); // warm-up
  const results = configs.map(() => [] as Awaited<ReturnType<typeof measure>>[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of configs.entries()) results[i]?.push(await measure(c, seconds * 1000));
  }
  await runner.close();
  for (const c of configs) await c.server.close();
  if (pool) {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await pool.end();
  }

  const rows = configs.map((c, i) => {
    const runs = results[i] ?? [];
    const reference = results[configs.findIndex((other) => other.group === c.group)] ?? [];
    const ratios = runs.map((r, round) => r.opsPerSec / (reference[round]?.opsPerSec ?? Number.NaN));
    return {
      group: c.group,
      name: c.name,
      runs: runs.map((r) => r.opsPerSec),
      opsPerSec: median(runs.map((r) => r.opsPerSec)),
      ratio: median(ratios),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      samples: runs.flatMap((r) => r.samples).slice(0, 2),
      otherCpu: runs.reduce((n, r) => n + r.other, 0) / Math.max(1, runs.length),
    };
  });
  console.log();
  printTable(
    ['configuration', 'sign-ins/s median (min..max)', 'vs first of its group', 'errors', 'other CPU'],
    rows.map((r) => [
      `${r.group}: ${r.name}`,
      spread(r.runs),
      fmt.ratio(r.ratio),
      r.errors,
      `${(r.otherCpu * 100).toFixed(0)}%`,
    ]),
  );
  for (const r of rows) for (const sample of r.samples) console.log(`  error in ${r.name}: ${sample}`);
  return { seconds, rounds, concurrency, rows, machine: machineLine() };
}

if (process.argv[1]?.endsWith('bench/growth.ts')) {
  const list = (name: string, fallback: number[]) => {
    const index = process.argv.indexOf(`--${name}`);
    const raw = index === -1 ? process.env[`BENCH_${name.toUpperCase().replace('-', '_')}`] : process.argv[index + 1];
    const values = (raw ?? '')
      .split(',')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
    return values.length > 0 ? values : fallback;
  };
  const data = await benchGrowth({
    seconds: numberArg('seconds', 'BENCH_GROWTH_SECONDS', 3),
    rounds: numberArg('rounds', 'BENCH_ROUNDS', 3),
    concurrency: numberArg('concurrency', 'BENCH_CONCURRENCY', 16),
    identities: list('identities', [1000, 100_000, 1_000_000]),
    pgIdentities: numberArg('pg-identities', 'BENCH_PG_IDENTITIES', 100_000),
    pg: !process.argv.includes('--no-pg'),
  });
  emitResult('growth', data);
}
