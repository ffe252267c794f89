// Passkeys imported from another system (a hand-written SimpleWebAuthn setup, Kratos): checked as registration checks
// them, turned into the store's records, all sharing one WebAuthn user handle.

import { decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import { cborItemEnd } from '../cbor.js';
import { passkeyName } from '../passkey.js';
import type { Passkey } from '../store/types.js';
import { ALGORITHMS, canonicalCredentialId, publicKeyProblem, randomId } from '../webauthn/index.js';
import { ValidationError } from './errors.js';

/** A passkey to import (`auth.admin.createIdentity({ passkeys })`). */
export interface PasskeyImport {
  /** Credential id, base64url (standard base64 is accepted too). */
  id: string;
  /** The COSE public key as the authenticator produced it (what SimpleWebAuthn stores), base64url or bytes. */
  publicKey: string | Uint8Array;
  /** The signature counter last seen. Defaults to 0. */
  counter?: number;
  /** Transports reported at registration (`internal`, `hybrid`, `usb`, ...). */
  transports?: string[];
  /**
   * The WebAuthn user handle (`user.id` at registration, base64url) the authenticator returns with each assertion.
   * Every imported passkey of one identity must share one (it is the identity's).
   */
  userHandle?: string;
  /** Shown in settings; at most 64 characters. Defaults to the authenticator model's name, else "Passkey <date>". */
  name?: string;
  /** AAGUID as a UUID string. Defaults to all zeros (unknown). */
  aaguid?: string;
  /** When the passkey was registered. Defaults to now. */
  createdAt?: Date;
  /** Backup eligible (BE). When absent, the first sign-in records it (and `backedUp`) without comparing. */
  backupEligible?: boolean;
  /** Backed up (BS). Refreshed at every sign-in. */
  backedUp?: boolean;
}

const BASE64 = /^[A-Za-z0-9_+/-]+={0,2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 64;

/** base64 or base64url text → bytes, or undefined when it is not that. */
export function decodeBase64(value: unknown): Buffer | undefined {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value !== 'string' || value === '' || !BASE64.test(value)) return undefined;
  return Buffer.from(value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
}

/**
 * The identity's user handle: the one given (top level or on the passkeys, all equal), else a new one. Throws
 * `ValidationError` when the given ones differ or are not 1 to 64 bytes of base64url.
 */
export function importedUserHandle(given: string | undefined, passkeys: readonly PasskeyImport[]): string {
  const handles = new Map<string, string>();
  const add = (value: unknown, path: string) => {
    if (value === undefined) return;
    const bytes = decodeBase64(value);
    if (!bytes || bytes.length < 1 || bytes.length > 64) {
      throw ValidationError.reason(path, 'A user handle is 1 to 64 bytes, in base64url.');
    }
    handles.set(bytes.toString('base64url'), path);
  };
  add(given, 'userHandle');
  for (const [i, p] of passkeys.entries()) add(p.userHandle, `passkeys[${i}].userHandle`);
  if (handles.size > 1) {
    throw ValidationError.reason(
      'passkeys',
      'All passkeys of an identity share one user handle: these have different ones. Import them as separate identities.',
    );
  }
  return handles.keys().next().value ?? randomId(32);
}

/** The store records of the imported passkeys of `identityId`. Throws `ValidationError`. */
export function importedPasskeys(identityId: string, passkeys: readonly PasskeyImport[]): Passkey[] {
  const seen = new Set<string>();
  return passkeys.map((input, i) => {
    const at = `passkeys[${i}]`;
    if (!input || typeof input !== 'object') throw ValidationError.reason(at, 'A passkey to import is an object.');
    const id = decodeBase64(input.id);
    if (!id || id.length < 16 || id.length > 1023) {
      throw ValidationError.reason(`${at}.id`, 'A credential id is 16 to 1023 bytes, in base64url.');
    }
    const credentialId = canonicalCredentialId(id.toString('base64url'));
    if (!credentialId) throw ValidationError.reason(`${at}.id`, 'A credential id is 16 to 1023 bytes, in base64url.');
    if (seen.has(credentialId)) throw ValidationError.reason(`${at}.id`, 'This credential id is listed twice.');
    seen.add(credentialId);
    const publicKey = decodeBase64(input.publicKey);
    if (!publicKey || publicKey.length > 2048) {
      throw ValidationError.reason(`${at}.publicKey`, 'The public key is a COSE key, in base64url.');
    }
    const problem = importedKeyProblem(new Uint8Array(publicKey));
    if (problem) throw ValidationError.reason(`${at}.publicKey`, problem);
    const counter = input.counter ?? 0;
    if (!Number.isSafeInteger(counter) || counter < 0 || counter > 0xffffffff) {
      throw ValidationError.reason(`${at}.counter`, 'The counter is an integer from 0 to 4294967295.');
    }
    const transports = input.transports ?? [];
    if (
      !Array.isArray(transports) ||
      transports.length > 8 ||
      transports.some((t) => typeof t !== 'string' || t.length > 32)
    ) {
      throw ValidationError.reason(`${at}.transports`, 'Transports are at most 8 short strings.');
    }
    const aaguid = (input.aaguid ?? '00000000-0000-0000-0000-000000000000').toLowerCase();
    if (typeof aaguid !== 'string' || !UUID.test(aaguid)) {
      throw ValidationError.reason(`${at}.aaguid`, 'The AAGUID is a UUID.');
    }
    const createdAt = input.createdAt ?? new Date();
    if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) {
      throw ValidationError.reason(`${at}.createdAt`, 'createdAt is a valid Date.');
    }
    const name = input.name ?? passkeyName(aaguid, createdAt);
    if (typeof name !== 'string' || name.trim() === '' || [...name].length > MAX_NAME) {
      throw ValidationError.reason(`${at}.name`, `A passkey name is 1 to ${MAX_NAME} characters long.`);
    }
    for (const flag of ['backupEligible', 'backedUp'] as const) {
      if (input[flag] !== undefined && typeof input[flag] !== 'boolean') {
        throw ValidationError.reason(`${at}.${flag}`, `${flag} is a boolean.`);
      }
    }
    const flagsKnown = input.backupEligible !== undefined;
    return {
      id: credentialId,
      identityId,
      publicKey: new Uint8Array(publicKey),
      signCount: counter,
      transports: [...transports],
      aaguid,
      name: name.trim(),
      backupEligible: input.backupEligible ?? false,
      backedUp: input.backedUp ?? false,
      ...(flagsKnown ? {} : { backupFlagsUnknown: true }),
      createdAt: new Date(createdAt.getTime()),
      lastUsedAt: null,
    };
  });
}

/**
 * Why an imported public key cannot be stored, as registration judges one: a COSE key that decodes completely, with an
 * algorithm the library offers, that fits its key type and imports with the size its algorithm requires.
 */
function importedKeyProblem(cose: Uint8Array): string | undefined {
  let alg: unknown;
  try {
    if (cborItemEnd(cose) !== cose.length) return "The passkey's public key is malformed.";
    const key = decodeCredentialPublicKey(new Uint8Array(cose)) as unknown;
    alg = key instanceof Map ? key.get(3) : undefined;
  } catch {
    return "The passkey's public key is malformed.";
  }
  if (typeof alg !== 'number' || !ALGORITHMS.includes(alg)) return 'The passkey uses an unsupported algorithm.';
  return publicKeyProblem(cose);
}
