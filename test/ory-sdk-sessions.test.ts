// Ory's SDK (`@ory/client-fetch`, unchanged) on the my-sessions routes: FrontendApi.listMySessions, disableMySession and
// disableMyOtherSessions, with the browser's cookie jar, with the `cookie` parameter (a server forwarding the
// browser's cookie) and with `xSessionToken` (a native app).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Configuration,
  FrontendApi,
  instanceOfSession,
  isResponseError,
  type Session,
  type UiContainer,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import { MemoryStore, passkeys } from '../src/index.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CookieFetch, cookieFetch } from './helpers/cookie-fetch.js';

interface Server {
  base: string;
  origin: string;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  const app = express();
  app.use(session({ secret: 'sdk test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({ rp: { id: 'localhost', displayName: 'SDK', origins: [origin] }, store: new MemoryStore() }),
  );
  server.on('request', app);
  return {
    base: `${origin}/auth`,
    origin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function value(ui: UiContainer, name: string): string {
  const node = ui.nodes.find((n) => (n.attributes as { name?: string }).name === name);
  assert.ok(node, `node ${name}`);
  return String((node.attributes as { value?: unknown }).value);
}

/** A browser: the SDK with a cookie jar, as Ory Elements configures it. */
function browser(server: Server): { api: FrontendApi; jar: CookieFetch; cookie: () => string } {
  const jar = cookieFetch();
  const api = new FrontendApi(
    new Configuration({
      basePath: server.base,
      fetchApi: jar.fetch,
      credentials: 'include',
      headers: { Accept: 'application/json' },
    }),
  );
  const cookie = () => [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return { api, jar, cookie };
}

/** A server-side or native client: Node's fetch, no jar. */
const bare = (server: Server) =>
  new FrontendApi(new Configuration({ basePath: server.base, headers: { Accept: 'application/json' } }));

async function register(server: Server, api: FrontendApi) {
  const flow = await api.createBrowserRegistrationFlow();
  const data = JSON.parse(value(flow.ui, 'passkey_create_data'));
  const authenticator = new SoftwareAuthenticator();
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin: server.origin });
  const result = await api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: {
      method: 'passkey',
      csrf_token: value(flow.ui, 'csrf_token'),
      traits: { email: `sdk-${randomUUID().slice(0, 8)}@example.com` },
      passkey_register: JSON.stringify(credential),
    },
  });
  return { authenticator, session: result.session as Session };
}

async function browserLogin(server: Server, api: FrontendApi, authenticator: SoftwareAuthenticator) {
  const flow = await api.createBrowserLoginFlow();
  const challenge = JSON.parse(value(flow.ui, 'passkey_challenge'));
  const assertion = authenticator.get(challenge.publicKey, { origin: server.origin });
  const result = await api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: {
      method: 'passkey',
      csrf_token: value(flow.ui, 'csrf_token'),
      passkey_login: JSON.stringify(assertion),
    },
  });
  return result.session;
}

async function nativeLogin(server: Server, authenticator: SoftwareAuthenticator) {
  const api = bare(server);
  const flow = await api.createNativeLoginFlow();
  const challenge = JSON.parse(value(flow.ui, 'passkey_challenge'));
  const assertion = authenticator.get(challenge.publicKey, { origin: server.origin });
  const result = await api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: { method: 'passkey', passkey_login: JSON.stringify(assertion) },
  });
  assert.ok(result.session_token);
  return { token: result.session_token, session: result.session };
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    assert.ok(isResponseError(error), String(error));
    return error.response.status;
  }
}

describe("Ory's SDK: listMySessions, disableMySession, disableMyOtherSessions", () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  it('with cookies: the jar, and the `cookie` parameter of a server forwarding the browser’s cookie', async () => {
    const main = browser(server);
    const { authenticator } = await register(server, main.api);
    const laptop = browser(server);
    const tablet = browser(server);
    const laptopSession = await browserLogin(server, laptop.api, authenticator);
    const tabletSession = await browserLogin(server, tablet.api, authenticator);

    const listed = await main.api.listMySessions();
    assert.deepEqual(
      listed.map((s) => s.id),
      [tabletSession.id, laptopSession.id],
      'newest first, current excluded',
    );
    for (const s of listed) {
      assert.ok(instanceOfSession(s), 'a Session model');
      assert.equal(s.active, true);
      assert.ok(s.expires_at instanceof Date && s.issued_at instanceof Date);
      assert.equal(s.devices?.length, 1);
      assert.equal(typeof s.devices?.[0]?.user_agent, 'string');
      assert.ok(s.devices?.[0]?.id);
    }
    const raw = await main.api.listMySessionsRaw({ pageSize: 1 });
    assert.equal(raw.raw.headers.get('x-total-count'), '2');
    assert.match(raw.raw.headers.get('link') ?? '', /rel="next"/);
    assert.equal((await raw.value()).length, 1);

    // A server forwarding the browser's cookie (no jar): the `cookie` parameter.
    const server2 = bare(server);
    const forwarded = await server2.listMySessions({ cookie: main.cookie() });
    assert.equal(forwarded.length, 2);
    await server2.disableMySession({ id: laptopSession.id, cookie: main.cookie() });
    assert.equal(await status(laptop.api.toSession()), 401, 'the laptop is signed out');

    const me = await main.api.toSession();
    const refused = await status(main.api.disableMySession({ id: me.id }));
    assert.equal(refused, 400, 'the current session cannot be disabled');

    const count = await main.api.disableMyOtherSessions();
    assert.equal(count.count, 1, 'the tablet');
    assert.equal(await status(tablet.api.toSession()), 401);
    assert.deepEqual(await main.api.listMySessions(), []);
    assert.equal((await main.api.toSession()).id, me.id, 'the current session stays');
    assert.equal(await status(bare(server).listMySessions()), 401, 'without a session: 401');
  });

  it('with xSessionToken (a native app)', async () => {
    const main = browser(server);
    const { authenticator } = await register(server, main.api);
    const phone = await nativeLogin(server, authenticator);
    const tablet = await nativeLogin(server, authenticator);
    const api = bare(server);
    const listed = await api.listMySessions({ xSessionToken: phone.token });
    assert.deepEqual(listed.map((s) => s.id).sort(), [tablet.session.id, (await main.api.toSession()).id].sort());
    await api.disableMySession({ id: tablet.session.id, xSessionToken: phone.token });
    assert.equal(await status(api.toSession({ xSessionToken: tablet.token })), 401);
    assert.equal(await status(api.disableMySession({ id: phone.session.id, xSessionToken: phone.token })), 400);
    const count = await api.disableMyOtherSessions({ xSessionToken: phone.token });
    assert.equal(count.count, 1, 'the browser');
    assert.equal(await status(main.api.toSession()), 401);
    assert.equal((await api.toSession({ xSessionToken: phone.token })).id, phone.session.id);
  });
});
