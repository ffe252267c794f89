// Settings flow over HTTP: list, add, rename, remove passkeys, privileged sessions, other identities.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
  actionPathOf,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  login,
  makeApp,
  node,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { decodeCbor, encodeCbor } from './helpers/cbor.js';

const removeNodes = (flow: FlowJson) => flow.ui.nodes.filter((n) => n.attributes.name === 'passkey_remove');

async function post(a: Agent, flow: FlowJson, body: Record<string, unknown>) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', ...body });
}

async function addPasskey(a: Agent, flow: FlowJson, authenticator = new SoftwareAuthenticator()) {
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const res = await post(a, flow, { passkey_settings_register: JSON.stringify(credential) });
  return { res, authenticator, credential };
}

describe('settings flow', () => {
  it('needs a session', async () => {
    const { agent } = makeApp();
    const res = await agent().get('/auth/self-service/settings/browser').set('Accept', 'application/json');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.id, 'session_inactive');
  });

  it('lists passkeys with labels and context, and offers creation options excluding them', async () => {
    const { agent } = makeApp();
    const a = agent();
    const { authenticator, body } = await register(a, 'list@example.com');
    const flow = await initFlow(a, 'settings');
    assert.equal((flow.identity as { id: string }).id, body.identity.id);
    const removes = removeNodes(flow);
    assert.equal(removes.length, 1);
    const remove = removes[0];
    assert.ok(remove);
    assert.equal(remove.attributes.type, 'submit');
    assert.equal(remove.group, 'passkey');
    assert.equal(remove.attributes.value, authenticator.credentials[0]?.idB64u);
    assert.equal(remove.attributes.disabled, true, 'the only passkey cannot be removed');
    assert.equal(remove.meta.label?.id, 1050020);
    assert.match(String(remove.meta.label?.text), /^Remove passkey "Passkey \d{4}-\d{2}-\d{2}"$/);
    const context = remove.meta.label?.context ?? {};
    assert.deepEqual(Object.keys(context).sort(), [
      'added_at',
      'added_at_unix',
      'backed_up',
      'backup_eligible',
      'display_name',
      'last_used_at',
    ]);
    const trigger = node(flow, 'passkey_register_trigger');
    assert.equal(trigger.attributes.onclickTrigger, 'oryPasskeySettingsRegistration');
    assert.equal(trigger.meta.label?.id, 1050019);
    assert.equal(node(flow, 'passkey_settings_register').attributes.type, 'hidden');
    const options = creationOptionsOf(flow);
    assert.equal(options.user.name, 'list@example.com');
    assert.deepEqual(
      options.excludeCredentials.map((c: { id: string }) => c.id),
      [authenticator.credentials[0]?.idB64u],
    );
  });

  it('adds a passkey (usable to sign in), refuses a duplicate, renames and removes', async () => {
    const added: string[] = [];
    const removed: string[] = [];
    const { agent } = makeApp({
      hooks: {
        onPasskeyAdded: (e) => void added.push(e.passkey.id),
        onPasskeyRemoved: (e) => void removed.push(e.passkey.id),
      },
    });
    const a = agent();
    const first = await register(a);
    const flow = await initFlow(a, 'settings');
    const { res, authenticator: second } = await addPasskey(a, flow);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'success');
    assert.deepEqual(res.body.ui.messages, [{ id: 1050001, text: 'Your changes have been saved!', type: 'success' }]);
    assert.equal(removeNodes(res.body).length, 2);
    assert.ok(removeNodes(res.body).every((n) => n.attributes.disabled === false));
    const secondId = second.credentials[0]?.idB64u ?? '';
    assert.deepEqual(added, [secondId]);

    // The new passkey signs in to the same identity (it carries the identity's user handle).
    const b = agent();
    const signIn = await login(b, second);
    assert.equal(signIn.status, 200);
    assert.equal(signIn.body.session.identity.id, first.body.identity.id);

    // The same authenticator's credential again: refused on the node.
    const again = await post(a, res.body, {
      passkey_settings_register: JSON.stringify(
        // A new registration with the same key id is not possible with a real authenticator; replaying is.
        second.create(creationOptionsOf(res.body), { origin: ORIGIN }),
      ),
    });
    assert.equal(again.status, 200, 'a new credential from the same authenticator is a new passkey');

    // Rename (JSON), with limits; names are kept as given, escaping is the renderer's job.
    const renamed = await post(a, again.body, { passkey_rename: { id: secondId, name: '  <b>Phone</b> 📱 ' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const label = removeNodes(renamed.body).find((n) => n.attributes.value === secondId)?.meta.label;
    assert.equal(label?.context?.display_name, '<b>Phone</b> 📱');
    assert.equal(label?.text, 'Remove passkey "<b>Phone</b> 📱"');
    const tooLong = await post(a, renamed.body, { passkey_rename: { id: secondId, name: 'x'.repeat(65) } });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.ui.messages[0].id, 4000504);
    const empty = await post(a, renamed.body, { passkey_rename: { id: secondId, name: '   ' } });
    assert.equal(empty.status, 400);

    // Remove by id (hex accepted, as Kratos emits it).
    const hex = Buffer.from(secondId, 'base64url').toString('hex');
    const gone = await post(a, renamed.body, { passkey_remove: hex });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.deepEqual(removed, [secondId]);
    assert.equal(removeNodes(gone.body).length, 2);
    const b2 = agent();
    assert.equal(
      (await login(b2, second, { credentialId: secondId })).status,
      400,
      'removed passkey no longer signs in',
    );
  });

  it('refuses a credential id that is registered already, on this identity or another, on the node', async () => {
    const { agent, store } = makeApp();
    const victim = await register(agent());
    const a = agent();
    const mine = await register(a);
    for (const taken of [mine.authenticator, victim.authenticator]) {
      const takenId = taken.credentials[0]?.idB64u ?? '';
      const flow = await initFlow(a, 'settings');
      const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
      // Attestation "none" signs nothing: put the taken credential id into the authenticator data (offset 55:
      // RP ID hash 32, flags 1, counter 4, AAGUID 16, id length 2), as a broken or malicious authenticator could.
      const object = decodeCbor(Buffer.from(credential.response.attestationObject, 'base64url')) as Map<
        string,
        unknown
      >;
      const authData = new Uint8Array(object.get('authData') as Uint8Array);
      authData.set(Buffer.from(takenId, 'base64url'), 55);
      object.set('authData', authData);
      credential.response.attestationObject = Buffer.from(encodeCbor(object as never)).toString('base64url');
      credential.id = takenId;
      credential.rawId = takenId;
      delete (credential.response as { authenticatorData?: string }).authenticatorData;
      const res = await post(a, flow, { passkey_settings_register: JSON.stringify(credential) });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(node(res.body, 'passkey_settings_register').messages[0]?.id, 4000503);
      assert.equal(
        (await store.getPasskey(takenId))?.identityId,
        taken === mine.authenticator ? mine.body.identity.id : victim.body.identity.id,
      );
    }
  });

  it('refuses to remove the last passkey, on that passkey’s node', async () => {
    const { agent } = makeApp();
    const a = agent();
    const { authenticator } = await register(a);
    const flow = await initFlow(a, 'settings');
    const id = authenticator.credentials[0]?.idB64u ?? '';
    const res = await post(a, flow, { passkey_remove: id });
    assert.equal(res.status, 400);
    const onNode = removeNodes(res.body).find((n) => n.attributes.value === id);
    assert.equal(onNode?.messages[0]?.id, 4000501);
    assert.equal((await login(agent(), authenticator)).status, 200);
  });

  it("cannot remove or rename another identity's passkey (it does not exist for this caller)", async () => {
    const { agent, store } = makeApp();
    const victim = await register(agent());
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const added = await addPasskey(a, flow);
    assert.equal(added.res.status, 200);
    const victimId = victim.authenticator.credentials[0]?.idB64u ?? '';
    const res = await post(a, added.res.body, { passkey_remove: victimId });
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000502);
    assert.deepEqual(
      res.body.ui.nodes.flatMap((n: { messages: unknown[] }) => n.messages),
      [],
      'no remove button carries it',
    );
    const rename = await post(a, added.res.body, { passkey_rename: { id: victimId, name: 'mine' } });
    assert.equal(rename.status, 400);
    const victimPasskey = await store.getPasskey(victimId);
    assert.ok(victimPasskey);
    assert.notEqual(victimPasskey.name, 'mine');
  });

  it('two concurrent removals of the last two passkeys leave one', async () => {
    for (let round = 0; round < 5; round++) {
      const { agent, store } = makeApp();
      const a = agent();
      const { body, authenticator } = await register(a);
      const flow = await initFlow(a, 'settings');
      const { res, authenticator: second } = await addPasskey(a, flow);
      assert.equal(res.status, 200);
      const ids = [authenticator.credentials[0]?.idB64u, second.credentials[0]?.idB64u];
      const results = await Promise.all(ids.map((id) => post(a, res.body, { passkey_remove: id })));
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
      assert.equal((await store.listPasskeys(body.identity.id)).length, 1);
    }
  });

  it('needs a recent sign-in: 403 session_refresh_required, browsers 303 to a refresh login', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { agent } = makeApp({
      lifespans: { privilegedSession: '10m' },
      urls: { ui: { settings: 'http://localhost:3000/settings' } },
    });
    const a = agent();
    const { authenticator } = await register(a);
    const flow = await initFlow(a, 'settings');
    t.mock.timers.tick(11 * 60 * 1000);
    const res = await addPasskey(a, flow);
    assert.equal(res.res.status, 403);
    assert.equal(res.res.body.error.id, 'session_refresh_required');
    const redirect = new URL(res.res.body.redirect_browser_to);
    assert.equal(redirect.pathname, '/auth/self-service/login/browser');
    assert.equal(redirect.searchParams.get('refresh'), 'true');
    assert.equal(redirect.searchParams.get('return_to'), `http://localhost:3000/settings?flow=${flow.id}`);
    const browser = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), passkey_remove: authenticator.credentials[0]?.idB64u });
    assert.equal(browser.status, 303);
    assert.equal(actionPathOf(browser.headers.location ?? ''), actionPathOf(res.res.body.redirect_browser_to));

    // Re-authenticate with refresh=true, then the change goes through on the same flow.
    const refresh = await a.get(actionPathOf(res.res.body.redirect_browser_to)).set('Accept', 'application/json');
    assert.equal(refresh.status, 200);
    assert.equal(refresh.body.return_to, `http://localhost:3000/settings?flow=${flow.id}`);
    const assertion = authenticator.get(requestOptionsOf(refresh.body), { origin: ORIGIN });
    const done = await a
      .post(actionPath(refresh.body))
      .type('form')
      .send({ csrf_token: csrfOf(refresh.body), passkey_login: JSON.stringify(assertion) });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, `http://localhost:3000/settings?flow=${flow.id}`);
    const fresh = await a.get(`/auth/self-service/settings/flows?id=${flow.id}`).expect(200);
    const added = await addPasskey(a, fresh.body);
    assert.equal(added.res.status, 200, JSON.stringify(added.res.body));
  });

  it('a settings flow of another session is refused', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const b = agent();
    await register(b);
    const fetched = await b.get(`/auth/self-service/settings/flows?id=${flow.id}`);
    assert.equal(fetched.status, 403);
    const res = await post(b, flow, { passkey_rename: { id: 'x', name: 'y' } });
    assert.equal(res.status, 403);
  });

  it('an unknown action is 400 with 4010004; a ceremony failure is 400 with 4000001', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    const flow = await initFlow(a, 'settings');
    const nothing = await post(a, flow, {});
    assert.equal(nothing.status, 400);
    assert.equal(nothing.body.ui.messages[0].id, 4010004);
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: 'http://localhost:9999' });
    const bad = await post(a, flow, { passkey_register: JSON.stringify(credential) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.ui.messages[0].id, 4000001);
  });

  it('listPasskeys(req) and getIdentity(req) give the app its user and passkeys, without key material', async () => {
    const store = new MemoryStore();
    const app = express();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    const auth = passkeys({ rp: RP, store });
    app.use('/auth', auth);
    app.get('/my-passkeys', async (req, res) => {
      res.json({ identity: (await auth.getIdentity(req))?.id ?? null, passkeys: await auth.listPasskeys(req) });
    });
    const a = request.agent(app) as unknown as Agent;
    const anonymous = await a.get('/my-passkeys').expect(200);
    assert.deepEqual(anonymous.body, { identity: null, passkeys: [] });
    const { body, authenticator } = await register(a);
    const mine = await a.get('/my-passkeys').expect(200);
    assert.equal(mine.body.identity, body.identity.id);
    assert.equal(mine.body.passkeys.length, 1);
    const [info] = mine.body.passkeys;
    assert.equal(info.id, authenticator.credentials[0]?.idB64u);
    assert.deepEqual(Object.keys(info).sort(), [
      'aaguid',
      'backedUp',
      'backupEligible',
      'createdAt',
      'id',
      'lastUsedAt',
      'name',
      'transports',
    ]);
  });
});
