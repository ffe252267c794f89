// Address verification by code over HTTP (SPEC §6), after sign-up and on its own, by code and by link; and addresses
// kept in step when the traits change in settings.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { actionPath, csrfOf, type FlowJson, initFlow, node, register } from './helpers/app.js';
import { initCodeFlow, makeCodeApp, messageIds, postCode, requestCode } from './helpers/codes.js';

const whoami = async (a: ReturnType<ReturnType<typeof makeCodeApp>['agent']>) =>
  (await a.get('/auth/sessions/whoami').expect(200)).body;

describe('verification flow', () => {
  it('after sign-up: continue_with show_verification_ui, a code by mail, verified by the code', async () => {
    const { agent, courier } = makeCodeApp({ urls: { ui: { verification: '/verify' } } });
    const a = agent();
    const { body } = await register(a, 'new@example.com');
    const [item] = body.continue_with;
    assert.equal(item.action, 'show_verification_ui');
    assert.equal(item.flow.verifiable_address, 'new@example.com');
    assert.match(item.flow.url, new RegExp(`/verify\\?flow=${item.flow.id}$`));
    assert.deepEqual(
      body.identity.verifiable_addresses.map((v: { verified: boolean }) => v.verified),
      [false],
    );

    const [mail] = await courier.to('new@example.com', 'verification');
    assert.equal(mail?.template, 'verification_code_valid');
    const url = new URL(String(mail?.model.verificationUrl));
    assert.equal(url.searchParams.get('flow'), item.flow.id);
    assert.equal(url.searchParams.get('code'), mail?.model.verificationCode);
    // Handed to the courier: the address is now `sent`.
    assert.equal((await whoami(a)).identity.verifiable_addresses[0].status, 'sent');

    const flow = (await a.get(`/auth/self-service/verification/flows?id=${item.flow.id}`).expect(200)).body as FlowJson;
    assert.equal(flow.state, 'sent_email');
    assert.deepEqual(messageIds(flow), [1080003]);
    assert.equal(node(flow, 'code').meta.label?.id, 1070011);
    assert.equal(node(flow, 'code').attributes.pattern, undefined);
    const res = await postCode(a, flow, { method: 'code', code: mail?.model.verificationCode });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'passed_challenge');
    assert.deepEqual(messageIds(res.body), [1080002]);
    assert.equal(res.body.ui.method, 'GET');
    const link = res.body.ui.nodes.find((n: { type: string }) => n.type === 'a');
    assert.equal(link.attributes.id, 'continue');
    assert.equal(link.attributes.href, res.body.ui.action);
    assert.equal(link.attributes.title.id, 1070009);
    const address = (await whoami(a)).identity.verifiable_addresses[0];
    assert.equal(address.verified, true);
    assert.equal(address.status, 'completed');
    assert.ok(Date.parse(address.verified_at) > 0);
  });

  it('by the link in the mail: verified, then 303 to the verification UI; a second visit changes nothing', async () => {
    const { agent, courier } = makeCodeApp({ urls: { ui: { verification: '/verify' } } });
    const a = agent();
    await register(a, 'link@example.com');
    const [mail] = await courier.to('link@example.com', 'verification');
    const url = new URL(String(mail?.model.verificationUrl));
    // Opened in another browser (no cookies at all): the code is the secret.
    const visit = await agent()
      .get(url.pathname + url.search)
      .expect(303);
    assert.equal(new URL(String(visit.headers.location)).pathname, '/verify');
    assert.equal((await whoami(a)).identity.verifiable_addresses[0].verified, true);
    const flow = await a.get(`/auth/self-service/verification/flows?id=${url.searchParams.get('flow')}`).expect(200);
    assert.equal(flow.body.state, 'passed_challenge');
    const again = await agent()
      .get(url.pathname + url.search)
      .expect(303);
    assert.equal(new URL(String(again.headers.location)).pathname, '/verify');
  });

  it('a wrong code by link: back to the UI with 4070006', async () => {
    const { agent, courier } = makeCodeApp({ urls: { ui: { verification: '/verify' } } });
    const a = agent();
    await register(a, 'badlink@example.com');
    const code = await courier.lastCode('badlink@example.com', 'verification');
    const [mail] = await courier.to('badlink@example.com', 'verification');
    const url = new URL(String(mail?.model.verificationUrl));
    url.searchParams.set('code', code === '999999' ? '999998' : '999999');
    await agent()
      .get(url.pathname + url.search)
      .expect(303);
    const flow = await a.get(`/auth/self-service/verification/flows?id=${url.searchParams.get('flow')}`).expect(200);
    assert.equal(flow.body.state, 'sent_email');
    assert.deepEqual(messageIds(flow.body), [4070006]);
    assert.equal((await whoami(a)).identity.verifiable_addresses[0].verified, false);
  });

  it('on its own, signed in or not; unknown addresses get the same answer and no mail', async () => {
    const { agent, courier } = makeCodeApp({ verification: { afterRegistration: false } });
    const a = agent();
    await register(a, 'later@example.com');
    assert.equal((await courier.to('later@example.com', 'verification')).length, 0);
    const sent = await requestCode(a, 'verification', 'later@example.com');
    assert.deepEqual(messageIds(sent), [1080003]);
    const code = await courier.lastCode('later@example.com', 'verification');
    const wrong = await postCode(a, sent, { code: code === '000000' ? '000001' : '000000' });
    assert.deepEqual(messageIds(wrong.body), [4070006]);
    assert.equal((await postCode(a, sent, { code })).body.state, 'passed_challenge');

    const unknown = await requestCode(agent(), 'verification', 'ghost@example.com');
    assert.deepEqual(messageIds(unknown), [1080003]);
    assert.equal((await courier.to('ghost@example.com', 'verification')).length, 0);
  });

  it('API sign-up: continue_with show_verification_ui; the native verification flow verifies', async () => {
    const { server, courier } = makeCodeApp();
    const { SoftwareAuthenticator } = await import('./helpers/authenticator.js');
    const { ORIGIN } = await import('./helpers/app.js');
    const init = await request(server).get('/auth/self-service/registration/api').expect(200);
    const data = JSON.parse(String(node(init.body, 'passkey_create_data').attributes.value));
    const credential = new SoftwareAuthenticator().create(data.credentialOptions.publicKey, { origin: ORIGIN });
    const done = await request(server)
      .post(actionPath(init.body))
      .send({ method: 'passkey', traits: { email: 'app@example.com' }, passkey_register: JSON.stringify(credential) })
      .expect(200);
    assert.match(done.body.session_token, /^ory_st_/);
    const item = done.body.continue_with.find((c: { action: string }) => c.action === 'show_verification_ui');
    assert.ok(item);
    assert.equal(item.flow.url, undefined); // no UI page configured
    const flow = await request(server).get(`/auth/self-service/verification/flows?id=${item.flow.id}`).expect(200);
    assert.equal(flow.body.type, 'api');
    const code = await courier.lastCode('app@example.com', 'verification');
    const res = await request(server).post(actionPath(flow.body)).send({ method: 'code', code }).expect(200);
    assert.equal(res.body.state, 'passed_challenge');
  });

  it('is off with verification.enabled false: 404, and sign-up sends nothing', async () => {
    const { agent, courier } = makeCodeApp({ verification: { enabled: false } });
    const a = agent();
    const { body } = await register(a, 'off@example.com');
    assert.deepEqual(body.continue_with, []);
    assert.equal(
      (await a.get('/auth/self-service/verification/browser').set('Accept', 'application/json')).status,
      404,
    );
    assert.equal((await courier.to('off@example.com', 'verification')).length, 0);
    assert.equal((await initCodeFlow(agent(), 'recovery')).state, 'choose_method');
  });
});

describe('addresses follow the traits (settings profile)', () => {
  it('an email change: the new address is unverified, the old one no longer recovers', async () => {
    const { agent, courier } = makeCodeApp();
    const a = agent();
    await register(a, 'old@example.com');
    // Verify the old address first.
    const sent = await requestCode(a, 'verification', 'old@example.com');
    await postCode(a, sent, { code: await courier.lastCode('old@example.com', 'verification') });
    assert.equal((await whoami(a)).identity.verifiable_addresses[0].verified, true);

    const settings = await initFlow(a, 'settings');
    assert.equal(node(settings, 'traits.email').attributes.value, 'old@example.com');
    assert.equal(node(settings, 'traits.email').group, 'profile');
    const res = await a
      .post(actionPath(settings))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(settings), method: 'profile', traits: { email: 'New@Example.com' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [1050001]);
    const identity = (await whoami(a)).identity;
    assert.equal(identity.traits.email, 'New@Example.com');
    assert.deepEqual(
      identity.verifiable_addresses.map((v: { value: string; verified: boolean; status: string }) => [
        v.value,
        v.verified,
        v.status,
      ]),
      [['new@example.com', false, 'pending']],
    );
    assert.deepEqual(
      identity.recovery_addresses.map((r: { value: string }) => r.value),
      ['new@example.com'],
    );

    const before = courier.messages.length;
    await requestCode(agent(), 'recovery', 'old@example.com');
    await courier.to('old@example.com');
    assert.equal(courier.messages.length, before, 'nothing may be sent to the old address');
    await requestCode(agent(), 'recovery', 'new@example.com');
    assert.equal((await courier.to('new@example.com')).length, 1);
  });

  it('profile errors: invalid traits on their node, a taken email 4000007, a form post coerces', async () => {
    const { agent } = makeCodeApp();
    await register(agent(), 'taken@example.com');
    const a = agent();
    await register(a, 'mine@example.com');
    const settings = await initFlow(a, 'settings');
    const post = (body: Record<string, unknown>) =>
      a
        .post(actionPath(settings))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(settings), ...body });
    const invalid = await post({ method: 'profile', traits: { email: 'nope' } });
    assert.equal(invalid.status, 400);
    assert.deepEqual(
      node(invalid.body, 'traits.email').messages.map((m) => m.id),
      [4000001],
    );
    const taken = await post({ method: 'profile', traits: { email: 'TAKEN@example.com' } });
    assert.equal(taken.status, 400);
    assert.deepEqual(messageIds(taken.body), [4000007]);
    assert.equal((await whoami(a)).identity.traits.email, 'mine@example.com');
    const form = await a
      .post(actionPath(settings))
      .type('form')
      .send({ csrf_token: csrfOf(settings), method: 'profile', 'traits.email': 'mine2@example.com' });
    assert.equal(form.status, 200); // no settings UI configured: the flow itself
    assert.equal((await whoami(a)).identity.traits.email, 'mine2@example.com');
  });
});
