// Administration (SPEC §8): `auth.admin` in code and `auth.adminRouter()` over HTTP. Identities created, imported from
// a hand-written SimpleWebAuthn setup and signed in with, paged, patched, disabled, deleted with everything that hangs
// off them; recovery codes from the admin API completed through the normal recovery flow.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  DuplicateIdentifierError,
  type FlowRecord,
  IdentityNotFoundError,
  type JsonValue,
  MemoryStore,
  passkeys,
  SessionNotFoundError,
  type Store,
  ValidationError,
} from '../src/index.js';
import { makeAdminApp, simpleWebAuthnRegistration } from './helpers/admin.js';
import type { Agent } from './helpers/app.js';
import { actionPath, csrfOf, type FlowJson, initFlow, login, node, ORIGIN, RP, register } from './helpers/app.js';
import { coseEncodePublicKey, SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CborValue, encodeCbor } from './helpers/cbor.js';
import { messageIds } from './helpers/codes.js';

async function rejects<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

describe('auth.admin.createIdentity', () => {
  it('validates traits against the schema with Kratos ids; invalid states and duplicates are typed errors', async () => {
    const { auth, store } = makeAdminApp();
    const missing = await rejects(auth.admin.createIdentity({ traits: {} }), ValidationError);
    assert.equal(missing.code, 'ERR_PASSKEYS_VALIDATION');
    assert.deepEqual(
      missing.messages.map((m) => [m.id, m.path]),
      [[4000002, 'traits.email']],
    );
    const malformed = await rejects(auth.admin.createIdentity({ traits: { email: 'not an email' } }), ValidationError);
    assert.equal(malformed.messages[0]?.id, 4000001);
    const state = await rejects(
      auth.admin.createIdentity({ traits: { email: 'a@example.com' }, state: 'blocked' as never }),
      ValidationError,
    );
    assert.equal(
      state.messages[0]?.text,
      "The supplied state ('blocked') was not valid. Valid states are ('active', 'inactive').",
    );
    const created = await auth.admin.createIdentity({
      traits: { email: 'Support@Example.com' },
      state: 'inactive',
      metadataPublic: { plan: 'free' },
      metadataAdmin: { ticket: 42 },
      verifiedAddresses: ['support@example.com'],
    });
    assert.equal(created.state, 'inactive');
    assert.equal(created.identifier, 'support@example.com');
    assert.deepEqual(created.passkeys, []);
    assert.equal(created.verifiableAddresses[0]?.verified, true);
    assert.equal(created.verifiableAddresses[0]?.status, 'completed');
    assert.deepEqual((await store.getIdentity(created.id))?.metadataAdmin, { ticket: 42 });
    await rejects(auth.admin.createIdentity({ traits: { email: 'support@example.com' } }), DuplicateIdentifierError);
    await rejects(
      auth.admin.createIdentity({ traits: { email: 'x@example.com' }, verifiedAddresses: ['y@example.com'] }),
      ValidationError,
    );
    assert.equal(await store.findIdentityByIdentifier('x@example.com'), null, 'nothing written on a refusal');
  });

  it('imports passkeys of a hand-written SimpleWebAuthn setup; their owners sign in usernameless with them', async () => {
    const { auth, agent, store } = makeAdminApp();
    const old = await simpleWebAuthnRegistration('migrated@example.com', new SoftwareAuthenticator({ alg: -8 }));
    const second = await simpleWebAuthnRegistration('migrated@example.com', old.authenticator);
    const identity = await auth.admin.createIdentity({
      traits: { email: 'migrated@example.com' },
      passkeys: [old.row, second.row].map((row) => ({
        id: row.id,
        publicKey: row.publicKey,
        counter: row.counter,
        transports: row.transports,
        userHandle: old.row.webAuthnUserID,
        name: 'Old laptop',
        backupEligible: row.deviceType === 'multiDevice',
        backedUp: row.backedUp,
      })),
    });
    // Two registrations of the old setup had two user handles: each identity of ours has one.
    assert.notEqual(old.row.webAuthnUserID, second.row.webAuthnUserID);
    assert.equal(identity.passkeys.length, 2);
    assert.equal(identity.passkeys[0]?.name, 'Old laptop');
    assert.ok(!('publicKey' in (identity.passkeys[0] as object)), 'no key material in admin records');

    const browser = agent();
    const res = await login(browser, old.authenticator, { credentialId: old.row.id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.session.identity.id, identity.id);
    const used = await store.getPasskey(old.row.id);
    assert.ok(used?.lastUsedAt instanceof Date, 'the sign-in was recorded on the imported passkey');
  });

  it('one shared user handle, else ValidationError; without one a new handle is minted and usernameless sign-in fails', async () => {
    const { auth, agent } = makeAdminApp();
    const a = await simpleWebAuthnRegistration('two@example.com');
    const b = await simpleWebAuthnRegistration('two@example.com');
    const differing = await rejects(
      auth.admin.createIdentity({
        traits: { email: 'two@example.com' },
        passkeys: [
          { id: a.row.id, publicKey: a.row.publicKey, userHandle: a.row.webAuthnUserID },
          { id: b.row.id, publicKey: b.row.publicKey, userHandle: b.row.webAuthnUserID },
        ],
      }),
      ValidationError,
    );
    assert.equal(differing.messages[0]?.path, 'passkeys');
    const minted = await auth.admin.createIdentity({
      traits: { email: 'two@example.com' },
      passkeys: [{ id: a.row.id, publicKey: a.row.publicKey }],
    });
    assert.equal(minted.passkeys.length, 1);
    // The authenticator returns the old handle, which names no identity here: the sign-in is refused.
    const res = await login(agent(), a.authenticator);
    assert.equal(res.status, 400);
    assert.deepEqual(messageIds(res.body), [4000015]);
  });

  it('checks keys as registration does: a truncated key or an algorithm never offered is refused, nothing written', async () => {
    const { auth, store } = makeAdminApp();
    const { row, authenticator } = await simpleWebAuthnRegistration('keys@example.com');
    const soft = authenticator.credential(row.id);
    assert.ok(soft);
    const truncated = Buffer.from(coseEncodePublicKey(soft.publicKey, soft.alg, { truncate: true })).toString(
      'base64url',
    );
    const error = await rejects(
      auth.admin.createIdentity({
        traits: { email: 'keys@example.com' },
        passkeys: [{ id: row.id, publicKey: truncated }],
      }),
      ValidationError,
    );
    assert.equal(error.messages[0]?.path, 'passkeys[0].publicKey');
    const garbage = await rejects(
      auth.admin.createIdentity({
        traits: { email: 'keys@example.com' },
        passkeys: [{ id: row.id, publicKey: Buffer.from('not cbor at all').toString('base64url') }],
      }),
      ValidationError,
    );
    assert.equal(garbage.messages[0]?.path, 'passkeys[0].publicKey');
    // A valid ES384 key: an algorithm the library never offers at registration.
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const es384 = new Map<CborValue, CborValue>([
      [1, 2],
      [3, -35],
      [-1, 2],
      [-2, new Uint8Array(Buffer.from(String(jwk.x), 'base64url'))],
      [-3, new Uint8Array(Buffer.from(String(jwk.y), 'base64url'))],
    ]);
    const unsupported = await rejects(
      auth.admin.createIdentity({
        traits: { email: 'keys@example.com' },
        passkeys: [{ id: row.id, publicKey: Buffer.from(encodeCbor(es384)).toString('base64url') }],
      }),
      ValidationError,
    );
    assert.equal(unsupported.messages[0]?.text, 'The passkey uses an unsupported algorithm.');
    assert.equal(await store.findIdentityByIdentifier('keys@example.com'), null);
    assert.equal(await store.getPasskey(row.id), null);
  });

  it('a passkey imported without backup flags records them at its first sign-in instead of refusing it', async () => {
    const { auth, agent, store } = makeAdminApp();
    const synced = new SoftwareAuthenticator({ backupEligible: true, backedUp: true });
    const { row } = await simpleWebAuthnRegistration('synced@example.com', synced);
    await auth.admin.createIdentity({
      traits: { email: 'synced@example.com' },
      passkeys: [{ id: row.id, publicKey: row.publicKey, userHandle: row.webAuthnUserID }],
    });
    assert.equal((await store.getPasskey(row.id))?.backupFlagsUnknown, true);
    const res = await login(agent(), synced);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const stored = await store.getPasskey(row.id);
    assert.equal(stored?.backupEligible, true);
    assert.equal(stored?.backedUp, true);
    assert.ok(!stored?.backupFlagsUnknown, 'known from now on');
  });
});

describe('auth.admin lookups', () => {
  it('getIdentity answers null for an unknown id; the other methods throw IdentityNotFoundError', async () => {
    const { auth } = makeAdminApp();
    assert.equal(await auth.admin.getIdentity('00000000-0000-4000-8000-000000000000'), null);
    assert.equal(await auth.admin.getIdentity('not a uuid'), null);
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const call of [
      () => auth.admin.updateIdentity(unknown, { state: 'inactive' }),
      () => auth.admin.deleteIdentity(unknown),
      () => auth.admin.createRecoveryCode(unknown),
    ]) {
      const error = await rejects(call(), IdentityNotFoundError);
      assert.equal(error.code, 'ERR_PASSKEYS_IDENTITY_NOT_FOUND');
    }
  });

  it('updateIdentity marks addresses verified or not; an address the traits do not have is a ValidationError', async () => {
    const { auth } = makeAdminApp();
    const created = await auth.admin.createIdentity({ traits: { email: 'mark@example.com' } });
    const marked = await auth.admin.updateIdentity(created.id, { verifiedAddresses: { 'MARK@example.com': true } });
    assert.deepEqual(
      marked.verifiableAddresses.map((a) => [a.value, a.verified, a.status, a.verifiedAt instanceof Date]),
      [['mark@example.com', true, 'completed', true]],
    );
    // With a new email in the same call, the new address is the one to mark; the old one is no longer there.
    const moved = await auth.admin.updateIdentity(created.id, {
      traits: { email: 'moved@example.com' },
      verifiedAddresses: { 'moved@example.com': true },
    });
    assert.deepEqual(
      moved.verifiableAddresses.map((a) => [a.value, a.verified]),
      [['moved@example.com', true]],
    );
    const unmarked = await auth.admin.updateIdentity(created.id, { verifiedAddresses: { 'moved@example.com': false } });
    assert.deepEqual(
      unmarked.verifiableAddresses.map((a) => [a.verified, a.status, a.verifiedAt]),
      [[false, 'pending', null]],
    );
    await rejects(
      auth.admin.updateIdentity(created.id, { state: 'inactive', verifiedAddresses: { 'mark@example.com': true } }),
      ValidationError,
    );
    await rejects(
      auth.admin.updateIdentity(created.id, { verifiedAddresses: { 'moved@example.com': 'yes' as never } }),
      ValidationError,
    );
    assert.equal((await auth.admin.getIdentity(created.id))?.state, 'active', 'a refused update changes nothing');
  });

  it('listIdentities pages by ascending id with opaque tokens, finds by identifier, refuses bad sizes and tokens', async () => {
    const { auth } = makeAdminApp();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await auth.admin.createIdentity({ traits: { email: `p${i}@example.com` } })).id);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await auth.admin.listIdentities({ pageSize: 2, ...(token ? { pageToken: token } : {}) });
      seen.push(...page.identities.map((i) => i.id));
      token = page.nextPageToken;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].sort());
    const found = await auth.admin.listIdentities({ identifier: ' P3@Example.com ' });
    assert.deepEqual(
      found.identities.map((i) => i.traits.email),
      ['p3@example.com'],
    );
    assert.equal(found.nextPageToken, undefined);
    for (const pageSize of [0, -1, 501, 2.5, Number.NaN]) {
      await rejects(auth.admin.listIdentities({ pageSize }), ValidationError);
    }
    for (const pageToken of ['', 'garbage', Buffer.from('["sessions","x","y"]').toString('base64url'), '@@']) {
      await rejects(auth.admin.listIdentities({ pageToken }), ValidationError);
    }
  });
});

describe('recovery codes from the admin API', () => {
  it('the code opens the normal recovery flow once: a session (code_recovery) and a settings flow to add a passkey', async () => {
    const { auth, agent, courier } = makeAdminApp();
    const identity = await auth.admin.createIdentity({ traits: { email: 'locked-out@example.com' } });
    const { recoveryLink, recoveryCode, expiresAt } = await auth.admin.createRecoveryCode(identity.id);
    assert.match(recoveryCode, /^[0-9]{6}$/);
    assert.ok(expiresAt.getTime() > Date.now() + 59 * 60_000, 'lifespans.code (1 h) by default');
    const url = new URL(recoveryLink);
    assert.equal(url.origin + url.pathname, `${ORIGIN}/auth/self-service/recovery/flows`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(courier.messages.length, 0, 'nothing is mailed: staff hand the code over');

    const browser = agent();
    const opened = await browser.get(url.pathname + url.search).set('Accept', 'application/json');
    assert.equal(opened.status, 200);
    const flow = opened.body as FlowJson;
    assert.equal(flow.state, 'sent_email');
    assert.equal(node(flow, 'code').attributes.type, 'text');
    const wrong = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: recoveryCode === '000000' ? '111111' : '000000' });
    assert.deepEqual(messageIds(wrong.body), [4060006]);
    const res = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: recoveryCode });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'passed_challenge');
    const settings = res.body.continue_with.find((c: { action: string }) => c.action === 'show_settings_ui');
    assert.ok(settings, JSON.stringify(res.body.continue_with));
    const whoami = await browser.get('/auth/sessions/whoami').set('Accept', 'application/json');
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.identity.id, identity.id);
    assert.equal(whoami.body.authentication_methods[0].method, 'code_recovery');

    // Used once: the same browser gets nowhere with it again; another browser cannot even open the flow (bound to
    // the first browser that opened it).
    const replay = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: recoveryCode });
    assert.equal(replay.status, 400);
    const other = agent();
    const again = await other.get(url.pathname + url.search).set('Accept', 'application/json');
    assert.equal(again.status, 403);
    assert.equal((await other.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
  });

  it('recoveryLink is urls.ui.recovery?flow=<id> when set; without it nor urls.publicBase a TypeError, nothing written', async () => {
    const { auth } = makeAdminApp({ urls: { publicBase: `${ORIGIN}/auth`, ui: { recovery: '/recover' } } });
    const identity = await auth.admin.createIdentity({ traits: { email: 'ui@example.com' } });
    const { recoveryLink } = await auth.admin.createRecoveryCode(identity.id, { expiresIn: '15m', flowType: 'api' });
    assert.match(recoveryLink, /^http:\/\/localhost:3000\/recover\?flow=[0-9a-f-]{36}$/);

    const store = new MemoryStore();
    const bare = passkeys({ rp: RP, store, courier: { send: async () => {} } });
    const other = await bare.admin.createIdentity({ traits: { email: 'bare@example.com' } });
    const before = store.flowCount;
    await assert.rejects(bare.admin.createRecoveryCode(other.id), TypeError);
    assert.equal(store.flowCount, before, 'no flow was made');
    await rejects(auth.admin.createRecoveryCode(identity.id, { expiresIn: 'soon' }), ValidationError);
  });
});

describe('deleting identities', () => {
  it('takes its passkeys, addresses and flows; a flow whose identity went anyway answers cleanly', async () => {
    const { auth, agent, store } = makeAdminApp();
    const browser = agent();
    const { authenticator, credential, body } = await register(browser, 'leaving@example.com');
    const id = body.identity.id as string;
    const settings = await initFlow(browser, 'settings');
    const sessionId = (await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).body.id;
    await auth.admin.deleteIdentity(id);
    assert.equal(await auth.admin.getSession(sessionId), null, 'its session records went with it');
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
    assert.equal(await auth.admin.getIdentity(id), null);
    assert.equal(await store.getPasskey(credential.id), null);
    assert.equal(await store.findIdentityByAddress('recovery', 'leaving@example.com'), null);
    assert.equal(await store.getFlow(settings.id), null, 'its settings flow went with it');
    const fetched = await browser
      .get(`/auth/self-service/settings/flows?id=${settings.id}`)
      .set('Accept', 'application/json');
    assert.equal(fetched.status, 404);
    // Its passkey no longer signs in, and its identifier is free again.
    const res = await login(agent(), authenticator);
    assert.equal(res.status, 400);
    const again = await register(agent(), 'leaving@example.com');
    assert.notEqual(again.body.identity.id, id);
  });

  it('flows kept by a store that does not record their identity answer without a 500', async () => {
    class KeepsFlows extends MemoryStore {
      override async saveFlow(flow: FlowRecord): Promise<void> {
        await super.saveFlow({ ...flow, identityId: null });
      }
    }
    const store = new KeepsFlows();
    const { auth, agent } = makeAdminApp({ store });
    const identity = await auth.admin.createIdentity({ traits: { email: 'ghost@example.com' } });
    const { recoveryLink, recoveryCode } = await auth.admin.createRecoveryCode(identity.id);
    await store.deleteIdentity(identity.id);
    const browser = agent();
    const url = new URL(recoveryLink);
    const flow = (await browser.get(url.pathname + url.search).set('Accept', 'application/json')).body as FlowJson;
    assert.equal(flow.state, 'sent_email');
    const res = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: recoveryCode });
    assert.equal(res.status, 200);
    assert.deepEqual(messageIds(res.body), [4060006]);
    assert.equal((await browser.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
  });
});

describe('auth.adminRouter()', () => {
  it('without urls.publicBase, Link follows the origin the client asked for (X-Forwarded-* only behind trust proxy)', async () => {
    for (const trusted of [false, true]) {
      const { app, auth, admin } = makeAdminApp({ urls: {} });
      if (trusted) app.set('trust proxy', true);
      await auth.admin.createIdentity({ traits: { email: 'link@example.com' } });
      const res = await admin('get', '/admin/identities?page_size=1')
        .set('X-Forwarded-Host', 'admin.example.com')
        .set('X-Forwarded-Proto', 'https');
      assert.equal(res.status, 200);
      const first = /<([^>]+)>; rel="first"/.exec(String(res.headers.link))?.[1] ?? '';
      assert.match(new URL(first).origin, trusted ? /^https:\/\/admin\.example\.com$/ : /^http:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  it('is only reachable through the app guard; lists with Link, page_size and credentials_identifier', async () => {
    const { auth, server, admin } = makeAdminApp();
    const { default: request } = await import('supertest');
    assert.equal((await request(server).get('/admin-api/admin/identities')).status, 401, 'the guard answers');
    for (let i = 0; i < 3; i++) await auth.admin.createIdentity({ traits: { email: `h${i}@example.com` } });
    const first = await admin('get', '/admin/identities?page_size=2');
    assert.equal(first.status, 200);
    assert.equal(first.body.length, 2);
    const link = String(first.headers.link);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    assert.ok(next, link);
    assert.match(link, /<http:\/\/localhost:3000\/admin-api\/admin\/identities\?page_size=2>; rel="first"/);
    const nextUrl = new URL(next);
    assert.equal(nextUrl.searchParams.get('page_size'), '2');
    const second = await admin('get', `/admin/identities${nextUrl.search}`);
    assert.equal(second.body.length, 1);
    assert.ok(!String(second.headers.link).includes('rel="next"'));
    for (const bad of ['0', '-1', '501', 'abc', '2.5', '']) {
      const res = await admin('get', `/admin/identities?page_size=${bad}`);
      assert.equal(res.status, 400, `page_size=${bad}`);
    }
    assert.equal((await admin('get', '/admin/identities?page_token=forged')).status, 400);
    const byEmail = await admin('get', '/admin/identities?credentials_identifier=H1@example.com');
    assert.deepEqual(
      byEmail.body.map((i: { traits: { email: string } }) => i.traits.email),
      ['h1@example.com'],
    );
  });

  it('creates (201, passkey import in Kratos JSON), 409 on a duplicate; the import signs in', async () => {
    const { admin, agent } = makeAdminApp();
    const { row, authenticator } = await simpleWebAuthnRegistration('http-import@example.com');
    const created = await admin('post', '/admin/identities').send({
      schema_id: 'default',
      traits: { email: 'http-import@example.com' },
      metadata_admin: { source: 'old app' },
      credentials: {
        passkey: {
          config: {
            user_handle: [...Buffer.from(row.webAuthnUserID, 'base64url')],
            credentials: [
              {
                id: [...Buffer.from(row.id, 'base64url')],
                public_key: Buffer.from(row.publicKey, 'base64url').toString('base64'),
                display_name: 'Imported key',
                authenticator: { sign_count: row.counter },
                flags: { backup_eligible: false, backup_state: false },
              },
            ],
          },
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.metadata_admin.source, 'old app');
    const credentials = created.body.credentials.passkey.config.credentials;
    assert.deepEqual(
      credentials.map((c: { id: string; display_name: string }) => [c.id, c.display_name]),
      [[row.id, 'Imported key']],
    );
    assert.ok(!JSON.stringify(created.body).includes(row.publicKey), 'no key material');
    assert.ok(!('public_key' in credentials[0]));
    const res = await login(agent(), authenticator);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const duplicate = await admin('post', '/admin/identities').send({
      schema_id: 'default',
      traits: { email: 'HTTP-import@example.com' },
    });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error.id, 'conflict');
    const invalid = await admin('post', '/admin/identities').send({ schema_id: 'default', traits: {} });
    assert.equal(invalid.status, 400);
  });

  it('text a jsonb store refuses (U+0000, a lone surrogate) in metadata or traits is a 400, not a store failure (500)', async () => {
    const { admin, auth, store } = makeAdminApp();
    const identity = await auth.admin.createIdentity({ traits: { email: 'nul-metadata@example.com' } });
    for (const first of ['a\u0000b', 'a\ud800', '\udc00b']) {
      await rejects(
        auth.admin.createIdentity({ traits: { email: 'nul-traits@example.com', name: { first } } }),
        ValidationError,
      );
    }
    assert.equal(await store.findIdentityByIdentifier('nul-traits@example.com'), null);
    for (const metadata of <JsonValue[]>[
      { note: 'a\u0000b' },
      { 'k\u0000': 1 },
      ['\u0000'],
      '\u0000',
      { note: 'x\ud83d' },
      ['\udc00'],
    ]) {
      await rejects(
        auth.admin.createIdentity({ traits: { email: 'nul-other@example.com' }, metadataAdmin: metadata }),
        ValidationError,
      );
      await rejects(auth.admin.updateIdentity(identity.id, { metadataPublic: metadata }), ValidationError);
      const res = await admin('patch', `/admin/identities/${identity.id}`).send([
        { op: 'replace', path: '/metadata_admin', value: metadata },
      ]);
      assert.equal(res.status, 400, JSON.stringify(res.body));
    }
    assert.equal(await store.findIdentityByIdentifier('nul-other@example.com'), null);
    const read = await store.getIdentity(identity.id);
    assert.equal(read?.metadataPublic, null);
    assert.equal(read?.metadataAdmin, null);
  });

  it('PATCH applies JSON Patch; /id, /credentials and /state_changed_at are protected; a bad state is 400 with Kratos text', async () => {
    const { admin, auth } = makeAdminApp();
    const identity = await auth.admin.createIdentity({ traits: { email: 'patch@example.com' } });
    const path = `/admin/identities/${identity.id}`;
    const patched = await admin('patch', path).send([
      { op: 'replace', path: '/metadata_public', value: { tier: 'gold' } },
      { op: 'add', path: '/metadata_admin', value: { note: 'patched' } },
      { op: 'replace', path: '/traits/email', value: 'patched-new@example.com' },
    ]);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.metadata_public, { tier: 'gold' });
    assert.equal(patched.body.traits.email, 'patched-new@example.com');
    assert.equal(patched.body.recovery_addresses[0].value, 'patched-new@example.com');
    for (const protectedPath of ['/id', '/credentials', '/credentials/passkey', '/state_changed_at']) {
      const res = await admin('patch', path).send([{ op: 'replace', path: protectedPath, value: 'x' }]);
      assert.equal(res.status, 400, protectedPath);
    }
    const bad = await admin('patch', path).send([{ op: 'replace', path: '/state', value: 'blocked' }]);
    assert.equal(bad.status, 400);
    assert.equal(
      bad.body.error.reason,
      "The supplied state ('blocked') was not valid. Valid states are ('active', 'inactive').",
    );
    assert.equal((await admin('patch', path).send({ op: 'replace' })).status, 400, 'not an array');
    assert.equal((await admin('patch', path).send([{ op: 'remove', path: '/state' }])).status, 400, 'no state');
    assert.equal((await admin('patch', path).send([{ op: 'remove', path: '/traits' }])).status, 400, 'no traits');
    assert.equal((await admin('patch', path).send([{ op: 'test', path: '/state', value: 'inactive' }])).status, 400);
    const unknown = await admin('patch', '/admin/identities/00000000-0000-4000-8000-000000000000').send([]);
    assert.equal(unknown.status, 404);
  });

  it('PUT replaces traits and metadata; DELETE answers 204 then 404; recovery code 201, 404 for an unknown identity', async () => {
    const { admin, auth } = makeAdminApp();
    const identity = await auth.admin.createIdentity({
      traits: { email: 'put@example.com' },
      metadataPublic: { keep: false },
    });
    const put = await admin('put', `/admin/identities/${identity.id}`).send({
      schema_id: 'default',
      traits: { email: 'put@example.com', name: { first: 'Ada' } },
      metadata_admin: { replaced: true },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.metadata_public, null, 'a PUT replaces: absent metadata becomes null');
    assert.deepEqual(put.body.metadata_admin, { replaced: true });
    const code = await admin('post', '/admin/recovery/code').send({ identity_id: identity.id, expires_in: '10m' });
    assert.equal(code.status, 201, JSON.stringify(code.body));
    assert.match(code.body.recovery_code, /^[0-9]{6}$/);
    assert.ok(Date.parse(code.body.expires_at) <= Date.now() + 10 * 60_000 + 1000);
    const missing = await admin('post', '/admin/recovery/code').send({
      identity_id: '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(missing.status, 404);
    assert.equal(
      (await admin('post', '/admin/recovery/code').send({ identity_id: identity.id, expires_in: 'x' })).status,
      400,
    );
    const deleted = await admin('delete', `/admin/identities/${identity.id}`);
    assert.equal(deleted.status, 204);
    assert.equal((await admin('get', `/admin/identities/${identity.id}`)).status, 404);
    assert.equal((await admin('delete', `/admin/identities/${identity.id}`)).status, 404);
  });
});

/** The session id of a signed-in agent (whoami). */
async function sessionIdOf(agent: Agent): Promise<string> {
  const res = await agent.get('/auth/sessions/whoami').set('Accept', 'application/json');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id as string;
}

const whoamiStatus = async (agent: Agent) =>
  (await agent.get('/auth/sessions/whoami').set('Accept', 'application/json')).status;

describe('auth.admin and sessions', () => {
  it('disabling revokes every session at once; enabling again does not bring them back', async () => {
    const { auth, agent } = makeAdminApp();
    const laptop = agent();
    const { authenticator, body } = await register(laptop, 'two-devices@example.com');
    const phone = agent();
    assert.equal((await login(phone, authenticator)).status, 200);
    const id = body.identity.id as string;
    const listed = await auth.admin.listSessions(id, { active: true });
    assert.equal(listed.sessions.length, 2);
    const updated = await auth.admin.updateIdentity(id, { state: 'inactive' });
    assert.equal(updated.state, 'inactive');
    assert.ok(updated.stateChangedAt instanceof Date);
    assert.equal(await whoamiStatus(laptop), 401);
    assert.equal(await whoamiStatus(phone), 401);
    assert.deepEqual((await auth.admin.listSessions(id, { active: true })).sessions, []);
    const all = await auth.admin.listSessions(id);
    assert.equal(all.sessions.length, 2);
    assert.ok(all.sessions.every((s) => !s.active));
    await auth.admin.updateIdentity(id, { state: 'active' });
    assert.equal(await whoamiStatus(laptop), 401, 're-activating brings no session back');
    assert.equal((await login(agent(), authenticator)).status, 200, 'a new sign-in works');
  });

  it('listSessions pages newest first; revokeSession, revokeSessions (count), extendSession; typed errors', async () => {
    const { auth, agent } = makeAdminApp({ lifespans: { session: '2h' } });
    const first = agent();
    const { authenticator, body } = await register(first, 'many-sessions@example.com');
    const id = body.identity.id as string;
    const agents = [first];
    for (let i = 0; i < 2; i++) {
      const next = agent();
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal((await login(next, authenticator)).status, 200);
      agents.push(next);
    }
    const ids = await Promise.all(agents.map(sessionIdOf));
    const page1 = await auth.admin.listSessions(id, { pageSize: 2 });
    assert.deepEqual(
      page1.sessions.map((s) => s.id),
      [ids[2], ids[1]],
      'newest first',
    );
    assert.ok(page1.nextPageToken);
    const page2 = await auth.admin.listSessions(id, { pageSize: 2, pageToken: page1.nextPageToken });
    assert.deepEqual(
      page2.sessions.map((s) => s.id),
      [ids[0]],
    );
    assert.equal(page2.nextPageToken, undefined);
    await rejects(auth.admin.listSessions(id, { pageSize: 0 }), ValidationError);
    await rejects(auth.admin.listSessions(id, { pageToken: 'nope' }), ValidationError);
    await rejects(auth.admin.listSessions('00000000-0000-4000-8000-000000000000'), IdentityNotFoundError);

    await auth.admin.revokeSession(ids[1] as string);
    assert.equal(await whoamiStatus(agents[1] as Agent), 401);
    assert.equal(await whoamiStatus(agents[0] as Agent), 200);
    await rejects(auth.admin.revokeSession('00000000-0000-4000-8000-000000000000'), SessionNotFoundError);

    const before = (await auth.admin.getSession(ids[0] as string))?.expiresAt.getTime() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const extended = await auth.admin.extendSession(ids[0] as string);
    assert.ok(extended.expiresAt.getTime() > before);
    assert.ok(Math.abs(extended.expiresAt.getTime() - (Date.now() + 2 * 3600_000)) < 5000, 'now + lifespans.session');
    await rejects(auth.admin.extendSession(ids[1] as string), SessionNotFoundError);

    assert.equal(await auth.admin.revokeSessions(id), 2, 'the two valid ones');
    assert.equal(await auth.admin.revokeSessions(id), 0);
    assert.equal(await whoamiStatus(agents[0] as Agent), 401);
    assert.equal(await whoamiStatus(agents[2] as Agent), 401);
  });

  it('scenario 3: find by email, disable (sessions end, sign-in refused), enable, recovery code, delete everything', async () => {
    const { auth, agent, store } = makeAdminApp();
    const browser = agent();
    const { authenticator, credential } = await register(browser, 'Scenario3@Example.com');
    // Find by email.
    const [found] = (await auth.admin.listIdentities({ identifier: 'scenario3@example.com' })).identities;
    assert.ok(found);
    assert.equal(found.passkeys.length, 1);
    // Disable: the session ends at once, a sign-in with its passkey is refused with 4010011.
    await auth.admin.updateIdentity(found.id, { state: 'inactive' });
    assert.equal(await whoamiStatus(browser), 401);
    const refused = await login(agent(), authenticator);
    assert.equal(refused.status, 400);
    assert.deepEqual(messageIds(refused.body), [4010011]);
    // Enable again: the passkey signs in.
    await auth.admin.updateIdentity(found.id, { state: 'active' });
    const back = agent();
    assert.equal((await login(back, authenticator)).status, 200);
    // A recovery code: a session on a new device through the normal recovery flow.
    const { recoveryLink, recoveryCode } = await auth.admin.createRecoveryCode(found.id);
    const device = agent();
    const url = new URL(recoveryLink);
    const flow = (await device.get(url.pathname + url.search).set('Accept', 'application/json')).body as FlowJson;
    const recovered = await device
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: recoveryCode });
    assert.equal(recovered.status, 200, JSON.stringify(recovered.body));
    assert.equal(await whoamiStatus(device), 200);
    const settings = await initFlow(device, 'settings');
    // Delete: passkeys, addresses, sessions and flows go with it.
    await auth.admin.deleteIdentity(found.id);
    assert.equal(await auth.admin.getIdentity(found.id), null);
    assert.equal(await store.getPasskey(credential.id), null);
    assert.equal(await store.findIdentityByAddress('recovery', 'scenario3@example.com'), null);
    assert.equal(await store.getFlow(settings.id), null);
    assert.equal(await store.getFlow(flow.id), null);
    for (const a of [back, device]) assert.equal(await whoamiStatus(a), 401);
    const records = store as Store;
    assert.equal(typeof records.listSessions, 'function', 'the store keeps session records');
    assert.deepEqual(await records.listSessions?.(found.id, { limit: 10 }), [], 'no session record is left');
  });

  it('over HTTP: identity sessions (Link, 404), one session, revoke one or all, extend', async () => {
    const { admin, agent } = makeAdminApp();
    const first = agent();
    const { authenticator, body } = await register(first, 'http-sessions@example.com');
    const id = body.identity.id as string;
    const second = agent();
    assert.equal((await login(second, authenticator)).status, 200);
    const list = await admin('get', `/admin/identities/${id}/sessions?page_size=1`);
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.match(String(list.headers.link), /rel="next"/);
    assert.equal(list.body[0].identity.id, id);
    assert.ok(Array.isArray(list.body[0].devices));
    assert.equal((await admin('get', `/admin/identities/${id}/sessions?page_size=0`)).status, 400);
    assert.equal((await admin('get', '/admin/identities/00000000-0000-4000-8000-000000000000/sessions')).status, 404);
    const sid = await sessionIdOf(second);
    const one = await admin('get', `/admin/sessions/${sid}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, sid);
    assert.equal(one.body.active, true);
    const extended = await admin('patch', `/admin/sessions/${sid}/extend`);
    assert.equal(extended.status, 200);
    assert.ok(Date.parse(extended.body.expires_at) > Date.now() + 23 * 3600_000);
    assert.equal((await admin('delete', `/admin/sessions/${sid}`)).status, 204);
    assert.equal(await whoamiStatus(second), 401);
    assert.equal((await admin('patch', `/admin/sessions/${sid}/extend`)).status, 404);
    assert.equal((await admin('get', '/admin/sessions/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await admin('delete', `/admin/identities/${id}/sessions`)).status, 204);
    assert.equal(await whoamiStatus(first), 401);
  });
});
