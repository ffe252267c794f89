// Differential test of the lean assertion verifier (src/webauthn/assertion.ts `verifyAuthentication`) against
// @simplewebauthn/server's `verifyAuthenticationResponse`, which the library used before: fast-check generates
// assertions, valid and mutated, signs them for real, and both verifiers must take the same decision on every one.
//
//   DIFF_SEED=<n> DIFF_RUNS=<n> npx tsx --test test/verifier-differential.test.ts
//
// The seed is fixed (the run is deterministic); a failure prints it with the case that disagreed.

import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { type AuthenticationResponseJSON, verifyAuthenticationResponse } from '@simplewebauthn/server';
import fc from 'fast-check';
import { type ResolvedOptions, resolveOptions } from '../src/options.js';
import { MemoryStore } from '../src/store/memory.js';
import { CeremonyError, describeError, parseCredential, verifyAuthentication } from '../src/webauthn/index.js';
import { type CborValue, encodeCbor } from './helpers/cbor.js';

const SEED = Number(process.env.DIFF_SEED ?? 20_261_204);
const RUNS = Number(process.env.DIFF_RUNS ?? 10_000);

const RP_ID = 'example.com';
const ORIGINS = ['https://example.com', 'https://app.example.com'];
const configs = {
  preferred: resolveOptions({ rp: { id: RP_ID, displayName: 'Example', origins: ORIGINS }, store: new MemoryStore() }),
  required: resolveOptions({
    rp: { id: RP_ID, displayName: 'Example', origins: ORIGINS },
    store: new MemoryStore(),
    authenticatorSelection: { userVerification: 'required' },
  }),
};

// ---------------------------------------------------------------------------------------------------------------
// Keys: generated once per algorithm, reused by every case.

type AlgName = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'PS256' | 'EdDSA';

interface TestKey {
  name: AlgName;
  alg: number;
  privateKey: KeyObject;
  /** The COSE_Key as a map, to encode as is or mutated. */
  cose: Map<CborValue, CborValue>;
  sign(data: Uint8Array): Uint8Array;
}

const jwkBytes = (value: string | undefined) => new Uint8Array(Buffer.from(value ?? '', 'base64url'));

function ecKey(name: AlgName, alg: number, curve: string, crv: number, hash: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = new Map<CborValue, CborValue>([
    [1, 2],
    [3, alg],
    [-1, crv],
    [-2, jwkBytes(jwk.x)],
    [-3, jwkBytes(jwk.y)],
  ]);
  return { name, alg, privateKey, cose, sign: (data) => sign(hash, data, { key: privateKey, dsaEncoding: 'der' }) };
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaJwk = rsa.publicKey.export({ format: 'jwk' });
const rsaCose = (alg: number) =>
  new Map<CborValue, CborValue>([
    [1, 3],
    [3, alg],
    [-1, jwkBytes(rsaJwk.n)],
    [-2, jwkBytes(rsaJwk.e)],
  ]);
const ed = generateKeyPairSync('ed25519');

const KEYS: Record<AlgName, TestKey> = {
  ES256: ecKey('ES256', -7, 'P-256', 1, 'sha256'),
  ES384: ecKey('ES384', -35, 'P-384', 2, 'sha384'),
  ES512: ecKey('ES512', -36, 'P-521', 3, 'sha512'),
  RS256: {
    name: 'RS256',
    alg: -257,
    privateKey: rsa.privateKey,
    cose: rsaCose(-257),
    sign: (data) => sign('sha256', data, rsa.privateKey),
  },
  PS256: {
    name: 'PS256',
    alg: -37,
    privateKey: rsa.privateKey,
    cose: rsaCose(-37),
    sign: (data) =>
      sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  },
  EdDSA: {
    name: 'EdDSA',
    alg: -8,
    privateKey: ed.privateKey,
    cose: new Map<CborValue, CborValue>([
      [1, 1],
      [3, -8],
      [-1, 6],
      [-2, jwkBytes(ed.publicKey.export({ format: 'jwk' }).x)],
    ]),
    sign: (data) => sign(null, data, ed.privateKey),
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The generated case: what goes into the client data, the authenticator data, the signature and the stored key.

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
/** Another canonical base64url id of the same length (the parser refuses a non-canonical one before any verifier). */
const otherId = (id: string) => `${id.startsWith('A') ? 'B' : 'A'}${id.slice(1)}`;
const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** A JSON value the client data may carry in a field, including odd ones. */
const oddValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -2, max: 2 }),
  fc.string({ maxLength: 8 }),
  fc.constant('origin'),
  fc.constant({}),
  fc.constant([]),
);

const challengeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant<'expected'>('expected') },
  { weight: 1, arbitrary: fc.constant<'other'>('other') },
  { weight: 1, arbitrary: fc.constant<'padded'>('padded') },
  { weight: 1, arbitrary: fc.constant<'origin-text'>('origin-text') },
  { weight: 1, arbitrary: oddValue.map((value) => ({ value })) },
);

const originArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant(ORIGINS[0]) },
  { weight: 2, arbitrary: fc.constant(ORIGINS[1]) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'https://evil.example.net',
      'https://example.com:443',
      'https://EXAMPLE.com',
      'https://example.com/',
      'http://example.com',
      'https://sub.app.example.com',
    ),
  },
  { weight: 1, arbitrary: oddValue },
);

const typeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('webauthn.get') },
  { weight: 2, arbitrary: fc.constantFrom('webauthn.create', 'webauthn.get ', 'WEBAUTHN.GET', 'payment.get') },
  { weight: 1, arbitrary: oddValue },
);

const clientDataArb = fc.record({
  type: typeArb,
  challenge: challengeArb,
  origin: originArb,
  crossOrigin: fc.oneof(
    { weight: 8, arbitrary: fc.constant<'absent'>('absent') },
    { weight: 3, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(true, 'true', 1, 0, null) },
  ),
  topOrigin: fc.oneof(
    { weight: 12, arbitrary: fc.constant<'absent'>('absent') },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(ORIGINS[0], '', null, 'https://evil.example.net') },
  ),
  tokenBinding: fc.oneof(
    { weight: 12, arbitrary: fc.constant<'absent'>('absent') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        { status: 'present', id: 'abc' },
        { status: 'supported' },
        { status: 'notSupported' },
        { status: 'bogus' },
        {},
        'present',
        1,
        null,
        false,
        [],
      ),
    },
  ),
  /** Extra fields a browser may add (Chrome's "other_keys_can_be_added_here"), one with invalid UTF-8. */
  extra: fc.oneof(
    { weight: 6, arbitrary: fc.constant<'none'>('none') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<'chrome' | 'bad-utf8' | 'duplicate-type' | 'order'>(
        'chrome',
        'bad-utf8',
        'duplicate-type',
        'order',
      ),
    },
  ),
  /** Instead of the object: text that is not an object, or not JSON at all. */
  raw: fc.oneof(
    { weight: 30, arbitrary: fc.constant<'object'>('object') },
    { weight: 1, arbitrary: fc.constantFrom('null', '[]', '5', '"webauthn.get"', '{', ' ', '\ufeff{}', 'true') },
    { weight: 1, arbitrary: fc.constant<'bom'>('bom') },
  ),
});

const extensionArb = fc.oneof(
  fc.constant<CborValue>(new Map<CborValue, CborValue>([['credProtect', 2]])),
  fc.constant<CborValue>(new Map<CborValue, CborValue>([['hmac-secret', true]])),
  fc.constant<CborValue>(new Map<CborValue, CborValue>()),
  fc.constant<CborValue>(5),
  fc.constant<CborValue>('text'),
  fc.constant<CborValue>([1, 2]),
);

const authDataArb = fc.record({
  rpId: fc.oneof(
    { weight: 12, arbitrary: fc.constant(RP_ID) },
    { weight: 1, arbitrary: fc.constantFrom('EXAMPLE.COM', 'evil.example.net', 'app.example.com', '') },
  ),
  up: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  uv: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  be: fc.boolean(),
  bs: fc.oneof({ weight: 3, arbitrary: fc.constant<'be'>('be') }, { weight: 1, arbitrary: fc.boolean() }),
  /** Reserved flag bits (0x02, 0x20). */
  rfu: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x02, 0x20) }),
  counter: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0x7fffffff, 0xffffffff)),
  /** Extension data (ED flag), attested credential data (AT flag), trailing or missing bytes: all signed. */
  shape: fc.oneof(
    { weight: 24, arbitrary: fc.constant<{ kind: 'plain' }>({ kind: 'plain' }) },
    { weight: 1, arbitrary: extensionArb.map((ext) => ({ kind: 'extensions' as const, ext })) },
    { weight: 1, arbitrary: fc.constant<{ kind: 'ed-empty' }>({ kind: 'ed-empty' }) },
    { weight: 1, arbitrary: fc.constant<{ kind: 'attested' }>({ kind: 'attested' }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ kind: 'trailing' as const, n })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 36 }).map((n) => ({ kind: 'short' as const, n })) },
  ),
});

/** How the (valid) ECDSA signature is encoded: DER, or a BER form SimpleWebAuthn's ASN.1 parser also reads. */
const SIGNATURE_FORMS = [
  'trailing-byte',
  'long-length',
  'int-long-length',
  'extra-zero',
  'negative',
  'extra-element',
  'indefinite',
  'seq-short',
  'seq-long',
  'wrong-tag',
  'int-tag',
  'swapped',
  'p1363',
  'one-byte',
  'zero-r',
] as const;
type SignatureForm = 'der' | (typeof SIGNATURE_FORMS)[number];
const signatureFormArb = fc.oneof(
  { weight: 20, arbitrary: fc.constant<SignatureForm>('der') },
  { weight: 3, arbitrary: fc.constantFrom<SignatureForm>(...SIGNATURE_FORMS) },
);

/** Changes to the stored COSE key (a corrupt store, or a key of another shape than registration gives). */
type CoseMutation =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'trailing' }
  | { kind: 'set'; label: number; value: CborValue }
  | { kind: 'delete'; label: number }
  | { kind: 'flip-coordinate'; bit: number }
  | { kind: 'shorten-coordinate' }
  | { kind: 'coordinate-as-array' }
  | { kind: 'not-a-map'; value: CborValue }
  | { kind: 'other-key'; name: AlgName };

const coseMutationArb: fc.Arbitrary<CoseMutation> = fc.oneof(
  { weight: 40, arbitrary: fc.constant<CoseMutation>({ kind: 'none' }) },
  { weight: 1, arbitrary: fc.nat(300).map((at): CoseMutation => ({ kind: 'truncate', at })) },
  { weight: 1, arbitrary: fc.constant<CoseMutation>({ kind: 'trailing' }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom<CborValue>(-7, -8, -35, -36, -37, -38, -257, -258, -47, -48, -65535, 0, 7, 'ES256', null)
      .map((value): CoseMutation => ({ kind: 'set', label: 3, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<CborValue>(1, 2, 3, 4, 7, 'EC2', 0)
      .map((value): CoseMutation => ({ kind: 'set', label: 1, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<CborValue>(1, 2, 3, 6, 8, 'P-256', 0)
      .map((value): CoseMutation => ({ kind: 'set', label: -1, value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<CborValue>(new Uint8Array(0), new Uint8Array(32), 5, 'x')
      .map((value): CoseMutation => ({ kind: 'set', label: -2, value })),
  },
  { weight: 1, arbitrary: fc.constant<CoseMutation>({ kind: 'set', label: 99, value: 'extra' }) },
  { weight: 1, arbitrary: fc.constantFrom(1, 3, -1, -2, -3).map((label): CoseMutation => ({ kind: 'delete', label })) },
  { weight: 1, arbitrary: fc.nat(255).map((bit): CoseMutation => ({ kind: 'flip-coordinate', bit })) },
  { weight: 1, arbitrary: fc.constant<CoseMutation>({ kind: 'shorten-coordinate' }) },
  { weight: 1, arbitrary: fc.constant<CoseMutation>({ kind: 'coordinate-as-array' }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<CborValue>(5, [1, 2], new Uint8Array(4), 'key', null)
      .map((value): CoseMutation => ({ kind: 'not-a-map', value })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<AlgName>('ES256', 'EdDSA', 'RS256')
      .map((name): CoseMutation => ({ kind: 'other-key', name })),
  },
);

/** Bit flips after signing, in the signature, the authenticator data or the client data. */
const flipArb = fc.record({
  target: fc.constantFrom('signature', 'authenticatorData', 'clientDataJSON'),
  bit: fc.nat(4000),
});

const mutatedArb = fc.record({
  alg: fc.oneof(
    { weight: 6, arbitrary: fc.constant<AlgName>('ES256') },
    { weight: 3, arbitrary: fc.constant<AlgName>('EdDSA') },
    { weight: 2, arbitrary: fc.constant<AlgName>('RS256') },
    { weight: 1, arbitrary: fc.constantFrom<AlgName>('ES384', 'ES512', 'PS256') },
  ),
  /** The credential id: a few fixed ones (the key cache is hit, with changed keys too) or a random one. */
  credentialId: fc.oneof(
    fc.constantFrom('cred-a', 'cred-b', 'cred-c').map((name) => b64u(Buffer.from(name))),
    fc.uint8Array({ minLength: 16, maxLength: 32 }).map(b64u),
  ),
  idMismatch: fc.oneof({ weight: 40, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  userHandle: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }).map(b64u), { nil: undefined }),
  clientData: clientDataArb,
  authData: authDataArb,
  signatureForm: signatureFormArb,
  cose: coseMutationArb,
  flips: fc.oneof(
    { weight: 5, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(flipArb, { minLength: 1, maxLength: 2 }) },
  ),
  /** Odd base64url text: a character appended (a length SimpleWebAuthn and Buffer must decode alike). */
  appendChar: fc.oneof(
    { weight: 40, arbitrary: fc.constant<undefined>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('signature', 'authenticatorData', 'clientDataJSON') },
  ),
  /** The stored sign count, relative to the one in the assertion. */
  stored: fc.oneof(
    { weight: 6, arbitrary: fc.constant<'zero'>('zero') },
    { weight: 3, arbitrary: fc.constantFrom<'below' | 'equal' | 'above'>('below', 'equal', 'above') },
  ),
  uvRequired: fc.boolean(),
  challenge: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b64u),
});

type Case = ReturnType<typeof mutatedArb.generate>['value'];

/**
 * A case with no mutation: what a real authenticator sends, with the variation that must not matter (algorithm, flags,
 * counter, user handle, the allowed origins, extra client data fields).
 */
function clean(c: Case): Case {
  const cd = c.clientData;
  return {
    ...c,
    idMismatch: false,
    clientData: {
      ...cd,
      type: 'webauthn.get',
      challenge: 'expected',
      origin: ORIGINS.includes(cd.origin as string) ? cd.origin : ORIGINS[0],
      crossOrigin: cd.crossOrigin === false ? false : 'absent',
      topOrigin: 'absent',
      tokenBinding: 'absent',
      extra: cd.extra === 'chrome' || cd.extra === 'order' ? cd.extra : 'none',
      raw: 'object',
    },
    authData: {
      ...c.authData,
      rpId: RP_ID,
      up: true,
      uv: c.uvRequired ? true : c.authData.uv,
      bs: c.authData.be ? c.authData.bs : false,
      shape: { kind: 'plain' },
    },
    signatureForm: 'der',
    cose: { kind: 'none' },
    flips: [],
    appendChar: undefined,
    stored: c.stored === 'zero' || c.authData.counter === 0 ? 'zero' : 'below',
  };
}

/** A third of the cases are clean (accepted by both, barring a counter rule); the rest carry mutations. */
const caseArb = fc.tuple(mutatedArb, fc.integer({ min: 0, max: 2 })).map(([c, pick]) => (pick === 0 ? clean(c) : c));

// ---------------------------------------------------------------------------------------------------------------
// Building the assertion of a case.

function clientDataBytes(c: Case): Uint8Array {
  const cd = c.clientData;
  if (cd.raw !== 'object' && cd.raw !== 'bom') return new TextEncoder().encode(cd.raw);
  const value: Record<string, unknown> = {};
  const set = (key: string, v: unknown) => {
    if (v !== undefined) value[key] = v;
  };
  if (cd.extra === 'order') set('origin', cd.origin);
  set('type', cd.type);
  const ch = cd.challenge;
  set(
    'challenge',
    ch === 'expected'
      ? c.challenge
      : ch === 'other'
        ? b64u(sha256(c.challenge))
        : ch === 'padded'
          ? `${c.challenge}=`
          : ch === 'origin-text'
            ? 'not-the-origin'
            : ch.value,
  );
  set('origin', cd.origin);
  if (cd.crossOrigin !== 'absent') set('crossOrigin', cd.crossOrigin);
  if (cd.topOrigin !== 'absent') set('topOrigin', cd.topOrigin);
  if (cd.tokenBinding !== 'absent') set('tokenBinding', cd.tokenBinding);
  if (cd.extra === 'chrome') set('other_keys_can_be_added_here', 'do not compare clientDataJSON against a template');
  let text = JSON.stringify(value);
  if (cd.extra === 'duplicate-type') text = `{"type":"webauthn.create",${text.slice(1)}`;
  let bytes = new TextEncoder().encode(text);
  if (cd.extra === 'bad-utf8') {
    bytes = concat(
      new TextEncoder().encode(`${text.slice(0, -1)},"x":"`),
      Uint8Array.of(0xff, 0xc3),
      new TextEncoder().encode('"}'),
    );
  }
  return cd.raw === 'bom' ? concat(Uint8Array.of(0xef, 0xbb, 0xbf), bytes) : bytes;
}

function authenticatorData(c: Case, key: TestKey): Uint8Array {
  const a = c.authData;
  const bs = a.bs === 'be' ? a.be : a.bs;
  let flags = (a.up ? 0x01 : 0) | (a.uv ? 0x04 : 0) | (a.be ? 0x08 : 0) | (bs ? 0x10 : 0) | a.rfu;
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, a.counter);
  let tail: Uint8Array = new Uint8Array(0);
  switch (a.shape.kind) {
    case 'extensions':
      flags |= 0x80;
      tail = encodeCbor(a.shape.ext);
      break;
    case 'ed-empty':
      flags |= 0x80;
      break;
    case 'attested': {
      flags |= 0x40;
      const id = new TextEncoder().encode(c.credentialId);
      const length = new Uint8Array(2);
      new DataView(length.buffer).setUint16(0, id.length);
      tail = concat(new Uint8Array(16), length, id, encodeCbor(key.cose));
      break;
    }
    case 'trailing':
      tail = new Uint8Array(a.shape.n).fill(0xa0);
      break;
  }
  const data = concat(sha256(a.rpId), Uint8Array.of(flags), counter, tail);
  return a.shape.kind === 'short' ? data.slice(0, a.shape.n) : data;
}

// DER pieces for the signature forms.
const derInt = (b: Uint8Array) => concat(Uint8Array.of(0x02, b.length), b);
const derSeq = (...parts: Uint8Array[]) => {
  const body = concat(...parts);
  return body.length < 0x80
    ? concat(Uint8Array.of(0x30, body.length), body)
    : concat(Uint8Array.of(0x30, 0x81, body.length), body);
};

function derParts(sig: Uint8Array): { r: Uint8Array; s: Uint8Array; header: number } {
  const header = sig[1] === 0x81 ? 3 : 2;
  const rLength = sig[header + 1] as number;
  const r = sig.subarray(header + 2, header + 2 + rLength);
  const sLength = sig[header + 3 + rLength] as number;
  const s = sig.subarray(header + 4 + rLength, header + 4 + rLength + sLength);
  return { r, s, header };
}

function encodeSignature(sig: Uint8Array, form: SignatureForm, size: number): Uint8Array {
  if (form === 'der') return sig;
  const { r, s, header } = derParts(sig);
  const strip = (b: Uint8Array) => (b[0] === 0 ? b.subarray(1) : b);
  const body = sig.subarray(header);
  switch (form) {
    case 'trailing-byte':
      return concat(sig, Uint8Array.of(0));
    case 'long-length':
      return concat(Uint8Array.of(0x30, 0x82, 0, body.length), body);
    case 'int-long-length':
      return derSeq(concat(Uint8Array.of(0x02, 0x81, r.length), r), derInt(s));
    case 'extra-zero':
      return derSeq(derInt(concat(Uint8Array.of(0), r)), derInt(s));
    case 'negative':
      return derSeq(derInt(strip(r)), derInt(strip(s)));
    case 'extra-element':
      return derSeq(derInt(r), derInt(s), derInt(Uint8Array.of(1)));
    case 'indefinite':
      return concat(Uint8Array.of(0x30, 0x80), derInt(r), derInt(s), Uint8Array.of(0, 0));
    case 'seq-short': {
      const out = new Uint8Array(sig);
      out[header - 1] = (out[header - 1] as number) - 1;
      return out;
    }
    case 'seq-long': {
      const out = concat(sig, Uint8Array.of(5));
      out[header - 1] = (out[header - 1] as number) + 1;
      return out;
    }
    case 'wrong-tag': {
      const out = new Uint8Array(sig);
      out[0] = 0x31;
      return out;
    }
    case 'int-tag': {
      const out = new Uint8Array(sig);
      out[header] = 0x0a;
      return out;
    }
    case 'swapped':
      return derSeq(derInt(s), derInt(r));
    case 'p1363': {
      const pad = (b: Uint8Array) => concat(new Uint8Array(Math.max(0, size - strip(b).length)), strip(b));
      return concat(pad(r), pad(s));
    }
    case 'one-byte':
      return Uint8Array.of(0x30);
    case 'zero-r':
      return derSeq(derInt(Uint8Array.of(0)), derInt(s));
  }
}

function coordinateLabel(cose: Map<CborValue, CborValue>): number {
  return cose.get(1) === 3 ? -1 : -2;
}

function storedKey(c: Case, key: TestKey): Uint8Array {
  const m = c.cose;
  if (m.kind === 'other-key') return encodeCbor(KEYS[m.name].cose);
  if (m.kind === 'not-a-map') return encodeCbor(m.value);
  const cose = new Map(key.cose);
  const label = coordinateLabel(cose);
  const coordinate = cose.get(label) as Uint8Array;
  switch (m.kind) {
    case 'set':
      cose.set(m.label, m.value);
      break;
    case 'delete':
      cose.delete(m.label);
      break;
    case 'flip-coordinate': {
      const flipped = new Uint8Array(coordinate);
      const bit = m.bit % (flipped.length * 8);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      cose.set(label, flipped);
      break;
    }
    case 'shorten-coordinate':
      cose.set(label, coordinate.slice(1));
      break;
    case 'coordinate-as-array':
      cose.set(label, [...coordinate]);
      break;
  }
  const bytes = encodeCbor(cose);
  if (m.kind === 'truncate') return bytes.slice(0, m.at % bytes.length);
  if (m.kind === 'trailing') return concat(bytes, Uint8Array.of(0x01));
  return bytes;
}

function flip(text: string, bit: number): string {
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length === 0) return text;
  const at = bit % (bytes.length * 8);
  bytes[at >> 3] = (bytes[at >> 3] as number) ^ (1 << (at & 7));
  return bytes.toString('base64url');
}

interface Built {
  response: AuthenticationResponseJSON;
  publicKey: Uint8Array;
  storedSignCount: number;
  config: ResolvedOptions;
}

function build(c: Case): Built {
  const key = KEYS[c.alg];
  const clientData = clientDataBytes(c);
  const authData = authenticatorData(c, key);
  const size = c.alg === 'ES384' ? 48 : c.alg === 'ES512' ? 66 : 32;
  let signature = key.sign(concat(authData, sha256(clientData)));
  if (key.name.startsWith('ES')) signature = encodeSignature(signature, c.signatureForm, size);
  const fields: Record<'clientDataJSON' | 'authenticatorData' | 'signature', string> = {
    clientDataJSON: b64u(clientData),
    authenticatorData: b64u(authData),
    signature: b64u(signature),
  };
  for (const f of c.flips) fields[f.target] = flip(fields[f.target], f.bit);
  if (c.appendChar) fields[c.appendChar] += 'A';
  const counter = c.authData.counter;
  const storedSignCount =
    c.stored === 'zero'
      ? 0
      : c.stored === 'below'
        ? Math.max(0, counter - 1)
        : c.stored === 'equal'
          ? counter
          : counter + 1;
  const json = {
    id: c.credentialId,
    rawId: c.idMismatch ? otherId(c.credentialId) : c.credentialId,
    type: 'public-key',
    response: { ...fields, ...(c.userHandle ? { userHandle: c.userHandle } : {}) },
    clientExtensionResults: {},
    authenticatorAttachment: 'platform',
  };
  // Through the library's own parser, as the login flow does: the verifiers see what it yields.
  const response = parseCredential<AuthenticationResponseJSON>(JSON.stringify(json), 'authentication');
  return {
    response,
    publicKey: storedKey(c, key),
    storedSignCount,
    config: c.uvRequired ? configs.required : configs.preferred,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The two verifiers.

type Decision =
  | { accepted: true; signCount: number; backedUp: boolean; backupEligible: boolean }
  | { accepted: false; reason: string };

type Lean = typeof verifyAuthentication;

/** The lean verifier's decision, and whether it answered with a promise (its SimpleWebAuthn fallback). */
async function lean(b: Built, challenge: string, verify: Lean): Promise<{ decision: Decision; async: boolean }> {
  let async = false;
  try {
    const credential = { id: b.response.id, publicKey: b.publicKey };
    const pending = verify(b.config, b.response, challenge, credential, b.storedSignCount);
    async = pending instanceof Promise;
    return { decision: { accepted: true, ...(await pending) }, async };
  } catch (error) {
    if (!(error instanceof CeremonyError)) throw error;
    return { decision: { accepted: false, reason: error.reason }, async };
  }
}

/** What the library did before the lean verifier: its own refusals, then SimpleWebAuthn, errors mapped by describe(). */
async function reference(b: Built, challenge: string): Promise<Decision> {
  let clientData: { crossOrigin?: unknown; topOrigin?: unknown };
  try {
    clientData = JSON.parse(Buffer.from(b.response.response.clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    return { accepted: false, reason: 'The passkey response has malformed client data.' };
  }
  if (clientData?.crossOrigin === true || clientData?.topOrigin !== undefined)
    return { accepted: false, reason: 'The passkey ceremony ran in a cross-origin frame.' };
  try {
    const result = await verifyAuthenticationResponse({
      response: b.response,
      expectedChallenge: challenge,
      expectedOrigin: b.config.rp.origins,
      expectedRPID: b.config.rp.id,
      credential: { id: b.response.id, publicKey: new Uint8Array(b.publicKey), counter: b.storedSignCount },
      requireUserVerification: b.config.authenticatorSelection.userVerification === 'required',
    });
    if (!result.verified) return { accepted: false, reason: 'The passkey signature could not be verified.' };
    const info = result.authenticationInfo;
    return {
      accepted: true,
      signCount: info.newCounter,
      backedUp: info.credentialBackedUp,
      backupEligible: info.credentialDeviceType === 'multiDevice',
    };
  } catch (error) {
    return { accepted: false, reason: describeError(error) };
  }
}

/** The case in a form to read and replay: every input as base64url. */
function show(c: Case, b: Built): string {
  return JSON.stringify(
    {
      case: c,
      response: b.response,
      clientData: Buffer.from(b.response.response.clientDataJSON, 'base64url').toString('utf8'),
      publicKey: b64u(b.publicKey),
      storedSignCount: b.storedSignCount,
      userVerification: b.config.authenticatorSelection.userVerification,
    },
    (_key, value) => (value instanceof Uint8Array ? `bytes:${b64u(value)}` : value),
    2,
  );
}

interface Tally {
  cases: number;
  accepted: number;
  byAlg: Record<string, { accepted: number; rejected: number }>;
  reasons: Map<string, number>;
  async: number;
}

/** The property: both verifiers decide alike (and, when both accept, report the same counter and backup flags). */
function agreement(tally: Tally, verify: Lean = verifyAuthentication) {
  return fc.asyncProperty(caseArb, async (c) => {
    const b = build(c);
    const { decision: ours, async } = await lean(b, c.challenge, verify);
    const theirs = await reference(b, c.challenge);
    if (async) tally.async++;
    tally.cases++;
    const slot = tally.byAlg[c.alg] ?? { accepted: 0, rejected: 0 };
    tally.byAlg[c.alg] = slot;
    if (ours.accepted) {
      tally.accepted++;
      slot.accepted++;
    } else {
      slot.rejected++;
      tally.reasons.set(ours.reason, (tally.reasons.get(ours.reason) ?? 0) + 1);
    }
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      throw new Error(
        `the verifiers disagree:\n  lean verifier: ${JSON.stringify(ours)}\n  simplewebauthn: ${JSON.stringify(theirs)}\n${show(c, b)}`,
      );
    }
  });
}

const newTally = (): Tally => ({ cases: 0, accepted: 0, byAlg: {}, reasons: new Map(), async: 0 });

describe('lean assertion verifier vs @simplewebauthn/server (differential)', () => {
  it(`decides ${RUNS.toLocaleString('en-US')} generated assertions exactly as verifyAuthenticationResponse (seed ${SEED})`, async () => {
    const tally = newTally();
    const started = performance.now();
    try {
      await fc.assert(agreement(tally), { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
    } catch (error) {
      console.error(
        `verifier differential failed: reproduce with DIFF_SEED=${SEED} (fast-check's seed and path are below)`,
      );
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const reasons = [...tally.reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `    ${n} × ${r}`);
    console.log(
      [
        `verifier differential: ${tally.cases} cases (seed ${SEED}) in ${seconds.toFixed(1)} s: ${tally.accepted} accepted by both, ${tally.cases - tally.accepted} refused by both (${tally.async} judged by the SimpleWebAuthn fallback)`,
        `  per algorithm: ${Object.entries(tally.byAlg)
          .map(([alg, n]) => `${alg} ${n.accepted}/${n.accepted + n.rejected}`)
          .join(', ')}`,
        '  reasons:',
        ...reasons,
      ].join('\n'),
    );
    // The generator must exercise both outcomes for every algorithm, or agreement would say little.
    assert.equal(tally.cases, RUNS);
    assert.ok(tally.accepted > RUNS * 0.1, `only ${tally.accepted} accepted cases`);
    assert.ok(tally.cases - tally.accepted > RUNS * 0.3, 'too few refused cases');
    for (const [alg, n] of Object.entries(tally.byAlg)) {
      assert.ok(n.accepted > 0 && n.rejected > 0, `${alg}: ${n.accepted} accepted, ${n.rejected} refused`);
    }
    assert.equal(Object.keys(tally.byAlg).length, Object.keys(KEYS).length);
  });

  // The property can fail: a verifier that skips a check is caught by the same generator.
  const mutants: [string, Lean][] = [
    [
      'one that takes any origin of the RP ID',
      (config, response, challenge, credential, stored) =>
        verifyAuthentication(
          {
            ...config,
            rp: {
              ...config.rp,
              allowedOrigins: [...config.rp.allowedOrigins, 'https://EXAMPLE.com', 'https://sub.app.example.com'],
            },
          },
          response,
          challenge,
          credential,
          stored,
        ),
    ],
    [
      'one that ignores the stored sign count',
      (config, response, challenge, credential) => verifyAuthentication(config, response, challenge, credential, 0),
    ],
    [
      'one that never requires user verification',
      (config, response, challenge, credential, stored) =>
        verifyAuthentication(
          { ...config, authenticatorSelection: { ...config.authenticatorSelection, userVerification: 'preferred' } },
          response,
          challenge,
          credential,
          stored,
        ),
    ],
  ];
  for (const [name, mutant] of mutants) {
    it(`catches a verifier that differs: ${name}`, async () => {
      const result = await fc.check(agreement(newTally(), mutant), { seed: SEED, numRuns: 3000, endOnFailure: true });
      assert.equal(result.failed, true, `no disagreement found in ${result.numRuns} cases`);
      assert.match(String((result.errorInstance as Error | undefined)?.message), /the verifiers disagree/);
    });
  }
});
