// Ceremony options: the PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON a flow sends the browser.

import { randomBytes } from 'node:crypto';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { ResolvedOptions } from '../options.js';

/** COSE algorithms offered, in order: EdDSA, ES256, RS256 (https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier). */
export const ALGORITHMS = [-8, -7, -257];

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
