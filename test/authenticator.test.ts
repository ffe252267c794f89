import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { b64u, type CoseAlg, fromB64u, SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CborValue, decodeCbor, decodeCborPrefix, encodeCbor } from './helpers/cbor.js';

const RP_ID = 'example.com';
const ORIGIN = 'https://example.com';
const ALG_NAMES: Record<CoseAlg, string> = { [-7]: 'ES256', [-8]: 'EdDSA', [-257]: 'RS256' };

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function asMap(value: CborValue): Map<CborValue, CborValue> {
  assert.ok(value instanceof Map, 'expected a CBOR map');
  return value;
}

function asBytes(value: CborValue | undefined): Uint8Array {
  assert.ok(value instanceof Uint8Array, 'expected CBOR bytes');
  return value;
}

async function regOptions(opts: { alg?: CoseAlg; algs?: number[]; attestation?: 'none' | 'direct' } = {}) {
  return generateRegistrationOptions({
    rpName: 'Example',
    rpID: RP_ID,
    userName: 'alice@example.com',
    attestationType: opts.attestation ?? 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    ...(opts.algs ? { supportedAlgorithmIDs: opts.algs } : opts.alg ? { supportedAlgorithmIDs: [opts.alg] } : {}),
  });
}

function verifyReg(
  response: RegistrationResponseJSON,
  options: PublicKeyCredentialCreationOptionsJSON,
  extra: { requireUserVerification?: boolean } = {},
) {
  return verifyRegistrationResponse({
    response,
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    requireUserVerification: extra.requireUserVerification ?? true,
    supportedAlgorithmIDs: [-7, -8, -257],
  });
}

/** Registers a credential with the server library and returns what a server would store. */
async function register(
  auth: SoftwareAuthenticator,
  alg: CoseAlg = -7,
): Promise<{ credential: WebAuthnCredential; userId: string }> {
  const options = await regOptions({ alg });
  const response = auth.create(options, { origin: ORIGIN });
  const result = await verifyReg(response, options);
  assert.equal(result.verified, true);
  assert.ok(result.registrationInfo);
  return { credential: result.registrationInfo.credential, userId: options.user.id };
}

function verifyAuth(
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: WebAuthnCredential,
  requireUserVerification = true,
) {
  return verifyAuthenticationResponse({
    response,
    expectedChallenge: challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP_ID,
    credential,
    requireUserVerification,
  });
}

describe('cbor', () => {
  it('encodes RFC 8949 appendix A vectors', () => {
    const vectors: [CborValue, string][] = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [100, '1864'],
      [1000, '1903e8'],
      [1000000, '1a000f4240'],
      [1000000000000, '1b000000e8d4a51000'],
      [18446744073709551615n, '1bffffffffffffffff'],
      [-1, '20'],
      [-10, '29'],
      [-100, '3863'],
      [-1000, '3903e7'],
      [-18446744073709551616n, '3bffffffffffffffff'],
      [1.1, 'fb3ff199999999999a'],
      [false, 'f4'],
      [true, 'f5'],
      [null, 'f6'],
      [undefined, 'f7'],
      [new Uint8Array(0), '40'],
      [Uint8Array.of(1, 2, 3, 4), '4401020304'],
      ['', '60'],
      ['a', '6161'],
      ['IETF', '6449455446'],
      ['\u00fc', '62c3bc'],
      ['\u6c34', '63e6b0b4'],
      [[], '80'],
      [[1, 2, 3], '83010203'],
      [[1, [2, 3], [4, 5]], '8301820203820405'],
      [{}, 'a0'],
      [
        new Map<CborValue, CborValue>([
          [1, 2],
          [3, 4],
        ]),
        'a201020304',
      ],
      [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
    ];
    for (const [value, expected] of vectors) {
      assert.equal(hex(encodeCbor(value)), expected, `encoding ${String(value)}`);
    }
  });

  it('sorts map keys canonically (CTAP2: shorter first, then bytewise)', () => {
    const cose = new Map<CborValue, CborValue>([
      [-3, 0],
      [-1, 0],
      [3, 0],
      [-2, 0],
      [1, 0],
    ]);
    assert.equal(hex(encodeCbor(cose)), 'a5' + '0100' + '0300' + '2000' + '2100' + '2200');
    const t = (str: string) => Buffer.from(str).toString('hex');
    assert.equal(
      hex(encodeCbor({ authData: 1, fmt: 2, attStmt: 3 })),
      'a3' + '63' + t('fmt') + '02' + '67' + t('attStmt') + '03' + '68' + t('authData') + '01',
    );
    // 1 and 1n are distinct Map keys but the same CBOR key.
    assert.throws(
      () =>
        encodeCbor(
          new Map<CborValue, CborValue>([
            [1, 'a'],
            [1n, 'b'],
          ]),
        ),
      /duplicate/,
    );
  });

  it('decodes what it encodes, and rejects truncated or trailing data', () => {
    const value = new Map<CborValue, CborValue>([
      [1, 2],
      [-2, Uint8Array.of(9, 8, 7)],
      ['s', ['x', true, null, -300, 70000, 2 ** 40]],
    ]);
    const bytes = encodeCbor(value);
    assert.deepEqual(decodeCbor(bytes), value);
    assert.throws(() => decodeCbor(bytes.slice(0, -1)), /truncated/);
    assert.throws(() => decodeCbor(Uint8Array.of(...bytes, 0)), /trailing/);
    assert.deepEqual(decodeCborPrefix(Uint8Array.of(...bytes, 0xff, 0xff)), { value, length: bytes.length });
    assert.equal(decodeCbor(Uint8Array.of(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), 2n ** 64n - 1n);
    assert.equal(decodeCbor(Uint8Array.of(0xf9, 0x3c, 0x00)), 1);
    assert.throws(() => decodeCbor(Uint8Array.of(0x9f, 0xff)), /indefinite/);
  });
});

describe('base64url', () => {
  it('round-trips bytes without padding and returns a plain Uint8Array', () => {
    const bytes = Uint8Array.of(0xfb, 0xff, 0x00, 0x3e);
    assert.equal(b64u(bytes), '-_8APg');
    const back = fromB64u('-_8APg');
    assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype);
    assert.deepEqual(back, bytes);
    assert.equal(b64u(new Uint8Array(0)), '');
    assert.throws(() => fromB64u('a+b/'), TypeError);
  });
});

describe('SoftwareAuthenticator registration', () => {
  for (const alg of [-7, -8, -257] as const) {
    for (const fmt of ['none', 'packed'] as const) {
      it(`${ALG_NAMES[alg]} fmt=${fmt} verifies with @simplewebauthn/server`, async () => {
        const aaguid = 'adce0002-35bc-c60a-648b-0b25f1f05503';
        const auth = new SoftwareAuthenticator({ aaguid });
        const options = await regOptions({ alg, attestation: fmt === 'packed' ? 'direct' : 'none' });
        const response = auth.create(options, { origin: ORIGIN });

        const result = await verifyReg(response, options);
        assert.equal(result.verified, true);
        const info = result.registrationInfo;
        assert.ok(info);
        assert.equal(info.fmt, fmt);
        assert.equal(info.aaguid, aaguid);
        assert.equal(info.credential.id, response.id);
        assert.equal(info.credential.counter, 0);
        assert.equal(info.userVerified, true);
        assert.equal(info.credentialDeviceType, 'singleDevice');
        assert.equal(info.credentialBackedUp, false);
        assert.equal(info.origin, ORIGIN);

        assert.equal(auth.credentials.length, 1);
        const stored = auth.credentials[0]!;
        assert.equal(stored.alg, alg);
        assert.equal(stored.idB64u, response.id);
        assert.equal(stored.id.length, 32);
        assert.equal(stored.rpId, RP_ID);
        assert.equal(b64u(stored.userHandle), options.user.id);
        assert.equal(response.response.publicKeyAlgorithm, alg);
        // The SPKI public key in the response is the credential's public key.
        const spki = createPublicKey({
          key: Buffer.from(fromB64u(response.response.publicKey!)),
          format: 'der',
          type: 'spki',
        });
        assert.ok(spki.equals(stored.publicKey));
      });
    }
  }

  it('builds the attestation object and authenticator data byte for byte', async () => {
    const auth = new SoftwareAuthenticator({ aaguid: '01020304-0506-0708-090a-0b0c0d0e0f10' });
    const options = await regOptions({ alg: -7 });
    const response = auth.create(options, { origin: ORIGIN });

    const clientData = JSON.parse(Buffer.from(fromB64u(response.response.clientDataJSON)).toString('utf8'));
    assert.deepEqual(clientData, {
      type: 'webauthn.create',
      challenge: options.challenge,
      origin: ORIGIN,
      crossOrigin: false,
    });

    const att = asMap(decodeCbor(fromB64u(response.response.attestationObject)));
    assert.deepEqual([...att.keys()], ['fmt', 'attStmt', 'authData']);
    assert.equal(att.get('fmt'), 'none');
    assert.equal(asMap(att.get('attStmt')!).size, 0);
    const authData = asBytes(att.get('authData'));
    assert.equal(b64u(authData), response.response.authenticatorData);

    assert.equal(hex(authData.slice(0, 32)), createHash('sha256').update(RP_ID).digest('hex'));
    assert.equal(authData[32], 0x01 | 0x04 | 0x40);
    assert.equal(hex(authData.slice(33, 37)), '00000000');
    assert.equal(hex(authData.slice(37, 53)), '0102030405060708090a0b0c0d0e0f10');
    assert.equal((authData[53]! << 8) | authData[54]!, 32);
    assert.equal(b64u(authData.slice(55, 87)), response.id);
    const cose = decodeCborPrefix(authData.slice(87));
    assert.equal(87 + cose.length, authData.length);
    const key = asMap(cose.value);
    assert.deepEqual([...key.keys()], [1, 3, -1, -2, -3]);
    assert.equal(key.get(1), 2);
    assert.equal(key.get(3), -7);
    assert.equal(key.get(-1), 1);
    assert.equal(asBytes(key.get(-2)).length, 32);
    assert.equal(asBytes(key.get(-3)).length, 32);

    assert.deepEqual(response.response.transports, ['internal']);
    assert.equal(response.type, 'public-key');
    assert.equal(response.rawId, response.id);
    assert.equal(response.authenticatorAttachment, 'platform');
    assert.deepEqual(response.clientExtensionResults, {});
  });

  it('encodes OKP and RSA COSE keys', async () => {
    const auth = new SoftwareAuthenticator();
    const coseOf = (r: RegistrationResponseJSON) => {
      const authData = asBytes(asMap(decodeCbor(fromB64u(r.response.attestationObject))).get('authData'));
      return asMap(decodeCbor(authData.slice(55 + 32)));
    };
    const okp = coseOf(auth.create(await regOptions({ alg: -8 }), { origin: ORIGIN }));
    assert.deepEqual([...okp.keys()], [1, 3, -1, -2]);
    assert.deepEqual([okp.get(1), okp.get(3), okp.get(-1), asBytes(okp.get(-2)).length], [1, -8, 6, 32]);
    const rsa = coseOf(auth.create(await regOptions({ alg: -257 }), { origin: ORIGIN }));
    assert.deepEqual([...rsa.keys()], [1, 3, -1, -2]);
    assert.deepEqual([rsa.get(1), rsa.get(3), asBytes(rsa.get(-1)).length], [3, -257, 256]);
    assert.equal(hex(asBytes(rsa.get(-2))), '010001');
  });

  it('packed self-attestation signs authData || sha256(clientDataJSON) with the credential key', async () => {
    const auth = new SoftwareAuthenticator();
    const options = await regOptions({ alg: -7, attestation: 'direct' });
    const response = auth.create(options, { origin: ORIGIN });
    const att = asMap(decodeCbor(fromB64u(response.response.attestationObject)));
    assert.equal(att.get('fmt'), 'packed');
    const attStmt = asMap(att.get('attStmt')!);
    assert.deepEqual([...attStmt.keys()], ['alg', 'sig']);
    assert.equal(attStmt.get('alg'), -7);
    const signed = Buffer.concat([
      asBytes(att.get('authData')),
      createHash('sha256').update(fromB64u(response.response.clientDataJSON)).digest(),
    ]);
    assert.equal(cryptoVerify('sha256', signed, auth.credentials[0]!.publicKey, asBytes(attStmt.get('sig'))), true);
    // ctx.fmt overrides the default taken from options.attestation.
    const none = auth.create(options, { origin: ORIGIN, fmt: 'none' });
    assert.equal(asMap(decodeCbor(fromB64u(none.response.attestationObject))).get('fmt'), 'none');
  });

  it('picks the first supported algorithm the server offers, unless told otherwise', async () => {
    const algOf = (r: RegistrationResponseJSON) => r.response.publicKeyAlgorithm;
    // simplewebauthn's default list is [EdDSA, ES256, RS256].
    assert.equal(algOf(new SoftwareAuthenticator().create(await regOptions(), { origin: ORIGIN })), -8);
    assert.equal(
      algOf(new SoftwareAuthenticator().create(await regOptions({ algs: [-36, -257, -7] }), { origin: ORIGIN })),
      -257,
    );
    // A preferred algorithm in the constructor wins when offered.
    assert.equal(algOf(new SoftwareAuthenticator({ alg: -257 }).create(await regOptions(), { origin: ORIGIN })), -257);
    assert.equal(
      algOf(new SoftwareAuthenticator({ alg: -257 }).create(await regOptions({ algs: [-7] }), { origin: ORIGIN })),
      -7,
    );
    // ctx.alg forces one even if the server did not offer it.
    assert.equal(
      algOf(new SoftwareAuthenticator().create(await regOptions({ algs: [-7] }), { origin: ORIGIN, alg: -8 })),
      -8,
    );
    assert.throws(
      () => new SoftwareAuthenticator().create(regOptionsSync([-36, -35]), { origin: ORIGIN }),
      (err: unknown) => err instanceof DOMException && err.name === 'NotSupportedError',
    );
  });

  it('sets BE/BS flags as configured', async () => {
    const options = await regOptions({ alg: -7 });
    const synced = await verifyReg(
      new SoftwareAuthenticator({ backupEligible: true }).create(options, { origin: ORIGIN }),
      options,
    );
    assert.equal(synced.registrationInfo?.credentialDeviceType, 'multiDevice');
    assert.equal(synced.registrationInfo?.credentialBackedUp, true);
    const notYet = await verifyReg(
      new SoftwareAuthenticator({ backupEligible: true, backedUp: false }).create(options, { origin: ORIGIN }),
      options,
    );
    assert.equal(notYet.registrationInfo?.credentialDeviceType, 'multiDevice');
    assert.equal(notYet.registrationInfo?.credentialBackedUp, false);
  });

  it('accepts options wrapped in { publicKey }', async () => {
    const options = await regOptions({ alg: -7 });
    const result = await verifyReg(
      new SoftwareAuthenticator().create({ publicKey: options }, { origin: ORIGIN }),
      options,
    );
    assert.equal(result.verified, true);
  });

  describe('negative cases are rejected by the server library', () => {
    const cases: [string, Parameters<SoftwareAuthenticator['create']>[1], RegExp][] = [
      ['wrong origin', { origin: 'https://evil.example.net' }, /origin/i],
      ['wrong rpId', { origin: ORIGIN, rpId: 'evil.example.net' }, /RP ID/i],
      ['wrong challenge', { origin: ORIGIN, challenge: 'c29tZS1vdGhlci1jaGFsbGVuZ2U' }, /challenge/i],
      ['wrong type', { origin: ORIGIN, type: 'webauthn.get' }, /type/i],
      ['no user verification', { origin: ORIGIN, userVerified: false }, /verif/i],
      ['no user presence', { origin: ORIGIN, userPresent: false }, /present/i],
    ];
    for (const [name, ctx, message] of cases) {
      it(name, async () => {
        const options = await regOptions({ alg: -7 });
        await assert.rejects(verifyReg(new SoftwareAuthenticator().create(options, ctx), options), message);
      });
    }

    it('truncated public key: the COSE key part is short; packed attestation fails on it', async () => {
      for (const alg of [-7, -8, -257] as const) {
        const options = await regOptions({ alg });
        const response = new SoftwareAuthenticator().create(options, {
          origin: ORIGIN,
          truncatePublicKey: true,
          fmt: 'packed',
        });
        const authData = asBytes(asMap(decodeCbor(fromB64u(response.response.attestationObject))).get('authData'));
        const key = asMap(decodeCbor(authData.slice(87)));
        const cut = asBytes(key.get(alg === -257 ? -1 : -2));
        assert.ok(cut.length < (alg === -257 ? 256 : 32), `${ALG_NAMES[alg]} key part not truncated`);
        assert.equal(response.response.publicKey, undefined);
        // EC2/OKP: the key does not import (throws); RSA: a short modulus imports but the signature fails.
        const result = await verifyReg(response, options).catch((err: Error) => err);
        assert.ok(
          result instanceof Error || result.verified === false,
          `${ALG_NAMES[alg]} packed with truncated key must not verify`,
        );
      }
    });

    it('truncated public key with fmt none: @simplewebauthn/server does NOT catch it (the server must, SPEC §5)', async () => {
      // Documents a gap in the dependency: with attStmt {} nothing uses the key, so verification passes
      // and registrationInfo carries an unusable key. If this starts failing, simplewebauthn got stricter.
      for (const alg of [-7, -8, -257] as const) {
        const options = await regOptions({ alg });
        const response = new SoftwareAuthenticator().create(options, { origin: ORIGIN, truncatePublicKey: true });
        const result = await verifyReg(response, options);
        assert.equal(result.verified, true);
        const cose = asMap(decodeCbor(result.registrationInfo!.credential.publicKey));
        assert.ok(asBytes(cose.get(alg === -257 ? -1 : -2)).length < (alg === -257 ? 256 : 32));
      }
    });

    it('no user verification passes when it is not required', async () => {
      const options = await regOptions({ alg: -7 });
      const response = new SoftwareAuthenticator({ userVerified: false }).create(options, { origin: ORIGIN });
      const result = await verifyReg(response, options, { requireUserVerification: false });
      assert.equal(result.verified, true);
      assert.equal(result.registrationInfo?.userVerified, false);
    });
  });
});

function regOptionsSync(algs: number[]): PublicKeyCredentialCreationOptionsJSON {
  return {
    rp: { id: RP_ID, name: 'Example' },
    user: { id: b64u(Uint8Array.of(1, 2, 3)), name: 'a', displayName: 'a' },
    challenge: 'Y2hhbGxlbmdl',
    pubKeyCredParams: algs.map((alg) => ({ type: 'public-key', alg })),
  };
}

describe('SoftwareAuthenticator assertion', () => {
  for (const alg of [-7, -8, -257] as const) {
    it(`${ALG_NAMES[alg]} verifies with @simplewebauthn/server and counts up`, async () => {
      const auth = new SoftwareAuthenticator();
      const { credential, userId } = await register(auth, alg);

      for (const expected of [1, 2]) {
        const options = await generateAuthenticationOptions({
          rpID: RP_ID,
          allowCredentials: [{ id: credential.id }],
          userVerification: 'required',
        });
        const response = auth.get(options, { origin: ORIGIN });
        assert.equal(response.id, credential.id);
        assert.equal(response.response.userHandle, userId);
        const result = await verifyAuth(response, options.challenge, credential);
        assert.equal(result.verified, true);
        assert.equal(result.authenticationInfo.newCounter, expected);
        assert.equal(result.authenticationInfo.userVerified, true);
        credential.counter = result.authenticationInfo.newCounter;
      }
      assert.equal(auth.credentials[0]!.signCount, 2);
    });
  }

  it('signs authData || sha256(clientDataJSON), checked independently with node:crypto', async () => {
    for (const alg of [-7, -8, -257] as const) {
      const auth = new SoftwareAuthenticator();
      await register(auth, alg);
      const options = await generateAuthenticationOptions({ rpID: RP_ID });
      const response = auth.get(options, { origin: ORIGIN });
      const clientDataJSON = fromB64u(response.response.clientDataJSON);
      assert.deepEqual(JSON.parse(Buffer.from(clientDataJSON).toString('utf8')), {
        type: 'webauthn.get',
        challenge: options.challenge,
        origin: ORIGIN,
        crossOrigin: false,
      });
      const authData = fromB64u(response.response.authenticatorData);
      assert.equal(authData.length, 37);
      assert.equal(hex(authData.slice(0, 32)), createHash('sha256').update(RP_ID).digest('hex'));
      assert.equal(authData[32], 0x05);
      assert.equal(hex(authData.slice(33)), '00000001');
      const signed = Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]);
      const signature = fromB64u(response.response.signature);
      const key = auth.credentials[0]!.publicKey;
      assert.equal(cryptoVerify(alg === -8 ? null : 'sha256', signed, key, signature), true, ALG_NAMES[alg]);
      if (alg === -7) assert.equal(signature[0], 0x30, 'ES256 signature is DER');
      if (alg === -8) assert.equal(signature.length, 64);
      if (alg === -257) assert.equal(signature.length, 256);
    }
  });

  it('discoverable: no allowCredentials → first credential for the RP, with its user handle', async () => {
    const auth = new SoftwareAuthenticator();
    const first = await register(auth);
    await register(auth);
    const options = await generateAuthenticationOptions({ rpID: RP_ID });
    assert.equal(options.allowCredentials, undefined);
    const response = auth.get(options, { origin: ORIGIN });
    assert.equal(response.id, first.credential.id);
    assert.equal(response.response.userHandle, first.userId);
    assert.equal((await verifyAuth(response, options.challenge, first.credential)).verified, true);
  });

  it('allowCredentials: first listed credential it holds; ctx.credentialId forces one', async () => {
    const auth = new SoftwareAuthenticator();
    const a = await register(auth);
    const b = await register(auth);
    const options = await generateAuthenticationOptions({
      rpID: RP_ID,
      allowCredentials: [{ id: b64u(Uint8Array.of(9, 9, 9)) }, { id: b.credential.id }, { id: a.credential.id }],
    });
    assert.equal(auth.get(options, { origin: ORIGIN }).id, b.credential.id);
    const forced = auth.get(options, { origin: ORIGIN, credentialId: a.credential.id });
    assert.equal(forced.id, a.credential.id);
    assert.equal((await verifyAuth(forced, options.challenge, a.credential)).verified, true);
  });

  it('throws NotAllowedError when it holds no usable credential', async () => {
    const auth = new SoftwareAuthenticator();
    const isNotAllowed = (err: unknown) => err instanceof DOMException && err.name === 'NotAllowedError';
    assert.throws(() => auth.get({ challenge: 'AAAA', rpId: RP_ID }, { origin: ORIGIN }), isNotAllowed);
    await register(auth);
    assert.throws(
      () => auth.get({ challenge: 'AAAA', rpId: 'other.org' }, { origin: 'https://other.org' }),
      isNotAllowed,
    );
    assert.throws(
      () =>
        auth.get(
          { challenge: 'AAAA', rpId: RP_ID, allowCredentials: [{ id: 'AAAA', type: 'public-key' }] },
          { origin: ORIGIN },
        ),
      isNotAllowed,
    );
    assert.throws(
      () => auth.get({ challenge: 'AAAA', rpId: RP_ID }, { origin: ORIGIN, credentialId: 'AAAA' }),
      isNotAllowed,
    );
  });

  it('counter: false → always 0, still verifies', async () => {
    const auth = new SoftwareAuthenticator({ counter: false });
    const { credential } = await register(auth);
    for (let i = 0; i < 2; i++) {
      const options = await generateAuthenticationOptions({ rpID: RP_ID });
      const result = await verifyAuth(auth.get(options, { origin: ORIGIN }), options.challenge, credential);
      assert.equal(result.verified, true);
      assert.equal(result.authenticationInfo.newCounter, 0);
    }
    assert.equal(auth.credentials[0]!.signCount, 0);
  });

  it('ctx.signCount forces a counter value (a regression is detected)', async () => {
    const auth = new SoftwareAuthenticator();
    const { credential } = await register(auth);
    let options = await generateAuthenticationOptions({ rpID: RP_ID });
    const ok = await verifyAuth(auth.get(options, { origin: ORIGIN, signCount: 41 }), options.challenge, credential);
    assert.equal(ok.authenticationInfo.newCounter, 41);
    assert.equal(auth.credentials[0]!.signCount, 0, 'forced value does not move the stored counter');
    credential.counter = 41;
    options = await generateAuthenticationOptions({ rpID: RP_ID });
    await assert.rejects(
      verifyAuth(auth.get(options, { origin: ORIGIN, signCount: 41 }), options.challenge, credential),
      /counter/,
    );
  });

  it('userHandle: override or omit', async () => {
    const auth = new SoftwareAuthenticator();
    const { credential } = await register(auth);
    const options = await generateAuthenticationOptions({ rpID: RP_ID });
    const omitted = auth.get(options, { origin: ORIGIN, userHandle: null });
    assert.equal('userHandle' in omitted.response, false);
    assert.equal((await verifyAuth(omitted, options.challenge, credential)).verified, true);
    assert.equal(auth.get(options, { origin: ORIGIN, userHandle: 'b3RoZXI' }).response.userHandle, 'b3RoZXI');
  });

  it('sets BE/BS flags in assertions', async () => {
    const auth = new SoftwareAuthenticator({ backupEligible: true });
    const { credential } = await register(auth);
    const options = await generateAuthenticationOptions({ rpID: RP_ID });
    const result = await verifyAuth(auth.get(options, { origin: ORIGIN }), options.challenge, credential);
    assert.equal(result.authenticationInfo.credentialDeviceType, 'multiDevice');
    assert.equal(result.authenticationInfo.credentialBackedUp, true);
  });

  describe('negative cases are rejected by the server library', () => {
    const cases: [string, Parameters<SoftwareAuthenticator['get']>[1], RegExp][] = [
      ['wrong origin', { origin: 'https://evil.example.net' }, /origin/i],
      ['wrong rpId', { origin: ORIGIN, rpId: 'evil.example.net' }, /RP ID/i],
      ['wrong challenge', { origin: ORIGIN, challenge: 'c29tZS1vdGhlci1jaGFsbGVuZ2U' }, /challenge/i],
      ['wrong type', { origin: ORIGIN, type: 'webauthn.create' }, /type/i],
      ['no user verification', { origin: ORIGIN, userVerified: false }, /verif/i],
      ['no user presence', { origin: ORIGIN, userPresent: false }, /present/i],
    ];
    for (const [name, ctx, message] of cases) {
      it(name, async () => {
        const auth = new SoftwareAuthenticator();
        const { credential } = await register(auth);
        const options = await generateAuthenticationOptions({ rpID: RP_ID });
        await assert.rejects(verifyAuth(auth.get(options, ctx), options.challenge, credential), message);
      });
    }

    it('no user verification passes when it is not required', async () => {
      const auth = new SoftwareAuthenticator({ userVerified: false });
      const { credential } = await registerWithoutUv(auth);
      const options = await generateAuthenticationOptions({ rpID: RP_ID });
      const result = await verifyAuth(auth.get(options, { origin: ORIGIN }), options.challenge, credential, false);
      assert.equal(result.verified, true);
      assert.equal(result.authenticationInfo.userVerified, false);
    });

    it('a tampered or foreign signature does not verify', async () => {
      const auth = new SoftwareAuthenticator();
      const { credential } = await register(auth);
      const options = await generateAuthenticationOptions({ rpID: RP_ID });
      const response = auth.get(options, { origin: ORIGIN });
      const sig = fromB64u(response.response.signature);
      sig[sig.length - 1]! ^= 0x01;
      const tampered = { ...response, response: { ...response.response, signature: b64u(sig) } };
      assert.equal((await verifyAuth(tampered, options.challenge, credential)).verified, false);

      // Signed by another credential, presented under this one's id.
      const other = new SoftwareAuthenticator();
      await register(other);
      const foreign = other.get(options, { origin: ORIGIN });
      const swapped = { ...foreign, id: credential.id, rawId: credential.id };
      assert.equal((await verifyAuth(swapped, options.challenge, credential)).verified, false);
    });
  });
});

async function registerWithoutUv(auth: SoftwareAuthenticator) {
  const options = await regOptions({ alg: -7 });
  const result = await verifyReg(auth.create(options, { origin: ORIGIN }), options, { requireUserVerification: false });
  assert.ok(result.registrationInfo);
  return { credential: result.registrationInfo.credential };
}
