// One table of cheap probes run against the router in an Express 5 app and in an Express 4 app (installed under the
// `express4` alias): the answers (status, Location, Set-Cookie attributes, JSON bodies) must be the same. Express 4
// parses the query with `qs` (extended), trims the port off `req.hostname`, and has its own `req`/`res` prototypes;
// none of that may change what the router answers.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import express5 from 'express';
import session from 'express-session';
import express4 from 'express4';
import request from 'supertest';
import { MemoryStore, passkeys } from '../src/index.js';
import { type Agent, RP, register } from './helpers/app.js';

type App = ReturnType<typeof express5>;

/** The same deployment on either Express: trust proxy, express-session, the router, then the app's error handler. */
function build(version: 4 | 5): { app: App; store: MemoryStore } {
  const app = (version === 4 ? express4() : express5()) as unknown as App;
  const store = new MemoryStore();
  app.set('trust proxy', true);
  app.use(session({ secret: 'parity secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use('/auth', passkeys({ rp: RP, store }));
  // The app's own error handler after the router: a 599 means an error escaped the router.
  app.use((error: unknown, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
    res.status(599).json({ escaped: String(error) });
  });
  return { app, store };
}

interface Probe {
  name: string;
  method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** A JSON object, or a raw string sent as a urlencoded form (or as `type`). */
  body?: unknown;
  type?: string;
  /** Needs a signed-in agent. */
  session?: boolean;
  /** What both must answer (besides answering the same). */
  status: number;
}

const JSON_ACCEPT = { Accept: 'application/json' };
const FORWARDED = { 'X-Forwarded-Host': 'app.example.test:8443', 'X-Forwarded-Proto': 'https', ...JSON_ACCEPT };

const probes: Probe[] = [
  { name: 'login init', path: '/auth/self-service/login/browser', headers: JSON_ACCEPT, status: 200 },
  {
    name: 'return_to given once',
    path: '/auth/self-service/login/browser?return_to=/after',
    headers: JSON_ACCEPT,
    status: 200,
  },
  {
    name: 'return_to twice',
    path: '/auth/self-service/login/browser?return_to=/a&return_to=/b',
    headers: JSON_ACCEPT,
    status: 400,
  },
  {
    name: 'return_to[] (a bracketed name is not return_to)',
    path: '/auth/self-service/login/browser?return_to[]=/x',
    headers: JSON_ACCEPT,
    status: 200,
  },
  {
    name: 'return_to[0] (qs index syntax)',
    path: '/auth/self-service/registration/browser?return_to[0]=/x',
    headers: JSON_ACCEPT,
    status: 200,
  },
  {
    name: 'nested return_to[a]=x',
    path: '/auth/self-service/login/browser?return_to[a]=//evil.example',
    headers: JSON_ACCEPT,
    status: 200,
  },
  {
    name: 'nested a[b]=c',
    path: '/auth/self-service/login/browser?a[b]=c&return_to=/ok',
    headers: JSON_ACCEPT,
    status: 200,
  },
  {
    name: 'flow[] on fetch',
    path: '/auth/self-service/login/flows?id[]=00000000-0000-4000-8000-000000000000',
    headers: JSON_ACCEPT,
    status: 404,
  },
  {
    name: 'flow[] on submit',
    method: 'POST',
    path: '/auth/self-service/login?flow[]=00000000-0000-4000-8000-000000000000',
    headers: JSON_ACCEPT,
    body: {},
    status: 404,
  },
  { name: 'X-Forwarded-Host with a port', path: '/auth/self-service/login/browser', headers: FORWARDED, status: 200 },
  {
    name: 'X-Forwarded-Host list',
    path: '/auth/self-service/registration/browser',
    headers: { ...FORWARDED, 'X-Forwarded-Host': 'app.example.test:8443, proxy.internal:81' },
    status: 200,
  },
  {
    name: 'form body traits[email]',
    method: 'POST',
    path: '/auth/self-service/registration?flow=00000000-0000-4000-8000-000000000000',
    body: 'traits[email]=x%40example.com&method=passkey',
    status: 404,
  },
  {
    name: 'JSON body with __proto__',
    method: 'POST',
    path: '/auth/self-service/login?flow=00000000-0000-4000-8000-000000000000',
    headers: JSON_ACCEPT,
    body: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    type: 'application/json',
    status: 404,
  },
  {
    name: 'malformed JSON body',
    method: 'POST',
    path: '/auth/self-service/login?flow=00000000-0000-4000-8000-000000000000',
    headers: JSON_ACCEPT,
    body: '{"a":',
    type: 'application/json',
    status: 400,
  },
  { name: 'encoded slash in a path param', method: 'DELETE', path: '/auth/sessions/a%2Fb', status: 401 },
  {
    name: 'encoded slash, signed in',
    method: 'DELETE',
    path: '/auth/sessions/a%2Fb',
    session: true,
    headers: JSON_ACCEPT,
    status: 204, // not one of the identity's sessions: nothing to revoke
  },
  { name: 'schema id with %2F', path: '/auth/schemas/a%2Fb', status: 404 },
  { name: 'HEAD whoami', method: 'HEAD', path: '/auth/sessions/whoami', status: 401 },
  { name: 'HEAD script', method: 'HEAD', path: '/auth/.well-known/ory/webauthn.js', status: 200 },
  { name: 'OPTIONS whoami', method: 'OPTIONS', path: '/auth/sessions/whoami', status: 200 },
  { name: 'trailing slash, no session', path: '/auth/sessions/whoami/', status: 401 },
  { name: 'trailing slash, signed in', path: '/auth/sessions/whoami/', session: true, status: 200 },
  {
    name: 'sessions list, page_size twice',
    path: '/auth/sessions?page_size=1&page_size=2',
    session: true,
    status: 400,
  },
  {
    name: 'sessions list, page_size[]',
    path: '/auth/sessions?page_size[]=1',
    session: true,
    status: 200,
  },
  { name: 'unknown route', path: '/auth/nope', status: 404 },
];

/** Ids, timestamps, ports and random values out; what is left must be the same on both. */
function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    return (
      value
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
        .replace(/(localhost|127\.0\.0\.1):\d+/g, '<host>')
        .replace(/"challenge":"[^"]+"/g, '"challenge":"<c>"')
        .replace(/"id":"[A-Za-z0-9_-]{20,}"/g, '"id":"<b64>"')
        // Lookarounds, not \b: a token may start or end with '-' or '_', where \b finds no boundary.
        .replace(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, '<token>')
    );
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

function summary(res: request.Response) {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((line) => {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const name = pair.slice(0, pair.indexOf('='));
    // Attribute names and the values that do not depend on time.
    const attrs = attributes.map((a) => (/^expires=/i.test(a) ? 'Expires' : a)).sort();
    return `${name}; ${attrs.join('; ')}`;
  });
  return {
    status: res.status,
    location: normalise(res.headers.location),
    allow: res.headers.allow,
    contentType: res.headers['content-type'],
    cacheControl: res.headers['cache-control'],
    cookies: cookies.sort(),
    body: res.headers['content-type']?.includes('json') ? normalise(res.body) : undefined,
  };
}

async function run(app: App, agent: Agent | undefined, probe: Probe) {
  const client = agent ?? (request(app) as unknown as Agent);
  const method = (probe.method ?? 'GET').toLowerCase() as 'get';
  let req = client[method](probe.path);
  for (const [key, value] of Object.entries(probe.headers ?? {})) req = req.set(key, value);
  if (probe.body !== undefined) {
    if (typeof probe.body === 'string') {
      req = req.set('Content-Type', probe.type ?? 'application/x-www-form-urlencoded').send(probe.body);
    } else req = req.send(probe.body as object);
  }
  return req;
}

describe('Express 4 and Express 5 answer the same', () => {
  const apps: Record<4 | 5, { app: App; agent: Agent }> = {} as never;

  before(async () => {
    for (const version of [4, 5] as const) {
      const { app } = build(version);
      const agent = request.agent(app) as unknown as Agent;
      await register(agent, 'parity@example.com');
      apps[version] = { app, agent };
    }
  });

  for (const probe of probes) {
    it(probe.name, async () => {
      const answer = async (v: 4 | 5) =>
        summary(await run(apps[v].app, probe.session ? apps[v].agent : undefined, probe));
      const [four, five] = await Promise.all([answer(4), answer(5)]);
      assert.equal(five.status, probe.status, `Express 5: ${JSON.stringify(five)}`);
      assert.notEqual(four.status, 599, `an error escaped the router on Express 4: ${JSON.stringify(four.body)}`);
      assert.deepEqual(four, five, 'Express 4 (actual) vs Express 5 (expected)');
    });
  }
});
