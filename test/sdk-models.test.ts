// Every JSON body the router sends, checked against Ory's SDK models (`@ory/client-fetch`): each flow driven through
// its outcomes (inits, fetches, 400/401/403/404/410 answers, successes with continue_with, native successes, whoami,
// the error endpoint, logout), and each body must pass the SDK's `instanceOf*` guard for its model, all the way down
// (nodes, attributes, messages, identity, session, continue_with items), with every enum value one the SDK knows.
// The walk itself is test/helpers/sdk-models.ts.

import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import request from 'supertest';
import type { PasskeysOptions } from '../src/index.js';
import {
  actionPath,
  actionPathOf,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  login,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { initCodeFlow, makeCodeApp, messageIds, postCode, requestCode } from './helpers/codes.js';
import { type Model, problems } from './helpers/sdk-models.js';

const ERROR_UI = `${ORIGIN}/error`;

type Res = { status: number; body: unknown; text: string; req?: unknown };

/** The answer has this status and its body is a clean `model`; returns the body. */
// biome-ignore lint/suspicious/noExplicitAny: bodies are read freely after the model check
function expectModel(res: Res, status: number, model: Model): any {
  const req = res.req as { method?: string; path?: string } | undefined;
  const what = `${req?.method} ${req?.path}`;
  assert.equal(res.status, status, `${what}: ${res.text.slice(0, 600)}`);
  assert.deepEqual(problems(model, res.body), [], `${what} as ${model}`);
  return res.body;
}

/** POST `body` to a flow's action asking for JSON, with the agent's cookies. */
const postJson = (a: { post(url: string): request.Test }, flow: FlowJson, body: object) =>
  a.post(actionPath(flow)).set('Accept', 'application/json').send(body);

/** GET a router path (mounted at `/auth`) asking for JSON, with the agent's cookies. */
const getJson = (a: { get(url: string): request.Test }, path: string) =>
  a.get(`/auth${path}`).set('Accept', 'application/json');

const apps: { server: { close(): void } }[] = [];
after(() => {
  for (const a of apps) a.server.close();
});

function codeApp(overrides: Partial<PasskeysOptions> = {}) {
  const made = makeCodeApp({ urls: { ui: { error: ERROR_UI } }, ...overrides });
  apps.push(made);
  return made;
}

const newEmail = () => `sdk-${Math.random().toString(36).slice(2)}@example.com`;

/** Move Date forward (flows and sessions age); undone at the end of the test. */
function ageBy(t: TestContext, ms: number) {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + ms });
}
const HOURS = 60 * 60 * 1000;

describe('the checker itself', () => {
  it('catches what the SDK would not take', () => {
    const flow = {
      id: 'x',
      type: 'browser',
      state: 'choose_method',
      expires_at: new Date().toISOString(),
      issued_at: new Date().toISOString(),
      request_url: 'http://localhost/x',
      ui: {
        action: 'http://localhost/x',
        method: 'POST',
        nodes: [
          {
            type: 'input',
            group: 'passkey',
            attributes: { name: 'a', type: 'button', disabled: false, node_type: 'input', onclickTrigger: 'nope' },
            messages: [{ id: 1, text: 't', type: 'warning' }],
            meta: {},
          },
        ],
      },
    };
    assert.deepEqual(problems('LoginFlow', flow).length, 2);
    assert.match(problems('LoginFlow', { ...flow, state: 'show_form' })[0] ?? '', /state/);
    assert.match(problems('LoginFlow', { ...flow, issued_at: 'yesterday' })[0] ?? '', /issued_at/);
    assert.match(problems('ErrorGeneric', { error: { id: 'x', code: 400 } })[0] ?? '', /instanceOfGenericError/);
    assert.match(
      problems('Session', {
        id: 's',
        active: true,
        authenticator_assurance_level: 'aal1',
        authentication_methods: [{ method: 'passkeys', aal: 'aal1' }],
      })[0] ?? '',
      /method/,
    );
  });
});

describe('registration', () => {
  const { server, agent } = codeApp();

  it('inits (browser, api), fetches, and answers 400 with the flow on bad traits and a failed ceremony', async () => {
    const a = agent();
    const flow = expectModel(
      await getJson(a, '/self-service/registration/browser'),
      200,
      'RegistrationFlow',
    ) as FlowJson;
    expectModel(await request(server).get('/auth/self-service/registration/api'), 200, 'RegistrationFlow');
    expectModel(await getJson(a, `/self-service/registration/flows?id=${flow.id}`), 200, 'RegistrationFlow');
    const missing = expectModel(
      await postJson(a, flow, { method: 'passkey', csrf_token: csrfOf(flow), traits: {}, passkey_register: '{}' }),
      400,
      'RegistrationFlow',
    );
    assert.ok(JSON.stringify(missing.ui).includes('4000002'), 'a missing-trait message');
    const bad = expectModel(
      await postJson(a, flow, {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        traits: { email: newEmail() },
        passkey_register: '{"id":1}',
      }),
      400,
      'RegistrationFlow',
    );
    assert.ok(messageIds(bad).length > 0 || JSON.stringify(bad.ui.nodes).includes('"error"'));
    expectModel(
      await postJson(a, flow, { method: 'profile', csrf_token: csrfOf(flow), traits: { email: 'not an email' } }),
      400,
      'RegistrationFlow',
    );
  });

  it('403 without CSRF, 404 for an unknown flow, 400 for a body that is not JSON', async () => {
    const a = agent();
    const flow = await initFlow(a, 'registration');
    expectModel(await postJson(a, flow, { method: 'passkey', traits: {} }), 403, 'ErrorGeneric');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expectModel(await getJson(a, `/self-service/registration/flows?id=${unknown}`), 404, 'ErrorGeneric');
    expectModel(
      await a.post(`/auth/self-service/registration?flow=${unknown}`).set('Accept', 'application/json').send({}),
      404,
      'ErrorGeneric',
    );
    expectModel(
      await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .set('Content-Type', 'application/json')
        .send('{"method":'),
      400,
      'ErrorGeneric',
    );
  });

  it('410 with use_flow_id on fetch and submit; the new flow carries 4040001', async (t) => {
    const a = agent();
    const flow = await initFlow(a, 'registration');
    ageBy(t, 2 * HOURS);
    const gone = expectModel(
      await getJson(a, `/self-service/registration/flows?id=${flow.id}`),
      410,
      'SelfServiceFlowExpiredError',
    );
    expectModel(
      await postJson(a, flow, {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        traits: { email: newEmail() },
        passkey_register: '{}',
      }),
      410,
      'SelfServiceFlowExpiredError',
    );
    const next = expectModel(
      await getJson(a, `/self-service/registration/flows?id=${gone.use_flow_id}`),
      200,
      'RegistrationFlow',
    );
    assert.deepEqual(messageIds(next), [4040001]);
  });

  it('success (browser JSON) is a SuccessfulNativeRegistration with show_verification_ui; a taken email is 400', async () => {
    const a = agent();
    const { body, email } = await register(a);
    assert.deepEqual(problems('SuccessfulNativeRegistration', body), []);
    assert.ok(body.session, 'session hook on');
    assert.deepEqual(
      body.continue_with.map((c: { action: string }) => c.action),
      ['show_verification_ui'],
    );
    // The verification flow it points to.
    expectModel(
      await a
        .get(`/auth/self-service/verification/flows?id=${body.continue_with[0].flow.id}`)
        .set('Accept', 'application/json'),
      200,
      'VerificationFlow',
    );
    // Signed in: another registration init is 400 session_already_available.
    const again = expectModel(await getJson(a, '/self-service/registration/browser'), 400, 'ErrorGeneric');
    assert.equal(again.error.id, 'session_already_available');
    // The same email from another browser: 4000028.
    const b = agent();
    const flow = await initFlow(b, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const taken = expectModel(
      await postJson(b, flow, {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        traits: { email },
        passkey_register: JSON.stringify(credential),
      }),
      400,
      'RegistrationFlow',
    );
    assert.ok(JSON.stringify(taken.ui).includes('4000028'));
  });

  it('success (api) carries session_token and set_ory_session_token', async () => {
    const init = expectModel(
      await request(server).get('/auth/self-service/registration/api'),
      200,
      'RegistrationFlow',
    ) as FlowJson;
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init), { origin: ORIGIN });
    const done = expectModel(
      await request(server)
        .post(actionPath(init))
        .send({ method: 'passkey', traits: { email: newEmail() }, passkey_register: JSON.stringify(credential) }),
      200,
      'SuccessfulNativeRegistration',
    );
    assert.equal(typeof done.session_token, 'string');
    const token = done.session_token as string;
    expectModel(await request(server).get('/auth/sessions/whoami').set('X-Session-Token', token), 200, 'Session');
    expectModel(
      await request(server).get('/auth/self-service/registration/api').set('X-Session-Token', token),
      400,
      'ErrorGeneric',
    );
  });
});

describe('login', () => {
  const { server, agent } = codeApp();

  it('inits (browser, refresh, api), fetches, 400 on a bad or unknown assertion, 403, 404, 410', async (t) => {
    const a = agent();
    const { authenticator } = await register(a);
    const refresh = expectModel(await getJson(a, '/self-service/login/browser?refresh=true'), 200, 'LoginFlow');
    assert.equal(refresh.refresh, true);
    expectModel(await getJson(a, '/self-service/login/browser'), 400, 'ErrorGeneric');

    const b = agent();
    const flow = expectModel(await getJson(b, '/self-service/login/browser'), 200, 'LoginFlow') as FlowJson;
    expectModel(await request(server).get('/auth/self-service/login/api'), 200, 'LoginFlow');
    expectModel(await getJson(b, `/self-service/login/flows?id=${flow.id}`), 200, 'LoginFlow');
    const garbage = expectModel(
      await postJson(b, flow, { method: 'passkey', csrf_token: csrfOf(flow), passkey_login: '{"id":"x"}' }),
      400,
      'LoginFlow',
    );
    assert.ok(messageIds(garbage).length > 0);
    const stranger = new SoftwareAuthenticator();
    stranger.create(creationOptionsOf(await initFlow(agent(), 'registration')), { origin: ORIGIN });
    const unknown = expectModel(
      await postJson(b, flow, {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        passkey_login: JSON.stringify(stranger.get(requestOptionsOf(flow), { origin: ORIGIN })),
      }),
      400,
      'LoginFlow',
    );
    assert.ok(messageIds(unknown).length > 0);
    // Signed with the right key but for another origin: 4000043.
    const wrongOrigin = await initFlow(b, 'login');
    expectModel(
      await postJson(b, wrongOrigin, {
        method: 'passkey',
        csrf_token: csrfOf(wrongOrigin),
        passkey_login: JSON.stringify(
          authenticator.get(requestOptionsOf(wrongOrigin), { origin: 'http://localhost:4000' }),
        ),
      }),
      400,
      'LoginFlow',
    );
    expectModel(await postJson(b, flow, { passkey_login: '{}' }), 403, 'ErrorGeneric');
    expectModel(
      await b
        .get('/auth/self-service/login/flows?id=00000000-0000-4000-8000-000000000000')
        .set('Accept', 'application/json'),
      404,
      'ErrorGeneric',
    );
    ageBy(t, 2 * HOURS);
    const gone = expectModel(
      await getJson(b, `/self-service/login/flows?id=${flow.id}`),
      410,
      'SelfServiceFlowExpiredError',
    );
    // The submit to the expired flow puts the expiry message on the flow replacing it.
    expectModel(
      await postJson(b, flow, { method: 'passkey', csrf_token: csrfOf(flow), passkey_login: '{}' }),
      410,
      'SelfServiceFlowExpiredError',
    );
    const next = expectModel(await getJson(b, `/self-service/login/flows?id=${gone.use_flow_id}`), 200, 'LoginFlow');
    assert.deepEqual(messageIds(next), [4010001]);
  });

  it('success (browser JSON and api) is a SuccessfulNativeLogin; whoami and the session list are Sessions', async () => {
    const a = agent();
    const { authenticator } = await register(a);
    const b = agent();
    const done = expectModel(await login(b, authenticator), 200, 'SuccessfulNativeLogin');
    assert.deepEqual(done.continue_with, []);
    // With a return_to, continue_with says where to go next.
    const c = agent();
    const flow = await initFlow(c, 'login', `?return_to=${encodeURIComponent(`${ORIGIN}/after`)}`);
    const onwards = expectModel(
      await postJson(c, flow, {
        method: 'passkey',
        csrf_token: csrfOf(flow),
        passkey_login: JSON.stringify(authenticator.get(requestOptionsOf(flow), { origin: ORIGIN })),
      }),
      200,
      'SuccessfulNativeLogin',
    );
    assert.deepEqual(onwards.continue_with, [
      { action: 'redirect_browser_to', redirect_browser_to: `${ORIGIN}/after` },
    ]);
    expectModel(await getJson(b, '/sessions/whoami'), 200, 'Session');
    expectModel(await getJson(b, '/sessions'), 200, 'Session[]');
    const other = agent();
    assert.equal((await login(other, authenticator)).status, 200);
    const revoked = expectModel(
      await b.delete('/auth/sessions').set('Accept', 'application/json'),
      200,
      'DeleteMySessionsCount',
    );
    assert.ok(revoked.count >= 1);
    // Revoking the current session by id is refused (SPEC §8; an unknown id is a 204 without a body).
    const current = (await getJson(b, '/sessions/whoami')).body.id;
    expectModel(await b.delete(`/auth/sessions/${current}`).set('Accept', 'application/json'), 400, 'ErrorGeneric');
    expectModel(await getJson(agent(), '/sessions/whoami'), 401, 'ErrorGeneric');

    const init = (await request(server).get('/auth/self-service/login/api').expect(200)).body as FlowJson;
    const native = expectModel(
      await request(server)
        .post(actionPath(init))
        .send({
          method: 'passkey',
          passkey_login: JSON.stringify(authenticator.get(requestOptionsOf(init), { origin: ORIGIN })),
        }),
      200,
      'SuccessfulNativeLogin',
    );
    assert.equal(typeof native.session_token, 'string');
    expectModel(
      await request(server).get('/auth/sessions/whoami').set('X-Session-Token', native.session_token),
      200,
      'Session',
    );
    expectModel(
      await request(server).get('/auth/sessions/whoami').set('X-Session-Token', 'ory_st_nope'),
      401,
      'ErrorGeneric',
    );
    expectModel(
      await request(server).delete('/auth/self-service/logout/api').send({ session_token: 'ory_st_nope' }),
      403,
      'ErrorGeneric',
    );
    await request(server)
      .delete('/auth/self-service/logout/api')
      .send({ session_token: native.session_token })
      .expect(204);
  });

  it('identifier-first: both steps are LoginFlows', async () => {
    const made = codeApp({ login: { style: 'identifier_first' } });
    const a = made.agent();
    const flow = expectModel(await getJson(a, '/self-service/login/browser'), 200, 'LoginFlow') as FlowJson;
    const step2 = expectModel(
      await postJson(a, flow, { method: 'identifier_first', csrf_token: csrfOf(flow), identifier: newEmail() }),
      400,
      'LoginFlow',
    );
    assert.ok(step2.ui.nodes.some((n: { group: string }) => n.group === 'identifier_first'));
  });
});

describe('settings', () => {
  const { server, agent } = codeApp();

  it('401 without a session; inits (browser, api), fetches; add, rename, remove succeed; the last is refused (400)', async () => {
    expectModel(await getJson(agent(), '/self-service/settings/browser'), 401, 'ErrorGeneric');
    expectModel(await request(server).get('/auth/self-service/settings/api'), 401, 'ErrorGeneric');
    const a = agent();
    const { credential } = await register(a);
    const flow = expectModel(await getJson(a, '/self-service/settings/browser'), 200, 'SettingsFlow') as FlowJson;
    expectModel(await getJson(a, `/self-service/settings/flows?id=${flow.id}`), 200, 'SettingsFlow');
    const last = expectModel(
      await postJson(a, flow, { csrf_token: csrfOf(flow), method: 'passkey', passkey_remove: credential.id }),
      400,
      'SettingsFlow',
    );
    assert.ok(JSON.stringify(last.ui.nodes).includes('"error"'), 'the refusal is on the node');
    const failed = expectModel(
      await postJson(a, flow, { csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: '{"id":"x"}' }),
      400,
      'SettingsFlow',
    );
    // A failed ceremony comes back with a new challenge.
    const second = new SoftwareAuthenticator().create(creationOptionsOf(failed), { origin: ORIGIN });
    const added = expectModel(
      await postJson(a, flow, {
        csrf_token: csrfOf(flow),
        method: 'passkey',
        passkey_settings_register: JSON.stringify(second),
      }),
      200,
      'SettingsFlow',
    );
    assert.equal(added.state, 'success');
    assert.deepEqual(messageIds(added), [1050001]);
    const renamed = expectModel(
      await postJson(a, added, {
        csrf_token: csrfOf(added),
        method: 'passkey',
        passkey_rename: { id: second.id, name: 'Phone' },
      }),
      200,
      'SettingsFlow',
    );
    const removed = expectModel(
      await postJson(a, renamed, { csrf_token: csrfOf(renamed), method: 'passkey', passkey_remove: second.id }),
      200,
      'SettingsFlow',
    );
    assert.equal(removed.state, 'success');
    expectModel(await postJson(a, flow, { method: 'passkey', passkey_remove: 'x' }), 403, 'ErrorGeneric');
    expectModel(
      await a
        .get('/auth/self-service/settings/flows?id=00000000-0000-4000-8000-000000000000')
        .set('Accept', 'application/json'),
      404,
      'ErrorGeneric',
    );
  });

  it('api flow with X-Session-Token', async () => {
    const init = (await request(server).get('/auth/self-service/registration/api').expect(200)).body as FlowJson;
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init), { origin: ORIGIN });
    const reg = await request(server)
      .post(actionPath(init))
      .send({ method: 'passkey', traits: { email: newEmail() }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    const token = reg.body.session_token as string;
    const flow = expectModel(
      await request(server).get('/auth/self-service/settings/api').set('X-Session-Token', token),
      200,
      'SettingsFlow',
    ) as FlowJson;
    const second = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    expectModel(
      await request(server)
        .post(actionPath(flow))
        .set('X-Session-Token', token)
        .send({ method: 'passkey', passkey_settings_register: JSON.stringify(second) }),
      200,
      'SettingsFlow',
    );
  });

  it('410 for an expired flow; 403 session_refresh_required for an old session', async (t) => {
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    ageBy(t, 2 * HOURS);
    const gone = expectModel(
      await getJson(a, `/self-service/settings/flows?id=${flow.id}`),
      410,
      'SelfServiceFlowExpiredError',
    );
    expectModel(await getJson(a, `/self-service/settings/flows?id=${gone.use_flow_id}`), 200, 'SettingsFlow');
    const fresh = await initFlow(a, 'settings');
    const second = new SoftwareAuthenticator().create(creationOptionsOf(fresh), { origin: ORIGIN });
    const refresh = expectModel(
      await postJson(a, fresh, {
        csrf_token: csrfOf(fresh),
        method: 'passkey',
        passkey_settings_register: JSON.stringify(second),
      }),
      403,
      'NeedsPrivilegedSessionError',
    );
    assert.equal(refresh.error.id, 'session_refresh_required');
  });
});

describe('recovery', () => {
  const { server, agent, courier } = codeApp();

  it('inits (browser, api), fetches, 400 on a missing email, wrong code 200, success with show_settings_ui', async () => {
    const a = agent();
    const { email } = await register(a);
    expectModel(await getJson(a, '/self-service/recovery/browser'), 400, 'ErrorGeneric');

    const b = agent();
    const flow = expectModel(await getJson(b, '/self-service/recovery/browser'), 200, 'RecoveryFlow') as FlowJson;
    expectModel(await request(server).get('/auth/self-service/recovery/api'), 200, 'RecoveryFlow');
    expectModel(await getJson(b, `/self-service/recovery/flows?id=${flow.id}`), 200, 'RecoveryFlow');
    expectModel(await postCode(b, flow, { method: 'code', email: '' }), 400, 'RecoveryFlow');
    expectModel(await postCode(b, flow, { method: 'code', email: 'not-an-email' }), 400, 'RecoveryFlow');
    const sent = expectModel(await postCode(b, flow, { method: 'code', email }), 200, 'RecoveryFlow');
    assert.equal(sent.state, 'sent_email');
    const wrong = expectModel(await postCode(b, sent, { method: 'code', code: '000000' }), 200, 'RecoveryFlow');
    assert.ok(messageIds(wrong).includes(4060006));
    const code = await courier.lastCode(email);
    const done = expectModel(await postCode(b, sent, { method: 'code', code }), 200, 'RecoveryFlow');
    assert.equal(done.state, 'passed_challenge');
    const settings = done.continue_with.find((c: { action: string }) => c.action === 'show_settings_ui');
    assert.ok(settings);
    const settingsFlow = expectModel(
      await getJson(b, `/self-service/settings/flows?id=${settings.flow.id}`),
      200,
      'SettingsFlow',
    );
    assert.ok(messageIds(settingsFlow).includes(1060001));
    const who = expectModel(await getJson(b, '/sessions/whoami'), 200, 'Session');
    assert.equal(who.authentication_methods[0].method, 'code_recovery');
  });

  it('api success adds set_ory_session_token; too many submissions is a 400 with show_recovery_ui', async () => {
    const a = agent();
    const { email } = await register(a);
    const init = expectModel(await request(server).get('/auth/self-service/recovery/api'), 200, 'RecoveryFlow');
    const sent = expectModel(
      await request(server).post(actionPath(init)).send({ method: 'code', email }),
      200,
      'RecoveryFlow',
    );
    const code = await courier.lastCode(email);
    const done = expectModel(
      await request(server).post(actionPath(sent)).send({ method: 'code', code }),
      200,
      'RecoveryFlow',
    );
    assert.deepEqual(
      done.continue_with.map((c: { action: string }) => c.action),
      ['set_ory_session_token', 'show_settings_ui'],
    );

    const b = agent();
    const flow = await requestCode(b, 'recovery', email);
    let last: Res | undefined;
    for (let i = 0; i < 6; i++) last = await postCode(b, flow, { method: 'code', code: '000000' });
    const limited = expectModel(last as Res, 400, 'ErrorGeneric');
    assert.equal(limited.error.details.continue_with[0].action, 'show_recovery_ui');
  });

  it('410 for an expired flow', async (t) => {
    const b = agent();
    const flow = await initCodeFlow(b, 'recovery');
    ageBy(t, 2 * HOURS);
    const gone = expectModel(
      await getJson(b, `/self-service/recovery/flows?id=${flow.id}`),
      410,
      'SelfServiceFlowExpiredError',
    );
    expectModel(await postCode(b, flow, { method: 'code', email: newEmail() }), 410, 'SelfServiceFlowExpiredError');
    expectModel(await getJson(b, `/self-service/recovery/flows?id=${gone.use_flow_id}`), 200, 'RecoveryFlow');
  });
});

describe('verification', () => {
  const { server, agent, courier } = codeApp();

  it('inits (browser, api), fetches, sent_email, wrong code, success with the continue link; 410', async (t) => {
    const a = agent();
    const { email } = await register(a);
    const flow = expectModel(
      await getJson(a, '/self-service/verification/browser'),
      200,
      'VerificationFlow',
    ) as FlowJson;
    expectModel(await request(server).get('/auth/self-service/verification/api'), 200, 'VerificationFlow');
    expectModel(await getJson(a, `/self-service/verification/flows?id=${flow.id}`), 200, 'VerificationFlow');
    expectModel(await postCode(a, flow, { method: 'code', email: '' }), 400, 'VerificationFlow');
    const sent = expectModel(await postCode(a, flow, { method: 'code', email }), 200, 'VerificationFlow');
    assert.equal(sent.state, 'sent_email');
    expectModel(await postCode(a, sent, { method: 'code', code: '000000' }), 200, 'VerificationFlow');
    const code = await courier.lastCode(email, 'verification');
    const done = expectModel(await postCode(a, sent, { method: 'code', code }), 200, 'VerificationFlow');
    assert.equal(done.state, 'passed_challenge');
    assert.ok(done.ui.nodes.some((n: { type: string }) => n.type === 'a'));
    const who = expectModel(await getJson(a, '/sessions/whoami'), 200, 'Session');
    assert.equal(who.identity.verifiable_addresses[0].status, 'completed');

    const other = await initCodeFlow(agent(), 'verification');
    ageBy(t, 2 * HOURS);
    expectModel(
      await getJson(agent(), `/self-service/verification/flows?id=${other.id}`),
      410,
      'SelfServiceFlowExpiredError',
    );
  });
});

describe('errors and logout', () => {
  const { agent } = codeApp();

  it('a form post refused for CSRF goes to the error UI; GET /self-service/errors?id= is a FlowError', async () => {
    const a = agent();
    const flow = await initFlow(a, 'login');
    const post = await a.post(actionPath(flow)).type('form').send({ passkey_login: '{}' });
    assert.equal(post.status, 303);
    const location = new URL(String(post.headers.location));
    assert.equal(`${location.origin}${location.pathname}`, ERROR_UI);
    const id = location.searchParams.get('id');
    const error = expectModel(await getJson(a, `/self-service/errors?id=${id}`), 200, 'FlowError');
    assert.equal(error.error.id, 'security_csrf_violation');
    expectModel(
      await a
        .get('/auth/self-service/errors?id=00000000-0000-4000-8000-000000000000')
        .set('Accept', 'application/json'),
      404,
      'ErrorGeneric',
    );
  });

  it('GET /self-service/logout/browser is a LogoutFlow, or 401', async () => {
    expectModel(await getJson(agent(), '/self-service/logout/browser'), 401, 'ErrorGeneric');
    const a = agent();
    await register(a);
    const logout = expectModel(await getJson(a, '/self-service/logout/browser'), 200, 'LogoutFlow');
    await a.get(actionPathOf(logout.logout_url)).set('Accept', 'application/json').expect(204);
    expectModel(await getJson(a, '/sessions/whoami'), 401, 'ErrorGeneric');
  });
});
