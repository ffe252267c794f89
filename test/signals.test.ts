// Signal API payloads over HTTP (SPEC §7): the `passkey_signal` node in settings and login flows, the login success
// body, `auth.signals(req)`, and the privacy rules of WebAuthn L3 §14.6.3, each with a case that would catch a leak.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, type PasskeySignals, type PasskeysOptions, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  login,
  logout,
  makeApp,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
  submitAssertion,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

/** The parsed `passkey_signal` node of a flow, or undefined when it has none. */
function signalOf(flow: FlowJson): PasskeySignals | undefined {
  const found = flow.ui.nodes.filter((n) => n.attributes.name === 'passkey_signal');
  assert.ok(found.length <= 1, 'at most one passkey_signal node');
  const [signal] = found;
  if (!signal) return undefined;
  assert.equal(signal.type, 'input');
  assert.equal(signal.group, 'passkey');
  assert.equal(signal.attributes.type, 'hidden');
  assert.equal(signal.attributes.node_type, 'input');
  assert.equal(signal.attributes.disabled, false);
  assert.equal(typeof signal.attributes.value, 'string', 'the value is a JSON string');
  return JSON.parse(String(signal.attributes.value)) as PasskeySignals;
}

/** An app with a route of its own returning `auth.signals(req)`, as an account page would use it. */
function appWithSignalsRoute(overrides: Partial<PasskeysOptions> = {}, store = new MemoryStore()) {
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  const auth = passkeys({ rp: RP, store, ...overrides });
  app.use('/auth', auth);
  app.get('/me/signals', async (req, res) => {
    res.json(await auth.signals(req));
  });
  const server = app.listen(0, '127.0.0.1');
  server.unref();
  return { store, agent: () => request.agent(server) as Agent };
}

async function post(a: Agent, flow: FlowJson, body: Record<string, unknown>) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', ...body });
}

async function addPasskey(a: Agent, flow: FlowJson) {
  const authenticator = new SoftwareAuthenticator();
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const res = await post(a, flow, { passkey_settings_register: JSON.stringify(credential) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { res, authenticator, credential };
}

/** A passkey made for this RP that the server never registered (its creation was never submitted). */
async function strayPasskey(a: Agent) {
  const authenticator = new SoftwareAuthenticator();
  const flow = await initFlow(a, 'registration');
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  return { authenticator, credential };
}

describe('Signal API: settings flows (allAcceptedCredentials, currentUserDetails)', () => {
  it('every settings flow carries the full stored set and the display name, for its own session', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { body, credential, email } = await register(a, 'signals@example.com');
    const identity = await store.getIdentity(body.identity.id);
    assert.ok(identity);
    const flow = await initFlow(a, 'settings');
    const expected = (ids: string[]) => ({
      allAcceptedCredentials: { rpId: 'localhost', userId: identity.userHandle, allAcceptedCredentialIds: ids },
      currentUserDetails: { rpId: 'localhost', userId: identity.userHandle, name: email, displayName: email },
    });
    assert.deepEqual(signalOf(flow), expected([credential.id]));
    // The user id is the user handle passkeys were created with (what the authenticator stores as user.id).
    assert.equal(creationOptionsOf(flow).user.id, identity.userHandle);

    // After adding two passkeys: all three, in the store's order.
    const second = await addPasskey(a, flow);
    assert.deepEqual(signalOf(second.res.body), expected([credential.id, second.credential.id]));
    const third = await addPasskey(a, second.res.body);
    const all = [credential.id, second.credential.id, third.credential.id];
    assert.deepEqual(signalOf(third.res.body), expected(all));
    assert.deepEqual(
      (await store.listPasskeys(identity.id)).map((p) => p.id),
      all,
    );

    // After a removal: the full remaining set (not the removed one, not a partial list).
    const removed = await post(a, third.res.body, { passkey_remove: second.credential.id });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(signalOf(removed.body), expected([credential.id, third.credential.id]));
    // A refused removal answers with the flow too: the set as stored, unchanged.
    await post(a, removed.body, { passkey_remove: third.credential.id });
    const refused = await post(a, (await initFlow(a, 'settings')) as FlowJson, { passkey_remove: 'unknown-id' });
    assert.equal(refused.status, 400);
    assert.deepEqual(signalOf(refused.body), expected([credential.id]));
    // Fetching the flow by id gives the same.
    const fetched = await a
      .get(`/auth/self-service/settings/flows?id=${removed.body.id}`)
      .set('Accept', 'application/json')
      .expect(200);
    assert.deepEqual(signalOf(fetched.body), expected([credential.id]));
  });

  it('a display-name trait change shows in the next settings flow (currentUserDetails from the stored identity)', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { body } = await register(a, 'before@example.com');
    const identity = await store.getIdentity(body.identity.id);
    assert.ok(identity);
    // As a settings "profile" method would: the stored traits change.
    const changed = {
      ...identity,
      traits: { ...identity.traits, email: 'after@example.com' },
      identifier: 'after@example.com',
      updatedAt: new Date(identity.updatedAt.getTime() + 1),
    };
    assert.equal(await store.updateIdentity(changed, identity.updatedAt), true);
    const flow = await initFlow(a, 'settings');
    assert.deepEqual(signalOf(flow)?.currentUserDetails, {
      rpId: 'localhost',
      userId: identity.userHandle,
      name: 'after@example.com',
      displayName: 'after@example.com',
    });
  });

  it("another session cannot see an identity's signals through its settings flow", async () => {
    const { agent } = makeApp();
    const owner = agent();
    await register(owner, 'owner@example.com');
    const flow = await initFlow(owner, 'settings');
    assert.ok(signalOf(flow)?.allAcceptedCredentials);
    const other = agent();
    await register(other, 'other@example.com');
    const res = await other.get(`/auth/self-service/settings/flows?id=${flow.id}`).set('Accept', 'application/json');
    assert.equal(res.status, 403);
    assert.doesNotMatch(JSON.stringify(res.body), /passkey_signal|allAccepted|currentUserDetails/);
    const anonymous = agent();
    const none = await anonymous
      .get(`/auth/self-service/settings/flows?id=${flow.id}`)
      .set('Accept', 'application/json');
    assert.equal(none.status, 401);
    assert.doesNotMatch(JSON.stringify(none.body), /passkey_signal|allAccepted|currentUserDetails/);
  });
});

describe('Signal API: sign-in (login success body, auth.signals)', () => {
  it('a successful sign-in answers passkey_signal with every passkey of the identity and its display name', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { authenticator, body, credential, email } = await register(a, 'login-signal@example.com');
    const second = await addPasskey(a, await initFlow(a, 'settings'));
    await logout(a);
    const identity = await store.getIdentity(body.identity.id);
    assert.ok(identity);
    const res = await login(a, authenticator);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.passkey_signal, {
      allAcceptedCredentials: {
        rpId: 'localhost',
        userId: identity.userHandle,
        allAcceptedCredentialIds: [credential.id, second.credential.id],
      },
      currentUserDetails: { rpId: 'localhost', userId: identity.userHandle, name: email, displayName: email },
    });
  });

  it('auth.signals(req): the session identity’s signals; {} for anonymous visitors and after logout', async () => {
    const { agent, store } = appWithSignalsRoute();
    const a = agent();
    assert.deepEqual((await a.get('/me/signals').expect(200)).body, {});
    const { body, credential, email } = await register(a, 'page@example.com');
    const identity = await store.getIdentity(body.identity.id);
    assert.ok(identity);
    const signals = (await a.get('/me/signals').expect(200)).body;
    assert.deepEqual(signals, {
      allAcceptedCredentials: {
        rpId: 'localhost',
        userId: identity.userHandle,
        allAcceptedCredentialIds: [credential.id],
      },
      currentUserDetails: { rpId: 'localhost', userId: identity.userHandle, name: email, displayName: email },
    });
    // The same payload as the settings flow's node.
    assert.deepEqual(signalOf(await initFlow(a, 'settings')), signals);
    await logout(a);
    assert.deepEqual((await a.get('/me/signals').expect(200)).body, {});
    // Another visitor gets nothing of it.
    assert.deepEqual((await agent().get('/me/signals').expect(200)).body, {});
  });

  it('an identity without passkeys gets no allAcceptedCredentials (an empty list would hide every passkey)', async () => {
    // A store where the identity's passkeys are gone (say, removed by an admin tool behind the library's back).
    class Emptied extends MemoryStore {
      empty = false;
      override async listPasskeys(identityId: string) {
        return this.empty ? [] : super.listPasskeys(identityId);
      }
      override async listPasskeyIds(identityId: string) {
        return this.empty ? [] : super.listPasskeyIds(identityId);
      }
    }
    const store = new Emptied();
    const { agent } = appWithSignalsRoute({}, store);
    const a = agent();
    const { email } = await register(a, 'emptied@example.com');
    assert.ok((await a.get('/me/signals').expect(200)).body.allAcceptedCredentials);
    store.empty = true;
    const signals = (await a.get('/me/signals').expect(200)).body;
    assert.equal('allAcceptedCredentials' in signals, false);
    assert.equal(signals.currentUserDetails.name, email);
    assert.equal('allAcceptedCredentials' in (signalOf(await initFlow(a, 'settings')) ?? {}), false);
  });

  it('auth.signals(req) and API settings flows see a native app’s X-Session-Token session', async () => {
    const { agent } = appWithSignalsRoute();
    const app = agent();
    const init = await app.get('/auth/self-service/registration/api').set('Accept', 'application/json').expect(200);
    const flow = init.body as FlowJson;
    const authenticator = new SoftwareAuthenticator();
    const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
    const done = await app
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        method: 'passkey',
        traits: { email: 'native@example.com' },
        passkey_register: JSON.stringify(credential),
      })
      .expect(200);
    const token = done.body.session_token as string;
    // The native app's settings flow carries the node too (its session is the token's).
    const settings = await agent()
      .get('/auth/self-service/settings/api')
      .set('Accept', 'application/json')
      .set('X-Session-Token', token)
      .expect(200);
    assert.deepEqual(signalOf(settings.body)?.allAcceptedCredentials?.allAcceptedCredentialIds, [credential.id]);
    const signals = (await agent().get('/me/signals').set('X-Session-Token', token).expect(200)).body;
    assert.deepEqual(signals.allAcceptedCredentials.allAcceptedCredentialIds, [credential.id]);
    assert.equal(signals.currentUserDetails.name, 'native@example.com');
    assert.deepEqual((await agent().get('/me/signals').set('X-Session-Token', 'ory_st_nope').expect(200)).body, {});
  });
});

describe('Signal API: unknownCredential after a discoverable sign-in', () => {
  it('a credential id the store does not know (no such user either): the login flow names exactly that id', async () => {
    const { agent } = makeApp();
    const a = agent();
    const { authenticator, credential } = await strayPasskey(a);
    const flow = await initFlow(a, 'login');
    assert.equal(signalOf(flow), undefined, 'a new login flow signals nothing');
    const res = await submitAssertion(a, flow, authenticator.get(requestOptionsOf(flow), { origin: ORIGIN }));
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000015);
    assert.deepEqual(signalOf(res.body), { unknownCredential: { rpId: 'localhost', credentialId: credential.id } });
    // Fetching the flow again shows it (a UI page rendering it after a redirect); the next submit clears it.
    const fetched = await a.get(`/auth/self-service/login/flows?id=${flow.id}`).set('Accept', 'application/json');
    assert.deepEqual(signalOf(fetched.body), { unknownCredential: { rpId: 'localhost', credentialId: credential.id } });
    const next = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), identifier: 'nobody@example.com' });
    assert.equal(next.status, 400);
    assert.equal(signalOf(next.body), undefined);
  });

  it('a removed passkey of a known user: only the id the browser sent, nothing about the identity', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const first = await register(a, 'removed@example.com');
    const kept = await addPasskey(a, await initFlow(a, 'settings'));
    const removed = await post(a, kept.res.body, { passkey_remove: first.credential.id });
    assert.equal(removed.status, 200);
    await logout(a);
    const flow = await initFlow(a, 'login');
    // The authenticator still holds the removed passkey, with the identity's real user handle.
    const assertion = first.authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const identity = await store.getIdentity(first.body.identity.id);
    assert.equal(assertion.response.userHandle, identity?.userHandle);
    const res = await submitAssertion(a, flow, assertion);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000043);
    const signal = signalOf(res.body);
    assert.deepEqual(signal, { unknownCredential: { rpId: 'localhost', credentialId: first.credential.id } });
    assert.doesNotMatch(JSON.stringify(res.body), new RegExp(kept.credential.id));
    assert.doesNotMatch(JSON.stringify(res.body), /removed@example\.com/);
  });

  it('form posts: the UI page’s flow fetch carries the signal after the 303', async () => {
    const { agent } = makeApp({ urls: { ui: { login: '/login' } } });
    const a = agent();
    const { authenticator, credential } = await strayPasskey(a);
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 303);
    assert.match(String(res.headers.location), new RegExp(`/login\\?flow=${flow.id}$`));
    const fetched = await a.get(`/auth/self-service/login/flows?id=${flow.id}`).set('Accept', 'application/json');
    assert.deepEqual(signalOf(fetched.body), { unknownCredential: { rpId: 'localhost', credentialId: credential.id } });
  });

  it('never after a bad signature, a wrong challenge, origin, RP ID or type, a replay, or a refresh', async () => {
    const { agent } = makeApp();
    const a = agent();
    const known = await register(a, 'known@example.com');
    await logout(a);
    const { authenticator: stray } = await strayPasskey(a);
    const cases: [string, (flow: FlowJson) => unknown][] = [
      [
        'bad signature on a known passkey',
        (flow) => {
          const assertion = known.authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
          const sig = Buffer.from(assertion.response.signature, 'base64url');
          sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
          assertion.response.signature = sig.toString('base64url');
          return assertion;
        },
      ],
      [
        'unknown id, another challenge',
        (flow) =>
          stray.get(requestOptionsOf(flow), {
            origin: ORIGIN,
            challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          }),
      ],
      [
        'unknown id, an origin not allowed',
        (flow) => stray.get(requestOptionsOf(flow), { origin: 'http://localhost:4000' }),
      ],
      [
        'unknown id, another RP ID hash',
        (flow) => stray.get(requestOptionsOf(flow), { origin: ORIGIN, rpId: 'example.com' }),
      ],
      [
        'unknown id, webauthn.create type',
        (flow) => stray.get(requestOptionsOf(flow), { origin: ORIGIN, type: 'webauthn.create' }),
      ],
      [
        'unknown id, cross-origin frame',
        (flow) => stray.get(requestOptionsOf(flow), { origin: ORIGIN, crossOrigin: true }),
      ],
      [
        'a known passkey with the user handle of nobody',
        (flow) => known.authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, userHandle: 'bm9ib2R5' }),
      ],
    ];
    for (const [what, make] of cases) {
      const flow = await initFlow(a, 'login');
      const res = await submitAssertion(a, flow, make(flow));
      assert.equal(res.status, 400, what);
      assert.equal(signalOf(res.body), undefined, what);
    }

    // A replay: the challenge was consumed by the first submit (which signalled); the second is refused, silently.
    const flow = await initFlow(a, 'login');
    const assertion = JSON.stringify(stray.get(requestOptionsOf(flow), { origin: ORIGIN }));
    const first = await submitAssertion(a, flow, assertion);
    assert.ok(signalOf(first.body)?.unknownCredential, 'the control case signals');
    const replay = await submitAssertion(a, flow, assertion);
    assert.equal(replay.status, 400);
    assert.equal(signalOf(replay.body), undefined, 'a replay');

    // A refresh (re-authentication, not a discoverable sign-in): an unknown id there is refused without a signal.
    await login(a, known.authenticator).then((r) => assert.equal(r.status, 200));
    const refresh = await initFlow(a, 'login', '?refresh=true');
    assert.equal(refresh.refresh, true);
    const res = await submitAssertion(
      a,
      refresh,
      stray.get({ ...requestOptionsOf(refresh), allowCredentials: [] }, { origin: ORIGIN }),
    );
    assert.equal(res.status, 400);
    assert.equal(signalOf(res.body), undefined, 'a refresh');
  });
});

describe('Signal API: nothing for anonymous visitors beyond their own id', () => {
  it('login and registration flows, their failures and successes never carry an identity’s passkeys or name', async () => {
    const { agent } = makeApp();
    const a = agent();
    const registered = await register(a, 'anon@example.com');
    assert.equal(registered.body.passkey_signal, undefined, 'the registration success body has none');
    await logout(a);
    const visitor = agent();
    const loginFlow = await initFlow(visitor, 'login');
    assert.equal(signalOf(loginFlow), undefined);
    const registration = await initFlow(visitor, 'registration');
    assert.equal(signalOf(registration), undefined);
    // Failures that name the account: identifier lookups, a duplicate sign-up.
    const byIdentifier = await visitor
      .post(actionPath(loginFlow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(loginFlow), identifier: 'anon@example.com' });
    assert.equal(byIdentifier.status, 400);
    assert.equal(signalOf(byIdentifier.body), undefined);
    const duplicate = await visitor
      .post(actionPath(registration))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(registration), method: 'profile', traits: { email: 'anon@example.com' } });
    assert.equal(duplicate.status, 400);
    assert.equal(signalOf(duplicate.body), undefined);
    for (const body of [loginFlow, registration, byIdentifier.body, duplicate.body]) {
      const text = JSON.stringify(body);
      assert.doesNotMatch(text, /allAcceptedCredentials|currentUserDetails/);
      assert.doesNotMatch(text, new RegExp(registered.credential.id));
    }
  });

  it('the flows answered to the signed-in identity are the only ones with its passkeys: a refresh login flow has none', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a, 'refresh@example.com');
    const refresh = await initFlow(a, 'login', '?refresh=true');
    assert.equal(signalOf(refresh), undefined);
  });
});
