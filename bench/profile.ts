// Where the app thread's time goes under load: a V8 CPU profile (node:inspector) of the app's thread while the load
// worker runs complete sign-ins (or registrations) against it, summed up by function and by area. Not a bench: no
// figure here is a target; it tells what to optimise.
//
//   npx tsx bench/profile.ts [--seconds 10] [--kind signin|register] [--app router|hand] [--top 30] [--out file]
//   npx tsx bench/profile.ts --cpu [--seconds 5] [--kind ...] [--app ...]    (no profiler: app-thread CPU per op)
//
// --out writes the raw .cpuprofile too (open it in Chrome DevTools or speedscope). --cpu measures the app thread's CPU
// time per operation without a profiler, a figure that moves little when other processes load the machine.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startHandWritten } from './handwritten.js';
import { appThreadCpuMs, LoadRunner, machineLine, numberArg, printTable, startServer } from './lib.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const argOf = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
};

/** The area a frame belongs to: our source, a package, Node's internals, or V8's own buckets. */
function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return 'node:internal';
  const own = url.match(/\/(src|bench|test|examples)\/(.*)$/);
  return own ? `${own[1]}/${own[2]}` : url;
}

export async function profile(seconds: number, kind: 'signin' | 'register', app: 'router' | 'hand', top: number) {
  console.log(`# profile: ${kind} through the ${app}, ${seconds} s of load, 16 clients; ${machineLine()}`);
  const server = app === 'router' ? await startServer() : await startHandWritten();
  const runner = new LoadRunner();
  const job = { kind, app, base: server.base, concurrency: 16 } as const;
  await runner.run({ ...job, durationMs: 3000 }); // warm-up
  if (process.argv.includes('--cpu')) {
    const figures: string[] = [];
    for (let i = 0; i < 3; i++) {
      const cpu0 = appThreadCpuMs();
      const run = await runner.run({ ...job, durationMs: seconds * 1000 });
      const perOp = ((appThreadCpuMs() - cpu0) * 1000) / Math.max(1, run.ops);
      figures.push(`${perOp.toFixed(0)} µs (${(run.ops / (run.elapsedMs / 1000)).toFixed(0)}/s)`);
    }
    console.log(`app-thread CPU per ${kind} (${app}), 3 runs: ${figures.join(', ')}`);
    await runner.close();
    await server.close();
    return;
  }
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const result = await runner.run({ ...job, durationMs: seconds * 1000 });
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  session.disconnect();
  await runner.close();
  await server.close();

  const out = process.argv.includes('--out') ? argOf('out', 'signin.cpuprofile') : undefined;
  if (out) writeFileSync(out, JSON.stringify(profile));

  // Self time per node from the samples (each sample's time delta goes to the node it hit).
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    const area = areaOf(frame.url, frame.functionName);
    const key = `${frame.functionName || '(anonymous)'}  ${area}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + time);
    areas.set(area, (areas.get(area) ?? 0) + time);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1)}%`;
  const opsPerSec = result.ops / (result.elapsedMs / 1000);
  console.log(
    `${result.ops} ${kind === 'signin' ? 'sign-ins' : 'registrations'} (${opsPerSec.toFixed(0)}/s under the profiler), app thread busy ${((100 * busy) / total).toFixed(0)}% of the time; shares below are of the busy time`,
  );
  console.log();
  printTable(
    ['self time by area', 'share'],
    [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([area, t]) => [area, pct(t)]),
  );
  console.log();
  printTable(
    ['self time by function', 'share'],
    [...functions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, t]) => [name, pct(t)]),
  );
  console.log(
    `per operation: ${(busy / Math.max(1, result.ops)).toFixed(0)} µs of app-thread CPU (busy time ÷ operations)`,
  );
}

if (process.argv[1]?.endsWith('bench/profile.ts')) {
  await profile(
    numberArg('seconds', 'BENCH_SECONDS', 10),
    argOf('kind', 'signin') === 'register' ? 'register' : 'signin',
    argOf('app', 'router') === 'hand' ? 'hand' : 'router',
    numberArg('top', 'BENCH_TOP', 30),
  );
}
