// My sessions (SPEC §8): GET /sessions (current excluded, newest first, pages, headers), DELETE /sessions/{id},
// DELETE /sessions, the Origin rule for cookie-authenticated DELETEs, native tokens, devices in session JSON.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { type Agent, makeApp, ORIGIN, RP, register } from './helpers/app.js';
import {
  FIREFOX_LINUX,
  SAFARI_IPHONE,
  type SessionJson,
  signIn,
  signInNative,
  whoamiStatus,
} from './helpers/sessions.js';

/** An identity registered on `main`, signed in on `others` more agents; every agent, in sign-in order. */
async function signedInOn(others: number, overrides: Parameters<typeof makeApp>[0] = {}) {
  const built = makeApp(overrides);
  const main = built.agent();
  const { authenticator, body } = await register(main);
  const agents: Agent[] = [];
  const sessions: SessionJson[] = [];
  for (let i = 0; i < others; i++) {
    const agent = built.agent();
    const signed = await signIn(agent, authenticator, { userAgent: i % 2 ? FIREFOX_LINUX : SAFARI_IPHONE });
    agents.push(agent);
    sessions.push(signed.session);
  }
  return { ...built, main, authenticator, identityId: body.identity.id as string, agents, sessions };
}

const list = (agent: Agent, query = '') => agent.get(`/auth/sessions${query}`).set('Accept', 'application/json');

/** `Link` header → `{ first, next }` URLs. */
function links(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(',')) {
    const match = part.match(/<([^>]+)>;\s*rel="(\w+)"/);
    if (match) out[match[2]!] = match[1]!;
  }
  return out;
}

describe('GET /sessions', () => {
  it('lists the other sessions, newest first, without the current one, with devices, X-Total-Count and Link', async () => {
    const { main, agents, sessions, identityId } = await signedInOn(3);
    const res = await list(main).expect(200);
    const body = res.body as SessionJson[];
    assert.deepEqual(
      body.map((s) => s.id),
      sessions.map((s) => s.id).reverse(),
      'the three other sessions, newest first',
    );
    const me = (await main.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
    assert.ok(!body.some((s) => s.id === me.id), 'the current session is not listed');
    assert.equal(res.headers['x-total-count'], '3');
    const first = links(res.headers.link);
    assert.deepEqual(Object.keys(first), ['first'], 'no rel="next" when everything fits');
    assert.match(first.first!, /^http:\/\/127\.0\.0\.1:\d+\/auth\/sessions\?page_size=250$/, 'absolute, at the mount');
    for (const session of body) {
      assert.equal(session.active, true);
      assert.equal(session.identity.id, identityId);
      assert.equal(session.devices.length, 1);
      assert.match(session.devices[0]!.id, /^[0-9a-f-]{36}$/);
      assert.match(session.devices[0]!.ip_address, /127\.0\.0\.1/);
      assert.equal(session.devices[0]!.location, '');
      assert.deepEqual(
        session.authentication_methods.map((m) => m.method),
        ['passkey'],
      );
      assert.ok(!JSON.stringify(session).includes('credential'), 'no credential id in the session JSON');
    }
    assert.deepEqual(
      body.map((s) => s.devices[0]!.user_agent),
      [SAFARI_IPHONE, FIREFOX_LINUX, SAFARI_IPHONE],
    );
    // From one of the others: the main session is listed, that one is not.
    const fromOther = (await list(agents[0]!).expect(200)).body as SessionJson[];
    assert.ok(fromOther.some((s) => s.id === me.id));
    assert.ok(!fromOther.some((s) => s.id === sessions[0]!.id));
  });

  it('pages with page_size and the opaque page_token of Link rel="next", keeping page_size, until none remain', async () => {
    const { main, sessions } = await signedInOn(5);
    const origin = /^http:\/\/127\.0\.0\.1:\d+$/;
    const seen: string[] = [];
    let url: string | undefined = '/auth/sessions?page_size=2';
    const sizes: number[] = [];
    while (url) {
      const res: request.Response = await main.get(url).expect(200);
      assert.equal(res.headers['x-total-count'], '5', 'X-Total-Count is the whole list, without the current one');
      sizes.push(res.body.length);
      seen.push(...(res.body as SessionJson[]).map((s) => s.id));
      const rel = links(res.headers.link);
      assert.match(rel.first!, /^http:\/\/127\.0\.0\.1:\d+\/auth\/sessions\?page_size=2$/);
      if (rel.next) {
        const next = new URL(rel.next);
        assert.match(next.origin, origin, 'absolute');
        assert.equal(next.pathname, '/auth/sessions', 'at the mount path');
        assert.equal(next.searchParams.get('page_size'), '2', 'keeps page_size');
        url = next.pathname + next.search;
      } else url = undefined;
    }
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, sessions.map((s) => s.id).reverse(), 'every session once, newest first');
    // An exact multiple: no rel="next" on the last full page.
    const two = await main.get('/auth/sessions?page_size=5').expect(200);
    assert.equal(two.body.length, 5);
    assert.equal(links(two.headers.link).next, undefined);
  });

  it('refuses a bad page_size or page_token with 400, and answers 401 without a session', async () => {
    const { main, agent } = await signedInOn(2);
    for (const size of ['0', '-1', '501', 'abc', '1.5', '', '1e2', '250&page_size=3']) {
      const res = await list(main, `?page_size=${size}`);
      assert.equal(res.status, 400, `page_size=${size}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.id, 'bad_request');
    }
    await list(main, '?page_size=500').expect(200);
    await list(main, '?page_size=1').expect(200);
    const first = await list(main, '?page_size=1').expect(200);
    const token = new URL(links(first.headers.link).next!).searchParams.get('page_token')!;
    await list(main, `?page_token=${token}`).expect(200);
    const tampered = Buffer.from(
      Buffer.from(token, 'base64url')
        .toString()
        .replace(/"i":"[^"]+"/, '"i":"not-a-uuid"'),
    ).toString('base64url');
    for (const bad of ['x', 'eyJ0Ijox', tampered, `${token}AA`, Buffer.from('{"t":1,"i":"a"}').toString('base64url')]) {
      const res = await list(main, `?page_token=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, `page_token=${bad}`);
    }
    const anonymous = await list(agent());
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.id, 'session_inactive');
  });

  it('records the IP (trust proxy applies) and the Cloudflare location of each sign-in', async () => {
    const built = makeApp();
    built.app.set('trust proxy', true);
    const main = built.agent();
    const { authenticator } = await register(main);
    const other = built.agent();
    const signed = await signIn(other, authenticator, {
      userAgent: FIREFOX_LINUX,
      headers: { 'X-Forwarded-For': '203.0.113.9', 'Cf-Ipcity': 'Zürich', 'Cf-Ipcountry': 'CH' },
    });
    assert.deepEqual(
      { ...signed.session.devices[0], id: '' },
      { id: '', ip_address: '203.0.113.9', user_agent: FIREFOX_LINUX, location: 'Zürich, CH' },
      'the login success JSON carries the device',
    );
    const third = built.agent();
    const onlyCountry = await signIn(third, authenticator, { headers: { 'Cf-Ipcountry': 'DE' } });
    assert.equal(onlyCountry.session.devices[0]!.location, 'DE');
    const who = (await other.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
    assert.deepEqual(who.devices, signed.session.devices, 'whoami carries the devices too');
  });
});

describe('DELETE /sessions/{id}', () => {
  it('revokes another session of the identity (204): its next request is anonymous', async () => {
    const { main, agents, sessions } = await signedInOn(2);
    await main.delete(`/auth/sessions/${sessions[0]!.id}`).expect(204);
    assert.equal(await whoamiStatus(agents[0]!), 401, 'the ended browser');
    assert.equal(await whoamiStatus(agents[1]!), 200, 'the other one goes on');
    assert.equal(await whoamiStatus(main), 200);
    const listed = (await list(main).expect(200)).body as SessionJson[];
    assert.deepEqual(
      listed.map((s) => s.id),
      [sessions[1]!.id],
    );
    // Its settings flow and its own list are refused too.
    const settings = await agents[0]!.get('/auth/self-service/settings/browser').set('Accept', 'application/json');
    assert.equal(settings.status, 401);
    assert.equal((await list(agents[0]!)).status, 401);
  });

  it('refuses the current session: 400 with "cannot revoke current session" and the logout hint', async () => {
    const { main } = await signedInOn(1);
    const me = (await main.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
    const res = await main.delete(`/auth/sessions/${me.id}`).expect(400);
    assert.equal(res.body.error.id, 'bad_request');
    assert.equal(res.body.error.code, 400);
    assert.equal(res.body.error.message, 'cannot revoke current session');
    assert.equal(res.body.error.debug, 'use the logout flow instead');
    assert.equal(await whoamiStatus(main), 200, 'still signed in');
  });

  it('answers 204 and changes nothing for an unknown id, a revoked one, or another identity’s session', async () => {
    const { main, agents, sessions, app } = await signedInOn(1);
    // Another identity, on the same app.
    const otherAgent = request.agent(app);
    await register(otherAgent);
    const theirs = (await otherAgent.get('/auth/sessions/whoami').expect(200)).body as SessionJson;
    await main.delete(`/auth/sessions/${theirs.id}`).expect(204);
    assert.equal(await whoamiStatus(otherAgent), 200, 'another identity’s session is untouched');
    await main.delete('/auth/sessions/7b0a6c8e-0000-4000-8000-000000000000').expect(204);
    await main.delete('/auth/sessions/not-even-a-uuid').expect(204);
    await main.delete(`/auth/sessions/${sessions[0]!.id}`).expect(204);
    await main.delete(`/auth/sessions/${sessions[0]!.id}`).expect(204);
    assert.equal(await whoamiStatus(agents[0]!), 401);
    assert.equal(await whoamiStatus(main), 200);
  });

  it('answers 401 without a session', async () => {
    const { sessions, agent } = await signedInOn(1);
    const res = await agent().delete(`/auth/sessions/${sessions[0]!.id}`);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.id, 'session_inactive');
  });
});

describe('DELETE /sessions', () => {
  it('revokes every other session and answers the count of those in force; the current one stays', async () => {
    const { main, agents, store, identityId } = await signedInOn(3);
    // One already revoked, one expired: not counted.
    await main.delete(`/auth/sessions/${(await agents[0]!.get('/auth/sessions/whoami')).body.id}`).expect(204);
    const expiring = (await agents[1]!.get('/auth/sessions/whoami')).body.id as string;
    assert.equal(await store.extendSession(expiring, new Date(Date.now() - 1000)), true);
    const res = await main.delete('/auth/sessions').expect(200);
    assert.deepEqual(res.body, { count: 1 });
    for (const agent of agents) assert.equal(await whoamiStatus(agent), 401);
    assert.equal(await whoamiStatus(main), 200);
    assert.deepEqual((await main.delete('/auth/sessions').expect(200)).body, { count: 0 });
    const live = await store.listSessions(identityId, { limit: 10, active: true });
    assert.equal(live.length, 1, 'only the current session is in force');
  });
});

describe('the Origin rule for cookie-authenticated DELETEs', () => {
  it('refuses a foreign or null Origin with 403 security_csrf_violation and revokes nothing', async () => {
    const { main, agents, sessions } = await signedInOn(2);
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3001', `${ORIGIN}/`]) {
      const one = await main.delete(`/auth/sessions/${sessions[0]!.id}`).set('Origin', origin);
      assert.equal(one.status, 403, origin);
      assert.equal(one.body.error.id, 'security_csrf_violation');
      const all = await main.delete('/auth/sessions').set('Origin', origin);
      assert.equal(all.status, 403, origin);
      assert.equal(all.body.error.id, 'security_csrf_violation');
    }
    for (const agent of agents) assert.equal(await whoamiStatus(agent), 200, 'nothing was revoked');
    // The app's own origin, or no Origin at all (Ory's SDK on a server): allowed.
    await main.delete(`/auth/sessions/${sessions[0]!.id}`).set('Origin', ORIGIN).expect(204);
    await main.delete(`/auth/sessions/${sessions[1]!.id}`).expect(204);
    for (const agent of agents) assert.equal(await whoamiStatus(agent), 401);
  });

  it('accepts a related origin', async () => {
    const { main, agents, sessions } = await signedInOn(1, {
      rp: { ...RP, relatedOrigins: ['https://example-shop.com'] },
    });
    await main.delete(`/auth/sessions/${sessions[0]!.id}`).set('Origin', 'https://example-shop.com').expect(204);
    assert.equal(await whoamiStatus(agents[0]!), 401);
  });

  it('exempts requests authenticated by X-Session-Token', async () => {
    const { app, authenticator, agents } = await signedInOn(2);
    const { token } = await signInNative(app, authenticator);
    const res = await request(app)
      .delete('/auth/sessions')
      .set('X-Session-Token', token)
      .set('Origin', 'https://evil.example')
      .expect(200);
    assert.equal(res.body.count, 3, 'the two browsers and the registering one');
    for (const agent of agents) assert.equal(await whoamiStatus(agent), 401);
  });
});

describe('native apps (X-Session-Token)', () => {
  it('list, revoke one and revoke the others with a session token; a revoked token is refused everywhere', async () => {
    const { app, main, authenticator, agents, sessions } = await signedInOn(1);
    const native = await signInNative(app, authenticator);
    assert.equal(native.session.devices[0]!.user_agent, 'ExampleApp/2.1 (iOS 18.1)');
    const listed = await request(app).get('/auth/sessions').set('X-Session-Token', native.token).expect(200);
    assert.equal(listed.headers['x-total-count'], '2');
    assert.ok(!(listed.body as SessionJson[]).some((s) => s.id === native.session.id), 'its own is excluded');
    await request(app).delete(`/auth/sessions/${sessions[0]!.id}`).set('X-Session-Token', native.token).expect(204);
    assert.equal(await whoamiStatus(agents[0]!), 401);
    const self = await request(app)
      .delete(`/auth/sessions/${native.session.id}`)
      .set('X-Session-Token', native.token)
      .expect(400);
    assert.equal(self.body.error.message, 'cannot revoke current session');
    // The browser ends the app's session: the token is refused at its next request.
    await main.delete(`/auth/sessions/${native.session.id}`).expect(204);
    await request(app).get('/auth/sessions/whoami').set('X-Session-Token', native.token).expect(401);
    await request(app).get('/auth/sessions').set('X-Session-Token', native.token).expect(401);
    await request(app).get('/auth/self-service/settings/api').set('X-Session-Token', native.token).expect(401);
  });

  it('an invalid token is 401', async () => {
    const { app } = await signedInOn(0);
    await request(app).get('/auth/sessions').set('X-Session-Token', 'ory_st_nope').expect(401);
    await request(app).delete('/auth/sessions').set('X-Session-Token', 'ory_st_nope').expect(401);
  });
});
