// A plain server-rendered UI (as Kratos's own kratos-selfservice-ui-node) puts every node of a flow into one <form>
// and lets the browser post it. What such a form posts must work:
//
// - Settings: the profile group's traits go along with whatever passkey action the user took. webauthn.js submits
//   with HTMLFormElement.prototype.submit (no submitter, so no `method`), and SPEC §2 says `method` may be absent
//   when a `passkey_*` field is present: the passkey action must happen, not a profile save that drops it. (Kratos's
//   profile strategy only answers to an explicit `method: "profile"`.)
// - Recovery and verification in `sent_email` (SPEC §6): the hidden `method=code` node and the clicked "Continue"
//   submit (`method=code`) are both posted, so the body has `method=code&method=code` (Kratos's form decoder takes
//   the first value).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CourierMessage } from '../src/index.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  node,
  ORIGIN,
  register,
} from './helpers/app.js';

describe('settings: one form with the profile and passkey nodes (no method)', () => {
  it('"Add passkey" adds the passkey though the traits are posted too', async () => {
    const { agent: newAgent, store } = makeApp();
    const agent = newAgent();
    const { authenticator, email, body } = await register(agent);
    const flow = await initFlow(agent, 'settings');
    const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
    await agent
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), 'traits.email': email, passkey_settings_register: JSON.stringify(credential) });
    const passkeys = await store.listPasskeys(body.identity.id);
    assert.equal(passkeys.length, 2, 'the new passkey was added');
  });

  it('"Remove passkey" (the clicked button\'s name=value) removes it though the traits are posted too', async () => {
    const { agent: newAgent, store } = makeApp();
    const agent = newAgent();
    const { authenticator, email, body } = await register(agent);
    // A second passkey first (JSON, method passkey), so that one may be removed.
    const first = await initFlow(agent, 'settings');
    const added = authenticator.create(creationOptionsOf(first), { origin: ORIGIN });
    const res = await agent
      .post(actionPath(first))
      .set('Accept', 'application/json')
      .send({ method: 'passkey', csrf_token: csrfOf(first), passkey_settings_register: JSON.stringify(added) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await store.listPasskeys(body.identity.id)).length, 2);

    const flow = await initFlow(agent, 'settings');
    await agent
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), 'traits.email': email, passkey_remove: added.id });
    const left = await store.listPasskeys(body.identity.id);
    assert.equal(left.length, 1, 'the passkey was removed');
    assert.ok(!left.some((p) => p.id === added.id), 'the removed one is gone');
  });
});

describe('recovery and verification: the sent_email form, as a browser posts it (method twice)', () => {
  for (const kind of ['recovery', 'verification'] as const) {
    it(`${kind}: "Continue" with the code posts method=code twice; the code is checked`, async () => {
      const sent: CourierMessage[] = [];
      const { agent: newAgent } = makeApp({
        courier: { send: (message: CourierMessage) => void sent.push(message) },
        urls: { ui: { recovery: '/recovery', verification: '/verification', settings: '/settings' } },
        verification: { afterRegistration: false },
      });
      const { email } = await register(newAgent());
      const agent = newAgent(); // signed out
      const init = await agent.get(`/auth/self-service/${kind}/browser`).set('Accept', 'application/json');
      assert.equal(init.status, 200);
      const flow = init.body as FlowJson;
      const asked = await agent
        .post(actionPath(flow))
        .type('form')
        .send({ csrf_token: csrfOf(flow), email, method: 'code' });
      assert.equal(asked.status, 303);
      const shown = await agent.get(`/auth/self-service/${kind}/flows?id=${flow.id}`).set('Accept', 'application/json');
      const sentEmail = shown.body as FlowJson;
      assert.equal(sentEmail.state, 'sent_email');
      const methods = sentEmail.ui.nodes.filter((n) => n.attributes.name === 'method').map((n) => n.attributes.type);
      assert.deepEqual(methods, ['hidden', 'submit'], 'the nodes that make a browser post method twice');
      assert.ok(node(sentEmail, 'code'));
      for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const code = String(sent[0]?.model.recoveryCode ?? sent[0]?.model.verificationCode);

      // Form fields in node order, as the browser serialises them: csrf_token, code, method (hidden), method (button).
      const body = new URLSearchParams([
        ['csrf_token', csrfOf(sentEmail)],
        ['code', code],
        ['method', 'code'],
        ['method', 'code'],
      ]).toString();
      const res = await agent.post(actionPath(sentEmail)).type('form').send(body);
      assert.equal(res.status, 303, `${res.status} ${JSON.stringify(res.body)}`);
      // Recovery: signed in, on to the settings page; verification: back to its page, passed.
      const target = new URL(String(res.headers.location), 'http://localhost');
      assert.equal(target.pathname, kind === 'recovery' ? '/settings' : '/verification');
    });
  }
});
