// The one file that talks to @simplewebauthn/server: ceremony options and verification, with errors mapped.

import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeCredentialPublicKey, isoCBOR } from '@simplewebauthn/server/helpers';
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

/** Verify a registration response against the flow's challenge (https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential). */
export async function verifyRegistration(
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
    transports: (response.response.transports ?? []).filter((t) => typeof t === 'string').slice(0, 8),
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

/** Verify an assertion (https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion). Sign counts are judged by the caller. */
export async function verifyAuthentication(
  config: ResolvedOptions,
  response: AuthenticationResponseJSON,
  challenge: string,
  credential: { id: string; publicKey: Uint8Array; transports: string[] },
): Promise<VerifiedAuthentication> {
  checkSameOriginCeremony(response.response.clientDataJSON);
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: allowedOrigins(config),
      expectedRPID: config.rp.id,
      // Counter 0: the library applies its own sign-count policy (reject or warn) after verification.
      credential: {
        id: credential.id,
        publicKey: new Uint8Array(credential.publicKey),
        counter: 0,
        transports: credential.transports as AuthenticatorTransport[],
      },
      requireUserVerification: config.authenticatorSelection.userVerification === 'required',
    });
  } catch (error) {
    throw new CeremonyError(describe(error));
  }
  if (!result.verified) throw new CeremonyError('The passkey signature could not be verified.');
  const info = result.authenticationInfo;
  return {
    signCount: info.newCounter,
    backedUp: info.credentialBackedUp,
    backupEligible: info.credentialDeviceType === 'multiDevice',
  };
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

/**
 * Ceremonies run in the app's own pages, never in a cross-origin iframe (clientData `crossOrigin`, WebAuthn §5.8.1):
 * the library offers no way to embed them, so a cross-origin one is someone else's page.
 */
function checkSameOriginCeremony(clientDataJSON: string): void {
  let clientData: { crossOrigin?: unknown };
  try {
    clientData = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
  } catch {
    throw new CeremonyError('The passkey response has malformed client data.');
  }
  if (clientData?.crossOrigin === true) throw new CeremonyError('The passkey ceremony ran in a cross-origin frame.');
}

/**
 * The attestation object must decode completely: one well-formed CBOR map, no trailing bytes, nothing truncated
 * (checked strictly, as the decoder is lax about declared lengths), and its authenticator data exactly its parts.
 */
function checkAttestationObject(encoded: string): void {
  try {
    const bytes = new Uint8Array(Buffer.from(encoded, 'base64url'));
    if (cborItemEnd(bytes) !== bytes.length) throw new Error('trailing bytes');
    const decoded = isoCBOR.decodeFirst<Map<string, never>>(bytes);
    const authData = decoded instanceof Map ? (decoded.get('authData') as unknown) : undefined;
    if (!(authData instanceof Uint8Array) || !authenticatorDataWellFormed(authData)) throw new Error('authData');
  } catch {
    throw new CeremonyError('The attestation object is malformed.');
  }
}

const CURVES: Record<number, { crv: string; size: number }> = {
  1: { crv: 'P-256', size: 32 },
  2: { crv: 'P-384', size: 48 },
  3: { crv: 'P-521', size: 66 },
};

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
