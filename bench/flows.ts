// Throughput of login flow inits and of complete sign-ins over real HTTP, against a trivial route in the same app.
//
//   npx tsx bench/flows.ts [--seconds 5] [--rounds 3] [--concurrency 16]
//
// The app (express-session + passkeys + MemoryStore) runs on this thread; the load runs in a worker thread with
// keep-alive sockets over loopback. Figures are printed, never asserted.

import { createSign, createVerify, generateKeyPairSync, webcrypto } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  emitResult,
  fmt,
  Interference,
  type LoadResult,
  LoadRunner,
  machineLine,
  median,
  numberArg,
  percentile,
  printTable,
  startServer,
  summarise,
  type Throughput,
} from './lib.js';

const LOGIN_INIT = '/auth/self-service/login/browser';

/** ES256 signature checks per second on this thread: the floor under any sign-in (it verifies one). */
async function verifyFloor(ms: number): Promise<{ sync: number; webcrypto: number }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(37 + 32, 7);
  const signature = createSign('sha256').update(data).sign(privateKey);
  let n = 0;
  let start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 50; i++) createVerify('sha256').update(data).verify(publicKey, signature);
    n += 50;
  }
  const sync = n / ((performance.now() - start) / 1000);
  // What @simplewebauthn/server does per assertion: import the COSE key as a JWK, then subtle.verify (raw r||s).
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = createSign('sha256').update(data).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
  const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const ok = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, data);
  if (!ok) throw new Error('webcrypto verify failed');
  n = 0;
  start = performance.now();
  while (performance.now() - start < ms) {
    const k = await webcrypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, k, raw, data);
    n++;
  }
  return { sync, webcrypto: n / ((performance.now() - start) / 1000) };
}

interface Row {
  name: string;
  /** Medians over the rounds. */
  opsPerSec: number;
  reqPerSec: number;
  /** Median over the rounds of (this req/s ÷ the baseline's req/s in the same round). */
  ratio: number;
  spread: [number, number];
  p50: number;
  p99: number;
  errors: number;
  otherCpu: number;
  errorSamples: string[];
}

export async function benchFlows(seconds: number, concurrency: number, rounds: number) {
  console.log(`# flows: ${rounds} rounds x ${seconds} s per measurement, ${concurrency} concurrent keep-alive clients`);
  console.log(`# ${machineLine()}`);
  const server = await startServer();
  const runner = new LoadRunner();
  const durationMs = seconds * 1000;
  const kinds = [
    {
      name: 'baseline: GET /baseline',
      run: (ms: number) =>
        runner.run({ kind: 'get', base: server.base, path: '/baseline', concurrency, durationMs: ms, cookies: true }),
    },
    {
      name: `login flow init: GET ${LOGIN_INIT}`,
      run: (ms: number) =>
        runner.run({ kind: 'get', base: server.base, path: LOGIN_INIT, concurrency, durationMs: ms, cookies: true }),
    },
    {
      name: 'complete sign-in: init + assertion + POST',
      run: (ms: number) => runner.run({ kind: 'signin', base: server.base, concurrency, durationMs: ms }),
    },
  ];

  // Warm-up (JIT on both sides, first-use compilation, socket pools); discarded.
  for (const kind of kinds) await kind.run(Math.min(2000, durationMs));

  // Interleaved rounds, so a burst of load from other processes hits one round of each, not one measurement.
  const results: { result: LoadResult; summary: Throughput; other: number }[][] = kinds.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, kind] of kinds.entries()) {
      const interference = new Interference();
      const result = await kind.run(durationMs);
      results[i]?.push({ result, summary: summarise(kind.name, result), other: interference.otherShare() });
    }
  }
  const flowsHeld = server.store.flowCount;
  await runner.close();
  await server.close();

  const baselineRounds = results[0] ?? [];
  const rows: Row[] = kinds.map((kind, i) => {
    const runs = results[i] ?? [];
    const latencies = runs.flatMap((r) => r.result.latencies).sort((a, b) => a - b);
    const ratios = runs.map(
      (r, round) => r.summary.reqPerSec / (baselineRounds[round]?.summary.reqPerSec ?? Number.NaN),
    );
    const ops = runs.map((r) => r.summary.opsPerSec);
    return {
      name: kind.name,
      opsPerSec: median(ops),
      reqPerSec: median(runs.map((r) => r.summary.reqPerSec)),
      ratio: median(ratios),
      spread: [Math.min(...ops), Math.max(...ops)],
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      errors: runs.reduce((n, r) => n + r.result.errors, 0),
      otherCpu: runs.reduce((n, r) => n + r.other, 0) / runs.length,
      errorSamples: runs.flatMap((r) => r.result.errorSamples).slice(0, 5),
    };
  });
  const floor = await verifyFloor(1000);

  console.log();
  printTable(
    [
      'measurement',
      'ops/s',
      'min..max ops/s',
      'HTTP req/s',
      'p50 ms',
      'p99 ms',
      'req/s vs baseline',
      'errors',
      'other CPU',
    ],
    rows.map((r) => [
      r.name,
      fmt.int(r.opsPerSec),
      `${fmt.int(r.spread[0])}..${fmt.int(r.spread[1])}`,
      fmt.int(r.reqPerSec),
      fmt.ms(r.p50),
      fmt.ms(r.p99),
      fmt.ratio(r.ratio),
      r.errors,
      `${(r.otherCpu * 100).toFixed(0)}%`,
    ]),
  );
  console.log();
  const signin = rows[2] as Row;
  const baseline = rows[0] as Row;
  console.log(
    `sign-ins/s vs baseline req/s: ${fmt.ratio(signin.opsPerSec / baseline.reqPerSec)} (a sign-in is 2 requests and one signature check)`,
  );
  console.log(
    `ES256 verify on the app thread: ${fmt.int(floor.sync)}/s with node:crypto, ${fmt.int(floor.webcrypto)}/s with WebCrypto importKey+verify (what @simplewebauthn/server does per assertion)`,
  );
  console.log(`flows held by the MemoryStore at the end: ${fmt.int(flowsHeld)}`);
  console.log('other CPU: share of both cores used by other processes during the measurement (0% = quiet machine)');
  for (const row of rows) for (const sample of row.errorSamples) console.log(`  error in ${row.name}: ${sample}`);
  return { seconds, rounds, concurrency, rows, floor, machine: machineLine() };
}

const isMain = process.argv[1]?.endsWith('bench/flows.ts');
if (isMain) {
  const data = await benchFlows(
    numberArg('seconds', 'BENCH_SECONDS', 5),
    numberArg('concurrency', 'BENCH_CONCURRENCY', 16),
    numberArg('rounds', 'BENCH_ROUNDS', 3),
  );
  emitResult('flows', data);
}
