// Native-app (API) flows: no cookies, no CSRF, session tokens for whoami, settings and logout.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import {
  actionPath,
  creationOptionsOf,
  type FlowJson,
  makeApp,
  node,
  ORIGIN,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

async function apiRegister(
  app: Parameters<typeof request>[0],
  email: string,
  authenticator = new SoftwareAuthenticator(),
) {
  const init = await request(app).get('/auth/self-service/registration/api').expect(200);
  const flow = init.body as FlowJson;
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const res = await request(app)
    .post(actionPath(flow))
    .send({ method: 'passkey', traits: { email }, passkey_register: JSON.stringify(credential) });
  return { res, authenticator, flow };
}

describe('API flows (native apps)', () => {
  it('registers without cookies or CSRF and returns a session token', async () => {
    const { app } = makeApp();
    const { res, flow } = await apiRegister(app, 'app@example.com');
    assert.equal(flow.type, 'api');
    assert.ok(!flow.ui.nodes.some((n) => n.attributes.name === 'csrf_token' || n.type === 'script'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers['set-cookie'], undefined, 'no cookies for native apps');
    assert.match(res.body.session_token, /^ory_st_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.session.identity.traits.email, 'app@example.com');
    const who = await request(app)
      .get('/auth/sessions/whoami')
      .set('X-Session-Token', res.body.session_token)
      .expect(200);
    assert.equal(who.body.identity.id, res.body.identity.id);
    await request(app).get('/auth/sessions/whoami').set('X-Session-Token', 'ory_st_wrong').expect(401);
  });

  it('refuses API flows that carry a Cookie or an Origin header', async () => {
    const { app } = makeApp();
    for (const [header, value] of [
      ['Cookie', 'a=b'],
      ['Origin', ORIGIN],
    ] as const) {
      const res = await request(app).get('/auth/self-service/login/api').set(header, value);
      assert.equal(res.status, 400, header);
    }
    const init = await request(app).get('/auth/self-service/login/api').expect(200);
    const post = await request(app).post(actionPath(init.body)).set('Origin', ORIGIN).send({ passkey_login: '{}' });
    assert.equal(post.status, 400);
    assert.equal(post.body.error.id, 'bad_request');
  });

  it('logs in, manages passkeys with the token, and logs out with DELETE /self-service/logout/api', async () => {
    const { app } = makeApp();
    const { authenticator } = await apiRegister(app, 'native@example.com');
    const init = await request(app).get('/auth/self-service/login/api').expect(200);
    const assertion = authenticator.get(requestOptionsOf(init.body), { origin: ORIGIN });
    const login = await request(app)
      .post(actionPath(init.body))
      .send({ passkey_login: JSON.stringify(assertion) });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const token = login.body.session_token as string;
    assert.ok(token);

    await request(app).get('/auth/self-service/settings/api').expect(401);
    const settings = await request(app)
      .get('/auth/self-service/settings/api')
      .set('X-Session-Token', token)
      .expect(200);
    assert.equal(settings.body.type, 'api');
    const second = new SoftwareAuthenticator();
    const credential = second.create(creationOptionsOf(settings.body), { origin: ORIGIN });
    const added = await request(app)
      .post(actionPath(settings.body))
      .set('X-Session-Token', token)
      .send({ method: 'passkey', passkey_settings_register: JSON.stringify(credential) });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.state, 'success');
    const removeValue = node(added.body, 'passkey_remove').attributes.value;
    const removed = await request(app)
      .post(actionPath(added.body))
      .set('X-Session-Token', token)
      .send({ method: 'passkey', passkey_remove: removeValue });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));

    const bad = await request(app).delete('/auth/self-service/logout/api').send({ session_token: 'ory_st_nope' });
    assert.equal(bad.status, 403);
    await request(app).delete('/auth/self-service/logout/api').send({ session_token: token }).expect(204);
    await request(app).get('/auth/sessions/whoami').set('X-Session-Token', token).expect(401);
  });

  it('refuses login while the token session is active; refresh re-authenticates it', async () => {
    const { app } = makeApp();
    const { res, authenticator } = await apiRegister(app, 'refresh@example.com');
    const token = res.body.session_token as string;
    const denied = await request(app).get('/auth/self-service/login/api').set('X-Session-Token', token);
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error.id, 'session_already_available');
    const init = await request(app)
      .get('/auth/self-service/login/api?refresh=true')
      .set('X-Session-Token', token)
      .expect(200);
    assert.equal(init.body.refresh, true);
    const assertion = authenticator.get(requestOptionsOf(init.body), { origin: ORIGIN });
    const ok = await request(app)
      .post(actionPath(init.body))
      .set('X-Session-Token', token)
      .send({ passkey_login: JSON.stringify(assertion) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.session_token, token);
    assert.equal(ok.body.session.id, res.body.session.id);
  });
});

describe('app routes and native sessions', () => {
  it('listPasskeys(req) and getIdentity(req) see an X-Session-Token session', async () => {
    const express = (await import('express')).default;
    const session = (await import('express-session')).default;
    const { MemoryStore, passkeys } = await import('../src/index.js');
    const { RP } = await import('./helpers/app.js');
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    const auth = passkeys({ rp: RP, store: new MemoryStore() });
    app.use('/auth', auth);
    app.get('/mine', async (req, res) => {
      res.json({ identity: (await auth.getIdentity(req))?.id ?? null, count: (await auth.listPasskeys(req)).length });
    });
    const { res } = await apiRegister(app, 'mine@example.com');
    const mine = await request(app).get('/mine').set('X-Session-Token', res.body.session_token).expect(200);
    assert.deepEqual(mine.body, { identity: res.body.identity.id, count: 1 });
    const nobody = await request(app).get('/mine').set('X-Session-Token', 'ory_st_unknown').expect(200);
    assert.deepEqual(nobody.body, { identity: null, count: 0 });
  });
});
