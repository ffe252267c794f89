// New passkeys: built from a verified registration, named after their authenticator model or the browser that made them.

import { AAGUID_NAMES } from './data/aaguids.js';
import type { Passkey } from './store/types.js';
import { describeUserAgent } from './user-agent.js';
import type { VerifiedRegistration } from './webauthn/index.js';

/** The longest passkey name, in characters (a rename refuses longer ones; default names are cut to fit). */
export const MAX_PASSKEY_NAME = 64;

/**
 * Can `name` be a passkey's name: 1 to {@link MAX_PASSKEY_NAME} characters, no control characters, and none of the
 * bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) that would make a "Remove passkey" label read as
 * something else.
 */
export function isShowableName(name: string): boolean {
  const length = [...name].length;
  return length >= 1 && length <= MAX_PASSKEY_NAME && !UNSHOWABLE.test(name);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * A readable default name for a passkey created now by the authenticator model `aaguid`, from the browser with
 * `userAgent`: the model's name from the AAGUID table ("iCloud Keychain"), else the browser and system
 * ("Chrome on Android", "Safari on iPhone"), else "Passkey YYYY-MM-DD" (UTC).
 */
export function passkeyName(aaguid: string, createdAt: Date, userAgent?: string): string {
  const model = AAGUID_NAMES[aaguid.toLowerCase()];
  if (model) return model;
  const { label } = describeUserAgent(userAgent);
  if (label) return label;
  return `Passkey ${createdAt.toISOString().slice(0, 10)}`;
}

/**
 * `name`, or `name 2`, `name 3`, ... : the first that none of `taken` already uses (compared without regard to case
 * or surrounding space), so two passkeys of one identity never read the same. Never longer than `MAX_PASSKEY_NAME`.
 */
export function uniqueName(name: string, taken: Iterable<string>): string {
  const key = (value: string) => value.normalize('NFC').trim().toLowerCase();
  const used = new Set([...taken].map(key));
  const fit = (base: string, suffix: string) =>
    `${[...base]
      .slice(0, MAX_PASSKEY_NAME - suffix.length)
      .join('')
      .trimEnd()}${suffix}`;
  let candidate = fit(name, '');
  for (let n = 2; used.has(key(candidate)); n++) candidate = fit(name, ` ${n}`);
  return candidate;
}

/** Where a new passkey comes from, for its default name. */
export interface NewPasskeyContext {
  /** The `User-Agent` of the request that created it. */
  userAgent?: string;
  /** The names of the identity's other passkeys (a default name taken already gets a number). */
  takenNames?: Iterable<string>;
}

/** The passkey to store for a verified registration. */
export function newPasskey(
  identityId: string,
  verified: VerifiedRegistration,
  context: NewPasskeyContext = {},
): Passkey {
  const now = new Date();
  return {
    id: verified.credentialId,
    identityId,
    publicKey: verified.publicKey,
    signCount: verified.signCount,
    transports: verified.transports,
    aaguid: verified.aaguid,
    name: uniqueName(passkeyName(verified.aaguid, now, context.userAgent), context.takenNames ?? []),
    backupEligible: verified.backupEligible,
    backedUp: verified.backedUp,
    createdAt: now,
    lastUsedAt: null,
  };
}
