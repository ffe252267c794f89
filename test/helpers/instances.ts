// App instances as child processes (test/fixtures/instance-server.ts) and one browser that talks to all of them: a
// cookie jar that, like a browser, sends the cookies of `localhost` to every port.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Instance {
  name: string;
  /** `http://localhost:<port>`. */
  base: string;
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

/**
 * Spawn one instance with `env` on top of this process's and wait for its `LISTENING <port>` line; reject (with its
 * stderr) if it exits first or takes over 30 s. It is pushed to `all` before waiting, so the caller can kill it.
 */
export async function spawnInstance(name: string, env: Record<string, string>, all: Instance[]): Promise<Instance> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/instance-server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', INSTANCE_NAME: name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const instance: Instance = { name, base: '', proc, stdout, stderr, exited };
  all.push(instance);
  createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} not listening after 30 s; stderr:\n${stderr.join('\n')}`)),
      30_000,
    );
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      stdout.push(line);
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}) before listening; stderr:\n${stderr.join('\n')}`));
    });
  });
  instance.base = `http://localhost:${port}`;
  return instance;
}

/** SIGTERM (then SIGKILL after 15 s) and wait for the exit code. */
export async function stopInstance(instance: Instance, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (instance.proc.exitCode === null && instance.proc.signalCode === null) instance.proc.kill(signal);
  const timeout = setTimeout(() => instance.proc.kill('SIGKILL'), 15_000);
  try {
    return await instance.exited;
  } finally {
    clearTimeout(timeout);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
export type Body = any;
export interface Reply {
  status: number;
  body: Body;
  /** The `X-Instance` header: which process answered. */
  instance: string | null;
}

/** One browser: its cookies (by name, with their path) go to every instance. */
export class Browser {
  readonly jar = new Map<string, { value: string; path: string }>();

  /** A JSON request to `instance`. `target` is a path or an absolute URL (another instance's: its origin is replaced). */
  async call(instance: Instance, target: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> {
    const url = new URL(target, instance.base);
    const onInstance = new URL(url.pathname + url.search, instance.base);
    const headers: Record<string, string> = { Accept: 'application/json' };
    const cookies = this.cookieHeader(onInstance.pathname);
    if (cookies) headers.Cookie = cookies;
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(onInstance, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'manual',
    });
    this.store(res.headers);
    const text = await res.text();
    let body: Body = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body, instance: res.headers.get('x-instance') };
  }

  private store(headers: Headers): void {
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
      if (expired) this.jar.delete(name);
      else this.jar.set(name, { value: pair.slice(eq + 1), path });
    }
  }

  private cookieHeader(pathname: string): string {
    return [...this.jar]
      .filter(([, c]) => c.path === '/' || pathname === c.path || pathname.startsWith(`${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }
}

/** Assert a status, showing the body and every instance's stderr when it is not the one expected. */
export function expectStatus(reply: Reply, status: number, what: string, all: Instance[]): void {
  const logs = all.map((i) => `${i.name} stderr:\n${i.stderr.join('\n')}`).join('\n');
  assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}\n${logs}`);
}
