// Flow policy edges (SPEC §9 and its details): what a before-hook's answer may and may not change, the hook timeout as
// a duration string, identifier-first with identifiers spelled unlike the stored one, and refusals at step two.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  Configuration,
  FrontendApi,
  instanceOfUiNodeInputAttributes,
  isResponseError,
  RegistrationFlowFromJSON,
  type UiContainer,
  type UiNodeInputAttributes,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { FlowRejection, MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
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
import { RecordingCourier } from './helpers/codes.js';
import { cookieFetch } from './helpers/cookie-fetch.js';
import { watchStore } from './helpers/store-watch.js';

const postJson = (agent: Agent, flow: FlowJson, fields: object) =>
  agent.post(actionPath(flow)).set('Accept', 'application/json').send(fields);

async function loginFields(agent: Agent, authenticator: SoftwareAuthenticator, ctx: { signCount?: number } = {}) {
  const flow = await initFlow(agent, 'login');
  const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, ...ctx });
  return { flow, fields: { csrf_token: csrfOf(flow), method: 'passkey', passkey_login: JSON.stringify(assertion) } };
}

const whoami = async (agent: Agent) =>
  (await agent.get('/auth/sessions/whoami').set('Accept', 'application/json')).status;

const allowed = (flow: FlowJson): string[] =>
  (requestOptionsOf(flow).allowCredentials ?? []).map((c: { id: string }) => c.id);

describe('beforeLogin: what its answer changes', () => {
  it('metadata is saved with the sign-in only: a sign-in refused after the hook (sign-count regression) saves none', async () => {
    const watched = watchStore(new MemoryStore());
    let answer: unknown;
    const { agent, store } = makeApp({
      store: watched.store,
      signCountPolicy: 'reject',
      hooks: { beforeLogin: (() => answer) as never },
    });
    const { authenticator, body } = await register(agent(), 'meta@example.com');
    const id = body.identity.id as string;
    const a = agent();
    // A first sign-in moves the stored counter on; a replayed lower counter is a clone signal, refused.
    const first = await loginFields(a, authenticator);
    assert.equal((await postJson(a, first.flow, first.fields)).status, 200);
    const b = agent();
    answer = { metadataPublic: { marked: true }, metadataAdmin: { logins: 99 } };
    const { flow, fields } = await loginFields(b, authenticator, { signCount: 1 });
    const before = await watched.snapshot();
    const res = await postJson(b, flow, fields);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4000043],
    );
    assert.equal(await whoami(b), 401);
    const saved = await store.getIdentity(id);
    assert.equal(saved?.metadataPublic ?? null, null, 'no metadata from a refused sign-in');
    assert.equal(saved?.metadataAdmin ?? null, null);
    assert.deepEqual(await watched.snapshot(), before, 'nothing written');
  });

  it('ignores `traits` (and anything else) a login hook returns, whatever their type', async () => {
    let answer: unknown;
    const { agent, store } = makeApp({ hooks: { beforeLogin: (() => answer) as never } });
    const { authenticator, body } = await register(agent(), 'ignored@example.com');
    for (const returned of [
      { traits: 'not an object' },
      { traits: null },
      { traits: [1, 2] },
      { traits: { email: 'other@example.com' } },
      { something: 'else', metadataPublic: { ok: 1 } },
    ]) {
      answer = returned;
      const a = agent();
      const { flow, fields } = await loginFields(a, authenticator);
      const res = await postJson(a, flow, fields);
      assert.equal(res.status, 200, `${JSON.stringify(returned)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.session.identity.traits.email, 'ignored@example.com');
    }
    const saved = await store.getIdentity(body.identity.id);
    assert.deepEqual(saved?.traits, { email: 'ignored@example.com' });
    assert.deepEqual(saved?.metadataPublic, { ok: 1 });
  });

  it('ignores `traits` a settings hook returns, whatever their type', async () => {
    let answer: unknown;
    const { agent, store } = makeApp({ hooks: { beforeSettings: (() => answer) as never } });
    const a = agent();
    const { authenticator, body } = await register(a, 'settings@example.com'); // signed in by the sign-up
    const id = authenticator.credentials[0]?.idB64u;
    for (const [i, returned] of [{ traits: 'x' }, { traits: null }, { traits: { email: 'o@example.com' } }].entries()) {
      answer = returned;
      const flow = await initFlow(a, 'settings');
      const res = await postJson(a, flow, {
        csrf_token: csrfOf(flow),
        method: 'passkey',
        passkey_rename: { id, name: `Key ${i}` },
      });
      assert.equal(res.status, 200, `${JSON.stringify(returned)}: ${JSON.stringify(res.body)}`);
    }
    assert.deepEqual((await store.getIdentity(body.identity.id))?.traits, { email: 'settings@example.com' });
    assert.equal((await store.listPasskeys(body.identity.id))[0]?.name, 'Key 2');
  });
});

describe('hooks.timeout as a duration string', () => {
  it('"50ms": ctx.signal aborts at 50 ms, the flow answers 504, a late result is ignored', async () => {
    const watched = watchStore(new MemoryStore());
    let aborted: number | undefined;
    const started: number[] = [];
    const { agent, store } = makeApp({
      store: watched.store,
      hooks: {
        timeout: '50ms',
        beforeLogin: async (ctx) => {
          const t0 = Date.now();
          started.push(t0);
          ctx.signal.addEventListener('abort', () => {
            aborted = Date.now() - t0;
          });
          await new Promise((resolve) => setTimeout(resolve, 400));
          return { metadataPublic: { late: true } };
        },
      },
    });
    const { authenticator, body } = await register(agent(), 'slow@example.com');
    const a = agent();
    const { flow, fields } = await loginFields(a, authenticator);
    const t0 = Date.now();
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.equal(res.body.error.id, 'hook_timeout');
    assert.ok(Date.now() - t0 < 350, 'answered at the timeout, not when the hook finished');
    assert.ok(aborted !== undefined && aborted >= 40 && aborted < 300, `aborted after ${aborted} ms`);
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal((await store.getIdentity(body.identity.id))?.metadataPublic ?? null, null, 'late result ignored');
    assert.equal(await whoami(a), 401);
  });

  it('a hook that rejects with the signal reason as it aborts still answers 504 hook_timeout', async () => {
    const { agent } = makeApp({
      hooks: {
        timeout: '50ms',
        beforeLogin: (ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
    });
    const { authenticator } = await register(agent(), 'abort@example.com');
    const a = agent();
    const { flow, fields } = await loginFields(a, authenticator);
    const res = await postJson(a, flow, fields);
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.equal(res.body.error.id, 'hook_timeout');
  });
});

describe('identifier-first: identifiers spelled unlike the stored one, and refusals at step two', () => {
  const IDF: Partial<PasskeysOptions> = { login: { style: 'identifier_first' } };

  const submitIdentifier = (agent: Agent, flow: FlowJson, identifier: string) =>
    postJson(agent, flow, { csrf_token: csrfOf(flow), method: 'identifier_first', identifier });

  it('case and surrounding spaces name the same identity: its passkeys are allowed and it signs in', async () => {
    const { agent } = makeApp(IDF);
    const { authenticator, body } = await register(agent(), 'case@example.com');
    const passkeyId = authenticator.credentials[0]?.idB64u;
    for (const typed of ['  CASE@Example.COM ', 'Case@example.com']) {
      const a = agent();
      const flow = await initFlow(a, 'login');
      const two = await submitIdentifier(a, flow, typed);
      assert.equal(two.status, 400);
      assert.deepEqual(allowed(two.body), [passkeyId], typed);
      assert.equal(node(two.body, 'identifier').attributes.value, typed.trim());
      const assertion = authenticator.get(requestOptionsOf(two.body), { origin: ORIGIN, userHandle: null });
      const res = await postJson(a, two.body, {
        csrf_token: csrfOf(two.body),
        method: 'passkey',
        passkey_login: JSON.stringify(assertion),
      });
      assert.equal(res.status, 200, `${typed}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.session.identity.id, body.identity.id);
    }
  });

  it('a beforeLogin refusal at step two keeps step two (hidden identifier, allowCredentials, a new challenge)', async () => {
    let refuse = true;
    const { agent } = makeApp({
      ...IDF,
      hooks: {
        beforeLogin: () => {
          if (refuse) throw new FlowRejection({ instancePtr: '#/identifier', id: 4000100, text: 'Not today.' });
        },
      },
    });
    const { authenticator } = await register(agent(), 'step2@example.com');
    const a = agent();
    const flow = await initFlow(a, 'login');
    const two = await submitIdentifier(a, flow, 'step2@example.com');
    const assertion = authenticator.get(requestOptionsOf(two.body), { origin: ORIGIN, userHandle: null });
    const fields = { csrf_token: csrfOf(two.body), method: 'passkey', passkey_login: JSON.stringify(assertion) };
    const refused = await postJson(a, two.body, fields);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    const identifier = node(refused.body, 'identifier');
    assert.equal(identifier.attributes.type, 'hidden');
    assert.equal(identifier.group, 'identifier_first');
    assert.deepEqual(
      identifier.messages.map((m) => m.id),
      [4000100],
    );
    assert.equal(refused.body.active, 'identifier_first');
    assert.deepEqual(allowed(refused.body), allowed(two.body));
    assert.notEqual(requestOptionsOf(refused.body).challenge, requestOptionsOf(two.body).challenge);
    refuse = false;
    const again = authenticator.get(requestOptionsOf(refused.body), { origin: ORIGIN, userHandle: null });
    const ok = await postJson(a, refused.body, { ...fields, passkey_login: JSON.stringify(again) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

describe("Ory's SDK: what beforeRegistration sees and returns", () => {
  /** An app behind a real HTTP server, its beforeRegistration doing what `answer` says; every context recorded. */
  async function sdkApp(answer: (ctx: { traits: Record<string, unknown> }) => unknown) {
    const store = new MemoryStore();
    const seen: Record<string, unknown>[] = [];
    const server = createServer();
    server.listen(0, 'localhost');
    await once(server, 'listening');
    const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    const app = express();
    app.use(session({ secret: 'sdk policy edges', resave: false, saveUninitialized: false, name: 'sid' }));
    app.use(
      '/auth',
      passkeys({
        rp: { id: 'localhost', displayName: 'SDK', origins: [origin] },
        store,
        hooks: {
          beforeRegistration: ((ctx: Record<string, unknown> & { traits: Record<string, unknown> }) => {
            seen.push(ctx);
            return answer(ctx);
          }) as never,
        },
      }),
    );
    server.on('request', app);
    const api = () => {
      const jar = cookieFetch();
      return new FrontendApi(
        new Configuration({
          basePath: `${origin}/auth`,
          fetchApi: jar.fetch,
          credentials: 'include',
          headers: { Accept: 'application/json' },
        }),
      );
    };
    const close = () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    return { store, seen, origin, api, close };
  }

  const value = (ui: UiContainer, name: string) => {
    const found = ui.nodes.find((n) => instanceOfUiNodeInputAttributes(n.attributes) && n.attributes.name === name);
    assert.ok(found, `node ${name}`);
    return found;
  };

  async function signUp(api: FrontendApi, origin: string, email: string, transient?: object) {
    const flow = await api.createBrowserRegistrationFlow();
    const data = JSON.parse(String((value(flow.ui, 'passkey_create_data').attributes as UiNodeInputAttributes).value));
    const credential = new SoftwareAuthenticator().create(data.credentialOptions.publicKey, { origin });
    return api.updateRegistrationFlow({
      flow: flow.id,
      updateRegistrationFlowBody: {
        method: 'passkey',
        csrf_token: String((value(flow.ui, 'csrf_token').attributes as UiNodeInputAttributes).value),
        traits: { email },
        passkey_register: JSON.stringify(credential),
        ...(transient ? { transient_payload: transient } : {}),
      },
    });
  }

  async function refusal(promise: Promise<unknown>) {
    const caught = await promise.then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(isResponseError(caught), `expected a ResponseError, got ${String(caught)}`);
    return { status: caught.response.status, flow: RegistrationFlowFromJSON(await caught.response.json()) };
  }

  it('transient_payload reaches the hook; returned traits failing the schema or taken: 400 flows the SDK parses', async () => {
    let rewrite: string | undefined;
    const { store, seen, origin, api, close } = await sdkApp(() => (rewrite ? { traits: { email: rewrite } } : {}));
    try {
      const done = await signUp(api(), origin, 'first@example.com', { invite: 'xyz', n: 2 });
      assert.equal((done.identity?.traits as { email?: string } | undefined)?.email, 'first@example.com');
      assert.deepEqual(seen[0]?.transientPayload, { invite: 'xyz', n: 2 });
      assert.equal((seen[0]?.flow as { type?: string } | undefined)?.type, 'browser');

      rewrite = 'not an email';
      const bad = await refusal(signUp(api(), origin, 'second@example.com'));
      assert.equal(bad.status, 400);
      assert.deepEqual(
        value(bad.flow.ui, 'traits.email').messages.map((m) => m.id),
        [4000001],
      );
      assert.equal(await store.findIdentityByIdentifier('second@example.com'), null);

      rewrite = 'FIRST@example.com';
      const taken = await refusal(signUp(api(), origin, 'third@example.com'));
      assert.equal(taken.status, 400);
      const ids = [...(taken.flow.ui.messages ?? []), ...value(taken.flow.ui, 'traits.email').messages].map(
        (m) => m.id,
      );
      assert.ok(ids.includes(4000028), JSON.stringify(ids));
      assert.equal(await store.findIdentityByIdentifier('third@example.com'), null);
    } finally {
      await close();
    }
  });
});

describe('requireVerifiedAddress with the other policy steps', () => {
  function verifiedApp(overrides: Partial<PasskeysOptions> = {}) {
    const courier = new RecordingCourier();
    const calls: string[] = [];
    let refuse = false;
    const app = makeApp({
      courier,
      login: { requireVerifiedAddress: true },
      verification: { afterRegistration: false },
      hooks: {
        beforeLogin: () => {
          calls.push('beforeLogin');
          if (refuse) throw new FlowRejection({ id: 4000100, text: 'No.' });
        },
      },
      ...overrides,
    });
    const sent = async (to: string) => (await courier.to(to, 'verification')).length;
    return { ...app, courier, calls, sent, refuse: (on: boolean) => (refuse = on) };
  }

  it('API flows: 403 with continue_with, its url only with urls.ui.verification', async () => {
    for (const ui of [undefined, 'https://ui.example.com/verify']) {
      const { agent, server, sent } = verifiedApp(ui ? { urls: { ui: { verification: ui } } } : {});
      const { authenticator } = await register(agent(), 'api@example.com');
      const init = await request(server).get('/auth/self-service/login/api').expect(200);
      const assertion = authenticator.get(requestOptionsOf(init.body), { origin: ORIGIN });
      const res = await request(server)
        .post(actionPath(init.body))
        .send({ method: 'passkey', passkey_login: JSON.stringify(assertion) });
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.id, 'session_verified_address_required');
      assert.equal(res.body.session_token, undefined);
      const [item] = res.body.error.details.continue_with;
      assert.equal(item.action, 'show_verification_ui');
      assert.equal(item.flow.verifiable_address, 'api@example.com');
      if (ui) assert.equal(item.flow.url, `${ui}?flow=${item.flow.id}`);
      else assert.equal(item.flow.url, undefined);
      assert.equal(await sent('api@example.com'), 1);
    }
  });

  it('order: an inactive identity is refused before beforeLogin; a beforeLogin refusal sends no code', async () => {
    const { agent, store, calls, sent, refuse } = verifiedApp();
    const { authenticator, body } = await register(agent(), 'order@example.com');
    refuse(true);
    const a = agent();
    const refused = await loginFields(a, authenticator);
    const res = await postJson(a, refused.flow, refused.fields);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4000100],
    );
    assert.equal(await sent('order@example.com'), 0, 'the hook refused first: no code');
    assert.deepEqual(calls, ['beforeLogin']);

    const record = await store.getIdentity(body.identity.id);
    assert.ok(record);
    assert.ok(await store.updateIdentity({ ...record, state: 'inactive', updatedAt: new Date() }, record.updatedAt));
    const b = agent();
    const inactive = await loginFields(b, authenticator);
    const res2 = await postJson(b, inactive.flow, inactive.fields);
    assert.equal(res2.status, 400, JSON.stringify(res2.body));
    assert.deepEqual(calls, ['beforeLogin'], 'the hook never sees an inactive identity');
    assert.equal(await sent('order@example.com'), 0);
    assert.equal(await whoami(b), 401);
  });

  it('identifier-first step two with a non-discoverable passkey: refused the same way', async () => {
    const { agent, sent } = verifiedApp({ login: { requireVerifiedAddress: true, style: 'identifier_first' } });
    const { authenticator } = await register(agent(), 'idf@example.com');
    const a = agent();
    const flow = await initFlow(a, 'login');
    const two = await postJson(a, flow, {
      csrf_token: csrfOf(flow),
      method: 'identifier_first',
      identifier: 'idf@example.com',
    });
    const assertion = authenticator.get(requestOptionsOf(two.body), { origin: ORIGIN, userHandle: null });
    const res = await postJson(a, two.body, {
      csrf_token: csrfOf(two.body),
      method: 'passkey',
      passkey_login: JSON.stringify(assertion),
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.details.continue_with[0].action, 'show_verification_ui');
    assert.equal(await sent('idf@example.com'), 1);
    assert.equal(await whoami(a), 401);
  });
});
