// Related Origin Requests (SPEC §7): `rp.relatedOrigins` checked at config time, `auth.wellKnown`, and ceremonies from
// a related origin accepted (the RP ID hash staying `rp.id`'s) while an unlisted origin is refused.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

const RP = {
  id: 'example.com',
  displayName: 'Example',
  origins: ['https://example.com', 'https://app.example.com'],
  relatedOrigins: ['https://example.org', 'https://shop.example-store.de:8443'],
};

const make = (rp: Record<string, unknown>) =>
  passkeys({ rp: { ...RP, ...rp } as PasskeysOptions['rp'], store: new MemoryStore() });

function throwsNaming(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TypeError, `a TypeError, got ${String(error)}`);
    assert.match(error.message, /`rp\.relatedOrigins`/);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('rp.relatedOrigins: checked when the factory is called', () => {
  it('refuses http origins, localhost included', () => {
    throwsNaming(() => make({ relatedOrigins: ['http://example.org'] }), /must use https/);
    throwsNaming(() => make({ relatedOrigins: ['http://other.localhost:3000'] }), /must use https/);
  });

  it('refuses garbage, paths, IP addresses, localhost and public suffixes', () => {
    throwsNaming(() => make({ relatedOrigins: ['not a url'] }), /is not a URL/);
    throwsNaming(() => make({ relatedOrigins: ['example.org'] }), /is not a URL/);
    throwsNaming(() => make({ relatedOrigins: ['https://example.org/login'] }), /origin only/);
    throwsNaming(() => make({ relatedOrigins: ['https://example.org/'] }), /origin only/);
    throwsNaming(() => make({ relatedOrigins: ['https://user@example.org'] }), /origin only/);
    throwsNaming(() => make({ relatedOrigins: ['https://192.0.2.1'] }), /no registrable domain/);
    throwsNaming(() => make({ relatedOrigins: ['https://[2001:db8::1]'] }), /no registrable domain/);
    throwsNaming(() => make({ relatedOrigins: ['https://localhost:8443'] }), /no registrable domain/);
    throwsNaming(() => make({ relatedOrigins: ['https://co.uk'] }), /no registrable domain/);
    throwsNaming(() => make({ relatedOrigins: ['https://github.io'] }), /no registrable domain/);
  });

  it('refuses a non-array and non-string entries, naming the option', () => {
    assert.throws(() => make({ relatedOrigins: 'https://example.org' }), /`rp\.relatedOrigins` must be array/);
    assert.throws(() => make({ relatedOrigins: [42] }), /`rp\.relatedOrigins\.0` must be string/);
  });

  it('at most 5 distinct registrable-domain labels, counted as browsers count them', () => {
    // Five labels over eight origins: subdomains, other TLDs and private suffixes of one label count once.
    const five = [
      'https://example.org',
      'https://www.example.co.uk',
      'https://example.de',
      'https://alpha.com',
      'https://beta.net',
      'https://gamma.io',
      'https://shop.gamma.github.io',
      'https://epsilon.app',
    ];
    assert.doesNotThrow(() => make({ relatedOrigins: five }));
    throwsNaming(() => make({ relatedOrigins: [...five, 'https://delta.dev'] }), /6 registrable-domain labels/);
    throwsNaming(
      () =>
        make({
          relatedOrigins: [
            'https://a.com',
            'https://b.com',
            'https://c.com',
            'https://d.com',
            'https://e.com',
            'https://f.com',
          ],
        }),
      /6 registrable-domain labels \(a, b, c, d, e, f\); browsers use at most 5/,
    );
  });

  it("accepts Kratos's snake_case key and drops duplicates, keeping the order", async () => {
    const store = new MemoryStore();
    const auth = passkeys({
      rp: {
        id: 'example.com',
        display_name: 'Example',
        origins: ['https://example.com'],
        related_origins: ['https://example.org', 'https://example.de', 'https://example.org'],
      } as unknown as PasskeysOptions['rp'],
      store,
    });
    const app = express().get('/.well-known/webauthn', auth.wellKnown);
    const res = await request(app).get('/.well-known/webauthn').expect(200);
    assert.deepEqual(res.body, { origins: ['https://example.org', 'https://example.de'] });
  });
});

describe('auth.wellKnown', () => {
  it('serves {"origins": [...]} as application/json with a cache header', async () => {
    const auth = make({});
    const app = express().get('/.well-known/webauthn', auth.wellKnown);
    const res = await request(app).get('/.well-known/webauthn').expect(200);
    assert.match(String(res.headers['content-type']), /^application\/json(; charset=utf-8)?$/);
    assert.equal(res.headers['cache-control'], 'public, max-age=3600');
    assert.equal(res.text, '{"origins":["https://example.org","https://shop.example-store.de:8443"]}');
    const head = await request(app).head('/.well-known/webauthn').expect(200);
    assert.match(String(head.headers['content-type']), /^application\/json/);
  });

  it('serves an empty list when no related origins are configured', async () => {
    const auth = passkeys({
      rp: { id: 'example.com', displayName: 'x', origins: ['https://example.com'] },
      store: new MemoryStore(),
    });
    const res = await request(express().get('/.well-known/webauthn', auth.wellKnown)).get('/.well-known/webauthn');
    assert.deepEqual(res.body, { origins: [] });
  });
});

// ---- ceremonies -----------------------------------------------------------------------------------------------

function makeApp() {
  const store = new MemoryStore();
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use('/auth', passkeys({ rp: RP, store }));
  const server = app.listen(0, '127.0.0.1');
  server.unref();
  return { store, agent: () => request.agent(server) as Agent };
}

function submit(a: Agent, flow: FlowJson, body: Record<string, unknown>, origin?: string) {
  const req = a.post(actionPath(flow)).set('Accept', 'application/json');
  if (origin) req.set('Origin', origin);
  return req.send({ csrf_token: csrfOf(flow), method: 'passkey', ...body });
}

async function registerFrom(a: Agent, origin: string, email = `u${Math.random().toString(36).slice(2)}@example.com`) {
  const authenticator = new SoftwareAuthenticator();
  const flow = await initFlow(a, 'registration');
  const credential = authenticator.create(creationOptionsOf(flow), { origin });
  const res = await submit(a, flow, { traits: { email }, passkey_register: JSON.stringify(credential) }, origin);
  return { res, authenticator, credential };
}

async function loginFrom(a: Agent, authenticator: SoftwareAuthenticator, origin: string, ctx: { rpId?: string } = {}) {
  const flow = await initFlow(a, 'login');
  const assertion = authenticator.get(requestOptionsOf(flow), { origin, ...ctx });
  return submit(a, flow, { passkey_login: JSON.stringify(assertion) }, origin);
}

describe('ceremonies from related origins', () => {
  it('registration, sign-in and adding a passkey from a related origin are accepted; the RP ID stays rp.id', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    assert.equal(creationOptionsOf(flow).rp.id, 'example.com');
    const { res, authenticator } = await registerFrom(a, 'https://example.org');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.session);
    // A new session, signing in from the other related origin (with a port).
    const b = agent();
    const signedIn = await loginFrom(b, authenticator, 'https://shop.example-store.de:8443');
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.session.identity.id, res.body.identity.id);
    const settings = await initFlow(b, 'settings');
    assert.equal(creationOptionsOf(settings).rp.id, 'example.com');
    const second = new SoftwareAuthenticator();
    const added = second.create(creationOptionsOf(settings), { origin: 'https://example.org' });
    const afterAdd = await submit(
      b,
      settings,
      { passkey_settings_register: JSON.stringify(added) },
      'https://example.org',
    );
    assert.equal(afterAdd.status, 200, JSON.stringify(afterAdd.body));
    assert.equal((await store.listPasskeys(res.body.identity.id)).length, 2);
    // rp.origins keep working.
    assert.equal((await loginFrom(agent(), second, 'https://app.example.com')).status, 200);
  });

  it('an origin that is neither in rp.origins nor in rp.relatedOrigins is refused in every ceremony', async () => {
    const { agent } = makeApp();
    const evil = 'https://example.net';
    const a = agent();
    // The CSRF-check's Origin header is not sent here: the ceremony's own origin (client data) is what is refused.
    const authenticator = new SoftwareAuthenticator();
    const flow = await initFlow(a, 'registration');
    const credential = authenticator.create(creationOptionsOf(flow), { origin: evil });
    const reg = await submit(a, flow, {
      traits: { email: 'evil@example.com' },
      passkey_register: JSON.stringify(credential),
    });
    assert.equal(reg.status, 400);
    assert.equal(reg.body.ui.messages[0].id, 4000001);
    assert.match(reg.body.ui.messages[0].text, /origin that is not allowed/);

    const { res, authenticator: good } = await registerFrom(a, 'https://example.org');
    assert.equal(res.status, 200);
    const b = agent();
    const loginFlow = await initFlow(b, 'login');
    const assertion = good.get(requestOptionsOf(loginFlow), { origin: evil });
    const login = await submit(b, loginFlow, { passkey_login: JSON.stringify(assertion) });
    assert.equal(login.status, 400);
    assert.equal(login.body.ui.messages[0].id, 4000043);
    await b.get('/auth/sessions/whoami').expect(401);

    const settings = await initFlow(a, 'settings');
    const added = new SoftwareAuthenticator().create(creationOptionsOf(settings), { origin: evil });
    const add = await submit(a, settings, { passkey_settings_register: JSON.stringify(added) });
    assert.equal(add.status, 400);
    assert.match(add.body.ui.messages[0].text, /origin that is not allowed/);
  });

  it('a related origin does not change the RP ID: an assertion hashed for the related domain is refused', async () => {
    const { agent } = makeApp();
    const { res, authenticator } = await registerFrom(agent(), 'https://example.com');
    assert.equal(res.status, 200);
    const login = await loginFrom(agent(), authenticator, 'https://example.org', { rpId: 'example.org' });
    assert.equal(login.status, 400);
    assert.equal(login.body.ui.messages[0].id, 4000043);
  });

  it('the browser-POST Origin check accepts related origins and refuses others (403)', async () => {
    const { agent } = makeApp();
    for (const origin of ['https://example.org', 'https://shop.example-store.de:8443', 'https://example.com']) {
      const a = agent();
      const flow = await initFlow(a, 'login');
      const res = await submit(a, flow, { identifier: 'nobody@example.com' }, origin);
      assert.equal(res.status, 400, `${origin}: past the CSRF check, refused as an unknown account`);
      assert.equal(res.body.ui.messages[0].id, 4000015);
    }
    for (const origin of ['https://example.net', 'http://example.org', 'https://example.org:444', 'null']) {
      const a = agent();
      const flow = await initFlow(a, 'login');
      const res = await submit(a, flow, { identifier: 'nobody@example.com' }, origin);
      assert.equal(res.status, 403, origin);
      assert.equal(res.body.error.id, 'security_csrf_violation');
    }
  });
});
