// The store: the contract an adapter implements, the typed errors it throws, and the built-in MemoryStore.

export {
  DuplicateCredentialError,
  DuplicateIdentifierError,
  StoreConflictError,
  type StoreErrorCode,
} from './errors.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export type {
  FlowRecord,
  Identity,
  JsonValue,
  Passkey,
  PasskeyUsage,
  RemovePasskeyResult,
  Store,
} from './types.js';
