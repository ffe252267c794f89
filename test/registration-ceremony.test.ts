// Registration ceremonies that must fail: wrong origin, RP ID, challenge, UV, malformed attestation objects.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Agent, actionPath, creationOptionsOf, csrfOf, initFlow, makeApp, ORIGIN } from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { decodeCbor, encodeCbor } from './helpers/cbor.js';

async function submit(
  a: Agent,
  flow: Awaited<ReturnType<typeof initFlow>>,
  credential: unknown,
  email = 'x@example.com',
) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), traits: { email }, passkey_register: JSON.stringify(credential) });
}

describe('registration ceremony checks', () => {
  const failing: [string, Parameters<SoftwareAuthenticator['create']>[1]][] = [
    ['an origin not in rp.origins (same RP ID, other port)', { origin: 'http://localhost:4000' }],
    ['a wrong RP ID hash', { origin: ORIGIN, rpId: 'example.com' }],
    ['a challenge of another flow', { origin: ORIGIN, challenge: 'Zm9yZWlnbi1jaGFsbGVuZ2UtZm9yZWlnbi1jaGFsbGVuZ2U' }],
    ['the wrong clientData type', { origin: ORIGIN, type: 'webauthn.get' }],
    ['no user presence', { origin: ORIGIN, userPresent: false }],
    ['a truncated public key', { origin: ORIGIN, truncatePublicKey: true }],
  ];
  for (const [name, ctx] of failing) {
    it(`refuses ${name} with 4000001 and a new challenge; nothing is created`, async () => {
      const { agent, store } = makeApp();
      const a = agent();
      const flow = await initFlow(a, 'registration');
      const credential = new SoftwareAuthenticator({ alg: -7 }).create(creationOptionsOf(flow), ctx);
      const res = await submit(a, flow, credential);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.ui.messages[0].id, 4000001);
      assert.equal(typeof res.body.ui.messages[0].context.reason, 'string');
      assert.notEqual(creationOptionsOf(res.body).challenge, creationOptionsOf(flow).challenge);
      assert.equal(await store.findIdentityByIdentifier('x@example.com'), null);
      await a.get('/auth/sessions/whoami').expect(401);
    });
  }

  it('refuses the response made for another flow', async () => {
    const { agent } = makeApp();
    const a = agent();
    const mine = await initFlow(a, 'registration');
    const theirs = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(theirs), { origin: ORIGIN });
    const res = await submit(a, mine, credential);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000001);
  });

  it('refuses a response without user verification when UV is required', async () => {
    const { agent } = makeApp({ authenticatorSelection: { userVerification: 'required' } });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), {
      origin: ORIGIN,
      userVerified: false,
    });
    const res = await submit(a, flow, credential);
    assert.equal(res.status, 400);
    const again = new SoftwareAuthenticator().create(creationOptionsOf(res.body), { origin: ORIGIN });
    assert.equal((await submit(a, res.body, again)).status, 200);
  });

  it('refuses an attestation object with trailing bytes', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const bytes = Buffer.from(credential.response.attestationObject, 'base64url');
    credential.response.attestationObject = Buffer.concat([bytes, Buffer.from(encodeCbor(1))]).toString('base64url');
    const res = await submit(a, flow, credential);
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000001);
  });

  it('refuses a truncated attestation object', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const bytes = Buffer.from(credential.response.attestationObject, 'base64url');
    credential.response.attestationObject = bytes.subarray(0, bytes.length - 10).toString('base64url');
    const res = await submit(a, flow, credential);
    assert.equal(res.status, 400);
  });

  it('refuses an attestation object truncated inside its extensions (where a lax decoder pads nothing)', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    // fmt "none" signs nothing, so the authenticator data can be rebuilt: ED flag plus an extensions map.
    const object = decodeCbor(Buffer.from(credential.response.attestationObject, 'base64url')) as Map<string, unknown>;
    const authData = object.get('authData') as Uint8Array;
    // An extension whose value is a byte string: cut short, a lax decoder just returns fewer bytes.
    const extensions = encodeCbor(new Map([['x', new Uint8Array(10).fill(1)]]));
    const withExtensions = new Uint8Array([...authData, ...extensions]);
    withExtensions[32] = (withExtensions[32] ?? 0) | 0x80;
    object.set('authData', withExtensions);
    const full = encodeCbor(object as never);
    // Cut 3 bytes off the end: the authData byte string now claims more bytes than there are.
    credential.response.attestationObject = Buffer.from(full.subarray(0, full.length - 3)).toString('base64url');
    delete (credential.response as { authenticatorData?: string }).authenticatorData;
    const res = await submit(a, flow, credential, 'ext@example.com');
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000001);
    assert.equal(await store.findIdentityByIdentifier('ext@example.com'), null);
    const again = new SoftwareAuthenticator().create(creationOptionsOf(res.body), { origin: ORIGIN });
    const object2 = decodeCbor(Buffer.from(again.response.attestationObject, 'base64url')) as Map<string, unknown>;
    const authData2 = object2.get('authData') as Uint8Array;
    const extended2 = new Uint8Array([...authData2, ...extensions]);
    extended2[32] = (extended2[32] ?? 0) | 0x80;
    object2.set('authData', extended2);
    again.response.attestationObject = Buffer.from(encodeCbor(object2 as never)).toString('base64url');
    delete (again.response as { authenticatorData?: string }).authenticatorData;
    assert.equal((await submit(a, res.body, again, 'ext@example.com')).status, 200, 'the complete object registers');
  });

  it('refuses a credential id that is registered already', async () => {
    const { agent } = makeApp();
    const authenticator = new SoftwareAuthenticator();
    const a = agent();
    const first = await initFlow(a, 'registration');
    const credential = authenticator.create(creationOptionsOf(first), { origin: ORIGIN });
    assert.equal((await submit(a, first, credential, 'one@example.com')).status, 200);
    // Same credential, replayed into a fresh flow by another browser: challenge mismatch or duplicate, never 200.
    const b = agent();
    const second = await initFlow(b, 'registration');
    const res = await submit(b, second, credential, 'two@example.com');
    assert.equal(res.status, 400);
  });

  it('never answers 5xx to garbage in passkey_register', async () => {
    const { agent } = makeApp();
    const a = agent();
    for (const garbage of [
      '{',
      '[]',
      '1',
      '{"id":"x","rawId":"x","response":{"clientDataJSON":"e30","attestationObject":"oA"}}',
    ]) {
      const flow = await initFlow(a, 'registration');
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({
          csrf_token: csrfOf(flow),
          traits: { email: 'g@example.com' },
          passkey_register: garbage,
        });
      assert.equal(res.status, 400, garbage);
      assert.equal(res.body.ui.messages[0].id, 4000001);
    }
  });

  it('passes transient_payload to onRegistered and survives a throwing hook', async () => {
    const seen: unknown[] = [];
    const { agent } = makeApp({
      hooks: {
        onRegistered: (event) => {
          seen.push(event.transientPayload);
          throw new Error('hook failure');
        },
      },
    });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const original = console.error;
    console.error = () => {};
    try {
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({
          csrf_token: csrfOf(flow),
          traits: { email: 'hook@example.com' },
          passkey_register: JSON.stringify(credential),
          transient_payload: { plan: 'pro' },
        });
      assert.equal(res.status, 200);
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, [{ plan: 'pro' }]);
  });

  it('with hooks.session off, registration issues no session', async () => {
    const { agent } = makeApp({ hooks: { session: false } });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = new SoftwareAuthenticator().create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await submit(a, flow, credential, 'nosession@example.com');
    assert.equal(res.status, 200);
    assert.equal(res.body.session, undefined);
    await a.get('/auth/sessions/whoami').expect(401);
  });
});
