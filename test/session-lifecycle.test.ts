// Session lifecycle (SPEC §8): logout revokes the record; recovery (code over real SMTP) revokes the others; a sign-in
// may revoke the others; removing a passkey ends the sessions it signed in or refreshed; lifespans; the record gate
// for requireSession() and auth.getIdentity.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { nodemailerCourier } from '../examples/basic/mailer.js';
import { MemoryStore, passkeys, requireSession } from '../src/index.js';
import { type Agent, initFlow, logout, makeApp, RP, register } from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { initCodeFlow, postCode, SECRET } from './helpers/codes.js';
import {
  addPasskey,
  FIREFOX_LINUX,
  removePasskey,
  SAFARI_IPHONE,
  type SessionJson,
  signIn,
  signInNative,
  whoamiStatus,
} from './helpers/sessions.js';
import { codeFrom, type Inbox, startSmtp } from './helpers/smtp.js';

const whoami = async (agent: Agent) => (await agent.get('/auth/sessions/whoami').expect(200)).body as SessionJson;

describe('logout revokes the record', () => {
  it('browser logout: the record is revoked, not only the cookie session destroyed', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    await register(a);
    const me = await whoami(a);
    await logout(a);
    assert.equal((await store.getSession(me.id))?.active, false);
    assert.equal(await whoamiStatus(a), 401);
  });

  it('native logout: the token’s record is revoked', async () => {
    const { agent, store, app } = makeApp();
    const a = agent();
    const { authenticator } = await register(a);
    const native = await signInNative(app, authenticator);
    await request(app).delete('/auth/self-service/logout/api').send({ session_token: native.token }).expect(204);
    assert.equal((await store.getSession(native.session.id))?.active, false);
    await request(app).get('/auth/sessions/whoami').set('X-Session-Token', native.token).expect(401);
    // Listed no more from the browser.
    const listed = (await a.get('/auth/sessions').expect(200)).body as SessionJson[];
    assert.ok(!listed.some((s) => s.id === native.session.id));
  });
});

describe('recovery revokes the other sessions (code by real SMTP)', () => {
  let inbox: Inbox;
  before(async () => {
    inbox = await startSmtp();
  });
  after(() => inbox.close());

  async function recover(agent: Agent, email: string) {
    const flow = await initCodeFlow(agent, 'recovery');
    const sent = await postCode(agent, flow, { method: 'code', email });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const mail = await inbox.waitForMail(email, { match: (m) => m.subject === 'Your account recovery code' });
    const done = await postCode(agent, sent.body, { method: 'code', code: codeFrom(mail) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.state, 'passed_challenge');
    return done;
  }

  for (const revoke of [undefined, false] as const) {
    it(`recovery.revokeOtherSessions ${revoke === undefined ? 'unset (default on)' : 'false'}`, async () => {
      const built = makeApp({
        courier: nodemailerCourier(inbox.url),
        secrets: [SECRET],
        ...(revoke === undefined ? {} : { recovery: { revokeOtherSessions: revoke } }),
      });
      const laptop = built.agent();
      const email = `lost${Math.random().toString(36).slice(2)}@example.com`;
      const { authenticator } = await register(laptop, email);
      const phone = built.agent();
      await signIn(phone, authenticator, { userAgent: SAFARI_IPHONE });
      const native = await signInNative(built.app, authenticator);
      // The user lost both; on a new device they recover by code.
      const fresh = built.agent();
      await recover(fresh, email);
      const recovered = await whoami(fresh);
      assert.deepEqual(
        recovered.authentication_methods.map((m) => m.method),
        ['code_recovery'],
      );
      const expected = revoke === false ? 200 : 401;
      assert.equal(await whoamiStatus(laptop), expected, 'the laptop');
      assert.equal(await whoamiStatus(phone), expected, 'the phone');
      const token = await request(built.app).get('/auth/sessions/whoami').set('X-Session-Token', native.token);
      assert.equal(token.status, expected, 'the native app');
      const others = (await fresh.get('/auth/sessions').expect(200)).body as SessionJson[];
      assert.equal(others.length, revoke === false ? 3 : 0);
    });
  }
});

describe('login.revokeOtherSessions', () => {
  it('off by default; on, every sign-in revokes the identity’s other sessions', async () => {
    for (const on of [false, true]) {
      const built = makeApp(on ? { login: { revokeOtherSessions: true } } : {});
      const first = built.agent();
      const { authenticator } = await register(first);
      const second = built.agent();
      await signIn(second, authenticator);
      assert.equal(await whoamiStatus(first), on ? 401 : 200);
      assert.equal(await whoamiStatus(second), 200);
      const native = await signInNative(built.app, authenticator);
      assert.equal(await whoamiStatus(second), on ? 401 : 200, 'a native sign-in too');
      await request(built.app).get('/auth/sessions/whoami').set('X-Session-Token', native.token).expect(200);
    }
  });

  it('accepts snake_case and refuses a non-boolean at config time', () => {
    assert.doesNotThrow(() =>
      passkeys({
        rp: RP,
        store: new MemoryStore(),
        login: { revoke_other_sessions: true },
        settings: { revoke_sessions_of_removed_passkey: false },
        session_check_cache_ms: 0,
      } as never),
    );
    assert.throws(
      () => passkeys({ rp: RP, store: new MemoryStore(), login: { revokeOtherSessions: 'yes' } } as never),
      /login\.revokeOtherSessions/,
    );
    assert.throws(
      () => passkeys({ rp: RP, store: new MemoryStore(), settings: { revokeSessionsOfRemovedPasskey: 1 } } as never),
      /settings\.revokeSessionsOfRemovedPasskey/,
    );
    assert.throws(
      () => passkeys({ rp: RP, store: new MemoryStore(), sessionCheckCacheMs: -5 } as never),
      /sessionCheckCacheMs/,
    );
    assert.throws(
      () => passkeys({ rp: RP, store: new MemoryStore(), login: { revokeOthers: true } } as never),
      /login/,
    );
  });
});

describe('removing a passkey ends the sessions that used it', () => {
  it('revokes the other sessions any sign-in of which (a refresh included) used it; the current one stays', async () => {
    const built = makeApp();
    const laptop = built.agent();
    const laptopKey = new SoftwareAuthenticator();
    await register(laptop, undefined, { authenticator: laptopKey });
    const phoneKey = new SoftwareAuthenticator();
    const phoneCredential = await addPasskey(laptop, phoneKey);
    // The phone signs in with its passkey; a tablet with the laptop's; a desktop with the laptop's, then refreshes
    // with the phone's; a native app with the phone's.
    const phone = built.agent();
    await signIn(phone, phoneKey, { userAgent: SAFARI_IPHONE });
    const tablet = built.agent();
    await signIn(tablet, laptopKey, { userAgent: FIREFOX_LINUX });
    const desktop = built.agent();
    await signIn(desktop, laptopKey);
    const refreshed = await signIn(desktop, phoneKey, { refresh: true });
    assert.deepEqual(
      refreshed.session.authentication_methods.map((m) => m.method),
      ['passkey', 'passkey'],
      'a refresh appends a method',
    );
    assert.equal(refreshed.session.devices.length, 2, 'and a device');
    const native = await signInNative(built.app, phoneKey);
    // Signed in with the phone's passkey on the laptop too: the current session is never ended by its own removal.
    await signIn(laptop, phoneKey, { refresh: true });
    const res = await removePasskey(laptop, phoneCredential);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await whoamiStatus(phone), 401, 'the phone');
    assert.equal(await whoamiStatus(desktop), 401, 'the desktop that refreshed with it');
    await request(built.app).get('/auth/sessions/whoami').set('X-Session-Token', native.token).expect(401);
    assert.equal(await whoamiStatus(tablet), 200, 'the tablet never used it');
    assert.equal(await whoamiStatus(laptop), 200, 'the session that removed it');
  });

  it('settings.revokeSessionsOfRemovedPasskey: false leaves them', async () => {
    const built = makeApp({ settings: { revokeSessionsOfRemovedPasskey: false } });
    const laptop = built.agent();
    await register(laptop);
    const phoneKey = new SoftwareAuthenticator();
    const phoneCredential = await addPasskey(laptop, phoneKey);
    const phone = built.agent();
    await signIn(phone, phoneKey);
    assert.equal((await removePasskey(laptop, phoneCredential)).status, 200);
    assert.equal(await whoamiStatus(phone), 200);
  });
});

describe('the record is the session', () => {
  it('lifespans.session is the record’s lifetime; an expired or missing record is no session', async () => {
    const { agent, store } = makeApp({ lifespans: { session: '2h' } });
    const a = agent();
    await register(a);
    const me = await whoami(a);
    const record = await store.getSession(me.id);
    assert.ok(record);
    assert.equal(record.expiresAt.getTime() - record.issuedAt.getTime(), 2 * 60 * 60 * 1000);
    assert.equal(me.expires_at, record.expiresAt.toISOString());
    // Extended in the store (an admin, on any instance): whoami shows it at once.
    const later = new Date(Date.now() + 5 * 60 * 60 * 1000);
    await store.extendSession(me.id, later);
    assert.equal((await whoami(a)).expires_at, later.toISOString());
    await store.extendSession(me.id, new Date(Date.now() - 1));
    assert.equal(await whoamiStatus(a), 401, 'expired');
    const b = agent();
    await register(b);
    const other = await whoami(b);
    await store.deleteSessions(other.identity.id);
    assert.equal(await whoamiStatus(b), 401, 'missing');
  });

  it('requireSession(), auth.requireSession() and auth.getIdentity refuse a revoked session, cookie or token', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
    const auth = passkeys({ rp: RP, store });
    app.use('/auth', auth);
    app.get('/free', requireSession(), (_req, res) => {
      res.json({ id: res.locals.passkeysSession?.id });
    });
    app.get('/bound', auth.requireSession(), (_req, res) => {
      res.json({ id: res.locals.passkeysSession?.id });
    });
    app.get('/me', async (req, res) => {
      res.json({ identity: (await auth.getIdentity(req))?.id ?? null });
    });
    app.get('/others', async (req, res) => {
      res.json(await auth.listSessions(req));
    });
    const a = request.agent(app);
    const { authenticator, body } = await register(a);
    const native = await signInNative(app, authenticator);
    for (const path of ['/free', '/bound']) {
      assert.equal((await a.get(path).expect(200)).body.id, body.session.id);
      await request(app).get(path).set('X-Session-Token', native.token).expect(200);
    }
    assert.equal((await a.get('/me').expect(200)).body.identity, body.identity.id);
    const others = (await a.get('/others').expect(200)).body;
    assert.deepEqual(
      others.map((o: { id: string }) => o.id),
      [native.session.id],
      'auth.listSessions: the other sessions, not the current one',
    );
    assert.equal(others[0].devices[0].userAgent, 'ExampleApp/2.1 (iOS 18.1)');
    assert.ok(!JSON.stringify(others).includes('credential'));
    assert.equal(await store.revokeSessions(body.identity.id), 2);
    assert.deepEqual((await a.get('/others').expect(200)).body, [], 'no session: []');
    for (const path of ['/free', '/bound']) {
      assert.equal((await a.get(path)).status, 401, `${path} with the cookie`);
      await request(app).get(path).set('X-Session-Token', native.token).expect(401);
    }
    assert.equal((await a.get('/me').expect(200)).body.identity, null);
  });

  it('the free requireSession() finds the session of a router made before another one', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
    app.use('/auth', passkeys({ rp: RP, store }));
    app.get('/free', requireSession(), (_req, res) => {
      res.json({ ok: true });
    });
    const a = request.agent(app);
    await register(a);
    // Another app in this process makes a router later, with a store of its own.
    passkeys({ rp: RP, store: new MemoryStore() });
    await a.get('/free').expect(200);
  });

  it('a cookie session without a record (issued before records existed) is no session', async () => {
    const { app } = makeApp();
    // What an earlier version left in express-session: the pointer fields, and no record in the store.
    app.get('/plant', (req, res) => {
      req.session.passkeys = {
        id: '0b6f0b3e-0000-4000-8000-000000000000',
        identityId: '0b6f0b3e-0000-4000-8000-000000000001',
        authenticatedAt: Date.now(),
        issuedAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        logoutToken: 'old',
      };
      res.end();
    });
    const a = request.agent(app);
    await a.get('/plant').expect(200);
    assert.equal(await whoamiStatus(a), 401);
    await a.get('/auth/self-service/logout/browser').set('Accept', 'application/json').expect(401);
    // And the login flow does not take it for a session.
    assert.equal((await initFlow(a, 'login')).type, 'browser');
  });
});
