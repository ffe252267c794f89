// Login flow over HTTP: discoverable sign-in, refresh, sign counts, and every way an assertion must fail.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionPath,
  csrfOf,
  initFlow,
  login,
  logout,
  makeApp,
  node,
  ORIGIN,
  register,
  requestOptionsOf,
  submitAssertion,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

describe('login flow', () => {
  it('creates a flow with the nodes SPEC lists', async () => {
    const { agent } = makeApp();
    const flow = await initFlow(agent(), 'login');
    const names = flow.ui.nodes.map((n) => n.attributes.name ?? n.attributes.id);
    assert.deepEqual(names, [
      'csrf_token',
      'identifier',
      'webauthn_script',
      'passkey_login_trigger',
      'passkey_login',
      'passkey_challenge',
    ]);
    assert.equal(flow.refresh, false);
    assert.equal(flow.requested_aal, 'aal1');
    assert.ok(flow.created_at && flow.updated_at);
    assert.equal(node(flow, 'identifier').attributes.autocomplete, 'username webauthn');
    assert.equal(node(flow, 'identifier').group, 'default');
    const trigger = node(flow, 'passkey_login_trigger');
    assert.equal(trigger.attributes.onclickTrigger, 'oryPasskeyLogin');
    assert.equal(trigger.meta.label?.id, 1010021);
    assert.equal(node(flow, 'passkey_login').attributes.onloadTrigger, 'oryPasskeyLoginAutocompleteInit');
    const options = requestOptionsOf(flow);
    assert.equal(options.rpId, 'localhost');
    assert.deepEqual(options.allowCredentials ?? [], []);
  });

  it('signs in with a discoverable passkey and updates last use and sign count', async () => {
    const { agent, store } = makeApp();
    const { authenticator, body } = await register(agent());
    const a = agent();
    const res = await login(a, authenticator);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.session.identity.id, body.identity.id);
    assert.equal(res.body.session.authenticator_assurance_level, 'aal1');
    assert.deepEqual(
      res.body.session.authentication_methods.map((m: { method: string; aal: string }) => [m.method, m.aal]),
      [['passkey', 'aal1']],
    );
    assert.deepEqual(res.body.continue_with, []);
    const [passkey] = await store.listPasskeys(body.identity.id);
    assert.equal(passkey?.signCount, 1);
    assert.ok(passkey?.lastUsedAt instanceof Date);
    const who = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(who.body.identity.id, body.identity.id);
  });

  it('regenerates the session id at login (no fixation)', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const first = await login(a, authenticator);
    const cookie1 = String(first.headers['set-cookie']);
    await logout(a);
    const second = await login(a, authenticator);
    const cookie2 = String(second.headers['set-cookie']);
    const sid = (c: string) => /sid=([^;]+)/.exec(c)?.[1];
    assert.ok(sid(cookie1) && sid(cookie2));
    assert.notEqual(sid(cookie1), sid(cookie2));
  });

  it('refuses a replayed assertion', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = JSON.stringify(authenticator.get(requestOptionsOf(flow), { origin: ORIGIN }));
    const post = (f: typeof flow) => submitAssertion(a, f, assertion);
    assert.equal((await post(flow)).status, 200);
    await logout(a);
    const replaySameFlow = await post(flow);
    assert.equal(replaySameFlow.status, 400);
    const other = await initFlow(a, 'login');
    const replayOtherFlow = await post(other);
    assert.equal(replayOtherFlow.status, 400);
    assert.equal(replayOtherFlow.body.ui.messages[0].id, 4000043);
    await a.get('/auth/sessions/whoami').expect(401);
  });

  it('accepts exactly one of two concurrent submits of one assertion (challenge consumed once)', async () => {
    const { agent } = makeApp();
    // No counter: only the single-use challenge can stop the second submit.
    const { authenticator } = await register(agent(), undefined, {
      authenticator: new SoftwareAuthenticator({ counter: false }),
    });
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = JSON.stringify(authenticator.get(requestOptionsOf(flow), { origin: ORIGIN }));
    const results = await Promise.all([1, 2].map(() => submitAssertion(a, flow, assertion)));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
  });

  it('refuses an assertion from an origin not in rp.origins (same RP ID, other port)', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: 'http://localhost:4000' });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
    // The flow comes back with a new challenge.
    assert.notEqual(requestOptionsOf(res.body).challenge, requestOptionsOf(flow).challenge);
  });

  it('refuses a wrong RP ID hash, a wrong type, a wrong challenge, a bad signature', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const cases = [
      { rpId: 'example.com' },
      { type: 'webauthn.create' },
      { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { userPresent: false },
    ];
    for (const ctx of cases) {
      const flow = await initFlow(a, 'login');
      const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, ...ctx });
      const res = await submitAssertion(a, flow, assertion);
      assert.equal(res.status, 400, JSON.stringify(ctx));
      assert.equal(res.body.ui.messages[0].id, 4000043, JSON.stringify(ctx));
    }
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const sig = Buffer.from(assertion.response.signature, 'base64url');
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
    assertion.response.signature = sig.toString('base64url');
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    await a.get('/auth/sessions/whoami').expect(401);
  });

  it('requires user verification when configured as required', async () => {
    const { agent } = makeApp({ authenticatorSelection: { userVerification: 'required' } });
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    assert.equal(requestOptionsOf(flow).userVerification, 'required');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, userVerified: false });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal((await login(a, authenticator)).status, 200);
  });

  it('refuses an unknown credential and a user handle that names another identity', async () => {
    const { agent } = makeApp();
    const first = await register(agent());
    const second = await register(agent());
    const stranger = new SoftwareAuthenticator();
    // A credential the server has never seen, for a user handle it does not know: 4000015.
    stranger.create(
      {
        challenge: 'AAAA',
        rp: { id: 'localhost', name: 'x' },
        user: { id: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', name: 'x', displayName: 'x' },
        pubKeyCredParams: [{ alg: -7, type: 'public-key' }],
      },
      { origin: ORIGIN },
    );
    const a = agent();
    const unknown = await login(a, stranger);
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.ui.messages[0].id, 4000015);
    // First identity's credential presented with the second identity's user handle: §7.2 step 6.
    const flow = await initFlow(a, 'login');
    const userHandle = second.authenticator.credentials[0]?.userHandle;
    assert.ok(userHandle);
    const assertion = first.authenticator.get(requestOptionsOf(flow), {
      origin: ORIGIN,
      userHandle: Buffer.from(userHandle).toString('base64url'),
    });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
    await a.get('/auth/sessions/whoami').expect(401);
  });

  it('treats a sign-count regression as a clone: rejected by default, reported to the hook', async () => {
    const warnings: { stored: number; received: number; action: string }[] = [];
    const { agent } = makeApp({
      hooks: {
        onCloneWarning: (w) => {
          warnings.push({ stored: w.storedSignCount, received: w.receivedSignCount, action: w.action });
        },
      },
    });
    const { authenticator } = await register(agent());
    const a = agent();
    assert.equal((await login(a, authenticator)).status, 200);
    await logout(a);
    assert.equal((await login(a, authenticator)).status, 200);
    await logout(a);
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, signCount: 1 });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
    assert.deepEqual(warnings, [{ stored: 2, received: 1, action: 'reject' }]);
  });

  it('lets a sign-count regression through under signCountPolicy "warn"', async () => {
    let warned = 0;
    const { agent } = makeApp({ signCountPolicy: 'warn', hooks: { onCloneWarning: () => void warned++ } });
    const { authenticator } = await register(agent());
    const a = agent();
    assert.equal((await login(a, authenticator)).status, 200);
    await logout(a);
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, signCount: 0 });
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 200);
    assert.equal(warned, 1);
  });

  it('accepts authenticators that do not count (always 0)', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent(), undefined, {
      authenticator: new SoftwareAuthenticator({ counter: false, backupEligible: true }),
    });
    const a = agent();
    assert.equal((await login(a, authenticator)).status, 200);
    await logout(a);
    assert.equal((await login(a, authenticator)).status, 200);
  });

  it('fails an assertion for a challenge older than lifespans.ceremony, with a new challenge', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp({ lifespans: { ceremony: '1m' } });
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    t.mock.timers.tick(61_000);
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
    const fresh = requestOptionsOf(res.body);
    assert.notEqual(fresh.challenge, requestOptionsOf(flow).challenge);
    const retry = authenticator.get(fresh, { origin: ORIGIN });
    const ok = await submitAssertion(a, flow, retry);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('accepts standard base64 (btoa) in binary fields', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const toB64 = (s: string) => Buffer.from(s, 'base64url').toString('base64');
    const r = assertion.response;
    const b64 = {
      ...assertion,
      id: toB64(assertion.id),
      rawId: toB64(assertion.rawId),
      response: {
        ...r,
        clientDataJSON: toB64(r.clientDataJSON),
        authenticatorData: toB64(r.authenticatorData),
        signature: toB64(r.signature),
        userHandle: r.userHandle ? toB64(r.userHandle) : undefined,
      },
    };
    const res = await submitAssertion(a, flow, b64);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('garbage in passkey_login is a 400 with 4000043, never a 500', async () => {
    const { agent } = makeApp();
    const a = agent();
    for (const garbage of [
      '{',
      '[]',
      '"x"',
      '{"id":1}',
      JSON.stringify({ id: 'a', rawId: 'a', response: {} }),
      'null',
    ]) {
      const flow = await initFlow(a, 'login');
      const res = await submitAssertion(a, flow, garbage);
      assert.equal(res.status, 400, garbage);
      assert.equal(res.body.ui.messages[0].id, 4000043, garbage);
    }
  });

  it('refuses login while a session exists; refresh=true re-authenticates the same identity only', async () => {
    const { agent } = makeApp();
    const mine = await register(agent());
    const other = await register(agent());
    const a = agent();
    assert.equal((await login(a, mine.authenticator)).status, 200);
    const again = await a.get('/auth/self-service/login/browser').set('Accept', 'application/json');
    assert.equal(again.status, 400);
    assert.equal(again.body.error.id, 'session_already_available');

    const before = (await a.get('/auth/sessions/whoami').expect(200)).body;
    const refresh = await initFlow(a, 'login', '?refresh=true');
    assert.equal(refresh.refresh, true);
    // The identifier shows whose session this re-authenticates (a plain login's is empty).
    const identifier = refresh.ui.nodes.find((n) => n.attributes.name === 'identifier');
    assert.equal(identifier?.attributes.value, before.identity.traits.email);
    assert.equal(identifier?.attributes.type, 'text');
    const allowed = requestOptionsOf(refresh).allowCredentials;
    assert.deepEqual(
      allowed.map((c: { id: string }) => c.id),
      [mine.authenticator.credentials[0]?.idB64u],
    );
    // Another identity's passkey cannot refresh this session.
    const foreign = other.authenticator.get(requestOptionsOf(refresh), {
      origin: ORIGIN,
      credentialId: other.authenticator.credentials[0]?.idB64u,
    });
    const refused = await submitAssertion(a, refresh, foreign);
    assert.equal(refused.status, 400);
    assert.equal((await a.get('/auth/sessions/whoami').expect(200)).body.identity.id, mine.body.identity.id);

    const own = mine.authenticator.get(requestOptionsOf(refused.body), { origin: ORIGIN });
    const ok = await submitAssertion(a, refresh, own);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.session.id, before.id, 'same session');
    assert.ok(Date.parse(ok.body.session.authenticated_at) >= Date.parse(before.authenticated_at));
  });

  it('identifier without an assertion: 4000015 for an unknown account', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'passkey', identifier: 'nobody@example.com' });
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000015);
  });
});
