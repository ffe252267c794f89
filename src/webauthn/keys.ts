// COSE and DER: credential public keys parsed once (a bounded cache), checked at registration, and signatures
// verified with node:crypto.

import { constants, createPublicKey, verify as cryptoVerify, ECDH, type KeyObject } from 'node:crypto';
import { PQCNotSupportedError, SettingsService } from '@simplewebauthn/server';
import { decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import { b64, CeremonyError, describe } from './checks.js';

/** A credential's public key, parsed once. */
interface CredentialKey {
  /** The COSE key bytes it was parsed from (a copy). */
  bytes: Uint8Array;
  /** Why any assertion with this key is refused before its flags are judged (undecodable, no numeric alg, ...). */
  refusal?: string;
  /** The key for node:crypto; unset for a key of an odd shape, which SimpleWebAuthn's verifySignature judges. */
  fast?: FastKey;
}

type FastKey =
  | { kind: 'ec'; key: KeyObject; hash: string; size: number }
  | { kind: 'rsa'; key: KeyObject; hash: string; saltLength: number | undefined }
  | { kind: 'okp'; key: KeyObject };

/** Most parsed keys kept (least recently used dropped first): a few MB at most. */
const KEY_CACHE_SIZE = 4096;
const keyCache = new Map<string, CredentialKey>();

/** The parsed key of a credential, from the cache when its id and key bytes are those cached. */
export function credentialKey(id: string, publicKey: Uint8Array): CredentialKey {
  const cached = keyCache.get(id);
  keyCache.delete(id);
  const key = cached && Buffer.compare(cached.bytes, publicKey) === 0 ? cached : parseCredentialKey(publicKey);
  keyCache.set(id, key); // the most recently used last
  if (keyCache.size > KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
  return key;
}

/** COSE algorithm → hash, as SimpleWebAuthn maps them (`mapCoseAlgToWebCryptoHashAlgName`). */
const HASHES = new Map<number, string>([
  [-65535, 'sha1'],
  [-7, 'sha256'],
  [-37, 'sha256'],
  [-257, 'sha256'],
  [-35, 'sha384'],
  [-38, 'sha384'],
  [-258, 'sha384'],
  [-36, 'sha512'],
  [-39, 'sha512'],
  [-259, 'sha512'],
  [-8, 'sha512'],
]);
const RSA_PKCS1 = new Set([-257, -258, -259, -65535]);
/** RSASSA-PSS algorithms → salt length (the hash's length, as SimpleWebAuthn uses). */
const RSA_PSS = new Map([
  [-37, 32],
  [-38, 48],
  [-39, 64],
]);
/** The algorithm ids SimpleWebAuthn knows (`isCOSEAlg`); ML-DSA ones are the post-quantum ones. */
const COSE_ALGS = new Set([-7, -8, -35, -36, -37, -38, -39, -47, -48, -49, -50, -257, -258, -259, -65535]);
const ML_DSA = new Set([-48, -49, -50]);

function parseCredentialKey(publicKey: Uint8Array): CredentialKey {
  const bytes = new Uint8Array(publicKey);
  let cose: unknown;
  try {
    cose = decodeCredentialPublicKey(new Uint8Array(bytes));
  } catch (error) {
    return { bytes, refusal: describe(error) };
  }
  // SimpleWebAuthn reads `.get(alg)` from the decoded value: anything but a map fails there with a TypeError.
  if (!(cose instanceof Map))
    return { bytes, refusal: describe(new TypeError('decodedPublicKey.get is not a function')) };
  const alg = cose.get(3) as unknown;
  if (typeof alg !== 'number')
    return { bytes, refusal: describe(new Error('Credential public key was missing numeric alg')) };
  if (ML_DSA.has(alg) && !SettingsService.runtimeSupportsPQC()) {
    return { bytes, refusal: describe(new PQCNotSupportedError(alg)) };
  }
  const fast = fastKey(cose, alg);
  return fast ? { bytes, fast } : { bytes };
}

/** The key as a `KeyObject` when it has the plain shape of its type; undefined otherwise. */
function fastKey(cose: Map<unknown, unknown>, alg: number): FastKey | undefined {
  const kty = cose.get(1);
  const hash = HASHES.get(alg);
  try {
    if (kty === 2) {
      const crv = cose.get(-1);
      const curve = typeof crv === 'number' ? CURVES[crv] : undefined;
      const x = cose.get(-2);
      const y = cose.get(-3);
      if (!curve || !hash || !(x instanceof Uint8Array) || !(y instanceof Uint8Array)) return undefined;
      if (x.length !== curve.size || y.length !== curve.size) return undefined;
      const jwk = { kty: 'EC', crv: curve.crv, x: b64(x), y: b64(y) };
      return { kind: 'ec', key: createPublicKey({ key: jwk, format: 'jwk' }), hash, size: curve.size };
    }
    if (kty === 3) {
      const n = cose.get(-1);
      const e = cose.get(-2);
      const saltLength = RSA_PSS.get(alg);
      if (!hash || !(RSA_PKCS1.has(alg) || saltLength !== undefined)) return undefined;
      if (!(n instanceof Uint8Array) || !(e instanceof Uint8Array) || n.length === 0 || e.length === 0)
        return undefined;
      const key = createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' });
      return { kind: 'rsa', key, hash, saltLength };
    }
    if (kty === 1) {
      const x = cose.get(-2);
      if (!COSE_ALGS.has(alg) || cose.get(-1) !== 6 || !(x instanceof Uint8Array) || x.length !== 32) return undefined;
      return { kind: 'okp', key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(x) }, format: 'jwk' }) };
    }
  } catch {
    // A key node:crypto refuses to import: SimpleWebAuthn's own import says why.
  }
  return undefined;
}

/**
 * The signature check with node:crypto: true or false, or undefined when the signature is not in the plain form every
 * authenticator sends (ECDSA in DER) or node:crypto throws, for SimpleWebAuthn to judge.
 */
export function verifyFast(fast: FastKey, data: Buffer, signature: Buffer): boolean | undefined {
  try {
    if (fast.kind === 'ec') {
      const integers = derSignature(signature);
      if (!integers) return undefined;
      // SimpleWebAuthn's unwrapEC2Signature refuses components longer than the curve's size (bar a sign byte).
      for (const n of integers) if (n.length > fast.size && !(n.length === fast.size + 1 && n[0] === 0)) return false;
      return cryptoVerify(fast.hash, data, { key: fast.key, dsaEncoding: 'der' }, signature);
    }
    if (fast.kind === 'rsa') {
      const padding = fast.saltLength === undefined ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_PSS_PADDING;
      return cryptoVerify(fast.hash, data, { key: fast.key, padding, saltLength: fast.saltLength }, signature);
    }
    return cryptoVerify(null, data, fast.key, signature);
  } catch {
    return undefined;
  }
}

/**
 * The two INTEGERs of an ECDSA signature in strict DER (`SEQUENCE { r INTEGER, s INTEGER }`, minimal lengths, positive
 * minimal integers, nothing after), or undefined for anything else (BER forms, which SimpleWebAuthn's parser accepts).
 */
function derSignature(sig: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  if (sig[0] !== 0x30) return undefined;
  let position = 2;
  let length = sig[1] ?? 0x80;
  if (length === 0x81) {
    length = sig[2] ?? 0;
    if (length < 0x80) return undefined;
    position = 3;
  } else if (length >= 0x80) {
    return undefined;
  }
  if (position + length !== sig.length) return undefined;
  const integers: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    if (sig[position] !== 0x02) return undefined;
    const size = sig[position + 1] ?? 0x80;
    const start = position + 2;
    if (size === 0 || size >= 0x80 || start + size > sig.length) return undefined;
    const first = sig[start] as number;
    if (first & 0x80) return undefined; // negative
    if (first === 0 && size > 1 && !((sig[start + 1] as number) & 0x80)) return undefined; // not minimal
    integers.push(sig.subarray(start, start + size));
    position = start + size;
  }
  return position === sig.length ? (integers as [Uint8Array, Uint8Array]) : undefined;
}

const CURVES: Record<number, { crv: string; size: number; ecdh: string }> = {
  1: { crv: 'P-256', size: 32, ecdh: 'prime256v1' },
  2: { crv: 'P-384', size: 48, ecdh: 'secp384r1' },
  3: { crv: 'P-521', size: 66, ecdh: 'secp521r1' },
};

/**
 * Is (x, y) a point of the curve? A point that converts is on it with reduced coordinates, hence a valid public key
 * (the curves have prime order), which imports; this costs a quarter of an import.
 */
function onCurve(curve: { ecdh: string }, x: Uint8Array, y: Uint8Array): boolean {
  try {
    ECDH.convertKey(Buffer.concat([POINT_UNCOMPRESSED, x, y]), curve.ecdh, undefined, undefined, 'compressed');
    return true;
  } catch {
    return false;
  }
}

const POINT_UNCOMPRESSED = Buffer.of(0x04);

/**
 * The key type (and curve) each COSE algorithm needs: WebAuthn L3 §5.8.5 binds ES256 to P-256, ES384 to P-384, ES512
 * to P-521 and EdDSA to Ed25519; RSA algorithms need an RSA key, ML-DSA ones an AKP key.
 */
const KEY_OF_ALG = new Map<number, { kty: number; crv?: number }>([
  [-7, { kty: 2, crv: 1 }], // ES256
  [-9, { kty: 2, crv: 1 }], // ESP256
  [-35, { kty: 2, crv: 2 }], // ES384
  [-51, { kty: 2, crv: 2 }], // ESP384
  [-36, { kty: 2, crv: 3 }], // ES512
  [-52, { kty: 2, crv: 3 }], // ESP512
  [-47, { kty: 2, crv: 8 }], // ES256K
  [-8, { kty: 1, crv: 6 }], // EdDSA
  [-19, { kty: 1, crv: 6 }], // Ed25519
  ...[-37, -38, -39, -257, -258, -259, -65535].map((alg) => [alg, { kty: 3 }] as const), // PS*, RS*, RS1
  ...[-48, -49, -50].map((alg) => [alg, { kty: 7 }] as const), // ML-DSA
]);

/**
 * Does a decoded COSE key's `alg` (label 3) fit its `kty` (label 1) and, for EC2 and OKP keys, its `crv` (label -1)?
 * False for an OKP key labelled ES256, a P-384 key labelled ES256, an EC2 key labelled RS256, or an unknown `alg`.
 */
export function coseAlgorithmFitsKey(key: Map<unknown, unknown>): boolean {
  const alg = key.get(3);
  const needed = typeof alg === 'number' ? KEY_OF_ALG.get(alg) : undefined;
  if (!needed || key.get(1) !== needed.kty) return false;
  return needed.crv === undefined || key.get(-1) === needed.crv;
}

/**
 * Why a credential public key (COSE_Key bytes) cannot be stored, or undefined when it can: it must decode to a COSE
 * key whose `alg` fits its key type and curve ({@link coseAlgorithmFitsKey}), and import with the size its algorithm
 * requires (EC2 P-256/384/521, Ed25519, RSA of 2048 bits or more). Registration refuses with this reason; anything
 * that imports keys from elsewhere (an admin import) must ask it too.
 */
export function publicKeyProblem(cose: Uint8Array): string | undefined {
  let key: unknown;
  try {
    key = decodeCredentialPublicKey(new Uint8Array(cose));
  } catch {
    return MALFORMED_KEY;
  }
  if (!(key instanceof Map)) return MALFORMED_KEY;
  if (!coseAlgorithmFitsKey(key)) return "The passkey's public key does not fit its algorithm.";
  return keyImports(key as Map<number, unknown>) ? undefined : MALFORMED_KEY;
}

const MALFORMED_KEY = "The passkey's public key is malformed.";

/** Throws `CeremonyError` with the {@link publicKeyProblem} of the key, if any. */
export function checkPublicKey(cose: Uint8Array): void {
  const problem = publicKeyProblem(cose);
  if (problem !== undefined) throw new CeremonyError(problem);
}

/** Does the key import with the size its type requires (a key node:crypto refuses to import does not)? */
function keyImports(key: Map<number, unknown>): boolean {
  try {
    const kty = key.get(1);
    const x = key.get(-2);
    if (kty === 2) {
      const curve = CURVES[Number(key.get(-1))];
      const y = key.get(-3);
      if (!curve || !(x instanceof Uint8Array) || !(y instanceof Uint8Array)) return false;
      if (x.length !== curve.size || y.length !== curve.size) return false;
      // Only a point that does not convert needs the import to decide (it may take coordinates not reduced mod p).
      if (onCurve(curve, x, y)) return true;
      createPublicKey({
        key: {
          kty: 'EC',
          crv: curve.crv,
          x: Buffer.from(x).toString('base64url'),
          y: Buffer.from(y).toString('base64url'),
        },
        format: 'jwk',
      });
    } else if (kty === 1) {
      if (key.get(-1) !== 6 || !(x instanceof Uint8Array) || x.length !== 32) return false;
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(x).toString('base64url') }, format: 'jwk' });
    } else if (kty === 3) {
      const n = key.get(-1);
      const e = key.get(-2);
      if (!(n instanceof Uint8Array) || !(e instanceof Uint8Array) || n.length < 256) return false;
      createPublicKey({
        key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') },
        format: 'jwk',
      });
    } else {
      return false;
    }
  } catch {
    return false;
  }
  return true;
}
