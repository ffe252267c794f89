// Public entry point: re-exports only.

export {
  AdminError,
  type AdminErrorCode,
  IdentityNotFoundError,
  SessionNotFoundError,
  ValidationError,
} from './admin/errors.js';
export type { PasskeyImport } from './admin/import.js';
export type {
  AdminIdentity,
  CreateIdentityInput,
  Page,
  PasskeysAdmin,
  RecoveryCode,
  UpdateIdentityInput,
} from './admin/index.js';
export {
  type Courier,
  type CourierMessage,
  type CourierModel,
  type CourierTemplate,
  consoleCourier,
} from './courier.js';
export { type ErrorBody, type ErrorId, HttpError } from './errors.js';
export type { PasskeyInfo } from './flows/settings.js';
export { FlowRejection, type FlowRejectionMessage } from './hooks.js';
export { type PasskeysRouter, passkeys } from './router.js';
export { defaultIdentitySchema } from './schema.js';
export { type RequireSessionOptions, requireSession } from './session.js';
export type {
  AllAcceptedCredentialsSignal,
  CurrentUserDetailsSignal,
  PasskeySignals,
  UnknownCredentialSignal,
} from './signals.js';
export {
  DuplicateAddressError,
  DuplicateCredentialError,
  DuplicateIdentifierError,
  FlowVersionConflictError,
  StoreConflictError,
  type StoreErrorCode,
} from './store/errors.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory.js';
export type {
  AddressVia,
  CounterState,
  FlowRecord,
  Identity,
  IdentityState,
  JsonValue,
  ListIdentitiesOptions,
  ListSessionsOptions,
  Passkey,
  PasskeyUsage,
  RecoveryAddress,
  RemovePasskeyResult,
  SessionDevice,
  SessionMethod,
  SessionRecord,
  Store,
  VerifiableAddress,
} from './store/types.js';
export type {
  AuthenticatorSelectionOptions,
  BeforeHookContext,
  BeforeHookResult,
  BeforeHookReturn,
  BeforeLoginContext,
  BeforeRegistrationContext,
  BeforeRegistrationResult,
  BeforeSettingsContext,
  CloneWarning,
  CodeOptions,
  CredentialHint,
  Duration,
  HookContext,
  HookOptions,
  LifespanOptions,
  LoginOptions,
  PasskeysOptions,
  PasskeysSessionData,
  RecoveryOptions,
  RelyingPartyOptions,
  UrlOptions,
  VerificationOptions,
} from './types.js';
