// A settings page that renders every node of the flow into one <form> (a plain server-rendered UI, as Kratos's own
// examples do) posts the profile group's traits along with whatever passkey action the user took. webauthn.js
// submits with HTMLFormElement.prototype.submit (no submitter, so no `method`), and SPEC §2 says `method` may be
// absent when a `passkey_*` field is present: the passkey action must happen, not a profile save that drops it.
// (Kratos's profile strategy only answers to an explicit `method: "profile"`.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actionPath, creationOptionsOf, csrfOf, initFlow, makeApp, ORIGIN, register } from './helpers/app.js';

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
