// Differential test of the lean registration path (src/webauthn/registration.ts `verifyRegistration`, which judges `none`
// attestation itself) against the SimpleWebAuthn path the library used before (`verifyRegistrationWithSimpleWebAuthn`):
// fast-check generates registration responses, valid and mutated, and both must take the same decision (and yield the
// same credential) on every one.
//
//   DIFF_SEED=<n> DIFF_REG_RUNS=<n> npx tsx --test test/registration-differential.test.ts

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import fc from 'fast-check';
import { resolveOptions } from '../src/options.js';
import { MemoryStore } from '../src/store/memory.js';
import {
  CeremonyError,
  parseCredential,
  type VerifiedRegistration,
  verifyRegistration,
  verifyRegistrationWithSimpleWebAuthn,
} from '../src/webauthn/index.js';
import { type CborValue, encodeCbor } from './helpers/cbor.js';

const SEED = Number(process.env.DIFF_SEED ?? 20_261_204);
const RUNS = Number(process.env.DIFF_REG_RUNS ?? 4000);

const RP_ID = 'example.com';
const ORIGINS = ['https://example.com', 'https://app.example.com'];
const rp = { id: RP_ID, displayName: 'Example', origins: ORIGINS };
const configs = {
  preferred: resolveOptions({ rp, store: new MemoryStore() }),
  required: resolveOptions({ rp, store: new MemoryStore(), authenticatorSelection: { userVerification: 'required' } }),
};

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
/** Another canonical base64url id of the same length (the parser refuses a non-canonical one before any verifier). */
const otherId = (id: string) => `${id.startsWith('A') ? 'B' : 'A'}${id.slice(1)}`;
const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const jwkBytes = (value: string | undefined) => new Uint8Array(Buffer.from(value ?? '', 'base64url'));

interface TestKey {
  alg: number;
  privateKey: KeyObject;
  cose: Map<CborValue, CborValue>;
  hash: string | null;
}

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecJwk = ec.publicKey.export({ format: 'jwk' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p384Jwk = p384.publicKey.export({ format: 'jwk' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaJwk = rsa.publicKey.export({ format: 'jwk' });
const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
const smallJwk = small.publicKey.export({ format: 'jwk' });
const ed = generateKeyPairSync('ed25519');

const KEYS: Record<string, TestKey> = {
  ES256: {
    alg: -7,
    privateKey: ec.privateKey,
    hash: 'sha256',
    cose: new Map<CborValue, CborValue>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, jwkBytes(ecJwk.x)],
      [-3, jwkBytes(ecJwk.y)],
    ]),
  },
  ES384: {
    alg: -35,
    privateKey: p384.privateKey,
    hash: 'sha384',
    cose: new Map<CborValue, CborValue>([
      [1, 2],
      [3, -35],
      [-1, 2],
      [-2, jwkBytes(p384Jwk.x)],
      [-3, jwkBytes(p384Jwk.y)],
    ]),
  },
  RS256: {
    alg: -257,
    privateKey: rsa.privateKey,
    hash: 'sha256',
    cose: new Map<CborValue, CborValue>([
      [1, 3],
      [3, -257],
      [-1, jwkBytes(rsaJwk.n)],
      [-2, jwkBytes(rsaJwk.e)],
    ]),
  },
  'RS256-1024': {
    alg: -257,
    privateKey: small.privateKey,
    hash: 'sha256',
    cose: new Map<CborValue, CborValue>([
      [1, 3],
      [3, -257],
      [-1, jwkBytes(smallJwk.n)],
      [-2, jwkBytes(smallJwk.e)],
    ]),
  },
  EdDSA: {
    alg: -8,
    privateKey: ed.privateKey,
    hash: null,
    cose: new Map<CborValue, CborValue>([
      [1, 1],
      [3, -8],
      [-1, 6],
      [-2, jwkBytes(ed.publicKey.export({ format: 'jwk' }).x)],
    ]),
  },
};

const odd = fc.constantFrom<unknown>(undefined, null, true, 0, 5, '', 'origin', {}, []);

const mutatedArb = fc.record({
  key: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('ES256', 'EdDSA', 'RS256') },
    { weight: 1, arbitrary: fc.constantFrom('ES384', 'RS256-1024') },
  ),
  type: fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>('webauthn.create') },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('webauthn.get', 'webauthn.create ') },
    { weight: 1, arbitrary: odd },
  ),
  challenge: fc.oneof(
    { weight: 12, arbitrary: fc.constant<'expected' | 'other'>('expected') },
    { weight: 1, arbitrary: fc.constant<'expected' | 'other'>('other') },
  ),
  origin: fc.oneof(
    { weight: 10, arbitrary: fc.constant<unknown>(ORIGINS[0]) },
    { weight: 2, arbitrary: fc.constant<unknown>(ORIGINS[1]) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('https://evil.example.net', 'https://EXAMPLE.com', 'origin') },
  ),
  crossOrigin: fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>(false) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, 'true', undefined) },
  ),
  tokenBinding: fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        { status: 'present' },
        { status: 'supported' },
        { status: 'not-supported' },
        { status: 'notSupported' },
        { status: 'origin' },
        'present',
        1,
        [],
      ),
    },
  ),
  rawClientData: fc.oneof(
    { weight: 30, arbitrary: fc.constant<string | undefined>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('null', '[]', '5', '{') },
  ),
  fmt: fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>('none') },
    { weight: 2, arbitrary: fc.constant<unknown>('packed') },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('fido-u2f', 'bogus', 5, undefined) },
  ),
  attStmt: fc.oneof(
    { weight: 12, arbitrary: fc.constant<'default'>('default') },
    { weight: 1, arbitrary: fc.constantFrom<CborValue | 'absent'>(new Map([['x', 1]]), 'absent', 5, 'text', [1]) },
  ),
  rpId: fc.oneof(
    { weight: 12, arbitrary: fc.constant(RP_ID) },
    { weight: 1, arbitrary: fc.constantFrom('evil.example.net', 'EXAMPLE.COM') },
  ),
  up: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  uv: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  be: fc.boolean(),
  bs: fc.oneof({ weight: 3, arbitrary: fc.constant<'be'>('be') }, { weight: 1, arbitrary: fc.boolean() }),
  counter: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })),
  aaguid: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  credentialId: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  extensions: fc.oneof(
    { weight: 12, arbitrary: fc.constant<CborValue | undefined>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<CborValue>(new Map([['credProtect', 2]]), 5, 'x') },
  ),
  cose: fc.oneof(
    { weight: 20, arbitrary: fc.constant<'plain'>('plain') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<
        'alg-35' | 'alg-absent' | 'alg-text' | 'short-x' | 'kty-4' | 'not-a-map' | 'flip-x' | 'x-ff' | 'crv-text'
      >('alg-35', 'alg-absent', 'alg-text', 'short-x', 'kty-4', 'not-a-map', 'flip-x', 'x-ff', 'crv-text'),
    },
  ),
  trailing: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  flip: fc.oneof(
    { weight: 8, arbitrary: fc.constant<number | undefined>(undefined) },
    { weight: 1, arbitrary: fc.nat(3000) },
  ),
  idMismatch: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  uvRequired: fc.boolean(),
  expected: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b64u),
  transports: fc.oneof(
    fc.constant<unknown>(undefined),
    fc.constant<unknown>(['internal', 'hybrid']),
    fc.array(fc.string({ maxLength: 8 }), { maxLength: 10 }),
  ),
});

type Case = ReturnType<typeof mutatedArb.generate>['value'];

/** A case without mutation: what a browser sends for `attestation: 'none'`. */
function clean(c: Case): Case {
  return {
    ...c,
    type: 'webauthn.create',
    challenge: 'expected',
    origin: ORIGINS.includes(c.origin as string) ? c.origin : ORIGINS[0],
    crossOrigin: false,
    tokenBinding: undefined,
    rawClientData: undefined,
    fmt: 'none',
    attStmt: 'default',
    rpId: RP_ID,
    up: true,
    uv: c.uvRequired ? true : c.uv,
    bs: c.be ? c.bs : false,
    extensions: undefined,
    cose: 'plain',
    trailing: false,
    flip: undefined,
    idMismatch: false,
    key: c.key === 'RS256-1024' || c.key === 'ES384' ? 'ES256' : c.key,
  };
}

const caseArb = fc.tuple(mutatedArb, fc.integer({ min: 0, max: 2 })).map(([c, pick]) => (pick === 0 ? clean(c) : c));

function coseOf(c: Case, key: TestKey): Uint8Array {
  const cose = new Map(key.cose);
  switch (c.cose) {
    case 'alg-35':
      cose.set(3, -35);
      break;
    case 'alg-absent':
      cose.delete(3);
      break;
    case 'alg-text':
      cose.set(3, 'ES256');
      break;
    case 'short-x':
      cose.set(-2, (cose.get(-2) as Uint8Array).slice(1));
      break;
    case 'kty-4':
      cose.set(1, 4);
      break;
    case 'flip-x': {
      // Off the curve (or, for RSA and Ed25519 keys, another key).
      const x = new Uint8Array(cose.get(-2) as Uint8Array);
      x[x.length - 1] = (x[x.length - 1] as number) ^ 1;
      cose.set(-2, x);
      break;
    }
    case 'x-ff':
      cose.set(-2, new Uint8Array((cose.get(-2) as Uint8Array).length).fill(0xff));
      break;
    case 'crv-text':
      cose.set(-1, '1');
      break;
    case 'not-a-map':
      return encodeCbor([1, 2, 3]);
  }
  return encodeCbor(cose);
}

function build(c: Case): { response: RegistrationResponseJSON; config: (typeof configs)['preferred'] } {
  const key = KEYS[c.key] as TestKey;
  const clientData =
    c.rawClientData ??
    JSON.stringify({
      type: c.type,
      challenge: c.challenge === 'expected' ? c.expected : b64u(sha256(c.expected)),
      origin: c.origin,
      crossOrigin: c.crossOrigin,
      ...(c.tokenBinding === undefined ? {} : { tokenBinding: c.tokenBinding }),
    });
  const clientDataBytes = new TextEncoder().encode(clientData);
  const bs = c.bs === 'be' ? c.be : c.bs;
  const flags =
    (c.up ? 0x01 : 0) |
    (c.uv ? 0x04 : 0) |
    (c.be ? 0x08 : 0) |
    (bs ? 0x10 : 0) |
    0x40 |
    (c.extensions === undefined ? 0 : 0x80);
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, c.counter);
  const idLength = new Uint8Array(2);
  new DataView(idLength.buffer).setUint16(0, c.credentialId.length);
  const authData = concat(
    sha256(c.rpId),
    Uint8Array.of(flags),
    counter,
    c.aaguid,
    idLength,
    c.credentialId,
    coseOf(c, key),
    c.extensions === undefined ? new Uint8Array(0) : encodeCbor(c.extensions),
  );
  let attStmt: CborValue | undefined;
  if (c.attStmt !== 'default') attStmt = c.attStmt === 'absent' ? undefined : c.attStmt;
  else if (c.fmt === 'packed') {
    const data = concat(authData, sha256(clientDataBytes));
    attStmt = new Map<CborValue, CborValue>([
      ['alg', key.alg],
      ['sig', new Uint8Array(sign(key.hash, data, key.privateKey))],
    ]);
  } else attStmt = new Map();
  const object = new Map<CborValue, CborValue>();
  if (c.fmt !== undefined) object.set('fmt', c.fmt as CborValue);
  if (attStmt !== undefined) object.set('attStmt', attStmt);
  object.set('authData', authData);
  let attestationObject = encodeCbor(object);
  if (c.trailing) attestationObject = concat(attestationObject, Uint8Array.of(0));
  if (c.flip !== undefined) {
    attestationObject = new Uint8Array(attestationObject);
    const bit = c.flip % (attestationObject.length * 8);
    attestationObject[bit >> 3] = (attestationObject[bit >> 3] as number) ^ (1 << (bit & 7));
  }
  const id = b64u(c.credentialId);
  const json = {
    id,
    rawId: c.idMismatch ? otherId(id) : id,
    type: 'public-key',
    response: {
      clientDataJSON: b64u(clientDataBytes),
      attestationObject: b64u(attestationObject),
      ...(c.transports === undefined ? {} : { transports: c.transports }),
    },
    clientExtensionResults: {},
  };
  return {
    response: parseCredential<RegistrationResponseJSON>(JSON.stringify(json), 'registration'),
    config: c.uvRequired ? configs.required : configs.preferred,
  };
}

type Decision = { accepted: true; result: VerifiedRegistration } | { accepted: false; reason: string };

async function decide(run: () => VerifiedRegistration | Promise<VerifiedRegistration>): Promise<Decision> {
  try {
    return { accepted: true, result: await run() };
  } catch (error) {
    if (!(error instanceof CeremonyError)) throw error;
    return { accepted: false, reason: error.reason };
  }
}

const show = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? `bytes:${b64u(v)}` : v instanceof Map ? [...v] : v));

describe('lean registration path vs @simplewebauthn/server (differential)', () => {
  it(`decides ${RUNS.toLocaleString('en-US')} generated registrations exactly as before (seed ${SEED})`, async () => {
    let accepted = 0;
    let lean = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { response, config } = build(c);
        const ours = await decide(() => verifyRegistration(config, response, c.expected));
        const theirs = await decide(() => verifyRegistrationWithSimpleWebAuthn(config, response, c.expected));
        if (ours.accepted) accepted++;
        if (c.fmt === 'none') lean++;
        if (show(ours) !== show(theirs)) {
          throw new Error(
            `the verifiers disagree:\n  lean: ${show(ours)}\n  simplewebauthn: ${show(theirs)}\n  case: ${show(c)}\n  response: ${show(response)}`,
          );
        }
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
    console.log(
      `registration differential: ${RUNS} cases (seed ${SEED}) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${accepted} accepted by both, ${RUNS - accepted} refused by both, ${lean} with none attestation (judged by the lean path)`,
    );
    assert.ok(accepted > RUNS * 0.15, `only ${accepted} accepted`);
    assert.ok(RUNS - accepted > RUNS * 0.2, 'too few refused');
  });

  // Both paths share the public key check, which the property above cannot judge: its own cases.
  it('refuses an ES256 public key off the curve, and keeps one on it', async () => {
    const base = clean(fc.sample(mutatedArb, { seed: SEED, numRuns: 1 })[0] as Case);
    for (const key of ['ES256'] as const) {
      const ok = build({ ...base, key, cose: 'plain' });
      const accepted = await decide(() => verifyRegistration(ok.config, ok.response, base.expected));
      assert.equal(accepted.accepted, true, `${key}: ${show(accepted)}`);
      for (const cose of ['flip-x', 'x-ff'] as const) {
        const { response, config } = build({ ...base, key, cose });
        for (const run of [verifyRegistration, verifyRegistrationWithSimpleWebAuthn]) {
          const decision = await decide(() => run(config, response, base.expected));
          assert.deepEqual(
            decision,
            { accepted: false, reason: "The passkey's public key is malformed." },
            `${key} ${cose}`,
          );
        }
      }
    }
  });
});
