// Memory per abandoned anonymous login flow, against one express-session session per request, and the flow sweep.
//
//   node --expose-gc --import tsx bench/memory.ts [--count 200000] [--sweep-count 100000] [--concurrency 16]
//
// Every flow is created through the router over real HTTP (the load runs in a worker thread, whose heap is its own;
// the figures are the app thread's V8 heap after full GCs). Figures are printed, never asserted.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../src/index.js';
import {
  type BenchServer,
  emitResult,
  fmt,
  Interference,
  LoadRunner,
  machineLine,
  numberArg,
  printTable,
  startServer,
} from './lib.js';

const LOGIN_INIT = '/auth/self-service/login/browser';
const FLOW = 'passkeys login flow (MemoryStore)';
const SESSION = 'express-session session (its MemoryStore)';
const gc = globalThis.gc;
if (!gc) {
  console.error('bench/memory.ts needs the GC exposed: node --expose-gc --import tsx bench/memory.ts');
  process.exit(2);
}

/** Let sockets close and finalizers run, then collect until the heap stops shrinking. */
async function settledHeap(): Promise<number> {
  await sleep(200);
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 6; i++) {
    gc?.();
    await sleep(20);
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 1024) return used;
    last = used;
  }
  return process.memoryUsage().heapUsed;
}

const sessionCount = (server: BenchServer) =>
  new Promise<number>((resolve, reject) =>
    server.sessionStore.length((err: unknown, n?: number) => (err ? reject(err) : resolve(n ?? 0))),
  );

interface Growth {
  name: string;
  items: number;
  heapDelta: number;
  perItem: number;
  reqPerSec: number;
  errors: number;
  otherCpu: number;
}

/** Send `count` anonymous GETs (no cookies: a new visitor each time) and measure the heap they leave behind. */
async function grow(
  runner: LoadRunner,
  server: BenchServer,
  path: string,
  count: number,
  concurrency: number,
  held: () => Promise<number>,
  name: string,
): Promise<Growth> {
  // Warm-up: compile every path involved before the first heap reading.
  await runner.run({ kind: 'get', base: server.base, path, concurrency, count: 2000, cookies: false });
  const heap0 = await settledHeap();
  const items0 = await held();
  const interference = new Interference();
  const result = await runner.run({ kind: 'get', base: server.base, path, concurrency, count, cookies: false });
  const otherCpu = interference.otherShare();
  const heap1 = await settledHeap();
  const items = (await held()) - items0;
  return {
    name,
    items,
    heapDelta: heap1 - heap0,
    perItem: (heap1 - heap0) / items,
    reqPerSec: result.requests / (result.elapsedMs / 1000),
    errors: result.errors,
    otherCpu,
  };
}

export async function benchMemory(count: number, sweepCount: number, concurrency: number) {
  console.log(`# memory: ${fmt.int(count)} anonymous requests per measurement, ${concurrency} concurrent clients`);
  console.log(`# ${machineLine()}`);
  const runner = new LoadRunner();

  // 1. Abandoned login flows in the MemoryStore (cap raised so that none is evicted).
  const measureFlows = async () => {
    const server = await startServer({ store: new MemoryStore({ maxFlows: 10 * count }) });
    const growth = await grow(runner, server, LOGIN_INIT, count, concurrency, async () => server.store.flowCount, FLOW);
    const sessionsLeft = await sessionCount(server);
    await server.close();
    return { growth, sessionsLeft };
  };
  const { growth: flows, sessionsLeft: sessionsWithFlows } = await measureFlows();

  // 2. Baseline: express-session's MemoryStore with one session per anonymous request (saveUninitialized: true).
  const measureSessions = async () => {
    const server = await startServer({ saveUninitialized: true });
    const growth = await grow(runner, server, '/baseline', count, concurrency, () => sessionCount(server), SESSION);
    await server.close();
    return growth;
  };
  const sessions = await measureSessions();

  // 3. The sweep: a flood of abandoned inits whose flows live 1 s; then the clock moves past their 2 h retention and
  //    no request arrives: the store's own timer must free them within 5 s, in chunks of a few ms.
  const realNow = Date.now;
  const sweepServer = await startServer({
    store: new MemoryStore({ maxFlows: 10 * sweepCount }),
    passkeys: { lifespans: { flow: '1s', ceremony: '1s' } },
  });
  const init = { kind: 'get', base: sweepServer.base, path: LOGIN_INIT, concurrency, cookies: false } as const;
  await runner.run({ ...init, count: 2000 }); // warm-up
  await sleep(100);
  sweepServer.store.sweep(); // nothing left from the warm-up but what is still inside retention
  const beforeFlood = { heap: await settledHeap(), flows: sweepServer.store.flowCount };
  await runner.run({ ...init, count: sweepCount });
  const peak = { heap: await settledHeap(), flows: sweepServer.store.flowCount };
  // The event loop's delay over 5 s with nothing to sweep yet (the baseline), then over the 5 s of the sweep.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await sleep(5000);
  idle.disable();
  const offset = 2 * 3600_000 + 7000;
  Date.now = () => realNow() + offset;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const moved = performance.now();
  let freedAfterMs = Number.NaN;
  while (performance.now() - moved < 5000) {
    await sleep(50);
    if (Number.isNaN(freedAfterMs) && sweepServer.store.flowCount === 0) freedAfterMs = performance.now() - moved;
  }
  delay.disable();
  const flowsAt5s = sweepServer.store.flowCount;
  const after = { heap: await settledHeap(), flows: flowsAt5s };
  const explicit = sweepServer.store.sweep();
  Date.now = realNow;
  await sweepServer.close();
  await runner.close();
  const delays = (h: typeof delay) => ({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6 });
  const loopDelay = { sweeping: delays(delay), idle: delays(idle) };

  console.log();
  printTable(
    ['per anonymous request', 'held', 'heap delta', 'per item', 'vs baseline', 'HTTP req/s', 'errors', 'other CPU'],
    [flows, sessions].map((g) => [
      g.name,
      fmt.int(g.items),
      fmt.mib(g.heapDelta),
      fmt.bytes(g.perItem),
      fmt.ratio(g.perItem / sessions.perItem),
      fmt.int(g.reqPerSec),
      g.errors,
      `${(g.otherCpu * 100).toFixed(0)}%`,
    ]),
  );
  console.log(`(sessions created while creating flows: ${sessionsWithFlows}; the flow inits leave no session behind)`);
  console.log();
  console.log(
    `sweep: a flood of ${fmt.int(sweepCount)} abandoned inits (lifespans.flow = 1s), then Date.now moved ${offset / 1000} s ahead (past the 2 h retention) and no request for 5 s`,
  );
  printTable(
    ['', 'flows held', 'heap after full GC'],
    [
      ['before the flood', fmt.int(beforeFlood.flows), fmt.mib(beforeFlood.heap)],
      ['at the peak', fmt.int(peak.flows), fmt.mib(peak.heap)],
      ['5 s after the clock passed retention (no request)', fmt.int(after.flows), fmt.mib(after.heap)],
    ],
  );
  console.log(
    `released: ${fmt.mib(peak.heap - after.heap)} of the flood's ${fmt.mib(peak.heap - beforeFlood.heap)}; all flows gone ${Number.isNaN(freedAfterMs) ? 'not within 5 s' : `${(freedAfterMs / 1000).toFixed(2)} s after the clock passed retention`}; store.sweep() afterwards dropped ${explicit} more`,
  );
  const show = (d: { maxMs: number; p99Ms: number; meanMs: number }) =>
    `max ${d.maxMs.toFixed(1)} ms, p99 ${d.p99Ms.toFixed(1)} ms, mean ${d.meanMs.toFixed(1)} ms`;
  console.log(
    `event-loop delay (1 ms resolution) during those 5 s: ${show(loopDelay.sweeping)}; during 5 s before, with nothing to sweep: ${show(loopDelay.idle)}`,
  );
  return {
    count,
    concurrency,
    flows,
    sessions,
    sweep: { count: sweepCount, before: beforeFlood, peak, after, freedAfterMs, loopDelay, explicit },
    machine: machineLine(),
  };
}

if (process.argv[1]?.endsWith('bench/memory.ts')) {
  const data = await benchMemory(
    numberArg('count', 'BENCH_COUNT', 200_000),
    numberArg('sweep-count', 'BENCH_SWEEP_COUNT', 100_000),
    numberArg('concurrency', 'BENCH_CONCURRENCY', 16),
  );
  emitResult('memory', data);
}
