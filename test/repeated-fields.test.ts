// Repeated urlencoded fields (SPEC §9 details, last bullet): a field sent twice with one value is that value in every
// flow (Ory Elements' method chooser posts hidden fields twice), `csrf_token` and `identifier` included; sent with
// different values it is refused: 400 bad_request, 403 for csrf_token.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { initCodeFlow, makeCodeApp } from './helpers/codes.js';

/** A form body with every field sent twice (`[name, value]` pairs, each posted as given and then again). */
const twice = (fields: [string, string][]) => {
  const params = new URLSearchParams();
  for (const [name, value] of fields) params.append(name, value);
  for (const [name, value] of fields) params.append(name, value);
  return params.toString();
};

const postForm = (agent: Agent, flow: FlowJson, body: string) =>
  agent.post(actionPath(flow)).set('Accept', 'application/json').type('form').send(body);

describe('a form field repeated with one value is that value', () => {
  it('registration: every field twice signs up', async () => {
    const { agent, store } = makeCodeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await postForm(
      a,
      flow,
      twice([
        ['csrf_token', csrfOf(flow)],
        ['method', 'passkey'],
        ['traits.email', 'twice@example.com'],
        ['passkey_register', JSON.stringify(credential)],
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(await store.findIdentityByIdentifier('twice@example.com'));
  });

  it('login: every field twice, identifier included, signs in; an identifier alone gets the flow answer', async () => {
    const { agent } = makeCodeApp();
    const { authenticator } = await register(agent(), 'login-twice@example.com');
    const a = agent();
    let flow = await initFlow(a, 'login');
    const ask = await postForm(
      a,
      flow,
      twice([
        ['csrf_token', csrfOf(flow)],
        ['method', 'passkey'],
        ['identifier', 'nobody@example.com'],
      ]),
    );
    assert.equal(ask.status, 400);
    assert.deepEqual(
      ask.body.ui.messages.map((m: { id: number }) => m.id),
      [4000015],
    );
    flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const res = await postForm(
      a,
      flow,
      twice([
        ['csrf_token', csrfOf(flow)],
        ['method', 'passkey'],
        ['identifier', 'login-twice@example.com'],
        ['passkey_login', JSON.stringify(assertion)],
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.session.identity.traits.email, 'login-twice@example.com');
  });

  it('settings: a profile save with every field twice', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    await register(a, 'settings-twice@example.com');
    const flow = await initFlow(a, 'settings');
    const res = await postForm(
      a,
      flow,
      twice([
        ['csrf_token', csrfOf(flow)],
        ['method', 'profile'],
        ['traits.email', 'settings-twice@example.com'],
        ['traits.name.first', 'Tess'],
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.identity.traits.name.first, 'Tess');
  });

  it('recovery and verification: csrf_token, method and email twice send a code', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'code-twice@example.com');
    for (const kind of ['recovery', 'verification'] as const) {
      const a = agent();
      const flow = await initCodeFlow(a, kind);
      const res = await postForm(
        a,
        flow,
        twice([
          ['csrf_token', csrfOf(flow)],
          ['method', 'code'],
          ['email', 'code-twice@example.com'],
        ]),
      );
      assert.equal(res.status, 200, `${kind}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.state, 'sent_email');
      const sent = await courier.to('code-twice@example.com', kind);
      assert.ok(sent.length >= 1, kind);
    }
  });
});

describe('a form field repeated with different values is refused', () => {
  it('400 bad_request naming the field; 403 for csrf_token; in every flow', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    await register(a, 'refused-twice@example.com');
    const kinds = ['login', 'registration', 'settings', 'recovery', 'verification'] as const;
    for (const kind of kinds) {
      // Signed out for login, registration and recovery; signed in for settings (verification works either way).
      const b = kind === 'settings' || kind === 'verification' ? a : agent();
      const flow =
        kind === 'recovery' || kind === 'verification' ? await initCodeFlow(b, kind) : await initFlow(b, kind);
      const token = csrfOf(flow);
      const field =
        kind === 'login' ? 'identifier' : kind === 'registration' || kind === 'settings' ? 'method' : 'email';
      const values = field === 'method' ? ['passkey', 'profile'] : ['one@example.com', 'two@example.com'];
      const body = new URLSearchParams([
        ['csrf_token', token],
        [field, values[0] as string],
        [field, values[1] as string],
      ]).toString();
      const res = await postForm(b, flow, body);
      assert.equal(res.status, 400, `${kind}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.id, 'bad_request', kind);
      assert.match(res.body.error.reason, new RegExp(`\`${field}\``), kind);

      const csrf = await postForm(
        b,
        flow,
        new URLSearchParams([
          ['csrf_token', token],
          ['csrf_token', `${token.slice(0, -2)}AA`],
        ]).toString(),
      );
      assert.equal(csrf.status, 403, `${kind}: ${JSON.stringify(csrf.body)}`);
      assert.equal(csrf.body.error.id, 'security_csrf_violation', kind);
    }
  });
});

describe('API flows answer a refused form body with JSON, never a redirect', () => {
  it('400 bad_request in every API flow, even with urls.ui.error set', async () => {
    const ui = 'https://ui.example.com';
    const { server } = makeCodeApp({
      urls: { ui: { error: `${ui}/error`, login: `${ui}/login`, registration: `${ui}/registration` } },
    });
    // A native app signed up: its session token opens the settings API flow.
    const registration = await request(server).get('/auth/self-service/registration/api').expect(200);
    const authenticator = new SoftwareAuthenticator();
    const credential = authenticator.create(creationOptionsOf(registration.body), { origin: ORIGIN });
    const signup = await request(server)
      .post(actionPath(registration.body))
      .send({
        method: 'passkey',
        traits: { email: 'native-twice@example.com' },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(signup.status, 200, JSON.stringify(signup.body));
    const token = String(signup.body.session_token);
    for (const kind of ['login', 'registration', 'settings', 'recovery', 'verification'] as const) {
      const init = request(server).get(`/auth/self-service/${kind}/api`);
      const flow = (await (kind === 'settings' ? init.set('X-Session-Token', token) : init).expect(200)).body;
      const post = request(server).post(actionPath(flow)).type('form');
      const res = await (kind === 'settings' ? post.set('X-Session-Token', token) : post).send(
        'method=passkey&method=other',
      );
      assert.equal(res.status, 400, `${kind}: ${res.headers.location ?? JSON.stringify(res.body)}`);
      assert.equal(res.body.error.id, 'bad_request', kind);
    }
  });
});
