// The WebAuthn Signal API payloads (SPEC §7): what the browser should tell its authenticators, built from the store.

import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Request } from 'express';
import type { ResolvedOptions } from './options.js';
import { resolveSession } from './session.js';
import type { Identity, Passkey } from './store/types.js';
import { inputNode, type UiNode } from './ui/nodes.js';
import { parseCredential } from './webauthn/index.js';

/** `PublicKeyCredential.signalUnknownCredential()` arguments: the credential id is the one the browser sent. */
export interface UnknownCredentialSignal {
  rpId: string;
  /** base64url. */
  credentialId: string;
}

/** `PublicKeyCredential.signalAllAcceptedCredentials()` arguments: every passkey the identity has, never a subset. */
export interface AllAcceptedCredentialsSignal {
  rpId: string;
  /** The WebAuthn user handle, base64url. */
  userId: string;
  /** base64url credential ids. */
  allAcceptedCredentialIds: string[];
}

/** `PublicKeyCredential.signalCurrentUserDetails()` arguments: the display-name trait, as passkeys are created with. */
export interface CurrentUserDetailsSignal {
  rpId: string;
  /** The WebAuthn user handle, base64url. */
  userId: string;
  name: string;
  displayName: string;
}

/**
 * What to signal to the browser's authenticators (WebAuthn L3 Signal API): the value of the `passkey_signal` node
 * (as a JSON string), the `passkey_signal` field of a login success, and what `auth.signals(req)` returns. Every
 * part is optional; `{}` means nothing to signal.
 *
 * Privacy (WebAuthn L3 §14.6.3): `allAcceptedCredentials` and `currentUserDetails` only ever go to a caller holding a
 * session for that identity; `unknownCredential` only after a discoverable sign-in whose credential id is not
 * registered, and it carries nothing but that id.
 */
export interface PasskeySignals {
  unknownCredential?: UnknownCredentialSignal;
  allAcceptedCredentials?: AllAcceptedCredentialsSignal;
  currentUserDetails?: CurrentUserDetailsSignal;
}

/**
 * The signals about an identity for a caller holding its session: all its passkeys (omitted when it has none: an
 * empty list would hide every passkey of this user) and its current display name (omitted when it has none).
 */
export function identitySignals(
  config: ResolvedOptions,
  identity: Identity,
  passkeys: Passkey[] | string[],
): PasskeySignals {
  const rpId = config.rp.id;
  const userId = identity.userHandle;
  const name = config.schema.displayName(identity.traits) ?? '';
  const ids = [
    ...new Set(passkeys.map((p) => (typeof p === 'string' ? p : p.identityId === identity.id ? p.id : undefined))),
  ].filter((id): id is string => id !== undefined);
  return {
    ...(ids.length > 0 ? { allAcceptedCredentials: { rpId, userId, allAcceptedCredentialIds: ids } } : {}),
    ...(name ? { currentUserDetails: { rpId, userId, name, displayName: name } } : {}),
  };
}

/** The signal for a discoverable sign-in with a credential id the store does not know: that id, and nothing else. */
export function unknownCredentialSignals(config: ResolvedOptions, credentialId: string): PasskeySignals {
  return { unknownCredential: { rpId: config.rp.id, credentialId } };
}

/**
 * The id of the new passkey a refused registration or "Add passkey" submit carried (`passkey_register`,
 * `passkey_settings_register`), to be signalled back as unknown so that the browser's passkey manager drops the
 * orphan. None when the submit holds no well-formed credential, or when a stored passkey has that id (it is known).
 */
export async function refusedCredentialId(config: ResolvedOptions, submitted: unknown): Promise<string | undefined> {
  if (submitted === undefined || submitted === null || submitted === '') return undefined;
  let id: string;
  try {
    id = parseCredential<RegistrationResponseJSON>(submitted, 'registration').id;
  } catch {
    return undefined;
  }
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,1400}$/.test(id)) return undefined;
  return (await config.store.getPasskey(id)) ? undefined : id;
}

/** The hidden `passkey_signal` node (group `passkey`) carrying `signals` as JSON; none when there is nothing to say. */
export function signalNode(signals: PasskeySignals): UiNode | undefined {
  if (Object.keys(signals).length === 0) return undefined;
  return inputNode('passkey', 'passkey_signal', 'hidden', { value: JSON.stringify(signals) });
}

/** `auth.signals(req)`: the session identity's signals (cookie or `X-Session-Token`); `{}` without a session. */
export async function signalsOf(config: ResolvedOptions, req: Request): Promise<PasskeySignals> {
  const session = await resolveSession(config, req);
  if (!session) return {};
  const identity = await config.store.getIdentity(session.identityId);
  if (!identity) return {};
  return identitySignals(config, identity, await credentialIdsOf(config, identity.id));
}

/** The credential ids of an identity's passkeys: `store.listPasskeyIds` when the store has it, else `listPasskeys`. */
export async function credentialIdsOf(config: ResolvedOptions, identityId: string): Promise<string[]> {
  if (config.store.listPasskeyIds) return config.store.listPasskeyIds(identityId);
  return (await config.store.listPasskeys(identityId)).filter((p) => p.identityId === identityId).map((p) => p.id);
}
