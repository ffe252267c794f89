// UI messages with Kratos's ids, texts and `context` (UIs such as Ory Elements render from `context`).

import type { JsonValue } from '../store/types.js';

/** A message shown in `ui.messages` or on a node, as Kratos emits it. */
export interface UiText {
  id: number;
  text: string;
  type: 'info' | 'error' | 'success';
  context?: { [key: string]: JsonValue };
}

const info = (id: number, text: string, context?: UiText['context']): UiText =>
  context ? { id, text, type: 'info', context } : { id, text, type: 'info' };
const error = (id: number, text: string, context?: UiText['context']): UiText =>
  context ? { id, text, type: 'error', context } : { id, text, type: 'error' };
const success = (id: number, text: string, context?: UiText['context']): UiText =>
  context ? { id, text, type: 'success', context } : { id, text, type: 'success' };

function expired(id: number, flow: string, expiredAt: Date): UiText {
  const minutes = ((Date.now() - expiredAt.getTime()) / 60_000).toFixed(2);
  return error(id, `The ${flow} flow expired ${minutes} minutes ago, please try again.`, {
    expired_at: expiredAt.toISOString(),
    expired_at_unix: Math.floor(expiredAt.getTime() / 1000),
  });
}

/** "1 minute", "60 minutes": whole minutes from now until `until`, at least 1. */
function minutesUntil(until: Date): string {
  const minutes = Math.max(1, Math.round((until.getTime() - Date.now()) / 60_000));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** Message and label catalogue. Ids below 4000000 are Kratos's; ids we added are listed in the README. */
export const messages = {
  // Labels
  signInWithPasskey: () => info(1010021, 'Sign in with passkey'),
  signUpWithPasskey: () => info(1040007, 'Sign up with passkey'),
  addPasskey: () => info(1050019, 'Add passkey'),
  removePasskey: (context: { display_name: string; added_at: string; added_at_unix: number } & UiText['context']) =>
    info(1050020, `Remove passkey "${context.display_name}"`, context),
  traitLabel: (title: string, name: string) => info(1070002, title, { title, name }),
  /** The login identifier: Kratos's "ID", or the display-name trait's title ("E-Mail") when the schema gives one. */
  identifierLabel: (title?: string) => info(1070004, title || 'ID'),
  save: () => info(1070003, 'Save'),
  emailLabel: () => info(1070007, 'Email'),
  resendCode: () => info(1070008, 'Resend code'),
  continue: () => info(1070009, 'Continue'),
  recoveryCodeLabel: () => info(1070010, 'Recovery code'),
  verificationCodeLabel: () => info(1070011, 'Verification code'),
  // Recovery and verification (Kratos's `code` method)
  // Kratos's text asks for a new password "within the next 60.00 minutes"; here, a new passkey, in whole minutes.
  recoverySuccessful: (privilegedUntil: Date) =>
    success(
      1060001,
      `You successfully recovered your account. Please add a new passkey within the next ${minutesUntil(privilegedUntil)}.`,
      {
        privilegedSessionExpiresAt: privilegedUntil.toISOString(),
        privileged_session_expires_at: privilegedUntil.toISOString(),
        privileged_session_expires_at_unix: Math.floor(privilegedUntil.getTime() / 1000),
      },
    ),
  recoveryCodeSent: () =>
    info(
      1060003,
      'An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
    ),
  verificationSuccessful: () => success(1080002, 'You successfully verified your email address.'),
  verificationCodeSent: () =>
    info(
      1080003,
      'An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.',
    ),
  recoveryCodeInvalid: () => error(4060006, 'The recovery code is invalid or has already been used. Please try again.'),
  verificationCodeInvalid: () =>
    error(4070006, 'The verification code is invalid or has already been used. Please try again.'),
  recoveryRetrySuccess: () => error(4060001, 'The request was already completed successfully and can not be retried.'),
  verificationRetrySuccess: () =>
    error(4070001, 'The request was already completed successfully and can not be retried.'),
  submittedTooOften: () =>
    error(4000001, 'The request was submitted too often. Please request another code.', {
      reason: 'The request was submitted too often. Please request another code.',
    }),
  noRecoveryStrategy: () =>
    error(4010005, 'Could not find a strategy to recover your account with. Did you fill out the form correctly?'),
  noVerificationStrategy: () =>
    error(4010006, 'Could not find a strategy to verify your account with. Did you fill out the form correctly?'),
  duplicateIdentifierSettings: () =>
    error(4000007, 'An account with the same identifier (email, phone, username, ...) exists already.'),
  // Info
  settingsSaved: () => ({ id: 1050001, text: 'Your changes have been saved!', type: 'success' }) as UiText,
  // Validation
  generic: (reason: string) => error(4000001, reason, { reason }),
  required: (property: string) => error(4000002, `Property ${property} is missing.`, { property }),
  minLength: (minLength: number, actualLength: number) =>
    error(4000003, `length must be >= ${minLength}, but got ${actualLength}`, {
      min_length: minLength,
      actual_length: actualLength,
    }),
  maxLength: (maxLength: number, actualLength: number) =>
    error(4000017, `length must be <= ${maxLength}, but got ${actualLength}`, {
      max_length: maxLength,
      actual_length: actualLength,
    }),
  wrongType: (allowedTypes: string[], actualType: string) =>
    error(4000026, `expected ${allowedTypes.join(' or ')}, but got ${actualType}`, {
      allowed_types: allowedTypes,
      actual_type: actualType,
    }),
  noPasskeyUser: () => error(4000015, 'This account does not exist or has no passkey set up.'),
  duplicateIdentifier: (identifier: string) =>
    error(
      4000028,
      `You tried signing in with ${identifier} which is already in use by another account. You can sign in using your passkey.`,
      { available_credential_types: ['passkey'], available_oidc_providers: [], credential_identifier_hint: identifier },
    ),
  noLoginStrategy: () =>
    error(4010002, 'Could not find a strategy to log you in with. Did you fill out the form correctly?'),
  noRegistrationStrategy: () =>
    error(4010003, 'Could not find a strategy to sign you up with. Did you fill out the form correctly?'),
  noSettingsStrategy: () =>
    error(4010004, 'Could not find a strategy to update your settings. Did you fill out the form correctly?'),
  passkeyLoginInvalid: () => error(4000043, 'The passkey you used is invalid or does not belong to a known account.'),
  identityDisabled: () => error(4010011, 'This account has been disabled. Please contact support for assistance.'),
  // Ids of our own, in the 4000000 range above Kratos's (listed in the README).
  tooManyRequests: (retryAfterMs: number) => {
    const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
    return error(4000505, `Too many requests. Please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, {
      retry_after_minutes: minutes,
    });
  },
  lastPasskey: () =>
    error(4000501, 'You cannot remove your last passkey: you would no longer be able to sign in. Add another first.'),
  passkeyNotFound: () => error(4000502, 'This passkey does not exist.'),
  duplicatePasskey: () => error(4000503, 'This passkey is already registered.'),
  invalidPasskeyName: (maxLength: number) =>
    error(4000504, `A passkey name must be 1 to ${maxLength} characters long.`, { max_length: maxLength }),
  // Flow expiry
  registrationExpired: (expiredAt: Date) => expired(4040001, 'registration', expiredAt),
  loginExpired: (expiredAt: Date) => expired(4010001, 'login', expiredAt),
  settingsExpired: (expiredAt: Date) => expired(4050001, 'settings', expiredAt),
  recoveryExpired: (expiredAt: Date) => expired(4060005, 'recovery', expiredAt),
  verificationExpired: (expiredAt: Date) => expired(4070005, 'verification', expiredAt),
} as const;
