// Registration flow over HTTP with a software authenticator producing real attestations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  node,
  ORIGIN,
  register,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

describe('registration flow', () => {
  it('creates a flow with the nodes SPEC lists, in their groups', async () => {
    const { agent } = makeApp();
    const flow = await initFlow(agent(), 'registration');
    assert.equal(flow.type, 'browser');
    assert.equal(flow.state, 'choose_method');
    assert.match(flow.ui.action, /^http:\/\/127\.0\.0\.1:\d+\/auth\/self-service\/registration\?flow=/);
    assert.equal(flow.ui.method, 'POST');
    const names = flow.ui.nodes.map((n) => n.attributes.name ?? n.attributes.id);
    assert.deepEqual(names, [
      'csrf_token',
      'traits.email',
      'traits.name.first',
      'traits.name.last',
      'webauthn_script',
      'passkey_register_trigger',
      'passkey_register',
      'passkey_create_data',
    ]);
    assert.equal(node(flow, 'csrf_token').group, 'default');
    assert.equal(node(flow, 'traits.email').group, 'default');
    assert.deepEqual(node(flow, 'traits.email').meta.label, {
      id: 1070002,
      text: 'E-Mail',
      type: 'info',
      context: { title: 'E-Mail', name: 'traits.email' },
    });
    const trigger = node(flow, 'passkey_register_trigger');
    assert.equal(trigger.group, 'passkey');
    assert.equal(trigger.attributes.type, 'button');
    assert.equal(trigger.attributes.onclickTrigger, 'oryPasskeyRegistration');
    assert.equal(trigger.meta.label?.id, 1040007);
    assert.equal(trigger.meta.label?.text, 'Sign up with passkey');
    const script = flow.ui.nodes.find((n) => n.type === 'script');
    assert.ok(script);
    assert.equal(script.group, 'webauthn');
    assert.match(String(script.attributes.src), /\/auth\/\.well-known\/ory\/webauthn\.js$/);
    assert.match(String(script.attributes.integrity), /^sha512-[A-Za-z0-9+/]+=*$/);
    const data = JSON.parse(String(node(flow, 'passkey_create_data').attributes.value));
    assert.equal(data.displayNameFieldName, 'traits.email');
    const options = data.credentialOptions.publicKey;
    assert.equal(options.rp.id, 'localhost');
    assert.equal(options.rp.name, 'Test App');
    assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(options.authenticatorSelection.residentKey, 'required');
    assert.equal(options.authenticatorSelection.userVerification, 'preferred');
    assert.ok(!JSON.stringify(flow).includes('userHandle'));
  });

  it('registers an identity with one step, issues a session, and whoami shows it', async () => {
    const { agent } = makeApp();
    const a = agent();
    const { body, email } = await register(a);
    assert.equal(body.identity.traits.email, email);
    assert.equal(body.identity.state, 'active');
    assert.equal(body.identity.schema_id, 'default');
    assert.ok(!('credentials' in body.identity));
    assert.deepEqual(body.continue_with, []);
    assert.equal(body.session.active, true);
    assert.equal(body.session.authenticator_assurance_level, 'aal1');
    assert.equal(body.session.authentication_methods[0].method, 'passkey');
    const who = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(who.body.identity.id, body.identity.id);
    assert.equal(who.body.id, body.session.id);
  });

  it('works with EdDSA and RS256 keys too', async () => {
    const { agent } = makeApp();
    for (const alg of [-8, -257] as const) {
      const { body } = await register(agent(), undefined, { alg });
      assert.ok(body.identity.id);
    }
  });

  it('a form post succeeds with a 303 to return_to', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration', '?return_to=/welcome');
    assert.equal(flow.return_to, '/welcome', 'a path stays a path: never resolved against a Host header');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .type('form')
      .send({
        csrf_token: csrfOf(flow),
        'traits.email': 'form@example.com',
        'traits.name.first': '',
        passkey_register: JSON.stringify(credential),
        passkey_create_data: String(node(flow, 'passkey_create_data').attributes.value),
        passkey_register_trigger: '',
      });
    assert.equal(res.status, 303, JSON.stringify(res.body));
    assert.match(res.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/welcome$/, 'absolute redirect');
    const who = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(who.body.identity.traits.email, 'form@example.com');
  });

  it('the profile step validates traits first and fills the display name into the creation options', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const bad = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'nope' } });
    assert.equal(bad.status, 400);
    const emailNode = node(bad.body, 'traits.email');
    assert.equal(emailNode.messages[0]?.id, 4000001);
    assert.equal(emailNode.attributes.value, 'nope');
    const ok = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'Two.Step@Example.com' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const options = creationOptionsOf(ok.body);
    assert.equal(options.user.name, 'Two.Step@Example.com');
    assert.equal(await store.findIdentityByIdentifier('two.step@example.com'), null, 'nothing created yet');
    // Second step: only the passkey; the traits come from the profile step.
    const credential = new SoftwareAuthenticator().create(options, { origin: ORIGIN });
    const done = await a
      .post(actionPath(ok.body))
      .set('Accept', 'application/json')
      .send({ method: 'passkey', csrf_token: csrfOf(ok.body), passkey_register: JSON.stringify(credential) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.identity.traits.email, 'Two.Step@Example.com');
  });

  it('answers trait errors on their nodes with Kratos ids and context', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const post = (traits: unknown) =>
      a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ method: 'profile', csrf_token: csrfOf(flow), traits });

    const missing = await post({});
    assert.equal(missing.status, 400);
    assert.deepEqual(node(missing.body, 'traits.email').messages[0], {
      id: 4000002,
      text: 'Property email is missing.',
      type: 'error',
      context: { property: 'email' },
    });
    const short = await post({ email: 'a@' });
    assert.ok(node(short.body, 'traits.email').messages.some((m) => m.id === 4000003 && m.context?.min_length === 3));
    const long = await post({ email: `${'a'.repeat(400)}@example.com` });
    assert.ok(node(long.body, 'traits.email').messages.some((m) => m.id === 4000017 && m.context?.max_length === 320));
    const wrongType = await post({ email: 42 });
    assert.deepEqual(node(wrongType.body, 'traits.email').messages[0]?.context, {
      allowed_types: ['string'],
      actual_type: 'number',
    });
    assert.equal(node(wrongType.body, 'traits.email').messages[0]?.id, 4000026);
    const format = await post({ email: 'not-an-email' });
    const formatMessage = node(format.body, 'traits.email').messages[0];
    assert.equal(formatMessage?.id, 4000001);
    assert.match(String(formatMessage?.context?.reason), /not valid "email"/);
    const nul = await post({ email: 'x@example.com', name: { first: 'A\u0000B' } });
    assert.equal(nul.status, 400);
    assert.equal(node(nul.body, 'traits.name.first').messages[0]?.id, 4000001);
    const extra = await post({ email: 'x@example.com', admin: true });
    assert.equal(extra.status, 400);
    assert.equal(extra.body.ui.messages[0].id, 4000001);
  });

  it('keeps what a flow stores small when junk traits are posted into it', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const junk = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'x'.repeat(100)]));
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'junk@example.com', ...junk } });
    assert.equal(res.status, 400);
    assert.ok(res.body.ui.messages.length <= 20);
    const stored = await store.getFlow(flow.id);
    assert.ok(stored);
    const size = JSON.stringify(stored.data).length;
    assert.ok(size < 8192, `stored flow data is ${size} bytes`);
  });

  it('refuses a taken identifier (case-insensitively) with 4000028', async () => {
    const { agent } = makeApp();
    await register(agent(), 'taken@example.com');
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(flow),
        traits: { email: 'TAKEN@Example.com' },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(res.status, 400);
    const message = res.body.ui.messages[0];
    assert.equal(message.id, 4000028);
    assert.equal(
      message.text,
      'You tried signing in with TAKEN@Example.com which is already in use by another account. You can sign in using your passkey.',
    );
    assert.deepEqual(message.context.available_credential_types, ['passkey']);
    assert.deepEqual(message.context.available_oidc_providers, []);
  });

  it('rejects a registration with a 403 when the CSRF token is missing or wrong', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    for (const csrf_token of [undefined, 'x'.repeat(43), csrfOf(flow).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ method: 'profile', csrf_token, traits: { email: 'c@example.com' } });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.id, 'security_csrf_violation');
    }
    // Another browser (no CSRF cookie) posting the right token is refused too.
    const res = await agent()
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'c@example.com' } });
    assert.equal(res.status, 403);
  });

  it('refuses registration when a session exists', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const json = await a.get('/auth/self-service/registration/browser').set('Accept', 'application/json');
    assert.equal(json.status, 400);
    assert.equal(json.body.error.id, 'session_already_available');
    const browser = await a.get('/auth/self-service/registration/browser').set('Accept', 'text/html');
    assert.equal(browser.status, 303);
    assert.match(browser.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('fetches a flow by id; 404 for unknown ids', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const fetched = await a.get(`/auth/self-service/registration/flows?id=${flow.id}`).expect(200);
    assert.equal(fetched.body.id, flow.id);
    const unknown = await a.get('/auth/self-service/registration/flows?id=00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.id, 'not_found');
    const malformed = await a.get('/auth/self-service/registration/flows?id=../../etc');
    assert.equal(malformed.status, 404);
    const wrongKind = await a.get(`/auth/self-service/login/flows?id=${flow.id}`);
    assert.equal(wrongKind.status, 404);
  });

  it('answers 410 with use_flow_id for an expired flow, and form posts go to the new flow', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp({ urls: { ui: { registration: 'http://localhost:3000/register' } } });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    t.mock.timers.tick(61 * 60 * 1000);
    const gone = await a.get(`/auth/self-service/registration/flows?id=${flow.id}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.error.id, 'self_service_flow_expired');
    assert.match(gone.body.use_flow_id, /^[0-9a-f-]{36}$/);
    const again = await a.get(`/auth/self-service/registration/flows?id=${flow.id}`);
    assert.equal(again.body.use_flow_id, gone.body.use_flow_id, 'one successor, reused');
    const post = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), 'traits.email': 'late@example.com' });
    assert.equal(post.status, 303);
    assert.equal(post.headers.location, `http://localhost:3000/register?flow=${gone.body.use_flow_id}`);
    const successor = await a.get(`/auth/self-service/registration/flows?id=${gone.body.use_flow_id}`).expect(200);
    assert.equal((successor.body as FlowJson).ui.messages?.[0]?.id, 4040001);
    const jsonPost = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), traits: { email: 'late@example.com' } });
    assert.equal(jsonPost.status, 410);
  });

  it('browser init redirects to the configured UI with ?flow=', async () => {
    const { agent } = makeApp({ urls: { ui: { registration: 'http://localhost:3000/register' } } });
    const res = await agent().get('/auth/self-service/registration/browser').set('Accept', 'text/html');
    assert.equal(res.status, 303);
    assert.match(res.headers.location ?? '', /^http:\/\/localhost:3000\/register\?flow=[0-9a-f-]{36}$/);
    // Path=/ so that UI pages outside the mount path (fetching flows server-side) get the browser's cookie too.
    assert.match(String(res.headers['set-cookie']), /passkeys_csrf_token=[^;]+;.*Path=\/;.*HttpOnly;.*SameSite=Lax/);
  });

  it('refuses return_to outside the allowed origins', async () => {
    const { agent } = makeApp();
    for (const bad of [
      'https://evil.example',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      'http://localhost:3000@evil.example/',
      'http://user:pw@localhost:3000/',
      'http://localhost:3001/',
      'http://localhost:3000.evil.example/',
    ]) {
      const res = await agent()
        .get(`/auth/self-service/registration/browser?return_to=${encodeURIComponent(bad)}`)
        .set('Accept', 'application/json');
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.id, 'self_service_flow_return_to_forbidden', bad);
    }
    const ok = await agent()
      .get(`/auth/self-service/registration/browser?return_to=${encodeURIComponent('http://localhost:3000/app?x=1')}`)
      .set('Accept', 'application/json');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.return_to, 'http://localhost:3000/app?x=1');
  });

  it('creates no express-session entry for anonymous flow inits', async () => {
    const { agent } = makeApp();
    const res = await agent().get('/auth/self-service/registration/browser').set('Accept', 'application/json');
    assert.ok(!String(res.headers['set-cookie']).includes('sid='));
  });
});
