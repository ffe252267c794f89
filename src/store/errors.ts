// Typed errors a store adapter throws for the conflicts the library handles (duplicates).

/** Stable codes of the errors a store adapter may throw. */
export type StoreErrorCode =
  | 'ERR_PASSKEYS_DUPLICATE_IDENTIFIER'
  | 'ERR_PASSKEYS_DUPLICATE_CREDENTIAL'
  | 'ERR_PASSKEYS_DUPLICATE_ADDRESS'
  | 'ERR_PASSKEYS_FLOW_VERSION_CONFLICT';

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

/**
 * Thrown by `Store.createIdentity` and `Store.updateIdentity` when another identity already has one of the recovery
 * or verifiable addresses (same kind, same normalised value).
 */
export class DuplicateAddressError extends StoreConflictError {
  readonly code = 'ERR_PASSKEYS_DUPLICATE_ADDRESS' as const;
  constructor(
    readonly kind: 'recovery' | 'verification',
    readonly value: string,
  ) {
    super('An identity with this address exists already.');
    this.name = 'DuplicateAddressError';
  }
}

/**
 * Thrown by `Store.saveFlow` when the stored flow's version is not the one the caller read (a racing write won), or
 * a new flow's id exists already. The library reloads the flow and applies its change again.
 *
 * @example
 * if (stored.version !== flow.version) throw new FlowVersionConflictError(flow.id);
 */
export class FlowVersionConflictError extends StoreConflictError {
  readonly code = 'ERR_PASSKEYS_FLOW_VERSION_CONFLICT' as const;
  constructor(readonly flowId: string) {
    super('The flow was changed by another request.');
    this.name = 'FlowVersionConflictError';
  }
}
