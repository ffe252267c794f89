// Security review of sessions, logout, identifier-first, redirects and request sizes, read as an attacker would:
// races between a revocation and a sign-in, what a client can store in a session record, refresh logins by another
// identity, and redirects to other origins. Every ceremony is signed by the software authenticator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CookieAccessInfo } from 'cookiejar';
import createDebug from 'debug';
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
  logout,
  makeApp,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { addPasskey, removePasskey, type SessionJson, signIn, signInNative, whoamiStatus } from './helpers/sessions.js';

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

  it('a passkey removed while it signs in elsewhere (a lost phone) leaves that sign-in no session', async () => {
    let owner: Agent | undefined;
    let removeNext: string | undefined;
    const { agent } = appWithRouter(() => ({
      hooks: {
        onLogin: async () => {
          // The owner removes the lost phone's passkey in settings while the thief's sign-in is under way.
          if (owner && removeNext) {
            const res = await removePasskey(owner, removeNext);
            assert.equal(res.status, 200, JSON.stringify(res.body));
          }
        },
      },
    }));
    owner = agent();
    await register(owner);
    const phone = new SoftwareAuthenticator();
    const phoneKey = await addPasskey(owner, phone);
    removeNext = phoneKey;
    const thief = agent();
    const res = await tryLogin(thief, phone);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.session, undefined);
    await thief.get('/private').expect(401);
    assert.equal(await whoamiStatus(thief), 401);
    assert.equal(await whoamiStatus(owner), 200, 'the owner stays signed in');
  });

  it('a refresh racing a revocation never brings the revoked record back, nor answers as if it had', async () => {
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
    // The session ended while it was refreshed: the answer says so rather than show it active.
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.error?.id, 'session_inactive');
    await browser.get('/private').expect(401);
    assert.equal(await whoamiStatus(browser), 401);
  });
});

describe('an ended session stays ended', () => {
  it('admin extend refuses an expired or a revoked session, which stay signed out (probe)', async () => {
    const { agent, auth, store } = appWithRouter();
    const expired = agent();
    await register(expired);
    const expiredId = ((await expired.get('/auth/sessions/whoami').expect(200)).body as SessionJson).id;
    assert.equal(await store.extendSession(expiredId, new Date(Date.now() - 1000)), true);
    const revoked = agent();
    await register(revoked);
    const revokedId = ((await revoked.get('/auth/sessions/whoami').expect(200)).body as SessionJson).id;
    await auth().admin.revokeSession(revokedId);
    for (const [id, browser] of [
      [expiredId, expired],
      [revokedId, revoked],
    ] as const) {
      await assert.rejects(auth().admin.extendSession(id), { name: 'SessionNotFoundError' });
      assert.equal(await whoamiStatus(browser), 401);
      await browser.get('/private').expect(401);
    }
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

describe('tokens: never in logs or lists, bound to their session', () => {
  it('DEBUG=express-passkeys* output holds no session token, logout token, CSRF secret or session cookie', async () => {
    const lines: string[] = [];
    const previousLog = createDebug.log;
    const previousNamespaces = createDebug.disable();
    createDebug.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    createDebug.enable('express-passkeys*');
    const errors = console.error;
    console.error = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    try {
      const { app, agent } = makeApp();
      const browser = agent();
      const { authenticator } = await register(browser);
      const native = await signInNative(app, authenticator);
      await request(app).get('/auth/sessions/whoami').set('X-Session-Token', native.token).expect(200);
      await request(app).get('/auth/sessions').set('X-Session-Token', `${native.token}x`).expect(401);
      const { body } = await browser.get('/auth/self-service/logout/browser').set('Accept', 'application/json');
      // The browser's cookies (session id, CSRF secret), as its jar holds them.
      const jar = (browser as unknown as { jar: { getCookies(access: unknown): { value: string }[] } }).jar;
      const cookies = jar.getCookies(CookieAccessInfo.All).map((c) => c.value);
      assert.ok(cookies.length >= 2, 'the session and CSRF cookies');
      await request(app).delete('/auth/self-service/logout/api').send({ session_token: native.token }).expect(204);
      await browser.get(new URL(body.logout_url).pathname + new URL(body.logout_url).search).expect(303);
      assert.ok(lines.length > 0, 'debug output was captured');
      const output = lines.join('\n');
      const secrets = [native.token, body.logout_token as string];
      for (const value of cookies) {
        const text = decodeURIComponent(value);
        // The signed session cookie `s:<sid>.<signature>`: its sid too.
        secrets.push(text, ...(text.startsWith('s:') ? [text.slice(2).split('.')[0] as string] : []));
      }
      for (const secret of secrets) assert.ok(!output.includes(secret), 'a secret shows in the debug output');
    } finally {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previousNamespaces) createDebug.enable(previousNamespaces);
      console.error = errors;
    }
  });

  it('the sessions list and whoami hold no token of any session', async () => {
    const { app, agent } = makeApp();
    const browser = agent();
    const { authenticator } = await register(browser);
    const native = await signInNative(app, authenticator);
    const { body: logout } = await browser.get('/auth/self-service/logout/browser').set('Accept', 'application/json');
    const listed = JSON.stringify((await browser.get('/auth/sessions').expect(200)).body);
    const listedNative = JSON.stringify(
      (await request(app).get('/auth/sessions').set('X-Session-Token', native.token).expect(200)).body,
    );
    const me = JSON.stringify((await browser.get('/auth/sessions/whoami').expect(200)).body);
    for (const text of [listed, listedNative, me]) {
      assert.ok(!text.includes(native.token));
      assert.ok(!text.includes(logout.logout_token));
      assert.ok(!text.includes(native.token.slice('ory_st_'.length)));
    }
    assert.ok(listed.includes(native.session.id), 'the native session is listed (by its record id only)');
  });

  it("one browser's logout token does not end another session of the same identity", async () => {
    const { agent } = makeApp();
    const laptop = agent();
    const { authenticator } = await register(laptop);
    const phone = agent();
    await signIn(phone, authenticator);
    const { body } = await laptop.get('/auth/self-service/logout/browser').set('Accept', 'application/json');
    const url = new URL(body.logout_url);
    const res = await phone.get(url.pathname + url.search).set('Accept', 'application/json');
    assert.equal(res.status, 403);
    assert.equal(res.body.error.id, 'security_csrf_violation');
    assert.equal(await whoamiStatus(phone), 200);
    assert.equal(await whoamiStatus(laptop), 200);
  });

  it('an X-Session-Token that names no session gives a cookie DELETE no exemption from the Origin rule', async () => {
    const { agent } = makeApp();
    const laptop = agent();
    const { authenticator } = await register(laptop);
    const phone = agent();
    await signIn(phone, authenticator);
    for (const token of ['ory_st_forged', 'x'.repeat(300)]) {
      const res = await laptop
        .delete('/auth/sessions')
        .set('Origin', 'https://evil.example')
        .set('X-Session-Token', token)
        .set('Accept', 'application/json');
      assert.equal(res.status, 403, `${token.slice(0, 12)}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(await whoamiStatus(phone), 200);
  });

  it('a session cookie from before sign-in does not survive it, nor its session-store entry', async () => {
    const { app, agent } = makeApp();
    app.get('/cart', (req, res) => {
      (req.session as unknown as { cart: string }).cart = 'x';
      res.send('ok');
    });
    const browser = agent();
    const { authenticator } = await register(browser);
    await logout(browser);
    const sid = async () =>
      ((await browser.get('/cart')).headers['set-cookie'] as unknown as string[] | undefined)?.find((c) =>
        c.startsWith('sid='),
      );
    const before = await sid();
    assert.ok(before, 'an anonymous session cookie was set');
    const planted = before.split(';')[0] as string;
    await signIn(browser, authenticator);
    // The fixated cookie, replayed by whoever planted it: no session.
    const res = await request(app).get('/auth/sessions/whoami').set('Cookie', planted);
    assert.equal(res.status, 401);
    assert.equal(await whoamiStatus(browser), 200);
  });
});

describe('identifier-first', () => {
  it("step two's assertion is good for its own flow only, not replayed into another flow (probe)", async () => {
    const { agent } = makeApp({ login: { style: 'identifier_first' } });
    const owner = agent();
    const { authenticator, email } = await register(owner);
    await logout(owner);
    const stepTwo = async () => {
      const flow = await initFlow(owner, 'login');
      const res = await owner
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), method: 'identifier_first', identifier: email });
      assert.equal(res.status, 400);
      return res.body as FlowJson;
    };
    const a = await stepTwo();
    const b = await stepTwo();
    const assertion = JSON.stringify(authenticator.get(requestOptionsOf(a), { origin: ORIGIN }));
    const replayed = await owner
      .post(actionPath(b))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(b), passkey_login: assertion });
    assert.equal(replayed.status, 400);
    assert.deepEqual(
      replayed.body.ui.messages.map((m: { id: number }) => m.id),
      [4000043],
    );
    assert.equal(await whoamiStatus(owner), 401);
    const own = await owner
      .post(actionPath(a))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(a), passkey_login: assertion });
    assert.equal(own.status, 200, JSON.stringify(own.body));
  });
});
