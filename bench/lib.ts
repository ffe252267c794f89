// Shared bench plumbing: the in-process app under test, the load worker, statistics and table printing.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import express from 'express';
import session from 'express-session';
import { MemoryStore, type PasskeysOptions, passkeys, type Store } from '../src/index.js';

export const ORIGIN = 'http://localhost:3000';
export const RP = { id: 'localhost', displayName: 'Bench App', origins: [ORIGIN] };

/** A running app: express-session (its MemoryStore) in front of the passkeys router at `/auth` and a trivial route. */
export interface BenchServer<S extends Store = MemoryStore> {
  base: string;
  store: S;
  sessionStore: session.MemoryStore;
  close(): Promise<void>;
}

export interface ServerOptions<S extends Store = MemoryStore> {
  passkeys?: Partial<PasskeysOptions>;
  /** The passkeys store; default a new `MemoryStore`. */
  store?: S;
  /**
   * express-session's `saveUninitialized` for the whole app. `false` (the library's recommendation): anonymous
   * requests get no session. `true`: every request without a cookie gets a session in the store (the baseline of
   * the memory bench: an app that keeps anonymous state in the session).
   */
  saveUninitialized?: boolean;
}

/**
 * Start the app on 127.0.0.1 (a free port). Routes: `/auth/*` (passkeys), `GET /baseline` (`res.json({ ok: true })`),
 * both behind the same express-session middleware.
 */
export async function startServer<S extends Store = MemoryStore>(opts: ServerOptions<S> = {}): Promise<BenchServer<S>> {
  const store = opts.store ?? (new MemoryStore() as unknown as S);
  const sessionStore = new session.MemoryStore();
  const app = express();
  app.disable('x-powered-by');
  app.use(
    session({
      secret: 'bench secret',
      resave: false,
      saveUninitialized: opts.saveUninitialized ?? false,
      name: 'sid',
      store: sessionStore,
    }),
  );
  app.use('/auth', passkeys({ rp: RP, ...opts.passkeys, store }));
  app.get('/baseline', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 60_000;
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    store,
    sessionStore,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the load worker is asked to do (see bench/load.ts). */
export type LoadJob =
  | {
      kind: 'get';
      base: string;
      path: string;
      concurrency: number;
      /** Run for this long, or until `count` requests are done. */
      durationMs?: number;
      count?: number;
      /** Keep cookies per virtual client (a returning browser) or send none (a new visitor every request). */
      cookies: boolean;
      /** A fixed `Cookie` header per virtual client (client i sends `cookieHeaders[i % length]`): signed-in browsers. */
      cookieHeaders?: string[];
    }
  /**
   * Complete sign-ins (init, assertion, submit) or registrations, again and again for `durationMs`, through the router
   * at `/auth` (`app: 'router'`, the default) or the hand-written app of bench/handwritten.ts (`app: 'hand'`).
   */
  | { kind: 'signin' | 'register'; app?: 'router' | 'hand'; base: string; concurrency: number; durationMs: number };

export interface LoadResult {
  /** Completed operations (a request, or a whole sign-in: init + POST). */
  ops: number;
  requests: number;
  errors: number;
  /** The first few unexpected answers, for the report. */
  errorSamples: string[];
  elapsedMs: number;
  /** Latency of each operation in ms. */
  latencies: number[];
}

/**
 * A worker thread that runs load jobs one after another, so the client's work (HTTP parsing, ECDSA signing) runs on
 * its own event loop and the app's thread does only the app's work. One worker serves every job of a bench, so the
 * client code is as warm in the measured runs as the server code.
 */
export class LoadRunner {
  readonly #worker: Worker;
  #pending: { resolve(r: LoadResult): void; reject(e: unknown): void } | null = null;

  constructor() {
    const target = new URL('./load.ts', import.meta.url).href;
    const api = import.meta.resolve('tsx/esm/api');
    const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(target)});`;
    this.#worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
    this.#worker.on('message', (message: LoadResult) => {
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve(message);
    });
    const failed = (error: unknown) => {
      const pending = this.#pending;
      this.#pending = null;
      pending?.reject(error);
    };
    this.#worker.on('error', failed);
    this.#worker.on('exit', (code) => failed(new Error(`load worker exited with code ${code}`)));
  }

  /** Run one job; resolves when its sockets are closed. */
  run(job: LoadJob): Promise<LoadResult> {
    if (this.#pending) throw new Error('LoadRunner: one job at a time');
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}

/** CPU time used on the machine by everything else than this process, to tell a quiet run from a loaded one. */
export class Interference {
  readonly #start = Interference.#snapshot();
  readonly #t0 = performance.now();

  static #snapshot() {
    let busyMs = Number.NaN;
    try {
      const fields =
        readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
      // user nice system idle iowait irq softirq steal: busy = all but idle and iowait; USER_HZ is 100.
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
      busyMs = (user + nice + system + irq + softirq + steal) * 10;
    } catch {}
    const own = process.cpuUsage();
    return { busyMs, ownMs: (own.user + own.system) / 1000 };
  }

  /** Share of the machine's CPU (all cores) that other processes used since construction, 0..1 (NaN off Linux). */
  otherShare(): number {
    const end = Interference.#snapshot();
    const wallMs = performance.now() - this.#t0;
    const other = end.busyMs - this.#start.busyMs - (end.ownMs - this.#start.ownMs);
    return Math.max(0, other) / (wallMs * os.cpus().length);
  }
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** `median (min..max)` of per-round figures. */
export const spread = (values: number[], format: (n: number) => string = fmt.int) =>
  `${format(median(values))} (${format(Math.min(...values))}..${format(Math.max(...values))})`;

/**
 * CPU time (ms) the app's thread (this process's main thread) has used, from /proc (Linux; NaN elsewhere), 10 ms
 * resolution. Unlike throughput, CPU time per operation hardly moves when other processes load the machine.
 */
export function appThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in USER_HZ (100/s) ticks
  } catch {
    return Number.NaN;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export interface Throughput {
  name: string;
  opsPerSec: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  ops: number;
  errors: number;
}

export function summarise(name: string, result: LoadResult): Throughput {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const seconds = result.elapsedMs / 1000;
  return {
    name,
    opsPerSec: result.ops / seconds,
    reqPerSec: result.requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ops: result.ops,
    errors: result.errors,
  };
}

/** Print rows as an aligned text table (first column left-aligned, the rest right-aligned). */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => n.toFixed(2),
  ratio: (n: number) => `${n.toFixed(2)}x`,
  bytes: (n: number) => `${Math.round(n).toLocaleString('en-US')} B`,
  mib: (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`,
};

/** One line describing the machine and its load, for the record. */
export function machineLine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((n) => n.toFixed(2));
  return `node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, load average ${load.join(' ')}`;
}

/** The results a bench hands to bench/run.ts: one line, after everything it printed. */
export function emitResult(name: string, data: unknown): void {
  console.log(`BENCH_RESULT ${JSON.stringify({ name, data })}`);
}

/** A positive number from `--name value`, `--name=value` or the environment variable, else the default. */
export function numberArg(name: string, env: string, fallback: number): number {
  const argv = process.argv;
  let raw: string | undefined;
  const index = argv.indexOf(`--${name}`);
  if (index !== -1) raw = argv[index + 1];
  const inline = argv.find((a) => a.startsWith(`--${name}=`));
  if (inline) raw = inline.slice(name.length + 3);
  raw ??= process.env[env];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
