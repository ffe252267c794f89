// `npm run bench`: run the benches one after another, each in a fresh Node process, and print a summary table.
//
//   npm run bench [-- --seconds 5 --rounds 3 --count 200000 --sweep-count 100000 --concurrency 16]
//   npm run bench -- login          (one bench only: flows | login | session | verify | growth | memory; no summary)
//
// The arguments are passed to every bench (each reads those it knows). Nothing here asserts a figure: the benches
// print ratios against baselines measured in the same run, to be read, compared and recorded in bench/README.md.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmt, machineLine, printTable } from './lib.js';

interface Bench {
  name: string;
  file: string;
  nodeArgs: string[];
}

const BENCHES: Bench[] = [
  { name: 'flows', file: 'flows.ts', nodeArgs: [] },
  { name: 'login', file: 'login.ts', nodeArgs: [] },
  { name: 'session', file: 'session.ts', nodeArgs: [] },
  { name: 'verify', file: 'verify.ts', nodeArgs: [] },
  { name: 'growth', file: 'growth.ts', nodeArgs: ['--max-old-space-size=6144'] },
  { name: 'memory', file: 'memory.ts', nodeArgs: ['--expose-gc'] },
];

/** Run one bench in its own process (a clean heap, and `--expose-gc` where needed); stream its output. */
function runBench(bench: Bench, args: string[]): Promise<unknown> {
  const loader = import.meta.resolve('tsx');
  const file = fileURLToPath(new URL(`./${bench.file}`, import.meta.url));
  const child = spawn(process.execPath, [...bench.nodeArgs, '--import', loader, file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let data: unknown;
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.startsWith('BENCH_RESULT ')) data = (JSON.parse(line.slice(13)) as { data: unknown }).data;
      else console.log(line);
      newline = buffered.indexOf('\n');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (buffered) console.log(buffered);
      if (code === 0 && data !== undefined) resolve(data);
      else reject(new Error(`bench ${bench.name} exited with code ${code}`));
    });
  });
}

type FlowRow = { name: string; opsPerSec: number; reqPerSec: number; ratio: number; p50: number; p99: number };
type LoginRow = { name: string; app: string; opsPerSec: number; ratio: number; p50: number; p99: number };
type LatencyRow = {
  clients: number;
  hand: { p50: number; p99: number };
  router: { p50: number; p99: number };
  throughputRatio: number;
};
type VerifyRow = { name: string; perSec: number; ratio: number };
type GrowthRow = { group: string; name: string; opsPerSec: number; ratio: number };
type Growth = { name: string; perItem: number; items: number };

const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('--') && BENCHES.some((b) => b.name === a));
const results: Record<string, unknown> = {};
const started = Date.now();
for (const bench of BENCHES) {
  if (only && bench.name !== only) continue;
  console.log(`\n=== ${bench.name} ===`);
  results[bench.name] = await runBench(
    bench,
    args.filter((a) => a !== only),
  );
}

// One bench asked for: its own last lines are the result; no summary.
if (only) process.exit(0);

console.log('\n=== summary ===');
console.log(`# ${machineLine()}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
const rows: string[][] = [];
const flows = results.flows as { rows: FlowRow[] } | undefined;
for (const row of flows?.rows ?? []) {
  rows.push([
    row.name,
    `${fmt.int(row.opsPerSec)} ops/s, ${fmt.int(row.reqPerSec)} req/s`,
    `p50 ${fmt.ms(row.p50)} ms, p99 ${fmt.ms(row.p99)} ms`,
    `${fmt.ratio(row.ratio)} of baseline req/s`,
  ]);
}
const login = results.login as { rows: LoginRow[]; latency: LatencyRow[] } | undefined;
for (const row of login?.rows ?? []) {
  rows.push([
    row.name,
    `${fmt.int(row.opsPerSec)} ceremonies/s`,
    `p50 ${fmt.ms(row.p50)} ms, p99 ${fmt.ms(row.p99)} ms`,
    row.app === 'hand' ? 'baseline' : `${fmt.ratio(row.ratio)} of hand-written`,
  ]);
}
for (const l of login?.latency ?? []) {
  rows.push([
    `sign-in latency, ${l.clients} client${l.clients === 1 ? '' : 's'}`,
    `router p50 ${fmt.ms(l.router.p50)} ms, p99 ${fmt.ms(l.router.p99)} ms`,
    `hand-written p50 ${fmt.ms(l.hand.p50)} ms, p99 ${fmt.ms(l.hand.p99)} ms`,
    `p99 ${fmt.ratio(l.router.p99 / l.hand.p99)}, ops ${fmt.ratio(l.throughputRatio)} of hand-written`,
  ]);
}
const verify = results.verify as { rows: VerifyRow[] } | undefined;
for (const row of verify?.rows ?? []) {
  rows.push([`verify: ${row.name}`, `${fmt.int(row.perSec)}/s`, '', `${fmt.ratio(row.ratio)} of node:crypto`]);
}
const growth = results.growth as { rows: GrowthRow[] } | undefined;
for (const row of growth?.rows ?? []) {
  rows.push([
    `growth: ${row.group}`,
    row.name,
    `${fmt.int(row.opsPerSec)} sign-ins/s`,
    `${fmt.ratio(row.ratio)} of first`,
  ]);
}
const memory = results.memory as
  | {
      flows: Growth;
      sessions: Growth;
      sweep: {
        before: { heap: number; flows: number };
        peak: { heap: number; flows: number };
        after: { heap: number; flows: number };
        freedAfterMs: number;
      };
    }
  | undefined;
if (memory) {
  for (const g of [memory.flows, memory.sessions]) {
    rows.push([
      `memory per ${g.name}`,
      `${fmt.bytes(g.perItem)} each`,
      `${fmt.int(g.items)} held`,
      `${fmt.ratio(g.perItem / memory.sessions.perItem)} of baseline`,
    ]);
  }
  const { before, peak, after, freedAfterMs } = memory.sweep;
  rows.push([
    'flood, then past retention with no request',
    `${fmt.int(peak.flows)} -> ${fmt.int(after.flows)} flows in 5 s`,
    `heap ${fmt.mib(before.heap)} -> ${fmt.mib(peak.heap)} -> ${fmt.mib(after.heap)}`,
    Number.isNaN(freedAfterMs) ? 'not freed within 5 s' : `freed after ${(freedAfterMs / 1000).toFixed(2)} s`,
  ]);
}
printTable(['bench', 'figure', 'detail', 'relative'], rows);
