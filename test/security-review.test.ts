// Security review of sessions, logout, identifier-first, redirects and request sizes, read as an attacker would:
// races between a revocation and a sign-in, what a client can store in a session record, refresh logins by another
// identity, and redirects to other origins. Every ceremony is signed by the software authenticator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, type PasskeysRouter, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import type { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type SessionJson, signIn, whoamiStatus } from './helpers/sessions.js';

/** An app with the router kept (for `auth.admin`) and an app route behind `auth.requireSession()`. */
function appWithRouter(options: (auth: () => PasskeysRouter) => Partial<PasskeysOptions> = () => ({})) {
  const store = new MemoryStore();
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  let router: PasskeysRouter | undefined;
  const auth = () => router as PasskeysRouter;
  router = passkeys({ rp: RP, store, ...options(auth) });
  app.use('/auth', router);
  app.get('/private', router.requireSession(), (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  server.unref();
  return { app, server, store, auth, agent: () => request.agent(server) as Agent };
}

/** A sign-in (JSON) with the authenticator's passkey on a fresh login flow; the raw response. */
async function tryLogin(agent: Agent, authenticator: SoftwareAuthenticator, query = '', credentialId?: string) {
  const flow = await initFlow(agent, 'login', query);
  const assertion = authenticator.get(requestOptionsOf(flow), {
    origin: ORIGIN,
    ...(credentialId ? { credentialId } : {}),
  });
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
}

describe('a revocation racing a sign-in', () => {
  it('an identity disabled while its sign-in is under way gets no session that any route accepts', async () => {
    // The admin disables the identity after the login checked that it is active and before the session is issued
    // (here from the awaited onLogin hook: any slow hook, or a slow store, opens the same window).
    let disableNext = false;
    const { agent, auth } = appWithRouter((router) => ({
      hooks: {
        onLogin: async ({ identity }) => {
          if (disableNext) await router().admin.updateIdentity(identity.id, { state: 'inactive' });
        },
      },
    }));
    const browser = agent();
    const { authenticator } = await register(browser);
    await browser.get('/private').expect(200);
    // Sign out, then sign in again while the admin disables the account.
    const { body } = await browser.get('/auth/self-service/logout/browser').set('Accept', 'application/json');
    await browser.get(new URL(body.logout_url).pathname + new URL(body.logout_url).search).expect(303);
    disableNext = true;
    const res = await tryLogin(browser, authenticator);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.ok(
      (res.body.ui?.messages ?? []).some((m: { id: number }) => m.id === 4010011),
      JSON.stringify(res.body.ui?.messages),
    );
    assert.equal(res.body.session, undefined);
    // Neither the app's own routes nor the library's see a session.
    await browser.get('/private').expect(401);
    assert.equal(await whoamiStatus(browser), 401);
    const identity = (await auth().admin.listIdentities({ pageSize: 10 })).identities[0];
    assert.ok(identity);
    const { sessions } = await auth().admin.listSessions(identity.id, { active: true });
    assert.deepEqual(sessions, [], 'no session record in force for the disabled identity');
  });

  it('native apps likewise: the token issued while the identity was being disabled is refused', async () => {
    let disableNext = false;
    const { app, agent } = appWithRouter((auth) => ({
      hooks: {
        onLogin: async ({ identity }) => {
          if (disableNext) await auth().admin.updateIdentity(identity.id, { state: 'inactive' });
        },
      },
    }));
    const { authenticator } = await register(agent());
    disableNext = true;
    const init = await request(app).get('/auth/self-service/login/api').expect(200);
    const flow = init.body as FlowJson;
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const res = await request(app)
      .post(actionPath(flow))
      .send({ method: 'passkey', passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.session_token, undefined);
  });

  it('an identity an after-hook disables at registration (approval pending, say) is not left signed in', async () => {
    const { agent } = appWithRouter((auth) => ({
      hooks: {
        onRegistered: async ({ identity }) => {
          await auth().admin.updateIdentity(identity.id, { state: 'inactive' });
        },
      },
    }));
    const browser = agent();
    const { body } = await register(browser);
    assert.equal(body.session, undefined, 'no session in the answer');
    await browser.get('/private').expect(401);
    assert.equal(await whoamiStatus(browser), 401);
  });

  it('a refresh racing a revocation never brings the revoked record back (probe: updateSession keeps it revoked)', async () => {
    let revokeNext = false;
    const { agent } = appWithRouter((auth) => ({
      hooks: {
        onLogin: async ({ identity }) => {
          if (revokeNext) await auth().admin.revokeSessions(identity.id);
        },
      },
    }));
    const browser = agent();
    const { authenticator } = await register(browser);
    revokeNext = true;
    const res = await tryLogin(browser, authenticator, '?refresh=true');
    // Whatever the answer, the session stays ended everywhere.
    assert.notEqual(res.status, 500);
    await browser.get('/private').expect(401);
    assert.equal(await whoamiStatus(browser), 401);
  });
});

describe('what a client can store in a session record', () => {
  it('an X-Forwarded-For entry that is not an address (trust proxy on) is not stored at any length', async () => {
    const { app, agent } = makeApp();
    app.set('trust proxy', true);
    const browser = agent();
    const { authenticator } = await register(browser);
    const huge = `${'x'.repeat(8000)}, 203.0.113.7`;
    const { session } = await signIn(browser, authenticator, { refresh: true, headers: { 'X-Forwarded-For': huge } });
    const device = session.devices[session.devices.length - 1];
    assert.ok(device);
    assert.ok(device.ip_address.length <= 64, `ip_address of ${device.ip_address.length} characters stored`);
    // A real address still comes through.
    const again = await signIn(browser, authenticator, {
      refresh: true,
      headers: { 'X-Forwarded-For': '2001:db8::1' },
    });
    assert.equal(again.session.devices.at(-1)?.ip_address, '2001:db8::1');
  });
});

describe('refresh logins are the session identity’s only', () => {
  for (const style of ['unified', 'identifier_first'] as const) {
    it(`${style}: another identity's passkey is refused (4000043) and the session is left as it was`, async () => {
      const { agent } = makeApp({ login: { style } });
      const victim = agent();
      await register(victim);
      const before = (await victim.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
      const attacker = await register(agent());
      // The attacker's own passkey, whatever the refresh challenge's allowCredentials lists.
      const res = await tryLogin(victim, attacker.authenticator, '?refresh=true', attacker.credential.id);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.ui.messages.map((m: { id: number }) => m.id),
        [4000043],
      );
      const after = (await victim.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
      assert.equal(after.identity.id, before.identity.id);
      assert.equal(after.authenticated_at, before.authenticated_at);
      assert.equal(after.authentication_methods.length, 1);
    });
  }
});
