// Ory's SDK (`IdentityApi`, unchanged) on the less common parameters of the admin routes (SPEC §8): filters and pages
// of listIdentities, includeCredential, several JSON Patch operations, PUT disabling, the `active` filter of
// listIdentitySessions, getSession with expand, recovery codes with expires_in.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Configuration,
  FrontendApi,
  GetIdentityIncludeCredentialEnum,
  IdentityApi,
  IdentityStateEnum,
  instanceOfIdentity,
  instanceOfSession,
  ResponseError,
} from '@ory/client-fetch';
import { ADMIN_TOKEN, makeAdminApp } from './helpers/admin.js';
import { type Agent, actionPath, csrfOf, type FlowJson, login, ORIGIN, register } from './helpers/app.js';
import { messageIds } from './helpers/codes.js';

function sdkFor(port: number) {
  return new IdentityApi(
    new Configuration({ basePath: `http://127.0.0.1:${port}/admin-api`, accessToken: ADMIN_TOKEN }),
  );
}

interface ErrorBody {
  error: { id: string; reason?: string; message?: string };
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; body: ErrorBody }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ResponseError) return { status: error.response.status, body: await error.response.json() };
    throw error;
  }
  return { status: 200, body: { error: { id: '' } } };
}

const whoami = (agent: Agent) => agent.get('/auth/sessions/whoami').set('Accept', 'application/json');

describe('IdentityApi: less common parameters', () => {
  it('listIdentities with credentialsIdentifier, pageSize and pageToken together', async () => {
    const { port } = makeAdminApp();
    const sdk = sdkFor(await port());
    for (const email of ['one@example.com', 'two@example.com']) {
      await sdk.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
    }
    const raw = await sdk.listIdentitiesRaw({ credentialsIdentifier: 'TWO@example.com', pageSize: 1 });
    const page = await raw.value();
    assert.deepEqual(
      page.map((i) => (i.traits as { email: string }).email),
      ['two@example.com'],
    );
    const first = /<([^>]+)>; rel="first"/.exec(raw.raw.headers.get('link') ?? '')?.[1];
    assert.ok(first);
    assert.equal(new URL(first).searchParams.get('credentials_identifier'), 'TWO@example.com', 'Link keeps the filter');
    assert.equal(new URL(first).searchParams.get('page_size'), '1');
    assert.equal(await failure(sdk.listIdentities({ pageSize: 1, pageToken: 'forged' })).then((f) => f.status), 400);
  });

  it('listIdentities with ids returns those identities only; filters it cannot apply are 400, never ignored', async () => {
    const { port } = makeAdminApp();
    const sdk = sdkFor(await port());
    const ids: string[] = [];
    for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
      ids.push((await sdk.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } })).id);
    }
    const one = await sdk.listIdentities({ ids: [ids[1] as string] });
    assert.deepEqual(
      one.map((i) => i.id),
      [ids[1]],
    );
    const two = await sdk.listIdentities({
      ids: [ids[2] as string, ids[0] as string, ids[2] as string, '00000000-0000-4000-8000-000000000000', 'x'],
    });
    assert.deepEqual(two.map((i) => i.id).sort(), [ids[0], ids[2]].sort(), 'duplicates and unknown ids are ignored');
    assert.equal((await failure(sdk.listIdentities({ ids: [ids[0] as string], pageToken: 'x' }))).status, 400);
    for (const filter of [
      { previewCredentialsIdentifierSimilar: 'a@' },
      { organizationId: ids[0] as string },
      { perPage: 2 },
      { page: 2, perPage: 2 },
    ]) {
      const refused = await failure(sdk.listIdentities(filter));
      assert.equal(refused.status, 400, JSON.stringify(filter));
      assert.equal(refused.body.error.id, 'bad_request');
    }
    assert.equal((await failure(sdk.listIdentitySessions({ id: ids[0] as string, perPage: 2 }))).status, 400);
  });

  it('getIdentity with includeCredential lists passkey ids (base64url) and no key material', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const { body, credential } = await register(agent(), 'include@example.com');
    const { Passkey, Password } = GetIdentityIncludeCredentialEnum;
    for (const includeCredential of [[Passkey], [Passkey, Password], undefined]) {
      const identity = await sdk.getIdentity({
        id: body.identity.id,
        ...(includeCredential ? { includeCredential } : {}),
      });
      assert.ok(instanceOfIdentity(identity));
      const config = identity.credentials?.passkey?.config as { credentials: Record<string, unknown>[] };
      assert.deepEqual(
        config.credentials.map((c) => c.id),
        [credential.id],
      );
      assert.ok(!JSON.stringify(identity.credentials).includes('public_key'), 'no key material');
    }
  });

  it('patchIdentity: replace a trait, add metadata_public, test (passing and failing), protected paths', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const browser = agent();
    const { body, authenticator } = await register(browser, 'patch@example.com');
    const id = body.identity.id as string;
    const patched = await sdk.patchIdentity({
      id,
      jsonPatch: [
        { op: 'test', path: '/traits/email', value: 'patch@example.com' },
        { op: 'replace', path: '/traits/email', value: 'patched@example.com' },
        { op: 'add', path: '/metadata_public', value: { plan: 'pro' } },
      ],
    });
    assert.ok(instanceOfIdentity(patched));
    assert.equal((patched.traits as { email: string }).email, 'patched@example.com');
    assert.deepEqual(patched.metadata_public, { plan: 'pro' });
    assert.equal(patched.state, IdentityStateEnum.Active);
    assert.equal((await whoami(browser)).status, 200, 'a trait change leaves the sessions alone');
    assert.deepEqual((await whoami(browser)).body.identity.metadata_public, { plan: 'pro' });
    const found = await sdk.listIdentities({ credentialsIdentifier: 'patched@example.com' });
    assert.deepEqual(
      found.map((i) => i.id),
      [id],
      'the identifier follows the trait',
    );
    assert.equal((await sdk.listIdentities({ credentialsIdentifier: 'patch@example.com' })).length, 0);
    assert.equal((await login(agent(), authenticator)).status, 200, 'its passkey still signs in');

    const failedTest = await failure(
      sdk.patchIdentity({
        id,
        jsonPatch: [
          { op: 'replace', path: '/metadata_public', value: { plan: 'free' } },
          { op: 'test', path: '/traits/email', value: 'someone-else@example.com' },
        ],
      }),
    );
    assert.equal(failedTest.status, 400);
    assert.equal(failedTest.body.error.id, 'bad_request');
    assert.deepEqual((await sdk.getIdentity({ id })).metadata_public, { plan: 'pro' }, 'a failed test writes nothing');

    for (const path of ['/credentials/passkey', '/state_changed_at', '/id']) {
      const refused = await failure(sdk.patchIdentity({ id, jsonPatch: [{ op: 'remove', path }] }));
      assert.equal(refused.status, 400, path);
    }
    const moved = await failure(
      sdk.patchIdentity({ id, jsonPatch: [{ op: 'copy', from: '/credentials', path: '/metadata_admin' }] }),
    );
    assert.equal(moved.status, 400, 'a protected path as `from` too');
    const badState = await failure(
      sdk.patchIdentity({ id, jsonPatch: [{ op: 'replace', path: '/state', value: 'x' }] }),
    );
    assert.equal(badState.status, 400);
    assert.equal(
      badState.body.error.reason,
      "The supplied state ('x') was not valid. Valid states are ('active', 'inactive').",
    );
    const other = await sdk.createIdentity({
      createIdentityBody: { schema_id: 'default', traits: { email: 'taken@example.com' } },
    });
    const duplicate = await failure(
      sdk.patchIdentity({
        id: other.id,
        jsonPatch: [{ op: 'replace', path: '/traits/email', value: 'patched@example.com' }],
      }),
    );
    assert.equal(duplicate.status, 409, 'another identity’s identifier');
  });

  it('patchIdentity marks an address verified (or not); changes it cannot make are 400, never a 200 that changed nothing', async () => {
    const { port } = makeAdminApp();
    const sdk = sdkFor(await port());
    const created = await sdk.createIdentity({
      createIdentityBody: { schema_id: 'default', traits: { email: 'support@example.com' } },
    });
    const address = () => sdk.getIdentity({ id: created.id }).then((i) => i.verifiable_addresses?.[0]);
    assert.equal((await address())?.verified, false);

    // As Kratos's docs show it: verified and status together. An upper-case id finds the identity too.
    const verified = await sdk.patchIdentity({
      id: created.id.toUpperCase(),
      jsonPatch: [
        { op: 'replace', path: '/verifiable_addresses/0/verified', value: true },
        { op: 'replace', path: '/verifiable_addresses/0/status', value: 'completed' },
      ],
    });
    assert.equal(verified.verifiable_addresses?.[0]?.verified, true);
    assert.equal((await address())?.status, 'completed');
    assert.ok((await address())?.verified_at, 'verified_at set by the server');
    // `verified` alone is enough; false takes it back.
    await sdk.patchIdentity({
      id: created.id,
      jsonPatch: [{ op: 'replace', path: '/verifiable_addresses/0/verified', value: false }],
    });
    assert.deepEqual(await address().then((a) => [a?.verified, a?.status, a?.verified_at]), [
      false,
      'pending',
      undefined,
    ]);

    const refusals: [string, object][] = [
      ['an address value', { op: 'replace', path: '/verifiable_addresses/0/value', value: 'x@example.com' }],
      ['a second address', { op: 'add', path: '/verifiable_addresses/-', value: { value: 'y@example.com' } }],
      ['a status without verified', { op: 'replace', path: '/verifiable_addresses/0/status', value: 'sent' }],
      ['verified as a string', { op: 'replace', path: '/verifiable_addresses/0/verified', value: 'yes' }],
      ['recovery addresses', { op: 'remove', path: '/recovery_addresses/0' }],
      ['created_at', { op: 'replace', path: '/created_at', value: '2020-01-01T00:00:00Z' }],
      ['schema_url', { op: 'replace', path: '/schema_url', value: 'http://evil.example/' }],
    ];
    const before = await sdk.getIdentity({ id: created.id });
    for (const [what, operation] of refusals) {
      const refused = await failure(sdk.patchIdentity({ id: created.id, jsonPatch: [operation as never] }));
      assert.equal(refused.status, 400, what);
      assert.equal(refused.body.error.id, 'bad_request', what);
    }
    assert.deepEqual(await sdk.getIdentity({ id: created.id }), before, 'nothing written');
  });

  it('updateIdentity (PUT) with state inactive revokes every session; active again does not bring them back', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const laptop = agent();
    const { body, authenticator } = await register(laptop, 'put@example.com');
    const phone = agent();
    assert.equal((await login(phone, authenticator)).status, 200);
    const id = body.identity.id as string;
    const disabled = await sdk.updateIdentity({
      id,
      updateIdentityBody: {
        schema_id: 'default',
        traits: { email: 'put@example.com' },
        state: IdentityStateEnum.Inactive,
        metadata_admin: { reason: 'chargeback' },
      },
    });
    assert.ok(instanceOfIdentity(disabled));
    assert.equal(disabled.state, IdentityStateEnum.Inactive);
    assert.ok(disabled.state_changed_at instanceof Date);
    assert.deepEqual(disabled.metadata_admin, { reason: 'chargeback' });
    for (const device of [laptop, phone]) assert.equal((await whoami(device)).status, 401);
    assert.deepEqual(await sdk.listIdentitySessions({ id, active: true }), []);
    const refused = await login(agent(), authenticator);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.ui.messages[0].id, 4010011);
    await sdk.updateIdentity({
      id,
      updateIdentityBody: {
        schema_id: 'default',
        traits: { email: 'put@example.com' },
        state: IdentityStateEnum.Active,
      },
    });
    for (const device of [laptop, phone]) assert.equal((await whoami(device)).status, 401);
    assert.equal((await login(agent(), authenticator)).status, 200);
  });

  it('listIdentitySessions: active true lists valid sessions only, false only revoked or expired ones (as Kratos)', async () => {
    const { port, agent, auth } = makeAdminApp();
    const sdk = sdkFor(await port());
    const laptop = agent();
    const { body, authenticator } = await register(laptop, 'active@example.com');
    const phone = agent();
    assert.equal((await login(phone, authenticator)).status, 200);
    const id = body.identity.id as string;
    const phoneId = (await whoami(phone)).body.id as string;
    const laptopId = (await whoami(laptop)).body.id as string;
    await sdk.disableSession({ id: phoneId });
    const all = await sdk.listIdentitySessions({ id });
    assert.deepEqual(all.map((s) => s.id).sort(), [laptopId, phoneId].sort());
    const active = await sdk.listIdentitySessions({ id, active: true });
    assert.deepEqual(
      active.map((s) => [s.id, s.active]),
      [[laptopId, true]],
    );
    const inactive = await sdk.listIdentitySessions({ id, active: false });
    assert.deepEqual(
      inactive.map((s) => [s.id, s.active]),
      [[phoneId, false]],
    );
    // auth.admin pages the ended ones across valid ones in between.
    const tablet = agent();
    assert.equal((await login(tablet, authenticator)).status, 200);
    const tabletId = (await whoami(tablet)).body.id as string;
    const newest = agent();
    assert.equal((await login(newest, authenticator)).status, 200);
    await auth.admin.revokeSession(tabletId);
    const first = await auth.admin.listSessions(id, { active: false, pageSize: 1 });
    assert.deepEqual(
      first.sessions.map((s) => s.id),
      [tabletId],
    );
    assert.ok(first.nextPageToken);
    const second = await auth.admin.listSessions(id, { active: false, pageSize: 1, pageToken: first.nextPageToken });
    assert.deepEqual(
      second.sessions.map((s) => s.id),
      [phoneId],
    );
    assert.equal(second.nextPageToken, undefined);
  });

  it('getSession with expand, extendSession; every body is a Session model', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const browser = agent();
    const { body } = await register(browser, 'expand@example.com');
    const sid = (await whoami(browser)).body.id as string;
    const session = await sdk.getSession({ id: sid, expand: ['identity', 'devices'] });
    assert.ok(instanceOfSession(session));
    assert.equal(session.identity?.id, body.identity.id);
    assert.equal(session.devices?.length, 1);
    assert.equal(session.authentication_methods?.[0]?.method, 'passkey');
    assert.equal(session.authenticator_assurance_level, 'aal1');
    assert.ok(session.issued_at instanceof Date && session.authenticated_at instanceof Date);
    const extended = await sdk.extendSession({ id: sid });
    assert.ok(extended && instanceOfSession(extended), 'a 200 with the session, not a 204');
    assert.ok(extended.expires_at instanceof Date);
    assert.equal((await failure(sdk.getSession({ id: 'not-a-uuid' }))).status, 404);
    assert.equal((await failure(sdk.extendSession({ id: 'not-a-uuid' }))).status, 404);
  });

  it('createRecoveryCodeForIdentity honours expires_in; a bad duration is 400', async () => {
    const { port } = makeAdminApp();
    const sdk = sdkFor(await port());
    const identity = await sdk.createIdentity({
      createIdentityBody: { schema_id: 'default', traits: { email: 'code-1h@example.com' } },
    });
    const before = Date.now();
    const code = await sdk.createRecoveryCodeForIdentity({
      createRecoveryCodeForIdentityBody: { identity_id: identity.id, expires_in: '1h' },
    });
    const lifetime = (code.expires_at as Date).getTime() - before;
    assert.ok(lifetime > 3600_000 - 5000 && lifetime <= 3600_000 + 5000, String(lifetime));
    assert.match(code.recovery_code, /^[0-9]{6}$/);
    for (const expiresIn of ['abc', '-1h', '0s']) {
      const bad = await failure(
        sdk.createRecoveryCodeForIdentity({
          createRecoveryCodeForIdentityBody: { identity_id: identity.id, expires_in: expiresIn },
        }),
      );
      assert.equal(bad.status, 400, expiresIn);
    }
  });
});

describe('FrontendApi: my sessions and the session JSON', () => {
  async function nativeSignIns(count: number) {
    const built = makeAdminApp();
    const frontend = new FrontendApi(
      new Configuration({
        basePath: `http://127.0.0.1:${await built.port()}/auth`,
        headers: { Accept: 'application/json' },
      }),
    );
    const browser = built.agent();
    const { authenticator, body } = await register(browser, 'native@example.com');
    await built.auth.admin.updateIdentity(body.identity.id, {
      metadataPublic: { plan: 'pro' },
      metadataAdmin: { note: 'staff only' },
    });
    const tokens: { token: string; id: string }[] = [];
    for (let i = 0; i < count; i++) {
      const flow = await frontend.createNativeLoginFlow();
      const node = flow.ui.nodes.find((n) => (n.attributes as { name?: string }).name === 'passkey_challenge');
      assert.ok(node, 'passkey_challenge');
      const challenge = JSON.parse(String((node.attributes as { value?: unknown }).value));
      const assertion = authenticator.get(challenge.publicKey, { origin: ORIGIN });
      const result = await frontend.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: { method: 'passkey', passkey_login: JSON.stringify(assertion) },
      });
      assert.ok(result.session_token);
      tokens.push({ token: result.session_token, id: result.session.id });
    }
    return { ...built, frontend, browser, tokens, identityId: body.identity.id as string };
  }

  it('listMySessions pages with pageSize and the pageToken of Link; X-Total-Count; bad sizes 400', async () => {
    const { frontend, tokens, browser } = await nativeSignIns(5);
    const [me, ...others] = tokens as [{ token: string; id: string }, ...{ token: string; id: string }[]];
    const browserId = (await whoami(browser)).body.id as string;
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const raw = await frontend.listMySessionsRaw({
        xSessionToken: me.token,
        pageSize: 2,
        ...(pageToken ? { pageToken } : {}),
      });
      assert.equal(raw.raw.headers.get('x-total-count'), '5', 'the four other tokens and the browser');
      const page = await raw.value();
      assert.ok(page.every((s) => instanceOfSession(s)));
      seen.push(...page.map((s) => s.id));
      const next = /<([^>]+)>; rel="next"/.exec(raw.raw.headers.get('link') ?? '')?.[1];
      if (next) assert.equal(new URL(next).searchParams.get('page_size'), '2');
      pageToken = next ? (new URL(next).searchParams.get('page_token') ?? undefined) : undefined;
      pages++;
    } while (pageToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...others.map((t) => t.id).reverse(), browserId], 'newest first, each once');
    for (const pageSize of [0, 501, -1, 1.5]) {
      assert.equal((await failure(frontend.listMySessions({ xSessionToken: me.token, pageSize }))).status, 400);
    }
    const forged = await failure(frontend.listMySessions({ xSessionToken: me.token, pageToken: 'forged' }));
    assert.equal(forged.status, 400);
  });

  it('toSession has devices, methods, AAL and times; metadata_public and never metadata_admin', async () => {
    const { frontend, tokens } = await nativeSignIns(2);
    const me = tokens[0] as { token: string; id: string };
    const raw = await frontend.toSessionRaw({ xSessionToken: me.token });
    const text = await raw.raw.clone().text();
    assert.ok(!text.includes('metadata_admin') && !text.includes('staff only'), 'no metadata_admin');
    const session = await raw.value();
    assert.ok(instanceOfSession(session));
    assert.equal(session.id, me.id);
    assert.equal(session.active, true);
    assert.equal(session.authenticator_assurance_level, 'aal1');
    assert.deepEqual(
      session.authentication_methods?.map((m) => [m.method, m.aal]),
      [['passkey', 'aal1']],
    );
    assert.ok(session.authentication_methods?.[0]?.completed_at instanceof Date);
    assert.equal(session.devices?.length, 1);
    assert.equal(typeof session.devices?.[0]?.ip_address, 'string');
    for (const time of [session.expires_at, session.issued_at, session.authenticated_at])
      assert.ok(time instanceof Date);
    assert.deepEqual(session.identity?.metadata_public, { plan: 'pro' });
    const listed = await frontend.listMySessionsRaw({ xSessionToken: me.token });
    const listText = await listed.raw.clone().text();
    assert.ok(!listText.includes('metadata_admin') && !listText.includes('staff only'));
    const other = tokens[1] as { token: string; id: string };
    await frontend.disableMySession({ id: other.id, xSessionToken: me.token });
    assert.equal((await failure(frontend.toSession({ xSessionToken: other.token }))).status, 401);
    assert.deepEqual(await frontend.disableMyOtherSessions({ xSessionToken: me.token }), { count: 1 }, 'the browser');
  });
});

describe('recovery codes from createRecoveryCodeForIdentity', () => {
  async function issued(email: string) {
    const built = makeAdminApp();
    const sdk = sdkFor(await built.port());
    const identity = await sdk.createIdentity({ createIdentityBody: { schema_id: 'default', traits: { email } } });
    const code = await sdk.createRecoveryCodeForIdentity({
      createRecoveryCodeForIdentityBody: { identity_id: identity.id },
    });
    const url = new URL(code.recovery_link);
    return { ...built, sdk, identity, code, path: url.pathname + url.search };
  }
  const open = async (agent: Agent, path: string) =>
    (await agent.get(path).set('Accept', 'application/json')).body as FlowJson;
  const submit = (agent: Agent, flow: FlowJson, code: string) =>
    agent
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code });

  it('the first browser that opens the link keeps the flow: another browser can neither open nor use it', async () => {
    const { agent, code, path, identity } = await issued('bound@example.com');
    const owner = agent();
    const flow = await open(owner, path);
    assert.equal(flow.state, 'sent_email');
    assert.equal((await open(owner, path)).id, flow.id, 'the owner opens it again');
    const other = agent();
    const opened = await other.get(path).set('Accept', 'application/json');
    assert.equal(opened.status, 403);
    assert.equal(opened.body.error.id, 'security_csrf_violation');
    // A browser that never opened it, posting a token made from its own CSRF cookie (which passes the double-submit
    // check alone), with the right code.
    const forger = agent();
    const init = await forger.get('/auth/self-service/login/browser').set('Accept', 'application/json');
    const cookie = String(init.headers['set-cookie']).match(/passkeys_csrf_token=([A-Za-z0-9_-]{43})/)?.[1];
    assert.ok(cookie);
    const token = createHmac('sha256', Buffer.from(cookie, 'base64url')).update(`csrf:${flow.id}`).digest('base64url');
    const forged = await forger
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: token, method: 'code', code: code.recovery_code });
    assert.equal(forged.status, 403, JSON.stringify(forged.body));
    for (const browser of [other, forger]) assert.equal((await whoami(browser)).status, 401);
    const res = await submit(owner, flow, code.recovery_code);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await whoami(owner)).body.identity.id, identity.id);
  });

  it('api flows are not bound: a native app uses the code without cookies', async () => {
    const { agent, sdk, identity } = await issued('api-code@example.com');
    const code = await sdk.createRecoveryCodeForIdentity({
      createRecoveryCodeForIdentityBody: { identity_id: identity.id, flow_type: 'api' },
    });
    const url = new URL(code.recovery_link);
    const flowId = url.searchParams.get('id') ?? url.searchParams.get('flow');
    const first = await agent().get(`/auth/self-service/recovery/flows?id=${flowId}`).set('Accept', 'application/json');
    assert.equal(first.status, 200);
    const res = await agent()
      .post(`/auth/self-service/recovery?flow=${flowId}`)
      .set('Accept', 'application/json')
      .send({ method: 'code', code: code.recovery_code });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('a disabled identity’s code answers 400 with 4010011 and no session; a deleted identity’s link is gone', async () => {
    const { agent, sdk, code, path, identity } = await issued('disabled-code@example.com');
    await sdk.patchIdentity({ id: identity.id, jsonPatch: [{ op: 'replace', path: '/state', value: 'inactive' }] });
    const browser = agent();
    const flow = await open(browser, path);
    const res = await submit(browser, flow, code.recovery_code);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4010011]);
    assert.equal((await whoami(browser)).status, 401);

    const other = await sdk.createIdentity({
      createIdentityBody: { schema_id: 'default', traits: { email: 'deleted-code@example.com' } },
    });
    const second = await sdk.createRecoveryCodeForIdentity({
      createRecoveryCodeForIdentityBody: { identity_id: other.id },
    });
    await sdk.deleteIdentity({ id: other.id });
    const url = new URL(second.recovery_link);
    const gone = await agent()
      .get(url.pathname + url.search)
      .set('Accept', 'application/json');
    assert.ok(gone.status >= 400 && gone.status < 500, `${gone.status} ${JSON.stringify(gone.body)}`);
  });
});
