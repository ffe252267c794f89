// Complete sign-ins and registrations through the router, against a hand-written Express + express-session +
// @simplewebauthn/server app (bench/handwritten.ts) in the same process, with the same load generator.
//
//   npx tsx bench/login.ts [--seconds 5] [--rounds 3] [--concurrency 16] [--latency-seconds 3]
//
// Both apps run on this thread; the load runs in a worker thread (keep-alive sockets over loopback). Measurements are
// interleaved in rounds; figures are medians over the rounds with min..max, ratios are taken within a round. The last
// two lines are the headline figures:
//   login: router <n>/s = <r>x hand-written
//   registration: router <n>/s = <r>x hand-written

import { startHandWritten } from './handwritten.js';
import {
  appThreadCpuMs,
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
  spread,
  startServer,
} from './lib.js';

type App = 'router' | 'hand';
type Kind = 'signin' | 'register';

interface Measured {
  opsPerSec: number;
  reqPerSec: number;
  /** App-thread CPU time per operation, µs. */
  cpuPerOp: number;
  other: number;
  result: LoadResult;
}

const LATENCY_LEVELS = [1, 10, 50];

export async function benchLogin(seconds: number, rounds: number, concurrency: number, latencySeconds: number) {
  console.log(
    `# login: ${rounds} rounds x ${seconds} s per measurement, ${concurrency} concurrent keep-alive clients; latency at ${LATENCY_LEVELS.join(', ')} clients, ${latencySeconds} s per round`,
  );
  console.log(`# ${machineLine()}`);
  const router = await startServer();
  const hand = await startHandWritten();
  const runner = new LoadRunner();
  const measure = async (app: App, kind: Kind, clients: number, ms: number): Promise<Measured> => {
    const interference = new Interference();
    const cpu0 = appThreadCpuMs();
    const result = await runner.run({
      kind,
      app,
      base: app === 'hand' ? hand.base : router.base,
      concurrency: clients,
      durationMs: ms,
    });
    const elapsed = result.elapsedMs / 1000;
    return {
      cpuPerOp: ((appThreadCpuMs() - cpu0) * 1000) / Math.max(1, result.ops),
      opsPerSec: result.ops / elapsed,
      reqPerSec: result.requests / elapsed,
      other: interference.otherShare(),
      result,
    };
  };

  const kinds: { app: App; kind: Kind; name: string }[] = [
    { app: 'hand', kind: 'signin', name: 'sign-in, hand-written (options + verify)' },
    { app: 'router', kind: 'signin', name: 'sign-in, router (login init + submit)' },
    { app: 'hand', kind: 'register', name: 'registration, hand-written (options + verify)' },
    { app: 'router', kind: 'register', name: 'registration, router (init + submit)' },
  ];
  // Warm-up of every path on both sides (JIT, first-use compilation, socket pools); discarded.
  for (const k of kinds) await measure(k.app, k.kind, concurrency, Math.min(2000, seconds * 1000));

  const throughput = kinds.map(() => [] as Measured[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, k] of kinds.entries())
      throughput[i]?.push(await measure(k.app, k.kind, concurrency, seconds * 1000));
  }

  const latency = LATENCY_LEVELS.map(() => ({ hand: [] as Measured[], router: [] as Measured[] }));
  for (const [i, clients] of LATENCY_LEVELS.entries()) {
    const slot = latency[i] as { hand: Measured[]; router: Measured[] };
    await measure('hand', 'signin', clients, 1000);
    await measure('router', 'signin', clients, 1000);
    for (let round = 0; round < rounds; round++) {
      slot.hand.push(await measure('hand', 'signin', clients, latencySeconds * 1000));
      slot.router.push(await measure('router', 'signin', clients, latencySeconds * 1000));
    }
  }
  await runner.close();
  await router.close();
  await hand.close();

  const pooled = (runs: Measured[]) => runs.flatMap((r) => r.result.latencies).sort((a, b) => a - b);
  const ratios = (mine: Measured[], theirs: Measured[]) =>
    mine.map((m, round) => m.opsPerSec / (theirs[round]?.opsPerSec ?? Number.NaN));
  const rows = kinds.map((k, i) => {
    const runs = throughput[i] ?? [];
    const sorted = pooled(runs);
    const baseline = throughput[i % 2 === 0 ? i : i - 1] ?? [];
    return {
      name: k.name,
      app: k.app,
      kind: k.kind,
      ops: runs.map((r) => r.opsPerSec),
      opsPerSec: median(runs.map((r) => r.opsPerSec)),
      reqPerSec: median(runs.map((r) => r.reqPerSec)),
      ratio: median(ratios(runs, baseline)),
      ratios: ratios(runs, baseline),
      cpuPerOp: median(runs.map((r) => r.cpuPerOp)),
      /** Median over the rounds of (the baseline's CPU per operation ÷ this one's): above 1, cheaper than it. */
      cpuRatio: median(runs.map((r, round) => (baseline[round]?.cpuPerOp ?? Number.NaN) / r.cpuPerOp)),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      errors: runs.reduce((n, r) => n + r.result.errors, 0),
      errorSamples: runs.flatMap((r) => r.result.errorSamples).slice(0, 3),
      otherCpu: runs.reduce((n, r) => n + r.other, 0) / Math.max(1, runs.length),
    };
  });
  const latencyRows = LATENCY_LEVELS.map((clients, i) => {
    const slot = latency[i] as { hand: Measured[]; router: Measured[] };
    const h = pooled(slot.hand);
    const r = pooled(slot.router);
    return {
      clients,
      hand: { p50: percentile(h, 50), p99: percentile(h, 99), opsPerSec: median(slot.hand.map((m) => m.opsPerSec)) },
      router: {
        p50: percentile(r, 50),
        p99: percentile(r, 99),
        opsPerSec: median(slot.router.map((m) => m.opsPerSec)),
      },
      throughputRatio: median(ratios(slot.router, slot.hand)),
      errors: [...slot.hand, ...slot.router].reduce((n, m) => n + m.result.errors, 0),
      otherCpu: [...slot.hand, ...slot.router].reduce((n, m) => n + m.other, 0) / (2 * rounds),
    };
  });

  console.log();
  printTable(
    [
      'measurement',
      'ops/s median (min..max)',
      'HTTP req/s',
      'p50 ms',
      'p99 ms',
      'vs hand-written (per round)',
      'app CPU/op',
      'CPU vs hand',
      'errors',
      'other CPU',
    ],
    rows.map((r) => [
      r.name,
      spread(r.ops),
      fmt.int(r.reqPerSec),
      fmt.ms(r.p50),
      fmt.ms(r.p99),
      r.app === 'hand' ? '1.00x' : `${fmt.ratio(r.ratio)} (${r.ratios.map((x) => x.toFixed(2)).join(', ')})`,
      `${fmt.int(r.cpuPerOp)} µs`,
      fmt.ratio(r.cpuRatio),
      r.errors,
      `${(r.otherCpu * 100).toFixed(0)}%`,
    ]),
  );
  console.log();
  console.log('sign-in latency by concurrent clients (all rounds pooled):');
  printTable(
    [
      'clients',
      'hand-written ops/s',
      'router ops/s',
      'router/hand ops',
      'hand p50',
      'hand p99',
      'router p50',
      'router p99',
      'p99 router/hand',
      'errors',
      'other CPU',
    ],
    latencyRows.map((l) => [
      String(l.clients),
      fmt.int(l.hand.opsPerSec),
      fmt.int(l.router.opsPerSec),
      fmt.ratio(l.throughputRatio),
      fmt.ms(l.hand.p50),
      fmt.ms(l.hand.p99),
      fmt.ms(l.router.p50),
      fmt.ms(l.router.p99),
      fmt.ratio(l.router.p99 / l.hand.p99),
      l.errors,
      `${(l.otherCpu * 100).toFixed(0)}%`,
    ]),
  );
  console.log(
    "ops: one complete ceremony (2 HTTP requests); latency in ms; app CPU/op: CPU time of the apps' thread per ceremony (CPU vs hand: the hand-written app's ÷ this one's, above 1 is cheaper); other CPU: other processes, share of all cores",
  );
  for (const row of rows) for (const sample of row.errorSamples) console.log(`  error in ${row.name}: ${sample}`);
  const signin = rows[1] as (typeof rows)[number];
  const registration = rows[3] as (typeof rows)[number];
  console.log(`login: router ${Math.round(signin.opsPerSec)}/s = ${signin.ratio.toFixed(2)}x hand-written`);
  console.log(
    `registration: router ${Math.round(registration.opsPerSec)}/s = ${registration.ratio.toFixed(2)}x hand-written`,
  );
  return { seconds, rounds, concurrency, latencySeconds, rows, latency: latencyRows, machine: machineLine() };
}

if (process.argv[1]?.endsWith('bench/login.ts')) {
  const data = await benchLogin(
    numberArg('seconds', 'BENCH_SECONDS', 5),
    numberArg('rounds', 'BENCH_ROUNDS', 3),
    numberArg('concurrency', 'BENCH_CONCURRENCY', 16),
    numberArg('latency-seconds', 'BENCH_LATENCY_SECONDS', 3),
  );
  emitResult('login', data);
}
