// Registration verification (https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential): `none` here,
// other attestation formats through @simplewebauthn/server.

import { type RegistrationResponseJSON, verifyRegistrationResponse } from '@simplewebauthn/server';
import {
  convertAAGUIDToString,
  decodeCredentialPublicKey,
  isoCBOR,
  parseAuthenticatorData,
} from '@simplewebauthn/server/helpers';
import { authenticatorDataWellFormed, cborItemEnd } from '../cbor.js';
import type { ResolvedOptions } from '../options.js';
import { ALGORITHMS } from './ceremony-options.js';
import {
  allowedOrigins,
  b64,
  CeremonyError,
  type ClientData,
  checkSameOriginCeremony,
  describe,
  refuse,
  rpIdHashOf,
} from './checks.js';
import { checkPublicKey } from './keys.js';
import { MAX_CREDENTIAL_ID_BYTES } from './parse.js';

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
  checkCredentialIdLength(credentialID.length);
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

/** WebAuthn L3 §7.1: a credential id longer than 1023 bytes is refused (the authenticator's, not the JSON's). */
function checkCredentialIdLength(bytes: number): void {
  if (bytes > MAX_CREDENTIAL_ID_BYTES) {
    throw new CeremonyError(`The credential id is longer than ${MAX_CREDENTIAL_ID_BYTES} bytes.`);
  }
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
  checkCredentialIdLength(Buffer.from(info.credential.id, 'base64url').length);
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
