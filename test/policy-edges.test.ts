// Flow policy edges (SPEC §9 and its details): what a before-hook's answer may and may not change, the hook timeout as
// a duration string, identifier-first with identifiers spelled unlike the stored one, and refusals at step two.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowRejection, MemoryStore, type PasskeysOptions } from '../src/index.js';
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
import type { SoftwareAuthenticator } from './helpers/authenticator.js';
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
