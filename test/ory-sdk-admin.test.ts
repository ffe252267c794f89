// Ory's own SDK (`@ory/client-fetch`, `IdentityApi`, unchanged) against `auth.adminRouter()` mounted behind a guard on a
// real port: identities listed, read, created with an imported passkey, patched, deleted; recovery codes; sessions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Configuration,
  IdentityApi,
  IdentityStateEnum,
  instanceOfIdentity,
  instanceOfRecoveryCodeForIdentity,
  instanceOfSession,
  ResponseError,
} from '@ory/client-fetch';
import { ADMIN_TOKEN, makeAdminApp, simpleWebAuthnRegistration } from './helpers/admin.js';
import { actionPath, csrfOf, type FlowJson, login, register } from './helpers/app.js';

function sdkFor(port: number, token = ADMIN_TOKEN) {
  return new IdentityApi(new Configuration({ basePath: `http://127.0.0.1:${port}/admin-api`, accessToken: token }));
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ResponseError) return error.response.status;
    throw error;
  }
  return 200;
}

describe("Ory's IdentityApi against adminRouter()", () => {
  it('refuses a caller without the staff token (the app guard decides)', async () => {
    const { port } = makeAdminApp();
    assert.equal(await status(sdkFor(await port(), 'wrong').listIdentities()), 401);
  });

  it('createIdentity with a passkey import, getIdentity, listIdentities (pages, identifier), patchIdentity, deleteIdentity', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const { row, authenticator } = await simpleWebAuthnRegistration('sdk@example.com');
    const created = await sdk.createIdentity({
      createIdentityBody: {
        schema_id: 'default',
        traits: { email: 'sdk@example.com' },
        metadata_public: { plan: 'team' },
        credentials: {
          passkey: {
            config: {
              user_handle: [...Buffer.from(row.webAuthnUserID, 'base64url')],
              credentials: [
                {
                  id: [...Buffer.from(row.id, 'base64url')],
                  public_key: [...Buffer.from(row.publicKey, 'base64url')],
                  display_name: 'From the old app',
                  authenticator: { sign_count: row.counter },
                },
              ],
            },
          },
        },
      },
    });
    assert.ok(instanceOfIdentity(created));
    assert.equal(created.state, IdentityStateEnum.Active);
    assert.deepEqual(created.metadata_public, { plan: 'team' });
    const passkey = created.credentials?.passkey;
    assert.equal(passkey?.type, 'passkey');
    assert.deepEqual(
      (passkey?.config as { credentials: { id: string }[] } | undefined)?.credentials.map((c) => c.id),
      [row.id],
    );
    // The imported passkey signs in through the passkeys router.
    const res = await login(agent(), authenticator);
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const fetched = await sdk.getIdentity({ id: created.id });
    assert.equal(fetched.id, created.id);
    assert.ok(fetched.created_at instanceof Date);
    assert.equal(await status(sdk.getIdentity({ id: '00000000-0000-4000-8000-000000000000' })), 404);

    for (let i = 0; i < 3; i++) {
      await sdk.createIdentity({
        createIdentityBody: { schema_id: 'default', traits: { email: `sdk${i}@example.com` } },
      });
    }
    const firstPage = await sdk.listIdentitiesRaw({ pageSize: 3 });
    assert.equal((await firstPage.value()).length, 3);
    const next = /<([^>]+)>; rel="next"/.exec(firstPage.raw.headers.get('link') ?? '')?.[1];
    assert.ok(next);
    const rest = await sdk.listIdentities({
      pageSize: 3,
      pageToken: new URL(next).searchParams.get('page_token') ?? '',
    });
    assert.equal(rest.length, 1);
    const found = await sdk.listIdentities({ credentialsIdentifier: 'SDK1@example.com' });
    assert.deepEqual(
      found.map((i) => (i.traits as { email: string }).email),
      ['sdk1@example.com'],
    );
    assert.equal(await status(sdk.listIdentities({ pageSize: 0 })), 400);
    assert.equal(await status(sdk.listIdentities({ pageSize: 501 })), 400);

    const patched = await sdk.patchIdentity({
      id: created.id,
      jsonPatch: [
        { op: 'replace', path: '/state', value: 'inactive' },
        { op: 'add', path: '/metadata_admin', value: { reason: 'abuse report' } },
      ],
    });
    assert.equal(patched.state, IdentityStateEnum.Inactive);
    assert.ok(patched.state_changed_at instanceof Date);
    assert.deepEqual(patched.metadata_admin, { reason: 'abuse report' });
    const refused = await login(agent(), authenticator);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.ui.messages[0].id, 4010011);
    assert.equal(await status(sdk.patchIdentity({ id: created.id, jsonPatch: [{ op: 'remove', path: '/id' }] })), 400);

    await sdk.deleteIdentity({ id: created.id });
    assert.equal(await status(sdk.getIdentity({ id: created.id })), 404);
    assert.equal(await status(sdk.deleteIdentity({ id: created.id })), 404);
  });

  it('createRecoveryCodeForIdentity: 201 with a link and code that the recovery flow accepts; 404 for an unknown identity', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const identity = await sdk.createIdentity({
      createIdentityBody: { schema_id: 'default', traits: { email: 'sdk-recover@example.com' } },
    });
    const code = await sdk.createRecoveryCodeForIdentity({
      createRecoveryCodeForIdentityBody: { identity_id: identity.id, expires_in: '30m' },
    });
    assert.ok(instanceOfRecoveryCodeForIdentity(code));
    assert.ok(code.expires_at instanceof Date);
    assert.ok(code.expires_at.getTime() <= Date.now() + 30 * 60_000 + 1000);
    const browser = agent();
    const url = new URL(code.recovery_link);
    const flow = (await browser.get(url.pathname + url.search).set('Accept', 'application/json')).body as FlowJson;
    const res = await browser
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), method: 'code', code: code.recovery_code });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const whoami = await browser.get('/auth/sessions/whoami').set('Accept', 'application/json');
    assert.equal(whoami.body.identity.id, identity.id);
    assert.equal(
      await status(
        sdk.createRecoveryCodeForIdentity({
          createRecoveryCodeForIdentityBody: { identity_id: '00000000-0000-4000-8000-000000000000' },
        }),
      ),
      404,
    );
  });

  it('listIdentitySessions, getSession, extendSession, disableSession, deleteIdentitySessions', async () => {
    const { port, agent } = makeAdminApp();
    const sdk = sdkFor(await port());
    const laptop = agent();
    const { authenticator, body } = await register(laptop, 'sdk-sessions@example.com');
    const phone = agent();
    assert.equal((await login(phone, authenticator)).status, 200);
    const id = body.identity.id as string;
    const sessions = await sdk.listIdentitySessions({ id, active: true });
    assert.equal(sessions.length, 2);
    assert.ok(sessions.every((s) => instanceOfSession(s) && s.active === true));
    assert.ok(sessions.every((s) => s.identity?.id === id));
    const phoneId = (await phone.get('/auth/sessions/whoami').set('Accept', 'application/json')).body.id as string;
    const one = await sdk.getSession({ id: phoneId });
    assert.equal(one.id, phoneId);
    const extended = await sdk.extendSession({ id: phoneId });
    assert.ok(extended && extended.expires_at instanceof Date);
    assert.ok((extended.expires_at as Date).getTime() > Date.now() + 23 * 3600_000);
    await sdk.disableSession({ id: phoneId });
    assert.equal((await phone.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
    assert.equal((await laptop.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 200);
    assert.equal(await status(sdk.disableSession({ id: '00000000-0000-4000-8000-000000000000' })), 404);
    await sdk.deleteIdentitySessions({ id });
    assert.equal((await laptop.get('/auth/sessions/whoami').set('Accept', 'application/json')).status, 401);
    assert.deepEqual(await sdk.listIdentitySessions({ id, active: true }), []);
    assert.equal(await status(sdk.listIdentitySessions({ id: '00000000-0000-4000-8000-000000000000' })), 404);
  });
});
