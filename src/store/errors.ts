// Typed errors a store adapter throws for the conflicts the library handles (duplicates).

/** Stable codes of the errors a store adapter may throw. */
export type StoreErrorCode = 'ERR_PASSKEYS_DUPLICATE_IDENTIFIER' | 'ERR_PASSKEYS_DUPLICATE_CREDENTIAL';

/** Base class of the conflicts a store reports. `instanceof StoreConflictError` and `switch (err.code)` both work. */
export abstract class StoreConflictError extends Error {
  abstract readonly code: StoreErrorCode;
}

/**
 * Thrown by `Store.createIdentity` when another identity already has the same normalised identifier.
 *
 * @example
 * if (existing) throw new DuplicateIdentifierError(identity.identifier);
 */
export class DuplicateIdentifierError extends StoreConflictError {
  readonly code = 'ERR_PASSKEYS_DUPLICATE_IDENTIFIER' as const;
  constructor(readonly identifier: string) {
    super('An identity with this identifier exists already.');
    this.name = 'DuplicateIdentifierError';
  }
}

/** Thrown by `Store.createIdentity` and `Store.addPasskey` when the credential id exists already (on any identity). */
export class DuplicateCredentialError extends StoreConflictError {
  readonly code = 'ERR_PASSKEYS_DUPLICATE_CREDENTIAL' as const;
  constructor(readonly credentialId: string) {
    super('A passkey with this credential id exists already.');
    this.name = 'DuplicateCredentialError';
  }
}
