// The load generator, run in a worker thread by runLoad(): keep-alive HTTP over loopback, N virtual clients.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { SoftwareAuthenticator } from '../test/helpers/authenticator.js';
import { type LoadJob, type LoadResult, ORIGIN } from './lib.js';

interface Answer {
  status: number;
  setCookies: string[];
  body: string;
}

let agent = new http.Agent({ keepAlive: true });
let base = new URL('http://127.0.0.1');

function call(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            setCookies: res.headers['set-cookie'] ?? [],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A browser's cookie jar for one host, reduced to name → value. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(setCookies: string[]): void {
    for (const line of setCookies) {
      const pair = line.split(';', 1)[0] ?? '';
      const index = pair.indexOf('=');
      if (index > 0) this.cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
    }
  }
  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }
}

type FlowJson = { id: string; ui: { action: string; nodes: { attributes: { name?: string; value?: unknown } }[] } };

const nodeValue = (flow: FlowJson, name: string) =>
  String(flow.ui.nodes.find((n) => n.attributes.name === name)?.attributes.value ?? '');
const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

let result: LoadResult = { ops: 0, requests: 0, errors: 0, errorSamples: [], elapsedMs: 0, latencies: [] };

function fail(what: string): void {
  result.errors++;
  if (result.errorSamples.length < 5) result.errorSamples.push(what.slice(0, 300));
}

const JSON_HEADERS = { accept: 'application/json' };

async function getClient(jar: Jar | null, path: string, deadline: number, remaining: { n: number }, cookie?: string) {
  const fixed: Record<string, string> = cookie === undefined ? {} : { cookie };
  while (performance.now() < deadline && remaining.n > 0) {
    remaining.n--;
    const t0 = performance.now();
    const answer = await call('GET', path, { ...JSON_HEADERS, ...fixed, ...jar?.header() });
    const t1 = performance.now();
    result.requests++;
    jar?.take(answer.setCookies);
    if (answer.status !== 200) fail(`GET ${path}: ${answer.status} ${answer.body}`);
    else {
      result.ops++;
      result.latencies.push(t1 - t0);
    }
  }
}

/**
 * Register one identity through the router's API, as a browser does (flow init as JSON, `passkey_register` posted as
 * JSON); returns its authenticator, or an error text.
 */
async function registerRouter(jar: Jar, index: number): Promise<SoftwareAuthenticator | string> {
  const authenticator = new SoftwareAuthenticator({ alg: -7 });
  const init = await call('GET', '/auth/self-service/registration/browser', { ...JSON_HEADERS, ...jar.header() });
  result.requests++;
  jar.take(init.setCookies);
  if (init.status !== 200) return `registration init: ${init.status} ${init.body}`;
  const flow = JSON.parse(init.body) as FlowJson;
  const data = JSON.parse(nodeValue(flow, 'passkey_create_data'));
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin: ORIGIN });
  const body = JSON.stringify({
    method: 'passkey',
    csrf_token: nodeValue(flow, 'csrf_token'),
    traits: { email: `bench${index}-${randomUUID()}@example.com` },
    passkey_register: JSON.stringify(credential),
  });
  const done = await call(
    'POST',
    pathOf(flow.ui.action),
    { ...JSON_HEADERS, 'content-type': 'application/json', ...jar.header() },
    body,
  );
  result.requests++;
  jar.take(done.setCookies);
  return done.status === 200 ? authenticator : `registration submit: ${done.status} ${done.body}`;
}

/** The same with the hand-written app (bench/handwritten.ts): its options as JSON, the credential posted as JSON. */
async function registerHand(jar: Jar, index: number): Promise<SoftwareAuthenticator | string> {
  const authenticator = new SoftwareAuthenticator({ alg: -7 });
  const username = `bench${index}-${randomUUID()}@example.com`;
  const init = await call('GET', `/register/options?username=${encodeURIComponent(username)}`, {
    ...JSON_HEADERS,
    ...jar.header(),
  });
  result.requests++;
  jar.take(init.setCookies);
  if (init.status !== 200) return `registration options: ${init.status} ${init.body}`;
  const credential = authenticator.create(JSON.parse(init.body), { origin: ORIGIN });
  const done = await call(
    'POST',
    '/register/verify',
    { ...JSON_HEADERS, 'content-type': 'application/json', ...jar.header() },
    JSON.stringify(credential),
  );
  result.requests++;
  jar.take(done.setCookies);
  return done.status === 200 ? authenticator : `registration verify: ${done.status} ${done.body}`;
}

/** One sign-in through the router: init (JSON), an assertion from the software authenticator, POST. */
async function signInRouter(jar: Jar, authenticator: SoftwareAuthenticator): Promise<string | undefined> {
  const init = await call('GET', '/auth/self-service/login/browser', { ...JSON_HEADERS, ...jar.header() });
  result.requests++;
  jar.take(init.setCookies);
  if (init.status !== 200) return `login init: ${init.status} ${init.body}`;
  const flow = JSON.parse(init.body) as FlowJson;
  const options = JSON.parse(nodeValue(flow, 'passkey_challenge')).publicKey;
  const assertion = authenticator.get(options, { origin: ORIGIN });
  const body = JSON.stringify({
    method: 'passkey',
    csrf_token: nodeValue(flow, 'csrf_token'),
    passkey_login: JSON.stringify(assertion),
  });
  const done = await call(
    'POST',
    pathOf(flow.ui.action),
    { ...JSON_HEADERS, 'content-type': 'application/json', ...jar.header() },
    body,
  );
  result.requests++;
  jar.take(done.setCookies);
  return done.status === 200 ? undefined : `login submit: ${done.status} ${done.body}`;
}

/** One sign-in with the hand-written app: its options, an assertion, POST. */
async function signInHand(jar: Jar, authenticator: SoftwareAuthenticator): Promise<string | undefined> {
  const init = await call('GET', '/login/options', { ...JSON_HEADERS, ...jar.header() });
  result.requests++;
  jar.take(init.setCookies);
  if (init.status !== 200) return `login options: ${init.status} ${init.body}`;
  const assertion = authenticator.get(JSON.parse(init.body), { origin: ORIGIN });
  const done = await call(
    'POST',
    '/login/verify',
    { ...JSON_HEADERS, 'content-type': 'application/json', ...jar.header() },
    JSON.stringify(assertion),
  );
  result.requests++;
  jar.take(done.setCookies);
  return done.status === 200 ? undefined : `login verify: ${done.status} ${done.body}`;
}

/** Run `op` again and again until the deadline, timing each; the session cookie is dropped after each (a new visitor). */
async function loop(jar: Jar, deadline: number, op: () => Promise<string | undefined>) {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const error = await op();
    const t1 = performance.now();
    // A new visitor each time: without this the next init would answer "session already available".
    jar.cookies.delete('sid');
    if (error !== undefined) fail(error);
    else {
      result.ops++;
      result.latencies.push(t1 - t0);
    }
  }
}

async function run(job: LoadJob): Promise<LoadResult> {
  result = { ops: 0, requests: 0, errors: 0, errorSamples: [], elapsedMs: 0, latencies: [] };
  agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency, maxFreeSockets: job.concurrency });
  base = new URL(job.base);
  const clients = Array.from({ length: job.concurrency }, (_, i) => i);
  let start: number;
  if (job.kind === 'get') {
    const remaining = { n: job.count ?? Number.POSITIVE_INFINITY };
    start = performance.now();
    const deadline = job.durationMs === undefined ? Number.POSITIVE_INFINITY : start + job.durationMs;
    const fixed = job.cookieHeaders;
    await Promise.all(
      clients.map((i) =>
        getClient(
          job.cookies ? new Jar() : null,
          job.path,
          deadline,
          remaining,
          fixed?.length ? fixed[i % fixed.length] : undefined,
        ),
      ),
    );
  } else if (job.kind === 'register') {
    const register = job.app === 'hand' ? registerHand : registerRouter;
    start = performance.now();
    const deadline = start + job.durationMs;
    await Promise.all(
      clients.map((i) => {
        const jar = new Jar();
        return loop(jar, deadline, async () => {
          const outcome = await register(jar, i);
          return typeof outcome === 'string' ? outcome : undefined;
        });
      }),
    );
  } else {
    // One identity and passkey per virtual client, so each passkey's sign count only ever goes up. Not timed.
    const register = job.app === 'hand' ? registerHand : registerRouter;
    const signIn = job.app === 'hand' ? signInHand : signInRouter;
    const users = await Promise.all(
      clients.map(async (i) => {
        const jar = new Jar();
        const authenticator = await register(jar, i);
        if (typeof authenticator === 'string') throw new Error(authenticator);
        jar.cookies.delete('sid');
        return { jar, authenticator };
      }),
    );
    result.requests = 0;
    start = performance.now();
    const deadline = start + job.durationMs;
    await Promise.all(users.map((u) => loop(u.jar, deadline, () => signIn(u.jar, u.authenticator))));
  }
  result.elapsedMs = performance.now() - start;
  agent.destroy();
  return result;
}

parentPort?.on('message', (job: LoadJob) => {
  run(job).then(
    (r) => parentPort?.postMessage(r),
    (error) => {
      throw error;
    },
  );
});
