// Assertion verification (https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion): the lean, synchronous verifier
// of sign-in, and the ceremony check behind the Signal API's unknown-credential answer.

import { createHash } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { parseAuthenticatorData, verifySignature } from '@simplewebauthn/server/helpers';
import { authenticatorDataWellFormed } from '../cbor.js';
import type { ResolvedOptions } from '../options.js';
import {
  allowedOrigins,
  CeremonyError,
  type ClientData,
  checkSameOriginCeremony,
  describe,
  refuse,
  rpIdHashOf,
} from './checks.js';
import { credentialKey, verifyFast } from './keys.js';

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
    // That parser is lax about declared CBOR lengths (an extensions map cut short still parses): the data must be
    // exactly its parts, as at registration.
    if (!authenticatorDataWellFormed(authData)) refuse('Leftover bytes detected while parsing authenticator data');
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

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;
const FLAG_ED = 0x80;
const TOKEN_BINDING_STATUSES: unknown[] = ['present', 'supported', 'notSupported'];

/** A field SimpleWebAuthn's `isoBase64URL.isBase64URL` accepts (padding ignored); otherwise refused with `invalid`. */
function base64Url(value: unknown, invalid: string): string {
  // Not a string: SimpleWebAuthn fails with a TypeError there, which describe() reports as a generic failure.
  if (typeof value !== 'string') refuse('Credential response field is not a string');
  if (!/^[-A-Za-z0-9_]*$/.test(value.replace(/=/g, ''))) refuse(invalid);
  return value;
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
