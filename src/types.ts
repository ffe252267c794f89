// Public option, hook and session types of `passkeys()`.

import type {} from 'express-session';
import type { Courier } from './courier.js';
import type { Identity, JsonValue, Passkey, Store } from './store/types.js';

/** A duration: milliseconds, or a string such as `"90s"`, `"5m"`, `"1h"`, `"1h30m"`. */
export type Duration = number | string;

/** The relying party: who the passkeys are for. */
export interface RelyingPartyOptions {
  /**
   * RP ID: a registrable domain, without scheme or port (`example.com`; `localhost` allowed). Passkeys are bound to
   * it for good: changing it later orphans every passkey. Required.
   */
  id: string;
  /** Name shown by authenticators (`"Example"`). Required. */
  displayName: string;
  /**
   * Origins allowed to run ceremonies (`https://example.com`, `https://app.example.com:3000`,
   * `android:apk-key-hash:...`). Every web origin's host must equal `id` or be a subdomain of it. Required.
   */
  origins: string | string[];
  /**
   * Related origins (WebAuthn L3 Related Origin Requests): https origins on other registrable domains that may use
   * passkeys of `id` (`["https://example.de", "https://example-shop.com"]`). At most 5 distinct registrable-domain
   * labels. Serve them with `auth.wellKnown` at `https://<id>/.well-known/webauthn`. Defaults to none.
   */
  relatedOrigins?: string[];
}

/** A WebAuthn L3 hint: which kind of authenticator the browser should offer first. */
export type CredentialHint = 'security-key' | 'client-device' | 'hybrid';

/** WebAuthn authenticator selection criteria sent to browsers. */
export interface AuthenticatorSelectionOptions {
  /** Whether the passkey must be discoverable. Defaults to `'required'` (usernameless sign-in needs it). */
  residentKey?: 'required' | 'preferred' | 'discouraged';
  /**
   * User verification (PIN, biometrics). Defaults to `'preferred'`. With `'required'`, a response without the UV
   * flag is refused at verification.
   */
  userVerification?: 'required' | 'preferred' | 'discouraged';
  /** Restrict to platform or roaming authenticators. Defaults to unset (both). */
  authenticatorAttachment?: 'platform' | 'cross-platform';
  /**
   * WebAuthn Level 1's boolean, accepted for pasted configurations: it is derived from `residentKey` (`true` exactly
   * when it is `'required'`) and must agree with it, else a `TypeError`.
   */
  requireResidentKey?: boolean;
}

/** How long things live. */
export interface LifespanOptions {
  /** How long a self-service flow accepts submits. Defaults to `"1h"`. */
  flow?: Duration;
  /** How long a WebAuthn challenge is valid, enforced on the server. Defaults to `"5m"`. */
  ceremony?: Duration;
  /** How long a session lasts (also the session cookie's `maxAge`). Defaults to `"24h"`. */
  session?: Duration;
  /** How recent a sign-in must be to change passkeys in settings. Defaults to `"1h"`. */
  privilegedSession?: Duration;
  /** How long a recovery or verification code is valid. Defaults to `"1h"` (Kratos's). */
  code?: Duration;
}

/** Where browsers are sent. */
export interface UrlOptions {
  /**
   * Absolute URL of the mount path as the browser sees it (`https://example.com/auth`), for apps behind proxies.
   * Defaults to the request's protocol and host plus `req.baseUrl`.
   */
  publicBase?: string;
  /**
   * UI pages. Browser flow inits and form-post errors redirect there with `?flow=<id>`. Unset: JSON is answered
   * instead.
   */
  ui?: {
    login?: string;
    registration?: string;
    settings?: string;
    error?: string;
    recovery?: string;
    verification?: string;
  };
  /** Where to send browsers after success when no `return_to` is given. Defaults to `"/"`. */
  defaultReturnTo?: string;
  /** Origins or URL prefixes `return_to` may point to. Defaults to `rp.origins`. Relative paths are always allowed. */
  allowedReturnTo?: string[];
}

/** What a hook learns about the request that caused it. */
export interface HookContext {
  /** The identity concerned. */
  identity: Identity;
  /** The passkey concerned. */
  passkey: Passkey;
  /** `transient_payload` from the submit, if any (never stored). */
  transientPayload?: { [key: string]: JsonValue };
  /** The Express request. */
  request: import('express').Request;
}

/** Reported when a passkey's signature counter went backwards: a possible cloned authenticator. */
export interface CloneWarning extends HookContext {
  storedSignCount: number;
  receivedSignCount: number;
  /** What the library did about it (`signCountPolicy`). */
  action: 'reject' | 'warn';
}

/**
 * Hooks. The `on*` hooks run after a ceremony succeeded: awaited; an error thrown in one is logged and does not undo
 * anything. The `before*` hooks run before anything is written and may refuse or change the flow (see "Flow policy"
 * in the README).
 */
export interface HookOptions {
  /** Issue a session right after registration. Defaults to `true`. */
  session?: boolean;
  onRegistered?: (event: HookContext) => void | Promise<void>;
  onLogin?: (event: HookContext) => void | Promise<void>;
  onPasskeyAdded?: (event: HookContext) => void | Promise<void>;
  onPasskeyRemoved?: (event: Omit<HookContext, 'transientPayload'>) => void | Promise<void>;
  onCloneWarning?: (event: CloneWarning) => void | Promise<void>;
  /**
   * Runs after the traits validate and the new passkey's attestation verifies, before anything is written. Return
   * nothing to go on, `{ traits?, metadataPublic?, metadataAdmin? }` to change the identity before it is saved (the
   * traits are validated again), or throw a {@link FlowRejection} to refuse with messages on the form's nodes. Any
   * other throw answers 502 `hook_failed`; running past `timeout`, 504 `hook_timeout`. Nothing is written either way.
   */
  beforeRegistration?: (context: BeforeRegistrationContext) => BeforeHookReturn<BeforeRegistrationResult>;
  /**
   * Runs after the assertion verifies (refresh logins included), before the passkey's usage is recorded and the
   * session issued. Returns and throws as `beforeRegistration` (returned `traits` are ignored).
   */
  beforeLogin?: (context: BeforeLoginContext) => BeforeHookReturn<BeforeHookResult>;
  /**
   * Runs before any settings change is written: a passkey added (after its attestation verifies), removed or renamed,
   * or the profile saved. Returns and throws as `beforeRegistration` (returned `traits` are ignored).
   */
  beforeSettings?: (context: BeforeSettingsContext) => BeforeHookReturn<BeforeHookResult>;
  /**
   * How long a before-hook may run: past it, `context.signal` aborts, the flow answers 504 `hook_timeout` and a late
   * result is ignored. Milliseconds or a duration string (`"10s"`). Defaults to `"10s"`.
   */
  timeout?: Duration;
}

/** What a before-hook may return: nothing (go on) or values to save with the change; sync or async. */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing is typed `void` by TypeScript.
export type BeforeHookReturn<R> = void | R | Promise<void | R>;

/** Values a before-hook may return; they are saved with the change (compare-and-set on the identity). */
export interface BeforeHookResult {
  /** Replaces the identity's public metadata (Kratos's `metadata_public`, shown to the user in whoami). */
  metadataPublic?: JsonValue;
  /** Replaces the identity's admin metadata (Kratos's `metadata_admin`, never shown to the user). */
  metadataAdmin?: JsonValue;
}

/** What `beforeRegistration` may return. */
export interface BeforeRegistrationResult extends BeforeHookResult {
  /** Replace these top-level trait keys of the new identity; the result is validated as a submit would be. */
  traits?: Record<string, JsonValue>;
}

/** What every before-hook learns. */
export interface BeforeHookContext {
  /** The flow being submitted. */
  flow: { id: string; type: 'browser' | 'api' };
  /** The Express request. */
  request: import('express').Request;
  /** `transient_payload` from the submit, if any (never stored). */
  transientPayload?: { [key: string]: JsonValue };
  /** Aborts when `hooks.timeout` passes: hand it to `fetch` and the like. */
  signal: AbortSignal;
}

/** `hooks.beforeRegistration`'s context: the submitted traits and the verified, not yet saved, passkey. */
export interface BeforeRegistrationContext extends BeforeHookContext {
  traits: Record<string, JsonValue>;
  passkey: Passkey;
}

/** `hooks.beforeLogin`'s context: who signs in, with which passkey (as stored before this sign-in). */
export interface BeforeLoginContext extends BeforeHookContext {
  identity: Identity;
  passkey: Passkey;
}

/** `hooks.beforeSettings`'s context: the change about to be written. */
export interface BeforeSettingsContext extends BeforeHookContext {
  identity: Identity;
  /** `add`, `remove` and `rename` a passkey, or save the `profile` (traits). */
  change: 'add' | 'remove' | 'rename' | 'profile';
  /** `add`: the verified, not yet saved passkey; `remove`: the passkey to remove; `rename`: it, with its new name. */
  passkey?: Passkey;
  /** `profile`: the new traits, validated. */
  traits?: Record<string, JsonValue>;
}

/** Options of `passkeys()`. Kratos's snake_case keys (`display_name`, ...) are accepted too. */
export interface PasskeysOptions {
  /** The relying party. Required. */
  rp: RelyingPartyOptions;
  /** The storage adapter. Required. `MemoryStore` is the built-in one. */
  store: Store;
  /**
   * JSON Schema (draft-07 or 2020-12) for identity traits, in Kratos's format (traits under `properties.traits`,
   * the display-name trait marked with `"ory.sh/kratos": { credentials: { passkey: { display_name: true } } }`).
   * Defaults to an email (the display name) plus optional `name.first` / `name.last`.
   */
  identitySchema?: object;
  /** Defaults to `{ residentKey: 'required', userVerification: 'preferred' }`. */
  authenticatorSelection?: AuthenticatorSelectionOptions;
  /** Attestation conveyance. Defaults to `'none'`. */
  attestation?: 'none' | 'indirect' | 'direct' | 'enterprise';
  /** Lifespans of flows, challenges and sessions. */
  lifespans?: LifespanOptions;
  /** Public URLs, UI pages and redirect rules. */
  urls?: UrlOptions;
  /** Hooks: before a flow writes anything (they may refuse or change it), and after ceremonies. */
  hooks?: HookOptions;
  /**
   * What to do when a passkey's signature counter does not increase (a clone signal): `'reject'` the sign-in or
   * `'warn'` (let it through). Either way `hooks.onCloneWarning` is called. Defaults to `'reject'`.
   */
  signCountPolicy?: 'reject' | 'warn';
  /** Largest accepted request body, in bytes. Defaults to `65536`. */
  maxBodySize?: number;
  /**
   * The app's mailer, for account recovery and address verification by one-time code (Kratos's `code` method).
   * Unset: those flows are off (their routes answer 404). `consoleCourier()` prints codes, for development.
   */
  courier?: Courier;
  /**
   * Keys for the code HMAC (Kratos's `secrets.default`): strings of at least 32 characters; the first signs, every
   * one is tried when comparing, so rotate by prepending a new one. Required with `courier`, unless the store is
   * the built-in `MemoryStore` (then a random per-process key is used). Shared by every instance. Never logged.
   * The first one also keys identifier-first login's decoy credential ids (`login.style`).
   */
  secrets?: string[];
  /** Account recovery by code. */
  recovery?: RecoveryOptions;
  /** Address verification by code. */
  verification?: VerificationOptions;
  /** One-time codes. */
  code?: CodeOptions;
  /**
   * WebAuthn L3 `hints`, in order of preference, put in the creation and request options
   * (`['client-device', 'hybrid']`). Browsers without hints ignore them. Defaults to none.
   */
  hints?: CredentialHint[];
  /** Sign-in policy (SPEC §9). */
  login?: LoginOptions;
  /** Settings options. */
  settings?: SettingsOptions;
  /**
   * How long (ms) an instance may trust a session record it read, instead of reading it from the store at every
   * request. Defaults to `0`: every request that reads a session checks its record, so a revocation takes effect at
   * the next request on every instance. A positive value trades that for speed: a session revoked on another instance
   * (or by an admin) may still be accepted here for up to this long. At most 300000.
   */
  sessionCheckCacheMs?: number;
}

/** Settings options. */
export interface SettingsOptions {
  /**
   * Removing a passkey revokes the identity's other sessions on which any sign-in (a refresh included) used it, such
   * as a lost phone's. Defaults to `true`.
   */
  revokeSessionsOfRemovedPasskey?: boolean;
}

/** Account recovery options. */
export interface RecoveryOptions {
  /** Defaults to `true` when `courier` is set. */
  enabled?: boolean;
  /** Send `recovery_code_invalid` to addresses that have no account. Defaults to `false` (nothing is sent). */
  notifyUnknownRecipients?: boolean;
  /**
   * A successful recovery revokes every other session of the identity (Kratos's `revoke_active_sessions` hook): a
   * thief signed in on a stolen device is signed out. Defaults to `true`.
   */
  revokeOtherSessions?: boolean;
}

/** Address verification options. */
export interface VerificationOptions {
  /** Defaults to `true` when `courier` is set. */
  enabled?: boolean;
  /** Send a verification code after sign-up and answer `continue_with: show_verification_ui`. Defaults to `true`. */
  afterRegistration?: boolean;
  /** Send `verification_code_invalid` to addresses that have no account. Defaults to `false`. */
  notifyUnknownRecipients?: boolean;
}

/** `login`: how sign-in looks, and who may sign in. */
export interface LoginOptions {
  /**
   * `'unified'` (default): one step, usernameless: the browser offers the user's discoverable passkeys (autofill or
   * the "Sign in with passkey" button). `'identifier_first'`: the user types their identifier first, then signs in
   * with a passkey of that account (non-discoverable security keys too). Unknown identifiers get the same second step,
   * with decoy credential ids keyed by `secrets`. Applies to login flows, not to refresh logins.
   */
  style?: 'unified' | 'identifier_first';
  /**
   * Refuse sign-ins of identities with no verified address (Kratos's `require_verified_address`): no session; a
   * verification flow is created and a code sent to the identity's first verifiable address; JSON answers 403
   * `session_verified_address_required` with `show_verification_ui` in `error.details.continue_with`, browsers go to
   * `urls.ui.verification`. Needs `courier` and a verifiable trait in the schema. Defaults to `false`.
   */
  requireVerifiedAddress?: boolean;
  /** Every sign-in revokes the identity's other sessions (one session per identity). Defaults to `false`. */
  revokeOtherSessions?: boolean;
}

/** One-time code options. */

export interface CodeOptions {
  /** Submissions a recovery or verification flow accepts before it must be started again. Defaults to `5`. */
  maxSubmissions?: number;
  /**
   * Codes sent to one address per `sendWindow`, whoever asks; beyond it nothing is sent and the answer says "too many
   * requests, try again in N minutes" (the same for addresses without an account). Defaults to `20`.
   */
  maxSendsPerAddress?: number;
  /** Codes sent to one address at the request of one client (IP address) per `sendWindow`. Defaults to `10`. */
  maxSendsPerClient?: number;
  /** The window of the send limits. Defaults to `"1h"`. */
  sendWindow?: Duration;
  /**
   * Wrong codes one client (a browser, by its CSRF cookie; else an IP address) may try per `failureWindow`; beyond it
   * that client's codes are not compared until the window ends. Another client's codes are never refused for them.
   * Defaults to `20`.
   */
  maxFailuresPerClient?: number;
  /** The window of `maxFailuresPerClient`. Defaults to `"1h"`. */
  failureWindow?: Duration;
  /**
   * Wrong codes for one address (across flows and clients) per `hardeningWindow` after which every new code for it has
   * 12 digits instead of 6. Never refuses a code. Defaults to `5`.
   */
  maxFailuresPerAddress?: number;
  /** 6-digit codes issued for one address per `hardeningWindow`; later ones have 12 digits. Defaults to `5`. */
  maxShortCodesPerAddress?: number;
  /** The window of `maxFailuresPerAddress` and `maxShortCodesPerAddress`. Defaults to `"24h"`. */
  hardeningWindow?: Duration;
}

/** The library's part of an express-session session. */
export interface PasskeysSessionData {
  /** Session id as shown to clients (UUID). */
  id: string;
  identityId: string;
  /** Epoch milliseconds. */
  authenticatedAt: number;
  issuedAt: number;
  expiresAt: number;
  /** Secret for the logout URL. */
  logoutToken: string;
  /** How the session was authenticated: a passkey, or a recovery code. Absent means `passkey`. */
  method?: 'passkey' | 'code_recovery';
}

declare module 'express-session' {
  interface SessionData {
    /** Set by express-passkeys when a user signs in. */
    passkeys?: PasskeysSessionData;
  }
}

declare global {
  namespace Express {
    interface Locals {
      /** Set by `requireSession()`: the session, from the cookie or a native app's `X-Session-Token`. */
      passkeysSession?: PasskeysSessionData;
      /** Set by the app: the CSP nonce put on the `webauthn_script` node. */
      cspNonce?: string;
    }
  }
}
