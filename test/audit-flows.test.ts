// Adversarial conformance probes of SPEC §2 for registration, settings and logout (JSON, form posts, API flows).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import {
  type Agent,
  actionPath,
  actionPathOf,
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

const UI = { registration: 'http://localhost:3000/registration', settings: 'http://localhost:3000/settings' };

function postJson(a: Agent, flow: FlowJson, body: Record<string, unknown>) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), ...body });
}

function postForm(a: Agent, flow: FlowJson, body: Record<string, string>) {
  return a
    .post(actionPath(flow))
    .type('form')
    .send({ csrf_token: csrfOf(flow), ...body });
}

const messagesOf = (flow: FlowJson, name: string) => node(flow, name).messages.map((m) => m.id);

describe('audit: registration', () => {
  it('a trait of the wrong type: 4000026 on the trait node, actual_type `number` as Kratos reports any number', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const res = await postJson(a, flow, { method: 'profile', traits: { email: 5 } });
    assert.equal(res.status, 400);
    const m = node(res.body, 'traits.email').messages[0];
    assert.equal(m?.id, 4000026);
    assert.deepEqual(m?.context, { allowed_types: ['string'], actual_type: 'number' });
  });

  it('traits with unknown extra properties', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await postJson(a, flow, {
      method: 'passkey',
      traits: { email: 'extra@example.com', admin: true },
      passkey_register: JSON.stringify(credential),
    });
    // The default schema has `additionalProperties: false`: 4000001 in ui.messages, nothing written.
    assert.equal(res.status, 400);
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4000001],
    );
    assert.equal(await store.findIdentityByIdentifier('extra@example.com'), null);
  });

  it('an email with uppercase and spaces', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await postJson(a, flow, {
      method: 'passkey',
      traits: { email: '  Upper@Example.COM ' },
      passkey_register: JSON.stringify(credential),
    });
    // As Kratos's format check: spaces make it no email (4000001 on the node), not trimmed silently.
    assert.equal(res.status, 400);
    assert.deepEqual(messagesOf(res.body, 'traits.email'), [4000001]);
    const res2 = await postJson(a, flow, { method: 'profile', traits: { email: 'Upper@Example.COM' } });
    assert.equal(res2.status, 200);
    assert.equal(node(res2.body, 'traits.email').attributes.value, 'Upper@Example.COM');
  });

  it('return_to: continue_with for JSON, 303 for forms; transient_payload not stored', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration', `?return_to=${encodeURIComponent(`${ORIGIN}/next`)}`);
    assert.equal(flow.return_to, `${ORIGIN}/next`);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await postJson(a, flow, {
      method: 'passkey',
      traits: { email: 'rt@example.com' },
      transient_payload: { secret: 'tp-marker' },
      passkey_register: JSON.stringify(credential),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.continue_with, [
      { action: 'redirect_browser_to', redirect_browser_to: `${ORIGIN}/next` },
    ]);
    const saved = await store.getIdentity(res.body.identity.id);
    assert.ok(!JSON.stringify(saved).includes('tp-marker'));
    const stored = JSON.stringify([...((store as unknown as { flows: Map<string, unknown> }).flows?.values?.() ?? [])]);
    assert.ok(!stored.includes('tp-marker'), 'flow does not keep transient_payload');

    const b = agent();
    const flow2 = await initFlow(b, 'registration', `?return_to=${encodeURIComponent(`${ORIGIN}/next`)}`);
    const credential2 = new SoftwareAuthenticator().create(creationOptionsOf(flow2), { origin: ORIGIN });
    const form = await postForm(b, flow2, {
      'traits.email': 'rt2@example.com',
      transient_payload: '{"x":1}',
      passkey_register: JSON.stringify(credential2),
    });
    assert.equal(form.status, 303);
    assert.equal(form.headers.location, `${ORIGIN}/next`);
  });

  it('profile step then passkey step as form posts, with and without urls.ui.registration', async () => {
    for (const ui of [undefined, UI.registration]) {
      const { agent } = makeApp(ui ? { urls: { ui: { registration: ui } } } : {});
      const a = agent();
      const flow = await initFlow(a, 'registration');
      const step = await postForm(a, flow, { method: 'profile', 'traits.email': 'form@example.com' });
      if (ui) {
        assert.equal(step.status, 303);
        assert.equal(step.headers.location, `${ui}?flow=${flow.id}`);
      } else {
        assert.equal(step.status, 200, JSON.stringify(step.body));
        assert.equal(step.body.state, 'show_form');
      }
      const fetched = (await a.get(`/auth/self-service/registration/flows?id=${flow.id}`).expect(200)).body as FlowJson;
      assert.equal(node(fetched, 'traits.email').attributes.value, 'form@example.com');
      const options = creationOptionsOf(fetched);
      assert.equal(options.user.name, 'form@example.com');
      const credential = new SoftwareAuthenticator().create(options, { origin: ORIGIN });
      const done = await postForm(a, fetched, { passkey_register: JSON.stringify(credential) });
      assert.equal(done.status, 303, JSON.stringify(done.body));
      const who = await a.get('/auth/sessions/whoami').expect(200);
      assert.equal(who.body.identity.traits.email, 'form@example.com');
      // bad trait in a form post
      const b = agent();
      const flow2 = await initFlow(b, 'registration');
      const bad = await postForm(b, flow2, { method: 'profile', 'traits.email': 'not-an-email' });
      if (ui) assert.equal(bad.status, 303);
      else {
        assert.equal(bad.status, 400);
        assert.deepEqual(messagesOf(bad.body, 'traits.email'), [4000001]);
      }
    }
  });

  it('while signed in: JSON 400 session_already_available, form post 303 to defaultReturnTo', async () => {
    const { agent } = makeApp({ urls: { ui: { registration: UI.registration } } });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    await register(a);
    const json = await postJson(a, flow, { method: 'profile', traits: { email: 'x@example.com' } });
    assert.equal(json.status, 400);
    assert.equal(json.body.error.id, 'session_already_available');
    const form = await postForm(a, flow, { method: 'profile', 'traits.email': 'x@example.com' });
    assert.equal(form.status, 303);
    assert.match(form.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("another flow's challenge: 400, 4000001 in ui.messages, a new challenge; a replayed registration fails", async () => {
    const { agent } = makeApp();
    const a = agent();
    const one = await initFlow(a, 'registration');
    const b = agent();
    const two = await initFlow(b, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(two), { origin: ORIGIN });
    const res = await postJson(a, one, {
      method: 'passkey',
      traits: { email: 'cross@example.com' },
      passkey_register: JSON.stringify(credential),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4000001],
    );
    assert.notEqual(creationOptionsOf(res.body).challenge, creationOptionsOf(one).challenge);
    // The legit owner of that challenge still works once.
    const ok = await postJson(b, two, {
      method: 'passkey',
      traits: { email: 'cross@example.com' },
      passkey_register: JSON.stringify(credential),
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // Replayed by a fresh browser on the same flow: not a second identity.
    const c = agent();
    await c.get(`/auth/self-service/registration/flows?id=${two.id}`);
    const replay = await c
      .post(actionPath(two))
      .set('Accept', 'application/json')
      .set('Cookie', '')
      .send({
        csrf_token: csrfOf(two),
        method: 'passkey',
        traits: { email: 'cross2@example.com' },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(replay.status, 403);
    assert.equal(replay.body.error.id, 'security_csrf_violation');
    // Replayed into a new flow.
    const three = await initFlow(c, 'registration');
    const replay2 = await postJson(c, three, {
      method: 'passkey',
      traits: { email: 'cross3@example.com' },
      passkey_register: JSON.stringify(credential),
    });
    assert.equal(replay2.status, 400);
    assert.deepEqual(
      replay2.body.ui.messages.map((m: { id: number }) => m.id),
      [4000001],
    );
  });

  it('API registration: trait errors and success shapes', async () => {
    const { app } = makeApp();
    const init = await request(app).get('/auth/self-service/registration/api').expect(200);
    const bad = await request(app)
      .post(actionPath(init.body))
      .send({ method: 'profile', traits: { email: 'nope' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(messagesOf(bad.body, 'traits.email'), [4000001]);
    const prof = await request(app)
      .post(actionPath(init.body))
      .send({ method: 'profile', traits: { email: 'api@example.com' } });
    assert.equal(prof.status, 200);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(prof.body), { origin: ORIGIN });
    const done = await request(app)
      .post(actionPath(init.body))
      .send({ method: 'passkey', passkey_register: JSON.stringify(credential) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(done.body.continue_with, []);
    assert.ok(done.body.session_token);
    const again = await request(app)
      .post(actionPath(init.body))
      .send({ method: 'passkey', passkey_register: JSON.stringify(credential) });
    assert.equal(again.status, 400);
    assert.equal(again.body.state, 'success');
    assert.equal(again.body.ui.messages[0].id, 4000001);
    const settingsInit = await request(app)
      .get('/auth/self-service/settings/api')
      .set('X-Session-Token', done.body.session_token);
    assert.equal(settingsInit.status, 200);
    const id = settingsInit.body.identity.id;
    assert.equal(id, done.body.identity.id);
    const rename = await request(app)
      .post(actionPath(settingsInit.body))
      .set('X-Session-Token', done.body.session_token)
      .send({ method: 'passkey', passkey_rename: { id: credential.id, name: 'Phone' } });
    assert.equal(rename.status, 200, JSON.stringify(rename.body));
    assert.equal(rename.body.state, 'success');
    assert.equal(rename.body.ui.messages[0].id, 1050001);
    const noToken = await request(app)
      .post(actionPath(settingsInit.body))
      .send({ method: 'passkey', passkey_rename: { id: credential.id, name: 'P' } });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.error.id, 'session_inactive');
  });
});

describe('audit: settings', () => {
  it('rename with every bad input', async () => {
    const { agent } = makeApp();
    const victim = await register(agent());
    const a = agent();
    const { credential } = await register(a);
    const flow = await initFlow(a, 'settings');
    const cases: [unknown, number][] = [
      [{ id: 'AAAA', name: 'x' }, 4000502],
      [{ id: victim.credential.id, name: 'x' }, 4000502],
      [{ id: credential.id, name: '' }, 4000504],
      [{ id: credential.id, name: '   ' }, 4000504],
      [{ id: credential.id, name: 'x'.repeat(1000) }, 4000504],
      [{ id: credential.id, name: 'a\u0007b' }, 4000504],
      [{ id: credential.id, name: 'a\nb' }, 4000504],
      // A right-to-left override would make the "Remove passkey" label read otherwise.
      [{ id: credential.id, name: 'phone\u202Eenoh' }, 4000504],
      [{ id: credential.id, name: 'a\u2066b' }, 4000504],
    ];
    for (const [rename, id] of cases) {
      const res = await postJson(a, flow, { method: 'passkey', passkey_rename: rename });
      assert.equal(res.status, 400, JSON.stringify(rename));
      assert.deepEqual(
        res.body.ui.messages.map((m: { id: number }) => m.id),
        [id],
        JSON.stringify(rename).slice(0, 80),
      );
    }
    const formCases: [Record<string, string>, number][] = [
      [{ passkey_rename_id: 'AAAA', passkey_rename_name: 'x' }, 4000502],
      [{ passkey_rename_id: credential.id, passkey_rename_name: '' }, 4000504],
      [{ passkey_rename_id: credential.id, passkey_rename_name: 'x'.repeat(1000) }, 4000504],
    ];
    for (const [fields, id] of formCases) {
      const res = await postForm(a, flow, { method: 'passkey', ...fields });
      assert.equal(res.status, 400, JSON.stringify(fields).slice(0, 80));
      assert.deepEqual(
        res.body.ui.messages.map((m: { id: number }) => m.id),
        [id],
      );
    }
    // remove: unknown id, malformed id
    for (const bad of ['AAAA', '!!!', victim.credential.id]) {
      const res = await postJson(a, flow, { method: 'passkey', passkey_remove: bad });
      assert.equal(res.status, 400, bad);
      assert.deepEqual(
        res.body.ui.messages.map((m: { id: number }) => m.id),
        [bad === '!!!' ? 4000001 : 4000502],
      );
    }
    const wrongType = await postJson(a, flow, { method: 'passkey', passkey_remove: 5 });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.id, 'bad_request');
    const wrongRename = await postJson(a, flow, { method: 'passkey', passkey_rename: 'x' });
    assert.equal(wrongRename.status, 400);
    assert.equal(wrongRename.body.error.id, 'bad_request');
  });

  it('profile save that changes the identifier', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { body, authenticator } = await register(a, 'old@example.com');
    const flow = await initFlow(a, 'settings');
    const res = await postJson(a, flow, { method: 'profile', traits: { email: 'New@Example.com' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'success');
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [1050001],
    );
    assert.equal(res.body.identity.traits.email, 'New@Example.com');
    const who = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(who.body.identity.traits.email, 'New@Example.com');
    // The new address replaces the old one, unverified; the session goes on.
    assert.deepEqual(
      who.body.identity.verifiable_addresses.map((x: { value: string; verified: boolean }) => [x.value, x.verified]),
      [['new@example.com', false]],
    );
    assert.deepEqual(
      who.body.identity.recovery_addresses.map((x: { value: string }) => x.value),
      ['new@example.com'],
    );
    const identity = await store.getIdentity(body.identity.id);
    assert.equal(identity?.identifier, 'new@example.com');
    // Old email free to register again; new one taken, in any case.
    await register(agent(), 'old@example.com');
    const c = agent();
    const taken = await initFlow(c, 'registration');
    const dup = await postJson(c, taken, { method: 'profile', traits: { email: 'new@example.com' } });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.ui.messages[0].id, 4000028);
    // Profile to a taken one
    const flow2 = await initFlow(a, 'settings');
    const clash = await postJson(a, flow2, { method: 'profile', traits: { email: 'OLD@example.com' } });
    assert.equal(clash.status, 400);
    assert.deepEqual(
      clash.body.ui.messages.map((m: { id: number }) => m.id),
      [4000007],
    );
    const wrong = await postJson(a, flow2, { method: 'profile', traits: { email: 7 } });
    assert.equal(wrong.status, 400);
    assert.deepEqual(messagesOf(wrong.body, 'traits.email'), [4000026]);
    const missing = await postJson(a, flow2, { method: 'profile', traits: {} });
    assert.equal(missing.status, 400);
    assert.deepEqual(node(missing.body, 'traits.email').messages[0]?.context, { property: 'email' });
    assert.deepEqual(messagesOf(missing.body, 'traits.email'), [4000002]);
    void authenticator;
  });

  it('the privileged window for each change kind (JSON 403, form 303)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp({ lifespans: { privilegedSession: '10m' } });
    const a = agent();
    const { credential } = await register(a);
    const flow = await initFlow(a, 'settings');
    t.mock.timers.tick(11 * 60 * 1000);
    const other = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const bodies: Record<string, unknown>[] = [
      { method: 'profile', traits: { email: 'priv@example.com' } },
      { method: 'passkey', passkey_settings_register: JSON.stringify(other) },
      { method: 'passkey', passkey_remove: credential.id },
      { method: 'passkey', passkey_rename: { id: credential.id, name: 'n' } },
    ];
    for (const body of bodies) {
      const res = await postJson(a, flow, body);
      assert.equal(res.status, 403, JSON.stringify(body).slice(0, 60));
      assert.equal(res.body.error.id, 'session_refresh_required');
      assert.ok(res.body.redirect_browser_to);
    }
    const form = await postForm(a, flow, {
      method: 'passkey',
      passkey_rename_id: credential.id,
      passkey_rename_name: 'n',
    });
    assert.equal(form.status, 303);
    assert.match(form.headers.location ?? '', /refresh=true/);
    const formProfile = await postForm(a, flow, { method: 'profile', 'traits.email': 'p@example.com' });
    assert.equal(formProfile.status, 303);
  });

  it('a settings flow of another identity: 403', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const b = agent();
    await register(b);
    const fetched = await b.get(`/auth/self-service/settings/flows?id=${flow.id}`).set('Accept', 'application/json');
    const res = await postJson(b, flow, { method: 'profile', traits: { email: 'hijack@example.com' } });
    const form = await postForm(b, flow, { method: 'profile', 'traits.email': 'hijack@example.com' });
    // Kratos: herodot.ErrForbidden with id `security_identity_mismatch` (SPEC names no id).
    for (const r of [fetched, res, form]) {
      assert.equal(r.status, 403);
      assert.equal(r.body.error.id, 'security_identity_mismatch');
      assert.equal(
        r.body.error.reason,
        'The request was made for another identity and has been blocked for security reasons.',
      );
    }
    const anon = await agent().get(`/auth/self-service/settings/flows?id=${flow.id}`).set('Accept', 'application/json');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.id, 'session_inactive');
  });

  it('form posts with a settings UI: success and errors go back to the UI', async () => {
    const { agent } = makeApp({ urls: { ui: { settings: UI.settings } } });
    const a = agent();
    const { credential } = await register(a);
    const flow = await initFlow(a, 'settings');
    const bad = await postForm(a, flow, {
      method: 'passkey',
      passkey_rename_id: credential.id,
      passkey_rename_name: '',
    });
    assert.equal(bad.status, 303);
    assert.equal(bad.headers.location, `${UI.settings}?flow=${flow.id}`);
    const ok = await postForm(a, flow, {
      method: 'passkey',
      passkey_rename_id: credential.id,
      passkey_rename_name: 'Laptop',
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, `${UI.settings}?flow=${flow.id}`);
    const shown = await a.get(`/auth/self-service/settings/flows?id=${flow.id}`).expect(200);
    assert.equal(shown.body.state, 'success');
    const last = await postForm(a, flow, { method: 'passkey', passkey_remove: credential.id });
    assert.equal(last.status, 303);
    const after = await a.get(`/auth/self-service/settings/flows?id=${flow.id}`).expect(200);
    assert.equal(after.body.state, 'show_form');
    assert.deepEqual(messagesOf(after.body, 'passkey_remove'), [4000501]);
  });
});

describe('audit: logout', () => {
  it('browser logout: url and token; wrong, missing and used tokens; return_to', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const none = await agent().get('/auth/self-service/logout/browser').set('Accept', 'application/json');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.id, 'session_inactive');
    const { body } = await a
      .get(`/auth/self-service/logout/browser?return_to=${encodeURIComponent(`${ORIGIN}/bye`)}`)
      .set('Accept', 'application/json')
      .expect(200);
    const url = new URL(body.logout_url);
    assert.equal(url.searchParams.get('token'), body.logout_token);
    assert.equal(url.searchParams.get('return_to'), `${ORIGIN}/bye`);
    const wrong = await a.get('/auth/self-service/logout?token=wrong').set('Accept', 'application/json');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.id, 'security_csrf_violation');
    const evil = await a.get(`/auth/self-service/logout?token=${body.logout_token}&return_to=https://evil.example/`);
    assert.equal(evil.status, 400);
    assert.equal(evil.body.error.id, 'self_service_flow_return_to_forbidden');
    await a.get('/auth/sessions/whoami').expect(200);
    const ok = await a.get(actionPathOf(body.logout_url));
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, `${ORIGIN}/bye`);
    await a.get('/auth/sessions/whoami').expect(401);
    // Used again (a second click, another tab): the token was the ended session's, so 401 session_inactive.
    const used = await a.get(actionPathOf(body.logout_url)).set('Accept', 'application/json');
    assert.equal(used.status, 401);
    assert.equal(used.body.error.id, 'session_inactive');
    // Without a token at all: 400, as Kratos ("Please include a token in the URL query.").
    const missing = await a.get('/auth/self-service/logout').set('Accept', 'application/json');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.id, 'bad_request');
  });

  it('API logout with bad bodies', async () => {
    const { app } = makeApp();
    const cases: [unknown, number, string][] = [
      [{}, 400, 'bad_request'],
      [{ session_token: '' }, 400, 'bad_request'],
      [{ session_token: 5 }, 400, 'bad_request'],
      [{ session_token: 'ory_st_wrong' }, 403, 'forbidden'],
      ['junk', 400, 'bad_request'],
    ];
    for (const [body, status, id] of cases) {
      const res = await request(app)
        .delete('/auth/self-service/logout/api')
        .set('Content-Type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body));
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.error.id, id);
    }
  });
});
