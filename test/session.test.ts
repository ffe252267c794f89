// Sessions: whoami, logout, cookie lifetime, requireSession, mount paths, malformed requests.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, passkeys, requireSession } from '../src/index.js';
import { actionPathOf, initFlow, login, makeApp, RP, register } from './helpers/app.js';

describe('sessions', () => {
  it('whoami is 401 session_inactive without a session', async () => {
    const { agent } = makeApp();
    const res = await agent().get('/auth/sessions/whoami');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.id, 'session_inactive');
    assert.equal(res.body.error.code, 401);
    assert.equal(res.body.error.status, 'Unauthorized');
    assert.equal(typeof res.body.error.reason, 'string');
    assert.equal(typeof res.body.error.message, 'string');
  });

  it('logs out with the logout URL: token required, session destroyed, 303 to return_to', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    await a.get('/auth/sessions/whoami').expect(200);
    const { body } = await a
      .get('/auth/self-service/logout/browser?return_to=/bye')
      .set('Accept', 'application/json')
      .expect(200);
    assert.match(body.logout_url, /^http:\/\/127\.0\.0\.1:\d+\/auth\/self-service\/logout\?token=/);
    assert.equal(typeof body.logout_token, 'string');
    const wrong = await a.get(`/auth/self-service/logout?token=${'x'.repeat(32)}`);
    assert.equal(wrong.status, 403);
    await a.get('/auth/sessions/whoami').expect(200);
    const res = await a.get(actionPathOf(body.logout_url));
    assert.equal(res.status, 303);
    assert.match(res.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/bye$/);
    await a.get('/auth/sessions/whoami').expect(401);
    const again = await a.get('/auth/self-service/logout/browser').set('Accept', 'application/json');
    assert.equal(again.status, 401);
  });

  it('logout refuses an open redirect', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const res = await a
      .get('/auth/self-service/logout/browser?return_to=https://evil.example')
      .set('Accept', 'application/json');
    assert.equal(res.status, 400);
  });

  it('caps the session cookie at lifespans.session and expires the session after it', async (t) => {
    const { agent } = makeApp({ lifespans: { session: '2h' } });
    const a = agent();
    const { body } = await register(a);
    const expires = Date.parse(body.session.expires_at) - Date.parse(body.session.issued_at);
    assert.equal(expires, 2 * 3600 * 1000);
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 2 * 3600 * 1000 + 1000 });
    await a.get('/auth/sessions/whoami').expect(401);
  });

  it('sets the session cookie maxAge from lifespans.session', async () => {
    const { agent } = makeApp({ lifespans: { session: '2h' } });
    const a = agent();
    const { authenticator } = await register(agent());
    const res = await login(a, authenticator);
    const cookie = String(res.headers['set-cookie']);
    const expiresAt = Date.parse(/Expires=([^;]+)/.exec(cookie)?.[1] ?? '');
    assert.ok(Math.abs(expiresAt - Date.now() - 2 * 3600 * 1000) < 5000, cookie);
  });

  it('requireSession guards the app’s own routes', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use('/auth', passkeys({ rp: RP, store }));
    app.get('/me', requireSession(), (req, res) => {
      res.json({ identity: req.session.passkeys?.identityId });
    });
    app.get('/page', requireSession({ redirectTo: '/login' }), (_req, res) => {
      res.send('ok');
    });
    const a = request.agent(app);
    const denied = await a.get('/me').set('Accept', 'application/json');
    assert.equal(denied.status, 401);
    assert.equal(denied.body.error.id, 'session_inactive');
    const redirected = await a.get('/page').set('Accept', 'text/html');
    assert.equal(redirected.status, 303);
    assert.equal(redirected.headers.location, '/login');
    const { body } = await register(a as never);
    const ok = await a.get('/me').expect(200);
    assert.equal(ok.body.identity, body.identity.id);
  });

  it('works mounted at another path, and behind urls.publicBase', async () => {
    const { agent } = makeApp({}, '/some/where');
    const flow = await initFlow(agent(), 'login', '', '/some/where');
    assert.match(flow.ui.action, /\/some\/where\/self-service\/login\?flow=/);
    const proxied = makeApp({ urls: { publicBase: 'https://localhost/auth/' } });
    const p = await initFlow(proxied.agent(), 'registration');
    assert.match(p.ui.action, /^https:\/\/localhost\/auth\/self-service\/registration\?flow=/);
    const script = p.ui.nodes.find((n) => n.type === 'script');
    assert.equal(script?.attributes.src, 'https://localhost/auth/.well-known/ory/webauthn.js');
  });

  it('serves the browser helper with a matching SRI hash', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await a.get('/auth/.well-known/ory/webauthn.js').expect(200);
    assert.match(String(res.headers['content-type']), /^text\/javascript/);
    const { createHash } = await import('node:crypto');
    const hash = `sha512-${createHash('sha512').update(res.text).digest('base64')}`;
    const script = flow.ui.nodes.find((n) => n.type === 'script');
    assert.equal(script?.attributes.integrity, hash);
  });

  it('uses the CSP nonce from res.locals.cspNonce', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use((_req, res, next) => {
      res.locals.cspNonce = 'n0nce';
      next();
    });
    app.use('/auth', passkeys({ rp: RP, store }));
    const res = await request(app)
      .get('/auth/self-service/login/browser')
      .set('Accept', 'application/json')
      .expect(200);
    const script = res.body.ui.nodes.find((n: { type: string }) => n.type === 'script');
    assert.equal(script.attributes.nonce, 'n0nce');
  });

  it('answers malformed requests with 4xx, never 5xx', async () => {
    const { agent } = makeApp({ maxBodySize: 2048 });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const path = `/auth/self-service/registration?flow=${flow.id}`;
    const badJson = await a.post(path).set('Content-Type', 'application/json').send('{"traits":');
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error.id, 'bad_request');
    const huge = await a
      .post(path)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ x: 'y'.repeat(5000) }));
    assert.equal(huge.status, 413);
    const text = await a.post(path).set('Content-Type', 'text/plain').send('hello');
    assert.equal(text.status, 415);
    const arrayBody = await a.post(path).set('Content-Type', 'application/json').send('[1,2]');
    assert.equal(arrayBody.status, 400);
    assert.equal(arrayBody.body.error.id, 'bad_request');
    const wrongType = await a
      .post(path)
      .set('Content-Type', 'application/json')
      .send({ passkey_register: { id: 1 } });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.error.reason, /passkey_register/);
    const noFlow = await a.post('/auth/self-service/registration').set('Accept', 'application/json').send({});
    assert.equal(noFlow.status, 404);
    const twoIds = await a.get(`/auth/self-service/registration/flows?id=${flow.id}&id=${flow.id}`);
    assert.equal(twoIds.status, 200);
    const objectId = await a.get('/auth/self-service/registration/flows?id[a]=1');
    assert.equal(objectId.status, 404);
    const returnToArray = await a
      .get('/auth/self-service/login/browser?return_to=/a&return_to=/b')
      .set('Accept', 'application/json');
    assert.equal(returnToArray.status, 400);
  });
});

describe('browser errors and redirects', () => {
  it('sends browsers to urls.ui.error with the id of a stored error, fetchable at /self-service/errors', async () => {
    const { agent } = makeApp({ urls: { ui: { error: 'http://localhost:3000/error' } } });
    const a = agent();
    const res = await a
      .get('/auth/self-service/login/browser?return_to=https://evil.example')
      .set('Accept', 'text/html');
    assert.equal(res.status, 303);
    const location = new URL(res.headers.location ?? '');
    assert.equal(location.origin + location.pathname, 'http://localhost:3000/error');
    const id = location.searchParams.get('id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    const stored = await a.get(`/auth/self-service/errors?id=${id}`).expect(200);
    assert.equal(stored.body.id, id);
    assert.equal(stored.body.error.id, 'self_service_flow_return_to_forbidden');
    assert.equal(stored.body.error.code, 400);
    await a.get('/auth/self-service/errors?id=00000000-0000-4000-8000-000000000000').expect(404);
    // JSON clients still get the error itself.
    const json = await a
      .get('/auth/self-service/login/browser?return_to=https://evil.example')
      .set('Accept', 'application/json');
    assert.equal(json.status, 400);
  });

  it('sends a browser without a session from settings to login, returning to settings', async () => {
    const { agent } = makeApp();
    const res = await agent().get('/auth/self-service/settings/browser').set('Accept', 'text/html');
    assert.equal(res.status, 303);
    const location = new URL(res.headers.location ?? '');
    assert.equal(location.pathname, '/auth/self-service/login/browser');
    assert.match(location.searchParams.get('return_to') ?? '', /\/auth\/self-service\/settings\/browser$/);
  });

  it('requireSession accepts a native app’s X-Session-Token', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use('/auth', passkeys({ rp: RP, store }));
    app.get('/me', requireSession(), (_req, res) => {
      res.json({ ok: true });
    });
    const { SoftwareAuthenticator } = await import('./helpers/authenticator.js');
    const { creationOptionsOf, actionPath } = await import('./helpers/app.js');
    const init = await request(app).get('/auth/self-service/registration/api').expect(200);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init.body), {
      origin: 'http://localhost:3000',
    });
    const reg = await request(app)
      .post(actionPath(init.body))
      .send({ traits: { email: 'token@example.com' }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    await request(app).get('/me').set('X-Session-Token', reg.body.session_token).expect(200);
    await request(app).get('/me').set('X-Session-Token', 'ory_st_nope').set('Accept', 'application/json').expect(401);
  });
});
