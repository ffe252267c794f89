// The one file that talks to @simplewebauthn/server: ceremony options and verification, with errors mapped.

import {
  constants,
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  ECDH,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  PQCNotSupportedError,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  SettingsService,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import {
  convertAAGUIDToString,
  decodeCredentialPublicKey,
  isoCBOR,
  parseAuthenticatorData,
  verifySignature,
} from '@simplewebauthn/server/helpers';
import { Ajv } from 'ajv';
import { authenticatorDataWellFormed, cborItemEnd } from './cbor.js';
import type { ResolvedOptions } from './options.js';

/** A ceremony failed. `reason` is safe to show to the client; the library's own wording, never a stack. */
export class CeremonyError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CeremonyError';
  }
}

/** COSE algorithms offered, in order: EdDSA, ES256, RS256 (https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier). */
const ALGORITHMS = [-8, -7, -257];

export const randomId = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** PublicKeyCredentialCreationOptionsJSON for a challenge, user handle and user name. */
export function creationOptions(
  config: ResolvedOptions,
  args: { challenge: string; userHandle: string; userName: string; exclude?: { id: string; transports: string[] }[] },
): PublicKeyCredentialCreationOptionsJSON {
  const { residentKey, userVerification, authenticatorAttachment } = config.authenticatorSelection;
  return {
    challenge: args.challenge,
    rp: { name: config.rp.displayName, id: config.rp.id },
    user: { id: args.userHandle, name: args.userName, displayName: args.userName },
    pubKeyCredParams: ALGORITHMS.map((alg) => ({ alg, type: 'public-key' as const })),
    timeout: config.lifespans.ceremony,
    excludeCredentials: (args.exclude ?? []).map((c) => ({
      id: c.id,
      type: 'public-key' as const,
      transports: c.transports as AuthenticatorTransport[],
    })),
    authenticatorSelection: {
      residentKey,
      requireResidentKey: residentKey === 'required',
      userVerification,
      ...(authenticatorAttachment ? { authenticatorAttachment } : {}),
    },
    attestation: config.attestation,
    extensions: { credProps: true } as PublicKeyCredentialCreationOptionsJSON['extensions'],
    ...(config.hints.length ? { hints: [...config.hints] } : {}),
  };
}

type AuthenticatorTransport = NonNullable<PublicKeyCredentialRequestOptionsJSON['allowCredentials']>[number] extends {
  transports?: (infer T)[];
}
  ? T
  : never;

/** PublicKeyCredentialRequestOptionsJSON; `allow` only for re-authentication (refresh). */
export function requestOptions(
  config: ResolvedOptions,
  args: { challenge: string; allow?: { id: string; transports: string[] }[] },
): PublicKeyCredentialRequestOptionsJSON {
  return {
    challenge: args.challenge,
    timeout: config.lifespans.ceremony,
    rpId: config.rp.id,
    // Discoverable sign-in lists no credentials: the authenticator offers the user's passkeys for this RP.
    ...(args.allow?.length
      ? {
          allowCredentials: args.allow.map((c) => ({
            id: c.id,
            type: 'public-key' as const,
            transports: c.transports as AuthenticatorTransport[],
          })),
        }
      : {}),
    userVerification: config.authenticatorSelection.userVerification,
    ...(config.hints.length ? { hints: [...config.hints] } : {}),
  };
}

const BINARY_FIELDS = ['clientDataJSON', 'attestationObject', 'authenticatorData', 'signature', 'userHandle'] as const;

/** base64url, or standard base64 (`btoa`, with `+/=`) as some clients send it. */
const binary = { type: 'string', minLength: 1, maxLength: 16_384, pattern: '^[A-Za-z0-9_+/-]+={0,2}$' } as const;

/** JSON Schema of `PublicKeyCredential.toJSON()` for a registration or an assertion. */
function credentialSchema(required: string[]) {
  return {
    type: 'object',
    required: ['response'],
    anyOf: [{ required: ['id'] }, { required: ['rawId'] }],
    properties: {
      id: binary,
      rawId: binary,
      type: { const: 'public-key' },
      response: {
        type: 'object',
        required,
        properties: {
          clientDataJSON: binary,
          attestationObject: binary,
          authenticatorData: binary,
          signature: binary,
          userHandle: { anyOf: [binary, { type: 'null' }, { const: '' }] },
          transports: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
          publicKey: { type: 'string' },
          publicKeyAlgorithm: { type: 'number' },
        },
      },
      clientExtensionResults: { type: 'object' },
      authenticatorAttachment: { type: ['string', 'null'] },
    },
  };
}

const ajv = new Ajv({ strict: false });
const validators = {
  registration: ajv.compile(credentialSchema(['clientDataJSON', 'attestationObject'])),
  authentication: ajv.compile(credentialSchema(['clientDataJSON', 'authenticatorData', 'signature'])),
};

/** base64 → base64url; base64url passes through. */
function toBase64Url(value: string): string {
  return value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Parse the JSON string a client posts in `passkey_register` / `passkey_login` (the output of
 * `PublicKeyCredential.toJSON()`), schema-checked, accepting standard base64 in binary fields. Throws `CeremonyError`.
 */
export function parseCredential<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  raw: unknown,
  kind: 'registration' | 'authentication',
): T {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new CeremonyError('The passkey response is not valid JSON.');
    }
  }
  if (!validators[kind](value)) {
    throw new CeremonyError('The passkey response is missing fields or has malformed ones.');
  }
  const credential = value as {
    id?: string;
    rawId?: string;
    response: Record<string, unknown>;
    clientExtensionResults?: object;
    authenticatorAttachment?: string | null;
  };
  const response: Record<string, unknown> = { ...credential.response };
  for (const field of BINARY_FIELDS) {
    const bytes = response[field];
    if (typeof bytes === 'string' && bytes !== '') response[field] = toBase64Url(bytes);
    else delete response[field];
  }
  const id = toBase64Url(credential.id ?? credential.rawId ?? '');
  return {
    id,
    rawId: toBase64Url(credential.rawId ?? id),
    type: 'public-key',
    response,
    clientExtensionResults: credential.clientExtensionResults ?? {},
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  } as unknown as T;
}

/** What a verified registration yields. */
export interface VerifiedRegistration {
  credentialId: string;
  publicKey: Uint8Array;
  signCount: number;
  aaguid: string;
  transports: string[];
  backupEligible: boolean;
  backedUp: boolean;
}

/**
 * Verify a registration response against the flow's challenge (https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential).
 *
 * `none` attestation (what browsers send unless attestation is asked for) is verified here, synchronously, with
 * SimpleWebAuthn's checks in its order and its parsers (the attestation object, the authenticator data and the public
 * key decode exactly as before); every other format goes to {@link verifyRegistrationWithSimpleWebAuthn}. Throws
 * `CeremonyError`.
 */
export function verifyRegistration(
  config: ResolvedOptions,
  response: RegistrationResponseJSON,
  challenge: string,
): VerifiedRegistration | Promise<VerifiedRegistration> {
  const { value: clientData } = checkSameOriginCeremony(response.response.clientDataJSON);
  const attestation = checkAttestationObject(response.response.attestationObject);
  if (attestation.get('fmt') !== 'none') return verifyRegistrationWithSimpleWebAuthn(config, response, challenge);
  if (!response.id) refuse('Missing credential ID');
  if (response.id !== response.rawId) refuse('Credential ID was not base64url-encoded');
  if (response.type !== 'public-key') refuse(`Unexpected credential type ${response.type}, expected "public-key"`);
  if (clientData === null) refuse("Cannot destructure property 'type' of 'clientDataJSON' as it is null.");
  const { type, origin, challenge: received, tokenBinding } = clientData as ClientData;
  if (type !== 'webauthn.create') refuse(`Unexpected registration response type: ${type}`);
  if (received !== challenge) {
    refuse(`Unexpected registration response challenge "${received}", expected "${challenge}"`);
  }
  const origins = allowedOrigins(config);
  if (!origins.includes(origin as string)) {
    refuse(`Unexpected registration response origin "${origin}", expected one of: ${origins.join(', ')}`);
  }
  if (tokenBinding) {
    if (typeof tokenBinding !== 'object') refuse(`Unexpected value for TokenBinding "${tokenBinding}"`);
    const status = (tokenBinding as { status?: unknown }).status;
    if (!REGISTRATION_TOKEN_BINDING_STATUSES.includes(status)) {
      refuse(`Unexpected tokenBinding.status value of "${status}"`);
    }
  }
  let parsed: ReturnType<typeof parseAuthenticatorData>;
  try {
    parsed = parseAuthenticatorData(attestation.get('authData') as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new CeremonyError(describe(error));
  }
  const { aaguid, rpIdHash, flags, credentialID, counter, credentialPublicKey } = parsed;
  if (!rpIdHashOf(config.rp.id).equals(rpIdHash)) refuse('Unexpected RP ID hash');
  if (!flags.up) refuse('User presence was required, but user was not present');
  if (config.authenticatorSelection.userVerification === 'required' && !flags.uv) {
    refuse('User verification was required, but user could not be verified');
  }
  if (!credentialID) refuse('No credential ID was provided by authenticator');
  if (!credentialPublicKey) refuse('No public key was provided by authenticator');
  if (!aaguid) refuse('No AAGUID was present during registration');
  let cose: unknown;
  try {
    cose = decodeCredentialPublicKey(credentialPublicKey);
  } catch (error) {
    throw new CeremonyError(describe(error));
  }
  if (!(cose instanceof Map)) refuse('decodedPublicKey.get is not a function');
  const alg = cose.get(3) as unknown;
  if (typeof alg !== 'number') refuse('Credential public key was missing numeric alg');
  if (!ALGORITHMS.includes(alg)) {
    refuse(`Unexpected public key alg "${alg}", expected one of "${ALGORITHMS.join(', ')}"`);
  }
  // `none`: SimpleWebAuthn reads `attStmt.size` (a missing statement fails there with a TypeError).
  const statement = attestation.get('attStmt') as { size?: unknown } | null | undefined;
  if (statement === null || statement === undefined) refuse("Cannot read properties of undefined (reading 'size')");
  if ((statement.size as number) > 0) refuse('None attestation had unexpected attestation statement');
  if (!flags.be && flags.bs) {
    refuse('Single-device credential indicated that it was backed up, which should be impossible.');
  }
  checkPublicKey(credentialPublicKey);
  return {
    credentialId: b64(credentialID),
    publicKey: credentialPublicKey,
    signCount: counter,
    aaguid: convertAAGUIDToString(aaguid),
    transports: transportsOf(response),
    backupEligible: flags.be,
    backedUp: flags.bs,
  };
}

const REGISTRATION_TOKEN_BINDING_STATUSES: unknown[] = ['present', 'supported', 'not-supported'];

const transportsOf = (response: RegistrationResponseJSON) =>
  (response.response.transports ?? []).filter((t) => typeof t === 'string').slice(0, 8);

/**
 * Registration as it was verified before the lean path: the library's own checks, then SimpleWebAuthn's
 * `verifyRegistrationResponse` (every attestation format), then the public key's. Used for formats other than `none`,
 * and as the reference of `test/registration-differential.test.ts`.
 */
export async function verifyRegistrationWithSimpleWebAuthn(
  config: ResolvedOptions,
  response: RegistrationResponseJSON,
  challenge: string,
): Promise<VerifiedRegistration> {
  checkSameOriginCeremony(response.response.clientDataJSON);
  checkAttestationObject(response.response.attestationObject);
  let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: allowedOrigins(config),
      expectedRPID: config.rp.id,
      requireUserPresence: true,
      requireUserVerification: config.authenticatorSelection.userVerification === 'required',
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch (error) {
    throw new CeremonyError(describe(error));
  }
  const info = result.registrationInfo;
  if (!result.verified || !info) throw new CeremonyError('The passkey could not be verified.');
  checkPublicKey(info.credential.publicKey);
  return {
    credentialId: info.credential.id,
    publicKey: info.credential.publicKey,
    signCount: info.credential.counter,
    aaguid: info.aaguid,
    transports: transportsOf(response),
    backupEligible: info.credentialDeviceType === 'multiDevice',
    backedUp: info.credentialBackedUp,
  };
}

/** What a verified assertion yields. */
export interface VerifiedAuthentication {
  signCount: number;
  backedUp: boolean;
  backupEligible: boolean;
}

/**
 * Verify an assertion (https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion) as `parseCredential` returns it.
 *
 * Every check `verifyAuthenticationResponse` of @simplewebauthn/server makes, in its order and with the reasons
 * {@link describe} gives its errors, but synchronously: the public key is parsed once per credential into a
 * `KeyObject` (a bounded cache, {@link credentialKey}), hashing and the signature check use node:crypto. The inputs no
 * authenticator produces (an ECDSA signature that is not plain DER, a public key of an odd shape) are handed to
 * SimpleWebAuthn's own `verifySignature`, so that they are judged exactly as before; only then is the answer a promise.
 * `test/verifier-differential.test.ts` holds both verifiers to the same decisions.
 *
 * `storedSignCount` is the counter a regression is judged against (SimpleWebAuthn's `credential.counter`); the login
 * flow passes 0 and applies its own sign-count policy (reject or warn) afterwards. Throws `CeremonyError`.
 */
export function verifyAuthentication(
  config: ResolvedOptions,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: { id: string; publicKey: Uint8Array },
  storedSignCount = 0,
): VerifiedAuthentication | Promise<VerifiedAuthentication> {
  const { bytes: clientDataBytes, value: clientData } = checkSameOriginCeremony(response.response.clientDataJSON);
  // From here on, SimpleWebAuthn's checks in its order, with its messages (mapped by describe()).
  if (!response.id) refuse('Missing credential ID');
  if (response.id !== response.rawId) refuse('Credential ID was not base64url-encoded');
  if (response.type !== 'public-key') refuse(`Unexpected credential type ${response.type}, expected "public-key"`);
  const assertion = response.response;
  if (typeof assertion.clientDataJSON !== 'string') refuse('Credential response clientDataJSON was not a string');
  if (clientData === null) refuse("Cannot destructure property 'type' of 'clientDataJSON' as it is null.");
  const { type, origin, challenge: received, tokenBinding, crossOrigin, topOrigin } = clientData as ClientData;
  if (type !== 'webauthn.get') refuse(`Unexpected authentication response type: ${type}`);
  if (received !== challenge) {
    refuse(`Unexpected authentication response challenge "${received}", expected "${challenge}"`);
  }
  if (crossOrigin) {
    if (topOrigin) refuse(`Detected cross-origin authentication response from top origin of "${topOrigin}"`);
  } else if (topOrigin) {
    refuse(`Unexpected top origin of "${topOrigin}" within a non-cross-origin authentication response.`);
  }
  const origins = allowedOrigins(config);
  if (!origins.includes(origin as string)) {
    refuse(`Unexpected authentication response origin "${origin}", expected one of: ${origins.join(', ')}`);
  }
  const authenticatorData = base64Url(
    assertion.authenticatorData,
    'Credential response authenticatorData was not a base64url string',
  );
  const signatureText = base64Url(assertion.signature, 'Credential response signature was not a base64url string');
  if (assertion.userHandle && typeof assertion.userHandle !== 'string') {
    refuse('Credential response userHandle was not a string');
  }
  if (tokenBinding) {
    if (typeof tokenBinding !== 'object') refuse('ClientDataJSON tokenBinding was not an object');
    const status = (tokenBinding as { status?: unknown }).status;
    if (!TOKEN_BINDING_STATUSES.includes(status)) refuse(`Unexpected tokenBinding status ${status}`);
  }

  const authData = Buffer.from(authenticatorData, 'base64url');
  if (authData.length < 37) refuse(`Authenticator data was ${authData.length} bytes, expected at least 37 bytes`);
  const flags = authData[32] as number;
  let counter: number;
  if (flags & (FLAG_AT | FLAG_ED)) {
    // Attested credential data or extensions (rare in an assertion): SimpleWebAuthn's own parser, for its exact rules.
    try {
      counter = parseAuthenticatorData(new Uint8Array(authData)).counter;
    } catch (error) {
      throw new CeremonyError(describe(error));
    }
  } else {
    if (authData.length > 37) refuse('Leftover bytes detected while parsing authenticator data');
    counter = authData.readUInt32BE(33);
  }
  if (!rpIdHashOf(config.rp.id).equals(authData.subarray(0, 32))) refuse('Unexpected RP ID hash');
  if (!(flags & FLAG_UP)) refuse('User not present during authentication');
  if (config.authenticatorSelection.userVerification === 'required' && !(flags & FLAG_UV)) {
    refuse('User verification required, but user could not be verified');
  }
  const signature = Buffer.from(signatureText, 'base64url');
  if ((counter > 0 || storedSignCount > 0) && counter <= storedSignCount) {
    refuse(`Response counter value ${counter} was lower than expected ${storedSignCount}`);
  }
  const key = credentialKey(credential.id, credential.publicKey);
  if (key.refusal !== undefined) throw new CeremonyError(key.refusal);
  if (!(flags & FLAG_BE) && flags & FLAG_BS) {
    refuse('Single-device credential indicated that it was backed up, which should be impossible.');
  }
  const result: VerifiedAuthentication = {
    signCount: counter,
    backedUp: (flags & FLAG_BS) !== 0,
    backupEligible: (flags & FLAG_BE) !== 0,
  };
  const data = Buffer.concat([authData, createHash('sha256').update(clientDataBytes).digest()]);
  const verdict = key.fast ? verifyFast(key.fast, data, signature) : undefined;
  if (verdict === true) return result;
  if (verdict === false) throw new CeremonyError('The passkey signature could not be verified.');
  // An input off the fast path: SimpleWebAuthn's verifySignature (WebCrypto, async) has the final word.
  let pending: Promise<boolean>;
  try {
    pending = verifySignature({
      signature: new Uint8Array(signature),
      data: new Uint8Array(data),
      credentialPublicKey: new Uint8Array(key.bytes),
    });
  } catch (error) {
    throw new CeremonyError(describe(error));
  }
  return pending.then(
    (verified) => {
      if (!verified) throw new CeremonyError('The passkey signature could not be verified.');
      return result;
    },
    (error: unknown) => {
      throw new CeremonyError(describe(error));
    },
  );
}

type ClientData = { [key: string]: unknown };

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;
const TOKEN_BINDING_STATUSES: unknown[] = ['present', 'supported', 'notSupported'];

/** Refuse with the reason describe() gives SimpleWebAuthn's error of the same check. */
function refuse(message: string): never {
  throw new CeremonyError(describe(new Error(message)));
}

/** A field SimpleWebAuthn's `isoBase64URL.isBase64URL` accepts (padding ignored); otherwise refused with `invalid`. */
function base64Url(value: unknown, invalid: string): string {
  // Not a string: SimpleWebAuthn fails with a TypeError there, which describe() reports as a generic failure.
  if (typeof value !== 'string') refuse('Credential response field is not a string');
  if (!/^[-A-Za-z0-9_]*$/.test(value.replace(/=/g, ''))) refuse(invalid);
  return value;
}

const rpIdHashes = new Map<string, Buffer>();

/** SHA-256 of an RP ID, computed once per RP ID. */
function rpIdHashOf(rpId: string): Buffer {
  let hash = rpIdHashes.get(rpId);
  if (!hash) {
    hash = createHash('sha256').update(rpId, 'ascii').digest();
    rpIdHashes.set(rpId, hash);
  }
  return hash;
}

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
function credentialKey(id: string, publicKey: Uint8Array): CredentialKey {
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

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

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
function verifyFast(fast: FastKey, data: Buffer, signature: Buffer): boolean | undefined {
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

/** The origins a ceremony may come from: `rp.origins` and `rp.relatedOrigins` (the RP ID hash stays `rp.id`'s). */
export function allowedOrigins(config: ResolvedOptions): string[] {
  return config.rp.allowedOrigins;
}

/**
 * Is this assertion a real answer to the flow's ceremony, as far as can be told without the credential's public key:
 * `webauthn.get` client data for `challenge` from an allowed origin, and authenticator data for `rp.id`? The
 * signature is not (cannot be) checked: used only to tell the browser that a credential id it sent is unknown
 * (Signal API), never to sign anyone in.
 */
export function answersCeremony(
  config: ResolvedOptions,
  response: AuthenticationResponseJSON,
  challenge: string,
): boolean {
  try {
    const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'));
    const authData = Buffer.from(response.response.authenticatorData, 'base64url');
    const rpIdHash = createHash('sha256').update(config.rp.id).digest();
    return (
      clientData?.type === 'webauthn.get' &&
      clientData.challenge === challenge &&
      clientData.crossOrigin !== true &&
      allowedOrigins(config).includes(clientData.origin) &&
      authData.length >= 37 &&
      rpIdHash.equals(authData.subarray(0, 32))
    );
  } catch {
    return false;
  }
}

/** Map SimpleWebAuthn's error texts onto reasons of our own; never forward library text verbatim. */
function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : '';
  if (/origin/i.test(text)) return 'The passkey response comes from an origin that is not allowed.';
  if (/challenge/i.test(text)) return "The passkey response does not answer this flow's challenge.";
  if (/RP ID|rpIdHash|rpID/i.test(text)) return 'The passkey was created for another relying party.';
  if (/user verif/i.test(text)) return 'The passkey response lacks user verification, which is required.';
  if (/not present|presence/i.test(text)) return 'The passkey response lacks user presence.';
  if (/type/i.test(text) && /webauthn\./i.test(text)) return 'The passkey response is of the wrong type.';
  if (/signature/i.test(text)) return 'The passkey signature could not be verified.';
  if (/algorithm/i.test(text)) return 'The passkey uses an unsupported algorithm.';
  return 'The passkey response could not be verified.';
}

/** {@link describe}, for the differential tests' reference verifiers. */
export const describeError = describe;

/**
 * Ceremonies run in the app's own pages, never in a cross-origin iframe (clientData `crossOrigin`, WebAuthn §5.8.1):
 * the library offers no way to embed them, so a cross-origin one is someone else's page.
 */
function checkSameOriginCeremony(clientDataJSON: string): { bytes: Buffer; value: unknown } {
  let bytes: Buffer;
  let clientData: { crossOrigin?: unknown };
  try {
    bytes = Buffer.from(clientDataJSON, 'base64url');
    clientData = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CeremonyError('The passkey response has malformed client data.');
  }
  if (clientData?.crossOrigin === true) throw new CeremonyError('The passkey ceremony ran in a cross-origin frame.');
  return { bytes, value: clientData };
}

/**
 * The attestation object must decode completely: one well-formed CBOR map, no trailing bytes, nothing truncated
 * (checked strictly, as the decoder is lax about declared lengths), and its authenticator data exactly its parts.
 */
function checkAttestationObject(encoded: string): Map<string, unknown> {
  try {
    const bytes = new Uint8Array(Buffer.from(encoded, 'base64url'));
    if (cborItemEnd(bytes) !== bytes.length) throw new Error('trailing bytes');
    const decoded = isoCBOR.decodeFirst<Map<string, unknown>>(bytes);
    const authData = decoded instanceof Map ? (decoded.get('authData') as unknown) : undefined;
    if (!(authData instanceof Uint8Array) || !authenticatorDataWellFormed(authData)) throw new Error('authData');
    return decoded;
  } catch {
    throw new CeremonyError('The attestation object is malformed.');
  }
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
function checkPublicKey(cose: Uint8Array): void {
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

/**
 * Check a public key imported from another system (`auth.admin.createIdentity`) as registration checks one: a COSE
 * key that decodes completely, with an algorithm the library offers, that imports with the size its algorithm
 * requires. Throws `CeremonyError`.
 */
export function checkImportedPublicKey(cose: Uint8Array): void {
  let decoded: unknown;
  try {
    if (cborItemEnd(cose) !== cose.length) throw new Error('trailing bytes');
    decoded = decodeCredentialPublicKey(new Uint8Array(cose));
  } catch {
    throw new CeremonyError("The passkey's public key is malformed.");
  }
  if (!(decoded instanceof Map)) throw new CeremonyError("The passkey's public key is malformed.");
  const alg = decoded.get(3) as unknown;
  if (typeof alg !== 'number' || !ALGORITHMS.includes(alg)) {
    throw new CeremonyError('The passkey uses an unsupported algorithm.');
  }
  checkPublicKey(cose);
}
