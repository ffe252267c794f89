// Typed errors of `auth.admin`: what a caller can act on, each with a stable code.

import type { UiText } from '../ui/messages.js';

/** Stable codes of the errors `auth.admin` throws (besides the store's duplicate errors). */
export type AdminErrorCode =
  | 'ERR_PASSKEYS_IDENTITY_NOT_FOUND'
  | 'ERR_PASSKEYS_SESSION_NOT_FOUND'
  | 'ERR_PASSKEYS_VALIDATION';

/** Base class of the errors `auth.admin` throws for what the caller asked (not for store failures). */
export abstract class AdminError extends Error {
  abstract readonly code: AdminErrorCode;
}

/**
 * No identity has this id (every `auth.admin` method but `getIdentity`, which returns `null`).
 *
 * @example
 * try { await auth.admin.deleteIdentity(id); } catch (e) { if (e instanceof IdentityNotFoundError) res.sendStatus(404); }
 */
export class IdentityNotFoundError extends AdminError {
  readonly code = 'ERR_PASSKEYS_IDENTITY_NOT_FOUND' as const;
  constructor(readonly identityId: string) {
    super('No identity has this id.');
    this.name = 'IdentityNotFoundError';
  }
}

/** No session has this id (or, for `extendSession`, it is revoked or expired). */
export class SessionNotFoundError extends AdminError {
  readonly code = 'ERR_PASSKEYS_SESSION_NOT_FOUND' as const;
  constructor(readonly sessionId: string) {
    super('No active session has this id.');
    this.name = 'SessionNotFoundError';
  }
}

/**
 * The input is not acceptable: traits that fail the identity schema, an invalid state, a malformed page token, an
 * imported passkey whose key would not verify, ... `messages` carries Kratos's message ids (4000002 missing property,
 * 4000001 with a reason, ...), each with the `instancePtr`-like `path` of what it concerns (`traits.email`, `state`,
 * `passkeys[0].publicKey`, or `""` for the whole input).
 */
export class ValidationError extends AdminError {
  readonly code = 'ERR_PASSKEYS_VALIDATION' as const;
  constructor(readonly messages: (UiText & { path: string })[]) {
    super(messages.map((m) => (m.path ? `${m.path}: ${m.text}` : m.text)).join(' ') || 'The input is not valid.');
    this.name = 'ValidationError';
  }

  /** One message with Kratos's generic id 4000001 and this reason. */
  static reason(path: string, reason: string): ValidationError {
    return new ValidationError([{ id: 4000001, text: reason, type: 'error', context: { reason }, path }]);
  }
}
