// Identity state (SPEC §8): an inactive identity cannot sign in (4010011, JSON and form posts), recover, register its
// identifier again or keep its sessions; whoami shows metadata_public and never metadata_admin.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updateIdentityWith } from '../src/addresses.js';
import type { IdentityState, MemoryStore } from '../src/index.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  initFlow,
  login,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { makeCodeApp, messageIds, postCode, requestCode } from './helpers/codes.js';

/** Set the state directly in the store (what `auth.admin.updateIdentity` writes), without touching sessions. */
async function setState(store: MemoryStore, identifier: string, state: IdentityState) {
  const identity = await store.findIdentityByIdentifier(identifier);
  assert.ok(identity, `no identity ${identifier}`);
  await updateIdentityWith(store, identity.id, (current) => ({ ...current, state, stateChangedAt: new Date() }));
  return identity.id;
}

describe('inactive identities', () => {
  it('cannot sign in: 400 with 4010011 in ui.messages, no session, no usage recorded; active again, they can', async () => {
    const { agent, store } = makeCodeApp();
    const { authenticator, email, credential } = await register(agent(), 'disabled@example.com');
    await setState(store, email, 'inactive');

    const browser = agent();
    const res = await login(browser, authenticator);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4010011]);
    assert.equal(
      res.body.ui.messages[0].text,
      'This account has been disabled. Please contact support for assistance.',
    );
    assert.equal(res.body.ui.messages[0].type, 'error');
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
    const passkey = await store.getPasskey(credential.id);
    assert.equal(passkey?.lastUsedAt, null, 'the refused sign-in recorded no usage');
    assert.equal(passkey?.signCount, 0, 'the counter stays at the registration value');

    // The flow came back with a new challenge: the same flow works once the identity is active again.
    await setState(store, email, 'active');
    const again = authenticator.get(requestOptionsOf(res.body), { origin: ORIGIN });
    const ok = await browser
      .post(actionPath(res.body))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(res.body), passkey_login: JSON.stringify(again) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.session.identity.state, 'active');
  });

  it('a form post is sent back to the login UI with the flow, which shows 4010011', async () => {
    const { agent, store } = makeCodeApp({ urls: { ui: { login: '/login' } } });
    const { authenticator, email } = await register(agent(), 'form-disabled@example.com');
    await setState(store, email, 'inactive');
    const browser = agent();
    const flow = await initFlow(browser, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const res = await browser
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, `http://${res.request.url.split('/')[2]}/login?flow=${flow.id}`);
    const shown = await browser.get(`/auth/self-service/login/flows?id=${flow.id}`).set('Accept', 'application/json');
    assert.deepEqual(messageIds(shown.body), [4010011]);
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
  });

  it('a form post without a login UI gets the flow JSON with 400', async () => {
    const { agent, store } = makeCodeApp();
    const { authenticator, email } = await register(agent(), 'form-json@example.com');
    await setState(store, email, 'inactive');
    const browser = agent();
    const flow = await initFlow(browser, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const res = await browser
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 400);
    assert.deepEqual(messageIds(res.body), [4010011]);
  });

  it('recovery: the code is sent as for anyone, but submitting it answers 400 with 4010011 and no session', async () => {
    const { agent, store, courier } = makeCodeApp();
    const { email } = await register(agent(), 'recover-disabled@example.com');
    await setState(store, email, 'inactive');
    const browser = agent();
    const sent = await requestCode(browser, 'recovery', email);
    assert.deepEqual(messageIds(sent), [1060003], 'the same answer as for an active identity');
    const code = await courier.lastCode(email);
    const res = await postCode(browser, sent, { method: 'code', code });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4010011]);
    assert.equal(res.body.continue_with, undefined);
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
    // The code was used up: it does not work once the identity is active again either.
    await setState(store, email, 'active');
    const replay = await postCode(browser, res.body, { method: 'code', code });
    assert.deepEqual(messageIds(replay.body), [4060006]);
  });

  it('registration of its identifier refuses as for any taken identifier (4000028)', async () => {
    const { agent, store } = makeCodeApp();
    const { email } = await register(agent(), 'taken-disabled@example.com');
    await setState(store, email, 'inactive');
    const browser = agent();
    const flow = await initFlow(browser, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), traits: { email }, passkey_register: JSON.stringify(credential) });
    assert.equal(res.status, 400);
    assert.deepEqual(messageIds(res.body), [4000028]);
  });

  it('its existing sessions answer 401 at once (whoami), and not again once re-activated without a new sign-in', async () => {
    const { agent, store } = makeCodeApp();
    const browser = agent();
    const { email } = await register(browser, 'session-disabled@example.com');
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 200);
    await setState(store, email, 'inactive');
    const res = await browser.get('/auth/sessions/whoami').set('Accept', 'application/json');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.id, 'session_inactive');
  });
});

describe('identity JSON', () => {
  it('whoami shows state, state_changed_at and metadata_public, never metadata_admin', async () => {
    const { agent, store } = makeCodeApp();
    const browser = agent();
    const { email } = await register(browser, 'meta@example.com');
    const fresh = await browser.get('/auth/sessions/whoami').set('Accept', 'application/json');
    assert.equal(fresh.body.identity.state, 'active');
    assert.equal(fresh.body.identity.metadata_public, null);
    assert.ok(!('state_changed_at' in fresh.body.identity), 'no state change yet');
    assert.ok(!('metadata_admin' in fresh.body.identity));
    const identity = await store.findIdentityByIdentifier(email);
    assert.ok(identity);
    await updateIdentityWith(store, identity.id, (current) => ({
      ...current,
      metadataPublic: { plan: 'pro' },
      metadataAdmin: { note: 'VIP, handle with care' },
    }));
    const res = await browser.get('/auth/sessions/whoami').set('Accept', 'application/json');
    assert.deepEqual(res.body.identity.metadata_public, { plan: 'pro' });
    assert.ok(!('metadata_admin' in res.body.identity));
    assert.ok(!JSON.stringify(res.body).includes('VIP'), 'metadata_admin appears nowhere in whoami');
  });
});
