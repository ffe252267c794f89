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

async function getClient(jar: Jar | null, path: string, deadline: number, remaining: { n: number }) {
  while (performance.now() < deadline && remaining.n > 0) {
    remaining.n--;
    const t0 = performance.now();
    const answer = await call('GET', path, { ...JSON_HEADERS, ...jar?.header() });
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

/** Register one identity through the API a browser uses; returns its authenticator. Not timed. */
async function register(jar: Jar, index: number): Promise<SoftwareAuthenticator> {
  const authenticator = new SoftwareAuthenticator({ alg: -7 });
  const init = await call('GET', '/auth/self-service/registration/browser', { ...JSON_HEADERS, ...jar.header() });
  jar.take(init.setCookies);
  if (init.status !== 200) throw new Error(`registration init: ${init.status} ${init.body}`);
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
  if (done.status !== 200) throw new Error(`registration submit: ${done.status} ${done.body}`);
  return authenticator;
}

/** Sign in again and again: init (JSON), an assertion from the software authenticator, POST; then forget the session. */
async function signInClient(jar: Jar, authenticator: SoftwareAuthenticator, deadline: number) {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const init = await call('GET', '/auth/self-service/login/browser', { ...JSON_HEADERS, ...jar.header() });
    result.requests++;
    jar.take(init.setCookies);
    if (init.status !== 200) {
      fail(`login init: ${init.status} ${init.body}`);
      continue;
    }
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
    const t1 = performance.now();
    result.requests++;
    jar.take(done.setCookies);
    // A new visitor each time: without this the next init would answer "session already available".
    jar.cookies.delete('sid');
    if (done.status !== 200) fail(`login submit: ${done.status} ${done.body}`);
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
    await Promise.all(clients.map(() => getClient(job.cookies ? new Jar() : null, job.path, deadline, remaining)));
  } else {
    // One identity and passkey per virtual client, so each passkey's sign count only ever goes up. Not timed.
    const users = await Promise.all(
      clients.map(async (i) => {
        const jar = new Jar();
        const authenticator = await register(jar, i);
        jar.cookies.delete('sid');
        return { jar, authenticator };
      }),
    );
    start = performance.now();
    const deadline = start + job.durationMs;
    await Promise.all(users.map((u) => signInClient(u.jar, u.authenticator, deadline)));
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
