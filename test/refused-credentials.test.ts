// A registration or "Add passkey" refused after the browser created the passkey names it back (passkey_signal,
// unknownCredential), so webauthn.js can have the passkey manager drop it; a stored passkey's id is never named.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  ORIGIN,
  register,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

const signalOf = (flow: FlowJson) => {
  const found = flow.ui.nodes.find((n) => n.attributes.name === 'passkey_signal');
  return found ? JSON.parse(String(found.attributes.value)) : undefined;
};

async function signUp(a: Agent, flow: FlowJson, email: string, credential: unknown) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), traits: { email }, passkey_register: JSON.stringify(credential) });
}

describe('refused new passkeys are signalled unknown', () => {
  it('registration: a taken email, a bad email, a failed ceremony name the new credential; a retry clears it', async () => {
    const { agent } = makeApp();
    const { email } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const authenticator = new SoftwareAuthenticator();
    const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });

    const taken = await signUp(a, flow, email.toUpperCase(), credential);
    assert.equal(taken.status, 400);
    assert.equal(taken.body.ui.messages[0].id, 4000028);
    assert.deepEqual(signalOf(taken.body), { unknownCredential: { rpId: 'localhost', credentialId: credential.id } });
    // The flow as a UI fetches it after the redirect carries it too.
    const fetched = await a.get(`/auth/self-service/registration/flows?id=${flow.id}`).expect(200);
    assert.deepEqual(signalOf(fetched.body), signalOf(taken.body));

    const bad = await signUp(a, flow, 'not an email', credential);
    assert.equal(bad.status, 400);
    assert.equal(signalOf(bad.body)?.unknownCredential.credentialId, credential.id);

    // Signed for another origin: the ceremony fails (4000001), the credential is still not stored.
    const fresh = await initFlow(a, 'registration');
    const wrongOrigin = authenticator.create(creationOptionsOf(fresh), { origin: 'http://localhost:4000' });
    const failed = await signUp(a, fresh, 'someone@example.com', wrongOrigin);
    assert.equal(failed.status, 400);
    assert.equal(failed.body.ui.messages[0].id, 4000001);
    assert.equal(signalOf(failed.body)?.unknownCredential.credentialId, wrongOrigin.id);

    // The profile step (no credential) says nothing, and forgets the earlier one.
    const profile = await a
      .post(actionPath(fresh))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(fresh), method: 'profile', traits: { email: 'other@example.com' } });
    assert.equal(profile.status, 200);
    assert.equal(signalOf(profile.body), undefined);
  });

  it('registration: the id of a passkey the store has is never named (it is not unknown)', async () => {
    const { agent } = makeApp();
    const first = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'registration');
    // Replaying a stored passkey's registration: refused, and its id stays unsaid.
    const res = await signUp(a, flow, 'new@example.com', first.credential);
    assert.equal(res.status, 400);
    assert.equal(signalOf(res.body), undefined);
  });

  it('settings: a refused "Add passkey" names it beside the identity signals', async () => {
    const { agent } = makeApp();
    const a = agent();
    const { credential: first } = await register(a);
    const flow = await initFlow(a, 'settings');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: 'http://evil.test' });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: JSON.stringify(credential) });
    assert.equal(res.status, 400);
    const signal = signalOf(res.body);
    assert.deepEqual(signal.unknownCredential, { rpId: 'localhost', credentialId: credential.id });
    assert.deepEqual(signal.allAcceptedCredentials.allAcceptedCredentialIds, [first.id]);
  });

  it('a flow that expired while the browser created the passkey: the flow replacing it names the passkey', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    t.mock.timers.tick(61 * 60 * 1000);
    const late = await a
      .post(actionPath(flow))
      .type('form')
      .send({
        csrf_token: csrfOf(flow),
        'traits.email': 'late@example.com',
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(late.status, 303);
    const successorId = new URL(late.headers.location ?? '', ORIGIN).searchParams.get('id');
    const successor = await a.get(`/auth/self-service/registration/flows?id=${successorId}`).expect(200);
    assert.equal(successor.body.ui.messages?.[0]?.id, 4040001);
    assert.deepEqual(signalOf(successor.body), {
      unknownCredential: { rpId: 'localhost', credentialId: credential.id },
    });
    // A JSON client is told 410 and fetches the same successor, which names it too.
    const json = await signUp(a, flow, 'late@example.com', credential);
    assert.equal(json.status, 410);
    assert.equal(json.body.use_flow_id, successorId);

    // Settings: an "Add passkey" posted after its flow expired.
    const b = agent();
    const { credential: first } = await register(b);
    const settings = await initFlow(b, 'settings');
    const added = new SoftwareAuthenticator().create(creationOptionsOf(settings), { origin: ORIGIN });
    t.mock.timers.tick(61 * 60 * 1000);
    const gone = await b
      .post(actionPath(settings))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(settings), method: 'passkey', passkey_settings_register: JSON.stringify(added) });
    assert.equal(gone.status, 410);
    const next = await b.get(`/auth/self-service/settings/flows?id=${gone.body.use_flow_id}`).expect(200);
    assert.deepEqual(signalOf(next.body).unknownCredential, { rpId: 'localhost', credentialId: added.id });
    assert.notEqual(added.id, first.id);

    // A late post of a passkey the store already has (a replay) names nothing.
    const c = agent();
    const replayFlow = await initFlow(c, 'registration');
    t.mock.timers.tick(61 * 60 * 1000);
    const replay = await signUp(c, replayFlow, 'replay@example.com', first);
    assert.equal(replay.status, 410);
    const replaySuccessor = await c.get(`/auth/self-service/registration/flows?id=${replay.body.use_flow_id}`);
    assert.equal(signalOf(replaySuccessor.body), undefined);
  });
});

describe('the "Add passkey" pre-check', () => {
  it('a passkey post with nothing in it: 403 for a session past its privileged window, else 400 not kept', async () => {
    const { agent } = makeApp({ lifespans: { privilegedSession: 1000 } });
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const check = () =>
      a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .type('form')
        .send({ csrf_token: csrfOf(flow), method: 'passkey' });
    const fresh = await check();
    assert.equal(fresh.status, 400);
    assert.equal(fresh.body.ui.messages[0].id, 4010004);
    const fetched = await a.get(`/auth/self-service/settings/flows?id=${flow.id}`).expect(200);
    assert.equal(fetched.body.ui.messages, undefined, 'nothing was tried: no message kept on the flow');

    await new Promise((r) => setTimeout(r, 1100));
    const stale = await check();
    assert.equal(stale.status, 403);
    assert.equal(stale.body.error.id, 'session_refresh_required');
    assert.match(stale.body.redirect_browser_to, /\/auth\/self-service\/login\/browser\?refresh=true/);
  });
});
