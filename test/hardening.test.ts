// Regressions for what the SPEC audit and the security review found: each case is an attack or a mismatch that once
// worked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, passkeys } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  initFlow,
  login,
  makeApp,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
  submitAssertion,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

describe('hardening', () => {
  it('a forged Host header cannot make return_to point elsewhere', async () => {
    const { agent } = makeApp();
    const res = await agent()
      .get('/auth/self-service/login/browser?return_to=http://evil.example.net/phish')
      .set('Host', 'evil.example.net')
      .set('Accept', 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.id, 'self_service_flow_return_to_forbidden');
    // A relative return_to stays relative in the flow, whatever Host created it.
    const relative = await agent()
      .get('/auth/self-service/login/browser?return_to=/account')
      .set('Host', 'evil.example.net')
      .set('Accept', 'application/json');
    assert.equal(relative.body.return_to, '/account');
  });

  it('refuses a browser POST whose Origin is not one of rp.origins, even with a valid CSRF token', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = JSON.stringify(authenticator.get(requestOptionsOf(flow), { origin: ORIGIN }));
    const post = (origin?: string) => {
      const req = a.post(actionPath(flow)).set('Accept', 'application/json');
      if (origin) req.set('Origin', origin);
      return req.send({ csrf_token: csrfOf(flow), passkey_login: assertion });
    };
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3001']) {
      const res = await post(origin);
      assert.equal(res.status, 403, origin);
      assert.equal(res.body.error.id, 'security_csrf_violation');
    }
    assert.equal((await post(ORIGIN)).status, 200);
  });

  it('answers 400, never 500, for bodies with lone surrogates, NUL identifiers or deep nesting', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    const path = actionPath(flow);
    const surrogate = await a
      .post(path)
      .set('Accept', 'application/json')
      .send(`{"csrf_token":"${csrfOf(flow)}","identifier":"x\\ud800"}`)
      .set('Content-Type', 'application/json');
    assert.equal(surrogate.status, 400);
    const nul = await a
      .post(path)
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), identifier: 'a\u0000@example.com' });
    assert.equal(nul.status, 400);
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const registration = await initFlow(a, 'registration');
    const nested = await a
      .post(actionPath(registration))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(registration), traits: { email: 'a@b.cc', name: deep } });
    assert.equal(nested.status, 400);
    assert.equal(nested.body.error.id, 'bad_request');
  });

  it('does not echo long submitted values into stored messages, nor store a huge request_url', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration', `?junk=${'j'.repeat(5000)}`);
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: `${'y'.repeat(60_000)}` } });
    assert.equal(res.status, 400);
    const stored = await store.getFlow(flow.id);
    const size = JSON.stringify(stored?.data).length;
    assert.ok(size < 4096, `stored flow is ${size} bytes`);
  });

  it('browser logout does not pretend to end a native token session', async () => {
    const { app } = makeApp();
    const init = await request(app).get('/auth/self-service/registration/api').expect(200);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init.body), { origin: ORIGIN });
    const reg = await request(app)
      .post(actionPath(init.body))
      .send({ traits: { email: 'native@example.com' }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    const token = reg.body.session_token as string;
    await request(app).get('/auth/self-service/logout/browser').set('X-Session-Token', token).expect(400);
    await request(app).get('/auth/sessions/whoami').set('X-Session-Token', token).expect(200);
  });

  it("a refresh login flow is shown only to its session (it lists the identity's credential ids)", async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const refresh = await initFlow(a, 'login', '?refresh=true');
    await agent().get(`/auth/self-service/login/flows?id=${refresh.id}`).expect(401);
    const b = agent();
    await register(b);
    await b.get(`/auth/self-service/login/flows?id=${refresh.id}`).expect(403);
    await a.get(`/auth/self-service/login/flows?id=${refresh.id}`).expect(200);
  });

  it('refuses ceremonies run in a cross-origin iframe', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), {
      origin: ORIGIN,
      crossOrigin: true,
    });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(flow),
        traits: { email: 'frame@example.com' },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000001);
  });

  it('requires the user handle in a discoverable login', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, userHandle: null });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
  });

  it('refuses an assertion whose backup eligibility changed', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const changed = new SoftwareAuthenticator({ backupEligible: true });
    changed.credentials.push(...authenticator.credentials);
    assert.equal((await login(agent(), changed)).status, 400);
    assert.equal((await login(agent(), authenticator)).status, 200);
  });

  it('reads flat traits.* keys from a JSON body, as Ory Elements posts them', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(flow),
        method: 'passkey',
        'traits.email': 'flat@example.com',
        'traits.name.first': 'Flat',
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.identity.traits, { email: 'flat@example.com', name: { first: 'Flat' } });
  });

  it('puts an error for a trait that has no input of its own in ui.messages', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'ok@example.com', name: 'str' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000026);
  });

  it('sends a settings form post with return_to there on success', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings', '?return_to=/after');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), passkey_settings_register: JSON.stringify(credential) });
    assert.equal(res.status, 303);
    assert.match(res.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/after$/);
  });

  it('sends a form post to an expired flow on to the new flow, with or without a UI page', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    t.mock.timers.tick(61 * 60 * 1000);
    const res = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow) });
    assert.equal(res.status, 303);
    const next = new URL(res.headers.location ?? '');
    assert.equal(next.pathname, '/auth/self-service/login/flows');
    const fetched = await a.get(next.pathname + next.search).expect(200);
    assert.equal(fetched.body.ui.messages[0].id, 4010001);
  });

  it('fetching a settings flow without a session is 401 session_inactive', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const res = await agent().get(`/auth/self-service/settings/flows?id=${flow.id}`);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.id, 'session_inactive');
  });

  it('sends only navigations, not JSON endpoints, to urls.ui.error', async () => {
    const { agent } = makeApp({ urls: { ui: { error: 'http://localhost:3000/error' } } });
    const a = agent();
    await a.get('/auth/self-service/login/flows?id=00000000-0000-4000-8000-000000000000').expect(404);
    await a.get('/auth/self-service/logout/browser').expect(401);
    const nav = await a.get('/auth/self-service/login/browser?return_to=https://evil.example');
    assert.equal(nav.status, 303);
    assert.match(nav.headers.location ?? '', /^http:\/\/localhost:3000\/error\?id=/);
  });

  it('builds URLs from X-Forwarded-Host only behind a trusted proxy', async () => {
    const build = (trust: boolean) => {
      const app = express();
      if (trust) app.set('trust proxy', true);
      app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
      app.use('/auth', passkeys({ rp: RP, store: new MemoryStore() }));
      return app;
    };
    const get = (app: express.Express) =>
      request(app)
        .get('/auth/self-service/login/browser')
        .set('Host', 'internal:8080')
        .set('X-Forwarded-Host', 'public.example.com')
        .set('X-Forwarded-Proto', 'https')
        .set('Accept', 'application/json');
    assert.match((await get(build(true))).body.ui.action, /^https:\/\/public\.example\.com\/auth\//);
    assert.match((await get(build(false))).body.ui.action, /^http:\/\/internal:8080\/auth\//);
  });

  it('a short lifespans.flow alone is valid: the ceremony fits in it', () => {
    const resolved = resolveOptions({ rp: RP, store: new MemoryStore(), lifespans: { flow: '90s' } });
    assert.equal(resolved.lifespans.ceremony, 90_000);
    assert.throws(() => resolveOptions({ rp: { ...RP, origins: [] }, store: new MemoryStore() }), /non-empty array/);
  });

  it('invisible characters do not make a second account with the same identifier', async () => {
    const schema = {
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            username: { type: 'string', 'ory.sh/kratos': { credentials: { passkey: { display_name: true } } } },
          },
          required: ['username'],
        },
      },
    };
    const { agent } = makeApp({ identitySchema: schema });
    const signUp = async (username: string) => {
      const a = agent();
      const flow = await initFlow(a, 'registration');
      const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
      return a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), traits: { username }, passkey_register: JSON.stringify(credential) });
    };
    assert.equal((await signUp('admin')).status, 200);
    for (const lookalike of ['ad\u200bmin', 'admin\u00ad', '\ufeffADMIN']) {
      const res = await signUp(lookalike);
      assert.equal(res.status, 400, JSON.stringify(lookalike));
      assert.equal(res.body.ui.messages[0].id, 4000028);
    }
  });

  it('requireSession puts the session in res.locals.passkeysSession, for cookies and tokens alike', async () => {
    const { requireSession } = await import('../src/index.js');
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use('/auth', passkeys({ rp: RP, store: new MemoryStore() }));
    app.get('/me', requireSession(), (_req, res) => {
      res.json({ identityId: res.locals.passkeysSession?.identityId });
    });
    const init = await request(app).get('/auth/self-service/registration/api').expect(200);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init.body), { origin: ORIGIN });
    const reg = await request(app)
      .post(actionPath(init.body))
      .send({ traits: { email: 'locals@example.com' }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    const me = await request(app).get('/me').set('X-Session-Token', reg.body.session_token).expect(200);
    assert.equal(me.body.identityId, reg.body.identity.id);
  });

  it('refresh=true without a session is an ordinary sign-in flow', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login', '?refresh=true&return_to=/settings');
    assert.equal(flow.refresh, false);
    assert.equal(flow.return_to, '/settings');
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(flow),
        passkey_login: JSON.stringify(authenticator.get(requestOptionsOf(flow), { origin: ORIGIN })),
      });
    assert.equal(res.status, 200);
  });

  it('the unknown-account message is Kratos’s 4000015, in words about passkeys', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), identifier: 'nobody@example.com' });
    assert.equal(res.body.ui.messages[0].id, 4000015);
    assert.equal(res.body.ui.messages[0].text, 'This account does not exist or has no passkey set up.');
  });
});
