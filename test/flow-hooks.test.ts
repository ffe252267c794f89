// Before-hooks (SPEC §9): each outcome (refuse on a node / in ui.messages, modify, throw, time out) on registration,
// login and settings, as JSON, form posts and API flows; after every refusal the store holds exactly what it held.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { FlowRejection, type PasskeysOptions } from '../src/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  node,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { watchStore } from './helpers/store-watch.js';

type HookName = 'beforeRegistration' | 'beforeLogin' | 'beforeSettings';
type Behaviour = (ctx: Record<string, unknown> & { signal: AbortSignal }) => unknown;

const SECRET_TEXT = 'db password is hunter2';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An app whose before-hooks do what `behave[name]` says (nothing when unset), recording every context. */
function hookApp(overrides: Partial<PasskeysOptions> = {}) {
  const behave: Partial<Record<HookName, Behaviour>> = {};
  const seen: Record<HookName, (Record<string, unknown> & { signal: AbortSignal })[]> = {
    beforeRegistration: [],
    beforeLogin: [],
    beforeSettings: [],
  };
  const hook = (name: HookName) => (ctx: Record<string, unknown> & { signal: AbortSignal }) => {
    seen[name].push(ctx);
    return behave[name]?.(ctx);
  };
  const watched = watchStore();
  const app = makeApp({
    store: watched.store,
    ...overrides,
    hooks: {
      timeout: 250,
      beforeRegistration: hook('beforeRegistration') as never,
      beforeLogin: hook('beforeLogin') as never,
      beforeSettings: hook('beforeSettings') as never,
      ...overrides.hooks,
    },
  });
  return { ...app, watched, behave, seen };
}

const rejectOnNode = (pointer: string) => () => {
  throw new FlowRejection([
    { instancePtr: pointer, id: 4000100, text: 'Only @example.com addresses may sign up.', context: { domain: 'x' } },
  ]);
};
const rejectGeneral = () => {
  throw new FlowRejection({ instancePtr: '#/', id: 4000101, text: 'Sign-ups are closed today.' });
};
const fail = () => {
  throw new Error(SECRET_TEXT);
};
/** Runs past the 250 ms timeout, then returns metadata that must be ignored. */
const late = async () => {
  await sleep(1000);
  return { metadataPublic: { late: true } };
};

/** A registration submit, ready to post: the flow, its credential and the fields. */
async function registrationSubmit(agent: Agent, email: string, authenticator = new SoftwareAuthenticator()) {
  const flow = await initFlow(agent, 'registration');
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const fields = {
    csrf_token: csrfOf(flow),
    method: 'passkey',
    'traits.email': email,
    passkey_register: JSON.stringify(credential),
    transient_payload: JSON.stringify({ invite: 'abc' }),
  };
  return { flow, credential, fields, authenticator };
}

async function loginSubmit(agent: Agent, authenticator: SoftwareAuthenticator) {
  const flow = await initFlow(agent, 'login');
  const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
  return { flow, fields: { csrf_token: csrfOf(flow), method: 'passkey', passkey_login: JSON.stringify(assertion) } };
}

async function settingsAddSubmit(agent: Agent) {
  const flow = await initFlow(agent, 'settings');
  const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
  return {
    flow,
    fields: { csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: JSON.stringify(credential) },
  };
}

const postJson = (agent: Agent, flow: FlowJson, fields: object) =>
  agent.post(actionPath(flow)).set('Accept', 'application/json').send(fields);
const postForm = (agent: Agent, flow: FlowJson, fields: Record<string, string>) =>
  agent.post(actionPath(flow)).type('form').send(new URLSearchParams(fields).toString());

const messagesOf = (flow: FlowJson) => (flow.ui.messages ?? []).map((m) => m.id);

async function whoamiStatus(agent: Agent) {
  return (await agent.get('/auth/sessions/whoami').set('Accept', 'application/json')).status;
}

describe('beforeRegistration', () => {
  it('a rejection on #/traits/email: 400, the message on the node, nothing written, a new challenge to retry', async () => {
    const { agent, watched, behave, seen, store } = hookApp();
    const a = agent();
    behave.beforeRegistration = rejectOnNode('#/traits/email');
    const { flow, fields, credential } = await registrationSubmit(a, 'ann@other.org');
    const before = await watched.snapshot();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const email = node(res.body, 'traits.email');
    assert.deepEqual(email.messages, [
      { id: 4000100, text: 'Only @example.com addresses may sign up.', type: 'error', context: { domain: 'x' } },
    ]);
    assert.deepEqual(messagesOf(res.body), []);
    assert.equal(email.attributes.value, 'ann@other.org', 'the form keeps what was typed');
    assert.deepEqual(await watched.snapshot(), before, 'nothing written');
    assert.equal(await store.findIdentityByIdentifier('ann@other.org'), null);
    assert.equal(await store.getPasskey(credential.id), null);
    assert.equal(res.body.session, undefined);
    assert.equal(await whoamiStatus(a), 401, 'no session');
    // Signal API: the refused passkey is named, so that the browser's passkey manager drops it.
    const signal = JSON.parse(String(node(res.body, 'passkey_signal').attributes.value));
    assert.equal(signal.unknownCredential.credentialId, credential.id);

    // The context: the submitted traits, the verified passkey (not saved), the request, the transient payload.
    const ctx = seen.beforeRegistration[0];
    assert.ok(ctx);
    assert.deepEqual(ctx.flow, { id: flow.id, type: 'browser' });
    assert.deepEqual(ctx.traits, { email: 'ann@other.org' });
    assert.equal((ctx.passkey as { id: string }).id, credential.id);
    assert.deepEqual(ctx.transientPayload, { invite: 'abc' });
    assert.equal((ctx.request as { method: string }).method, 'POST');
    assert.ok(ctx.signal instanceof AbortSignal);

    // The flow came back with a new challenge: submitted again with another address, it goes through.
    const oldChallenge = creationOptionsOf(flow).challenge;
    assert.notEqual(creationOptionsOf(res.body).challenge, oldChallenge);
    behave.beforeRegistration = undefined;
    const retry = new SoftwareAuthenticator().create(creationOptionsOf(res.body), { origin: ORIGIN });
    const ok = await postJson(a, res.body, {
      ...fields,
      'traits.email': 'ann@example.com',
      passkey_register: JSON.stringify(retry),
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.identity.traits.email, 'ann@example.com');
  });

  it('a rejection on #/ (or on no node) goes to ui.messages, once each', async () => {
    const { agent, watched, behave } = hookApp();
    const a = agent();
    behave.beforeRegistration = () => {
      throw new FlowRejection([
        { instancePtr: '#/', id: 4000101, text: 'Sign-ups are closed today.' },
        { instancePtr: '#/traits/nickname', id: 4000102, text: 'No such node.', type: 'info' },
        { id: 4000103, text: 'No pointer at all.' },
      ]);
    };
    const { flow, fields } = await registrationSubmit(a, 'bob@example.com');
    const before = await watched.snapshot();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.ui.messages, [
      { id: 4000101, text: 'Sign-ups are closed today.', type: 'error', context: {} },
      { id: 4000102, text: 'No such node.', type: 'info', context: {} },
      { id: 4000103, text: 'No pointer at all.', type: 'error', context: {} },
    ]);
    for (const n of res.body.ui.nodes) assert.deepEqual(n.messages, [], `no message on ${n.attributes.name}`);
    assert.deepEqual(await watched.snapshot(), before);
  });

  it('returned traits replace top-level keys and metadata is saved with the identity', async () => {
    const { agent, behave, store } = hookApp();
    const a = agent();
    behave.beforeRegistration = (ctx) => ({
      traits: { name: { first: 'Cy', last: 'Ng' }, email: String((ctx.traits as { email: string }).email).trim() },
      metadataPublic: { plan: 'free' },
      metadataAdmin: { source: 'invite', invite: (ctx.transientPayload as { invite: string }).invite },
      ignored: 'anything else',
    });
    const { flow, fields } = await registrationSubmit(a, 'cy@example.com');
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.identity.traits, { email: 'cy@example.com', name: { first: 'Cy', last: 'Ng' } });
    const saved = await store.findIdentityByIdentifier('cy@example.com');
    assert.ok(saved);
    assert.deepEqual(saved.traits, { email: 'cy@example.com', name: { first: 'Cy', last: 'Ng' } });
    assert.deepEqual(saved.metadataPublic, { plan: 'free' });
    assert.deepEqual(saved.metadataAdmin, { source: 'invite', invite: 'abc' });
  });

  it('returned traits that changes the identifier are re-validated: schema messages, 4000028, nothing written', async () => {
    const { agent, watched, behave, store } = hookApp();
    const a = agent();
    await register(agent(), 'taken@example.com');
    behave.beforeRegistration = () => ({ traits: { email: 'not an email' } });
    const first = await registrationSubmit(a, 'dee@example.com');
    let before = await watched.snapshot();
    let res = await postJson(a, first.flow, first.fields);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(node(res.body, 'traits.email').messages[0]?.id, 4000001);
    assert.deepEqual(await watched.snapshot(), before);

    behave.beforeRegistration = () => ({ traits: { email: 'Taken@Example.com' } });
    const retry = new SoftwareAuthenticator().create(creationOptionsOf(res.body), { origin: ORIGIN });
    before = await watched.snapshot();
    res = await postJson(a, res.body, { ...first.fields, passkey_register: JSON.stringify(retry) });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messagesOf(res.body), [4000028]);
    assert.deepEqual(await watched.snapshot(), before);
    assert.equal(await store.findIdentityByIdentifier('dee@example.com'), null);
  });

  it('a thrown error: 502 hook_failed, its text never sent, nothing written', async () => {
    const { agent, watched, behave } = hookApp();
    const a = agent();
    behave.beforeRegistration = fail;
    const { flow, fields } = await registrationSubmit(a, 'eve@example.com');
    const before = await watched.snapshot();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 502);
    assert.deepEqual(res.body.error.id, 'hook_failed');
    assert.equal(res.body.error.code, 502);
    assert.equal(res.body.error.status, 'Bad Gateway');
    assert.equal(res.body.error.reason, 'A third-party upstream service responded improperly.');
    assert.ok(!res.text.includes('hunter2'));
    assert.deepEqual(await watched.snapshot(), before);
    assert.equal(await whoamiStatus(a), 401);
    // The flow is usable again, with a new challenge.
    const again = await a.get(`/auth/self-service/registration/flows?id=${flow.id}`).expect(200);
    assert.notEqual(creationOptionsOf(again.body).challenge, creationOptionsOf(flow).challenge);
  });

  it('past hooks.timeout: 504 hook_timeout, the signal aborts, the late result is ignored, nothing written', async () => {
    const { agent, watched, behave, seen } = hookApp();
    const a = agent();
    behave.beforeRegistration = late;
    const { flow, fields } = await registrationSubmit(a, 'fay@example.com');
    const before = await watched.snapshot();
    const started = Date.now();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 504);
    assert.ok(Date.now() - started < 900, 'answered at the timeout, not when the hook finished');
    assert.deepEqual(res.body.error, {
      id: 'hook_timeout',
      code: 504,
      status: 'Gateway Timeout',
      reason: 'A third-party upstream service did not respond in time.',
      message: res.body.error.message,
    });
    assert.equal(seen.beforeRegistration[0]?.signal.aborted, true, 'the signal aborted at the timeout');
    await sleep(1100); // the hook finishes: its late metadata goes nowhere
    assert.deepEqual(await watched.snapshot(), before);
  });

  it('form posts: a rejection 303s back to the UI page with the message stored; a failure to urls.ui.error', async () => {
    const { agent, watched, behave } = hookApp({
      urls: { ui: { registration: '/registration', error: '/error' } },
    });
    const a = agent();
    behave.beforeRegistration = rejectOnNode('#/traits/email');
    const first = await registrationSubmit(a, 'gus@other.org');
    let before = await watched.snapshot();
    let res = await postForm(a, first.flow, first.fields);
    assert.equal(res.status, 303);
    const location = new URL(String(res.headers.location));
    assert.equal(location.pathname, '/registration');
    assert.equal(location.searchParams.get('flow'), first.flow.id);
    const shown = await a.get(`/auth/self-service/registration/flows?id=${first.flow.id}`).expect(200);
    assert.equal(node(shown.body, 'traits.email').messages[0]?.id, 4000100);
    assert.deepEqual(await watched.snapshot(), before);

    behave.beforeRegistration = fail;
    const second = await registrationSubmit(a, 'gus@example.com');
    before = await watched.snapshot();
    res = await postForm(a, second.flow, second.fields);
    assert.equal(res.status, 303);
    const errorPage = new URL(String(res.headers.location));
    assert.equal(errorPage.pathname, '/error');
    const stored = await a.get(`/auth/self-service/errors?id=${errorPage.searchParams.get('id')}`).expect(200);
    assert.equal(stored.body.error.id, 'hook_failed');
    assert.equal(stored.body.error.code, 502);
    assert.ok(!stored.text.includes('hunter2'));
    assert.deepEqual(await watched.snapshot(), before);
  });

  it('form posts without UI pages: the flow JSON with 400, the error JSON with 502 / 504', async () => {
    const { agent, watched, behave } = hookApp();
    const a = agent();
    for (const [behaviour, status] of [
      [rejectGeneral, 400],
      [fail, 502],
      [late, 504],
    ] as const) {
      behave.beforeRegistration = behaviour;
      const { flow, fields } = await registrationSubmit(a, 'hal@example.com');
      const before = await watched.snapshot();
      const res = await postForm(a, flow, fields);
      assert.equal(res.status, status, JSON.stringify(res.body));
      if (status === 400) assert.deepEqual(messagesOf(res.body), [4000101]);
      else assert.equal(res.body.error.id, status === 502 ? 'hook_failed' : 'hook_timeout');
      assert.deepEqual(await watched.snapshot(), before);
    }
  });

  it('API flows: rejection 400 on the node, failure 502, nothing written', async () => {
    const { server, watched, behave } = hookApp();
    for (const [behaviour, status] of [
      [rejectOnNode('#/traits/email'), 400],
      [fail, 502],
    ] as const) {
      behave.beforeRegistration = behaviour;
      const init = await request(server).get('/auth/self-service/registration/api').expect(200);
      const flow = init.body as FlowJson;
      const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
      const before = await watched.snapshot();
      const res = await request(server)
        .post(actionPath(flow))
        .send({ method: 'passkey', traits: { email: 'ida@other.org' }, passkey_register: JSON.stringify(credential) });
      assert.equal(res.status, status, JSON.stringify(res.body));
      if (status === 400) assert.equal(node(res.body, 'traits.email').messages[0]?.id, 4000100);
      else assert.equal(res.body.error.id, 'hook_failed');
      assert.equal(res.body.session_token, undefined);
      assert.deepEqual(await watched.snapshot(), before);
    }
  });
});

describe('beforeLogin', () => {
  async function registered(overrides: Partial<PasskeysOptions> = {}) {
    const app = hookApp(overrides);
    const { authenticator, body } = await register(app.agent(), 'jo@example.com');
    return { ...app, authenticator, identityId: body.identity.id as string };
  }

  it('refusals (node, #/), failure and timeout: nothing written (no usage, no session), JSON and form', async () => {
    const { agent, watched, behave, authenticator } = await registered();
    const cases: [string, Behaviour, 'json' | 'form', number, (res: request.Response) => void][] = [
      [
        'reject on #/identifier',
        rejectOnNode('#/identifier'),
        'json',
        400,
        (res) => {
          assert.equal(node(res.body, 'identifier').messages[0]?.id, 4000100);
        },
      ],
      ['reject on #/', rejectGeneral, 'json', 400, (res) => assert.deepEqual(messagesOf(res.body), [4000101])],
      ['reject, form', rejectGeneral, 'form', 400, (res) => assert.deepEqual(messagesOf(res.body), [4000101])],
      ['throw', fail, 'json', 502, (res) => assert.equal(res.body.error.id, 'hook_failed')],
      ['throw, form', fail, 'form', 502, (res) => assert.equal(res.body.error.id, 'hook_failed')],
      ['time out', late, 'json', 504, (res) => assert.equal(res.body.error.id, 'hook_timeout')],
    ];
    for (const [what, behaviour, kind, status, check] of cases) {
      const a = agent();
      behave.beforeLogin = behaviour;
      const { flow, fields } = await loginSubmit(a, authenticator);
      const before = await watched.snapshot();
      const res = kind === 'json' ? await postJson(a, flow, fields) : await postForm(a, flow, fields);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      check(res);
      assert.ok(!res.text.includes('hunter2'), what);
      assert.deepEqual(await watched.snapshot(), before, `${what}: nothing written`);
      assert.equal(await whoamiStatus(a), 401, `${what}: no session`);
    }
  });

  it('the context, metadata saved with the sign-in, and a refused flow that signs in on retry', async () => {
    const { agent, behave, seen, authenticator, identityId, store } = await registered();
    const a = agent();
    behave.beforeLogin = rejectGeneral;
    const { flow, fields } = await loginSubmit(a, authenticator);
    const refused = await postJson(a, flow, { ...fields, transient_payload: { device: 'kiosk' } });
    assert.equal(refused.status, 400);
    const ctx = seen.beforeLogin[0];
    assert.ok(ctx);
    assert.deepEqual(ctx.flow, { id: flow.id, type: 'browser' });
    assert.equal((ctx.identity as { id: string }).id, identityId);
    assert.equal((ctx.passkey as { identityId: string }).identityId, identityId);
    assert.deepEqual(ctx.transientPayload, { device: 'kiosk' });

    behave.beforeLogin = () => ({ metadataPublic: { lastDevice: 'kiosk' }, metadataAdmin: { logins: 1 } });
    const assertion = authenticator.get(requestOptionsOf(refused.body), { origin: ORIGIN });
    const ok = await postJson(a, refused.body, { ...fields, passkey_login: JSON.stringify(assertion) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const saved = await store.getIdentity(identityId);
    assert.deepEqual(saved?.metadataPublic, { lastDevice: 'kiosk' });
    assert.deepEqual(saved?.metadataAdmin, { logins: 1 });
    assert.equal(await whoamiStatus(a), 200);
  });

  it('metadata a hook returns with U+0000 or a lone surrogate is a failed hook (502), nothing written', async (t) => {
    t.mock.method(console, 'error', () => {});
    const { agent, behave, authenticator, watched } = await registered();
    for (const bad of ['a\u0000b', 'x\uD800y']) {
      behave.beforeLogin = () => ({ metadataAdmin: { note: bad } });
      const a = agent();
      const { flow, fields } = await loginSubmit(a, authenticator);
      const before = await watched.snapshot();
      const res = await postJson(a, flow, fields);
      assert.equal(res.status, 502, JSON.stringify(bad));
      assert.equal(res.body.error.id, 'hook_failed');
      assert.deepEqual(await watched.snapshot(), before);
    }
  });

  it('runs for refresh logins too', async () => {
    const { agent, behave, authenticator, seen, watched } = await registered();
    const a = agent();
    const first = await loginSubmit(a, authenticator);
    assert.equal((await postJson(a, first.flow, first.fields)).status, 200);
    behave.beforeLogin = rejectGeneral;
    const flow = await initFlow(a, 'login', '?refresh=true');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const before = await watched.snapshot();
    const res = await postJson(a, flow, { csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 400);
    assert.deepEqual(messagesOf(res.body), [4000101]);
    assert.equal(seen.beforeLogin.length, 2);
    assert.deepEqual(await watched.snapshot(), before);
  });

  it('API flows: rejection and failure, no session token, nothing written', async () => {
    const { server, behave, authenticator, watched } = await registered();
    for (const [behaviour, status] of [
      [rejectGeneral, 400],
      [fail, 502],
    ] as const) {
      behave.beforeLogin = behaviour;
      const init = await request(server).get('/auth/self-service/login/api').expect(200);
      const assertion = authenticator.get(requestOptionsOf(init.body), { origin: ORIGIN });
      const before = await watched.snapshot();
      const res = await request(server)
        .post(actionPath(init.body))
        .send({ method: 'passkey', passkey_login: JSON.stringify(assertion) });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.session_token, undefined);
      assert.deepEqual(await watched.snapshot(), before);
    }
  });
});

describe('beforeSettings', () => {
  async function signedIn(overrides: Partial<PasskeysOptions> = {}) {
    const app = hookApp(overrides);
    const a = app.agent();
    const { authenticator, body } = await register(a, 'kim@example.com');
    return { ...app, a, authenticator, identityId: body.identity.id as string };
  }

  it('adding a passkey: every outcome, JSON and form; nothing written on refusal', async () => {
    const { a, watched, behave, seen, identityId, store } = await signedIn();
    const cases: [string, Behaviour, 'json' | 'form', number][] = [
      ['reject on #/passkey_settings_register', rejectOnNode('#/passkey_settings_register'), 'json', 400],
      ['reject on #/', rejectGeneral, 'json', 400],
      ['reject, form', rejectGeneral, 'form', 400],
      ['throw', fail, 'json', 502],
      ['throw, form', fail, 'form', 502],
      ['time out', late, 'json', 504],
    ];
    for (const [what, behaviour, kind, status] of cases) {
      behave.beforeSettings = behaviour;
      const { flow, fields } = await settingsAddSubmit(a);
      const before = await watched.snapshot();
      const res = kind === 'json' ? await postJson(a, flow, fields) : await postForm(a, flow, fields);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      if (what.includes('passkey_settings_register')) {
        assert.equal(node(res.body, 'passkey_settings_register').messages[0]?.id, 4000100);
        const signal = JSON.parse(String(node(res.body, 'passkey_signal').attributes.value));
        assert.equal(signal.unknownCredential.credentialId, JSON.parse(fields.passkey_settings_register).id);
      }
      if (status === 400 && !what.includes('passkey_settings_register')) {
        assert.deepEqual(messagesOf(res.body), [4000101]);
      }
      assert.ok(!res.text.includes('hunter2'));
      assert.deepEqual(await watched.snapshot(), before, `${what}: nothing written`);
    }
    const ctx = seen.beforeSettings[0];
    assert.ok(ctx);
    assert.equal(ctx.change, 'add');
    assert.equal((ctx.identity as { id: string }).id, identityId);
    assert.ok((ctx.passkey as { id: string }).id);
    assert.equal((await store.listPasskeys(identityId)).length, 1);

    // Modify: metadata saved with the new passkey.
    behave.beforeSettings = () => ({ metadataAdmin: { keys: 2 } });
    const { flow, fields } = await settingsAddSubmit(a);
    const ok = await postJson(a, flow, fields);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await store.listPasskeys(identityId)).length, 2);
    assert.deepEqual((await store.getIdentity(identityId))?.metadataAdmin, { keys: 2 });
  });

  it('remove, rename and profile: the change in the context, refused before anything is written', async () => {
    const { a, watched, behave, seen, identityId, store } = await signedIn();
    // A second passkey, so that removing one is allowed.
    const add = await settingsAddSubmit(a);
    assert.equal((await postJson(a, add.flow, add.fields)).status, 200);
    const [first] = await store.listPasskeys(identityId);
    assert.ok(first);
    behave.beforeSettings = rejectOnNode('#/traits/email');
    const submits: [string, Record<string, unknown>][] = [
      ['remove', { method: 'passkey', passkey_remove: first.id }],
      ['rename', { method: 'passkey', passkey_rename: { id: first.id, name: 'Work key' } }],
      ['profile', { method: 'profile', traits: { email: 'kim@example.com', name: { first: 'Kim' } } }],
    ];
    for (const [change, fields] of submits) {
      const flow = await initFlow(a, 'settings');
      const before = await watched.snapshot();
      const res = await postJson(a, flow, { csrf_token: csrfOf(flow), ...fields });
      assert.equal(res.status, 400, `${change}: ${JSON.stringify(res.body)}`);
      assert.equal(node(res.body, 'traits.email').messages[0]?.id, 4000100, change);
      assert.deepEqual(await watched.snapshot(), before, `${change}: nothing written`);
      const ctx = seen.beforeSettings.at(-1);
      assert.ok(ctx);
      assert.equal(ctx.change, change);
      if (change === 'rename') assert.equal((ctx.passkey as { name: string }).name, 'Work key');
      if (change === 'remove') assert.equal((ctx.passkey as { id: string }).id, first.id);
      if (change === 'profile') assert.deepEqual(ctx.traits, { email: 'kim@example.com', name: { first: 'Kim' } });
    }

    // Let through, with metadata: each change is written, the metadata with it.
    behave.beforeSettings = (ctx) => ({ metadataPublic: { last: ctx.change } });
    for (const [change, fields] of [submits[1], submits[2], submits[0]] as [string, Record<string, unknown>][]) {
      const flow = await initFlow(a, 'settings');
      const res = await postJson(a, flow, { csrf_token: csrfOf(flow), ...fields });
      assert.equal(res.status, 200, `${change}: ${JSON.stringify(res.body)}`);
      assert.deepEqual((await store.getIdentity(identityId))?.metadataPublic, { last: change });
    }
    const identity = await store.getIdentity(identityId);
    assert.deepEqual(identity?.traits, { email: 'kim@example.com', name: { first: 'Kim' } });
    assert.equal((await store.listPasskeys(identityId)).length, 1);
  });

  it('API flows: rejection and failure answer JSON, nothing written', async () => {
    const { server, behave, watched } = hookApp();
    const init = await request(server).get('/auth/self-service/registration/api').expect(200);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(init.body), { origin: ORIGIN });
    const signup = await request(server)
      .post(actionPath(init.body))
      .send({ method: 'passkey', traits: { email: 'lou@example.com' }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    const token = signup.body.session_token as string;
    for (const [behaviour, status] of [
      [rejectGeneral, 400],
      [fail, 502],
    ] as const) {
      behave.beforeSettings = behaviour;
      const flow = await request(server)
        .get('/auth/self-service/settings/api')
        .set('X-Session-Token', token)
        .expect(200);
      const before = await watched.snapshot();
      const res = await request(server)
        .post(actionPath(flow.body))
        .set('X-Session-Token', token)
        .send({ method: 'profile', traits: { email: 'lou@example.com', name: { first: 'Lou' } } });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.deepEqual(await watched.snapshot(), before);
    }
  });
});

describe('FlowRejection', () => {
  it('requires an id and a text; type defaults to error, context to {}', () => {
    assert.throws(() => new FlowRejection({ text: 'x' } as never), TypeError);
    assert.throws(() => new FlowRejection({ id: 1 } as never), TypeError);
    assert.throws(() => new FlowRejection([]), /at least one message/);
    const rejection = new FlowRejection({ id: 4000100, text: 'No.' });
    assert.deepEqual(rejection.messages, [{ id: 4000100, text: 'No.', type: 'error', context: {} }]);
    assert.ok(rejection instanceof FlowRejection);
    assert.ok(rejection instanceof Error);
    assert.ok(!(new Error('x') instanceof FlowRejection));
  });

  it('a FlowRejection that cannot be built inside a hook is a failed hook (502)', async () => {
    const { agent, behave, watched } = hookApp();
    const a = agent();
    behave.beforeRegistration = () => {
      throw new FlowRejection({ id: 'x' } as never);
    };
    const { flow, fields } = await registrationSubmit(a, 'max@example.com');
    const before = await watched.snapshot();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 502);
    assert.deepEqual(await watched.snapshot(), before);
  });

  it('a FlowRejection returned instead of thrown refuses all the same (fail closed); a returned Error is a failed hook', async (t) => {
    const logged: unknown[][] = [];
    t.mock.method(console, 'error', (...args: unknown[]) => logged.push(args));
    const { agent, behave, watched } = hookApp();
    const a = agent();
    behave.beforeRegistration = () =>
      new FlowRejection({ instancePtr: '#/traits/email', id: 4000100, text: 'Use your work address.' });
    const { flow, fields } = await registrationSubmit(a, 'ret@example.com');
    const before = await watched.snapshot();
    const refused = await postJson(a, flow, fields);
    assert.equal(refused.status, 400);
    const email = refused.body.ui.nodes.find(
      (n: { attributes: { name: string } }) => n.attributes.name === 'traits.email',
    );
    assert.deepEqual(
      email.messages.map((m: { id: number }) => m.id),
      [4000100],
    );
    assert.deepEqual(await watched.snapshot(), before);
    assert.deepEqual(logged, [], 'a refusal is not an error');

    behave.beforeRegistration = () => new Error('db down: password=hunter2');
    const again = await registrationSubmit(a, 'ret2@example.com');
    const failed = await postJson(a, again.flow, again.fields);
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.id, 'hook_failed');
    assert.ok(!JSON.stringify(failed.body).includes('hunter2'), 'the text never reaches the client');
    assert.match(String(logged[0]?.[0]), /hook beforeRegistration returned an Error, not an object; answered 502/);

    behave.beforeRegistration = () => {
      throw new Error('boom');
    };
    const third = await registrationSubmit(a, 'ret3@example.com');
    assert.equal((await postJson(a, third.flow, third.fields)).status, 502);
    assert.match(String(logged[1]?.[0]), /hook beforeRegistration failed; answered 502 hook_failed/);
    const error: unknown = logged[1]?.[1];
    assert.ok(error instanceof Error && error.message === 'boom', 'the error itself is logged for the app developer');
  });

  it('hooks.timeout takes milliseconds or a duration string; a bad one is a TypeError', () => {
    assert.doesNotThrow(() => makeApp({ hooks: { timeout: '2s' } }));
    assert.doesNotThrow(() => makeApp({ hooks: { timeout: 1500 } }));
    assert.throws(() => makeApp({ hooks: { timeout: 'soon' } }), /hooks\.timeout/);
    assert.throws(() => makeApp({ hooks: { beforeLogin: 'yes' as never } }), /hooks\.beforeLogin/);
  });
});
