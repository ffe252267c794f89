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

/** The public key must import with the size its algorithm requires. */
export function checkPublicKey(cose: Uint8Array): void {
  try {
    const key = decodeCredentialPublicKey(new Uint8Array(cose)) as unknown as Map<number, unknown>;
    const kty = key.get(1);
    const x = key.get(-2);
    if (kty === 2) {
      const curve = CURVES[Number(key.get(-1))];
      const y = key.get(-3);
      if (!curve || !(x instanceof Uint8Array) || !(y instanceof Uint8Array)) throw new Error('ec2');
      if (x.length !== curve.size || y.length !== curve.size) throw new Error('ec2 size');
      // Only a point that does not convert needs the import to decide (it may take coordinates not reduced mod p).
      if (onCurve(curve, x, y)) return;
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
      if (key.get(-1) !== 6 || !(x instanceof Uint8Array) || x.length !== 32) throw new Error('okp');
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(x).toString('base64url') }, format: 'jwk' });
    } else if (kty === 3) {
      const n = key.get(-1);
      const e = key.get(-2);
      if (!(n instanceof Uint8Array) || !(e instanceof Uint8Array) || n.length < 256) throw new Error('rsa');
      createPublicKey({
        key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') },
        format: 'jwk',
      });
    } else {
      throw new Error('kty');
    }
  } catch {
    throw new CeremonyError("The passkey's public key is malformed.");
  }
}
