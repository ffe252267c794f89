// Issue 14, findings 4-7: canonical credential ids, oversized credential ids, a COSE `alg` that does not fit its key,
// and a `return_to` that normalises to `//host`. Each case shows the attack, then the refusal (real signatures).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicKeyProblem } from '../src/webauthn/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  login,
  makeApp,
  ORIGIN,
  register,
  requestOptionsOf,
  submitAssertion,
} from './helpers/app.js';
import { b64u, type RegistrationResponseJSON, SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CborValue, decodeCbor, decodeCborPrefix, encodeCbor } from './helpers/cbor.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Another spelling of a base64url id: its last character with an unused low bit set. Same bytes, not canonical. */
function otherSpelling(id: string): string {
  assert.ok(id.length % 4 === 2 || id.length % 4 === 3, 'the last character must carry unused bits');
  const last = ALPHABET.indexOf(id.at(-1) ?? '');
  const spelled = `${id.slice(0, -1)}${ALPHABET[last | 1]}`;
  assert.notEqual(spelled, id);
  assert.deepEqual(Buffer.from(spelled, 'base64url'), Buffer.from(id, 'base64url'), 'decodes to the same id');
  return spelled;
}

/** Standard base64 with padding (`btoa`), which the library accepts and canonicalises. */
const toBase64 = (id: string) => Buffer.from(id, 'base64url').toString('base64');

/**
 * A registration response with its attested credential data changed (`none` attestation signs nothing, so an
 * authenticator could send exactly this): another credential id, and/or a changed COSE key.
 */
function withAttestedData(
  credential: RegistrationResponseJSON,
  change: { credentialId?: Uint8Array; cose?: (key: Map<CborValue, CborValue>) => void },
): RegistrationResponseJSON {
  const object = decodeCbor(Buffer.from(credential.response.attestationObject, 'base64url')) as Map<
    CborValue,
    CborValue
  >;
  assert.equal(object.get('fmt'), 'none');
  const authData = object.get('authData') as Uint8Array;
  const idLength = Buffer.from(authData).readUInt16BE(53);
  const head = authData.subarray(0, 53);
  const id = change.credentialId ?? authData.subarray(55, 55 + idLength);
  const { value: key, length } = decodeCborPrefix(authData.subarray(55 + idLength));
  change.cose?.(key as Map<CborValue, CborValue>);
  const rest = authData.subarray(55 + idLength + length);
  const newLength = Buffer.alloc(2);
  newLength.writeUInt16BE(id.length);
  const newAuthData = new Uint8Array(Buffer.concat([head, newLength, id, encodeCbor(key), rest]));
  object.set('authData', newAuthData);
  const encodedId = b64u(id);
  return {
    ...credential,
    id: encodedId,
    rawId: encodedId,
    response: {
      ...credential.response,
      attestationObject: b64u(encodeCbor(object)),
      authenticatorData: b64u(newAuthData),
    },
  };
}

/** Sign up with a registration response the authenticator made, changed by `tamper`. */
async function signUp(
  a: Agent,
  authenticator: SoftwareAuthenticator,
  tamper: (c: RegistrationResponseJSON) => RegistrationResponseJSON = (c) => c,
) {
  const flow = await initFlow(a, 'registration');
  const credential = tamper(authenticator.create(creationOptionsOf(flow), { origin: ORIGIN }));
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({
      method: 'passkey',
      csrf_token: csrfOf(flow),
      traits: { email: `user${Math.random().toString(36).slice(2)}@example.com` },
      passkey_register: JSON.stringify(credential),
    });
}

/** Add a passkey in a settings flow (the agent holds a fresh session), the response changed by `tamper`. */
async function addInSettings(
  a: Agent,
  authenticator: SoftwareAuthenticator,
  tamper: (c: RegistrationResponseJSON) => RegistrationResponseJSON = (c) => c,
) {
  const flow = await initFlow(a, 'settings');
  const credential = tamper(authenticator.create(creationOptionsOf(flow), { origin: ORIGIN }));
  return settingsPost(a, flow, { passkey_settings_register: JSON.stringify(credential) });
}

function settingsPost(a: Agent, flow: FlowJson, body: Record<string, unknown>) {
  return a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', ...body });
}

const messageIds = (flow: FlowJson) => (flow.ui.messages ?? []).map((m) => m.id);
const reasons = (flow: FlowJson) => (flow.ui.messages ?? []).map((m) => m.context?.reason);
const signalOf = (flow: FlowJson) => flow.ui.nodes.find((n) => n.attributes.name === 'passkey_signal');

describe('finding 4: credential ids are canonical at every boundary', () => {
  it('a login with another spelling of a registered id is refused, and no unknownCredential signal names it', async () => {
    const { agent, store } = makeApp();
    const { authenticator, body } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const spelled = otherSpelling(assertion.id);
    // The attack: the same id, spelled with its unused low bits set, in a real answer to the flow's challenge. Left
    // as given, it was looked up as an unknown credential and the flow told the browser to signal it unknown, which
    // makes the user's authenticator hide or delete the registered passkey.
    const res = await submitAssertion(a, flow, { ...assertion, id: spelled, rawId: spelled });
    assert.equal(res.status, 400);
    assert.deepEqual(messageIds(res.body), [4000043]);
    assert.equal(signalOf(res.body), undefined, 'no Signal API node');
    const fetched = await a.get(`/auth/self-service/login/flows?id=${flow.id}`).expect(200);
    assert.equal(signalOf(fetched.body), undefined);
    // The passkey is untouched and signs in, by its canonical id and by standard base64 (canonicalised, not refused).
    assert.equal((await store.listPasskeys(body.identity.id)).length, 1);
    assert.equal((await login(agent(), authenticator)).status, 200);
    const b = agent();
    const next = await initFlow(b, 'login');
    const fresh = authenticator.get(requestOptionsOf(next), { origin: ORIGIN });
    const padded = toBase64(fresh.id);
    assert.match(padded, /=$/);
    assert.equal((await submitAssertion(b, next, { ...fresh, id: padded, rawId: padded })).status, 200);
  });

  it('an unknown id in its canonical spelling still gets the unknownCredential signal', async () => {
    const { agent } = makeApp();
    await register(agent());
    // A passkey registered elsewhere (another store, same RP): unknown here.
    const { authenticator: stranger } = await register(makeApp().agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await submitAssertion(a, flow, stranger.get(requestOptionsOf(flow), { origin: ORIGIN }));
    assert.equal(res.status, 400);
    const signal = JSON.parse(String(signalOf(res.body)?.attributes.value));
    assert.equal(signal.unknownCredential.credentialId, stranger.credentials[0]?.idB64u);
  });

  it('a registration whose id does not round-trip is refused with a reason (400, never stored)', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const authenticator = new SoftwareAuthenticator();
    const res = await signUp(a, authenticator, (c) => ({ ...c, id: otherSpelling(c.id), rawId: otherSpelling(c.id) }));
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4000001]);
    assert.match(String(reasons(res.body)[0]), /not canonical base64url/);
    assert.equal(await store.getPasskey(authenticator.credentials[0]?.idB64u ?? ''), null);
    // The same authenticator's next, untampered registration goes through.
    assert.equal((await signUp(agent(), authenticator)).status, 200);
  });

  it('settings: remove and rename refuse an id that does not round-trip, and take canonical base64url or hex', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { authenticator, body } = await register(a);
    const added = await addInSettings(a, new SoftwareAuthenticator());
    assert.equal(added.status, 200);
    const id = authenticator.credentials[0]?.idB64u ?? '';
    const spelled = otherSpelling(id);

    // Another spelling of a passkey that exists was answered "This passkey does not exist" (4000502); now it is
    // refused for what it is.
    const removed = await settingsPost(a, added.body, { passkey_remove: spelled });
    assert.equal(removed.status, 400);
    assert.deepEqual(messageIds(removed.body), [4000001]);
    assert.match(String(reasons(removed.body)[0]), /neither canonical base64url nor hex/);
    const renamed = await settingsPost(a, removed.body, { passkey_rename: { id: spelled, name: 'Renamed' } });
    assert.equal(renamed.status, 400);
    assert.deepEqual(messageIds(renamed.body), [4000001]);
    const form = await a
      .post(actionPath(renamed.body))
      .set('Accept', 'application/json')
      .type('form')
      .send({ csrf_token: csrfOf(renamed.body), passkey_rename_id: spelled, passkey_rename_name: 'Renamed' });
    assert.equal(form.status, 400);
    assert.deepEqual(messageIds(form.body), [4000001]);
    assert.equal((await store.listPasskeys(body.identity.id)).length, 2);

    // Canonical base64url renames; hex (as Kratos emits it) removes.
    const ok = await settingsPost(a, form.body, { passkey_rename: { id, name: 'Renamed' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await store.getPasskey(id))?.name, 'Renamed');
    const hex = Buffer.from(id, 'base64url').toString('hex');
    const gone = await settingsPost(a, ok.body, { passkey_remove: hex });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.equal(await store.getPasskey(id), null);
  });
});

describe('finding 5: credential ids over 1023 bytes are refused', () => {
  const sized = (bytes: number) => (c: RegistrationResponseJSON) =>
    withAttestedData(c, { credentialId: new Uint8Array(bytes).fill(7) });

  it('at registration: 1024 bytes is a 400 with a reason; 1023 bytes registers and signs in', async () => {
    const { agent, store } = makeApp();
    const tooLong = await signUp(agent(), new SoftwareAuthenticator(), sized(1024));
    assert.equal(tooLong.status, 400, JSON.stringify(tooLong.body));
    assert.deepEqual(messageIds(tooLong.body), [4000001]);
    assert.match(String(reasons(tooLong.body)[0]), /longer than 1023 bytes/);
    assert.equal(await store.getPasskey(b64u(new Uint8Array(1024).fill(7))), null);
    // The id that counts is the authenticator's: a short id in the JSON does not let a long one through.
    const hidden = await signUp(agent(), new SoftwareAuthenticator(), (c) => ({
      ...sized(1024)(c),
      id: c.id,
      rawId: c.id,
    }));
    assert.equal(hidden.status, 400, JSON.stringify(hidden.body));
    assert.match(String(reasons(hidden.body)[0]), /longer than 1023 bytes/);
    assert.equal(await store.getPasskey(b64u(new Uint8Array(1024).fill(7))), null);

    const authenticator = new SoftwareAuthenticator();
    const longest = await signUp(agent(), authenticator, sized(1023));
    assert.equal(longest.status, 200, JSON.stringify(longest.body));
    // The authenticator now holds the credential under that id: a real assertion with it signs in.
    const held = authenticator.credentials[0];
    assert.ok(held);
    held.id = new Uint8Array(1023).fill(7);
    held.idB64u = b64u(held.id);
    assert.ok(await store.getPasskey(held.idB64u));
    assert.equal((await login(agent(), authenticator)).status, 200);
  });

  it('at settings add: 1024 bytes is a 400 with a reason', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { body } = await register(a);
    const res = await addInSettings(a, new SoftwareAuthenticator(), sized(1024));
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4000001]);
    assert.match(String(reasons(res.body)[0]), /longer than 1023 bytes/);
    assert.equal((await store.listPasskeys(body.identity.id)).length, 1);
  });

  it('at sign-in: an id over 1023 bytes names no passkey and is refused before any lookup', async () => {
    const { agent } = makeApp();
    const { authenticator } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
    const long = b64u(new Uint8Array(1024).fill(1));
    const res = await submitAssertion(a, flow, { ...assertion, id: long, rawId: long });
    assert.equal(res.status, 400);
    assert.deepEqual(messageIds(res.body), [4000043]);
    assert.equal(signalOf(res.body), undefined);
  });
});

describe('finding 6: a COSE alg that does not fit its key type is refused', () => {
  /** An Ed25519 (OKP) key labelled ES256. */
  const okpAsEs256 = (c: RegistrationResponseJSON) =>
    withAttestedData(c, {
      cose: (key) => {
        assert.equal(key.get(1), 1);
        key.set(3, -7);
      },
    });

  it('at registration: an OKP key labelled ES256 is a 400 with a reason; the same key labelled EdDSA registers', async () => {
    const { agent, store } = makeApp();
    const authenticator = new SoftwareAuthenticator({ alg: -8 });
    const res = await signUp(agent(), authenticator, okpAsEs256);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(messageIds(res.body), [4000001]);
    assert.match(String(reasons(res.body)[0]), /does not fit its algorithm/);
    assert.equal(await store.getPasskey(authenticator.credentials[0]?.idB64u ?? ''), null);
    const honest = new SoftwareAuthenticator({ alg: -8 });
    assert.equal((await signUp(agent(), honest)).status, 200);
    assert.equal((await login(agent(), honest)).status, 200);
  });

  it('at settings add: an OKP key labelled ES256 is a 400 with a reason', async () => {
    const { agent, store } = makeApp();
    const a = agent();
    const { body } = await register(a);
    const res = await addInSettings(a, new SoftwareAuthenticator({ alg: -8 }), okpAsEs256);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(String(reasons(res.body)[0]), /does not fit its algorithm/);
    assert.equal((await store.listPasskeys(body.identity.id)).length, 1);
  });

  it('publicKeyProblem (for key imports) judges alg, kty and curve together', async () => {
    const p256 = { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) };
    const ec2 = (alg: number, crv: number) =>
      encodeCbor(
        new Map<CborValue, CborValue>([
          [1, 2],
          [3, alg],
          [-1, crv],
          [-2, p256.x],
          [-3, p256.y],
        ]),
      );
    const okp = (alg: number) =>
      encodeCbor(
        new Map<CborValue, CborValue>([
          [1, 1],
          [3, alg],
          [-1, 6],
          [-2, new Uint8Array(32).fill(3)],
        ]),
      );
    const fit = "The passkey's public key does not fit its algorithm.";
    assert.equal(publicKeyProblem(okp(-7)), fit, 'OKP labelled ES256');
    assert.equal(publicKeyProblem(okp(-257)), fit, 'OKP labelled RS256');
    assert.equal(publicKeyProblem(ec2(-7, 2)), fit, 'a P-384 curve labelled ES256');
    assert.equal(publicKeyProblem(ec2(-35, 1)), fit, 'a P-256 curve labelled ES384');
    assert.equal(publicKeyProblem(ec2(-8, 1)), fit, 'EC2 labelled EdDSA');
    assert.equal(publicKeyProblem(ec2(-257, 1)), fit, 'EC2 labelled RS256');
    assert.equal(publicKeyProblem(ec2(-1234, 1)), fit, 'an unknown alg');
    assert.equal(publicKeyProblem(Uint8Array.of(0xff)), "The passkey's public key is malformed.");
    // Keys that fit: a real P-256 key as registered, and an Ed25519 one.
    const { agent, store } = makeApp();
    const { body } = await register(agent());
    const [stored] = await store.listPasskeys(body.identity.id);
    assert.ok(stored);
    assert.equal(publicKeyProblem(stored.publicKey), undefined, 'ES256 on P-256');
    assert.equal(publicKeyProblem(okp(-8)), undefined, 'EdDSA on Ed25519');
  });
});

describe('finding 7: a return_to that normalises to //host is refused', () => {
  const dotted = ['/.//evil.com', '/%2e//evil.com', '/a/..//evil.com', '/././/evil.com/x', `${ORIGIN}/.//evil.com`];

  it('login and registration inits refuse it (400 self_service_flow_return_to_forbidden); plain paths stay', async () => {
    const { agent } = makeApp();
    for (const kind of ['login', 'registration']) {
      for (const value of dotted) {
        const res = await agent()
          .get(`/auth/self-service/${kind}/browser?return_to=${encodeURIComponent(value)}`)
          .set('Accept', 'application/json');
        assert.equal(res.status, 400, `${kind} ${value}: ${JSON.stringify(res.body.return_to)}`);
        assert.equal(res.body.error.id, 'self_service_flow_return_to_forbidden');
        assert.equal(res.body.error.reason, `Requested return_to URL "${value}" is not allowed.`);
      }
      for (const value of ['/./account', '/a/../account//x', `${ORIGIN}/app/./x`]) {
        const res = await agent()
          .get(`/auth/self-service/${kind}/browser?return_to=${encodeURIComponent(value)}`)
          .set('Accept', 'application/json');
        assert.equal(res.status, 200, value);
      }
    }
  });

  it('a browser init that asks for HTML is refused too, and logout refuses it', async () => {
    const { agent } = makeApp();
    const html = await agent()
      .get(`/auth/self-service/login/browser?return_to=${encodeURIComponent('/.//evil.com')}`)
      .set('Accept', 'text/html');
    assert.equal(html.status, 400);
    assert.doesNotMatch(String(html.headers.location ?? ''), /evil/);
    const a = agent();
    await register(a);
    const res = await a
      .get(`/auth/self-service/logout/browser?return_to=${encodeURIComponent('/.//evil.com')}`)
      .set('Accept', 'application/json');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.id, 'self_service_flow_return_to_forbidden');
  });
});
