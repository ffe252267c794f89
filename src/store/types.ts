// The storage contract: everything the library persists goes through one `Store` the app provides.

/** A JSON value as stored in flows and traits. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An identity (a user account). Traits are validated against the identity schema before they reach the store. */
export interface Identity {
  /** UUID v4, chosen by the library. */
  id: string;
  /** The identity schema's id (`default` for the shipped schema). */
  schemaId: string;
  /** The traits as validated against the schema. */
  traits: Record<string, JsonValue>;
  /**
   * The normalised identifier: the display-name trait, trimmed and lower-cased (NFKC). Unique among identities.
   */
  identifier: string;
  /** WebAuthn user handle (base64url of 32 random bytes): what discoverable assertions return. Unique. */
  userHandle: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A passkey (a WebAuthn credential) bound to one identity. */
export interface Passkey {
  /** Credential id, base64url without padding. Unique across all identities. */
  id: string;
  /** The identity this passkey belongs to. */
  identityId: string;
  /** COSE public key bytes, as the authenticator produced them. */
  publicKey: Uint8Array;
  /** The signature counter last seen (0 for authenticators that do not count). */
  signCount: number;
  /** Transports the browser reported at registration (`internal`, `hybrid`, `usb`, ...). */
  transports: string[];
  /** AAGUID of the authenticator model, as a UUID string (all zeros when unknown). */
  aaguid: string;
  /** Human-readable name, shown in settings; at most 64 characters. */
  name: string;
  /** Backup eligible (BE flag): the passkey can be synced. */
  backupEligible: boolean;
  /** Backed up (BS flag): the passkey is currently synced. Refreshed at every login. */
  backedUp: boolean;
  createdAt: Date;
  /** Last successful sign-in with this passkey, `null` if never used since registration. */
  lastUsedAt: Date | null;
}

/** What the library writes back after a successful sign-in with a passkey. */
export interface PasskeyUsage {
  /** Compare-and-set: the update applies only if the stored counter still equals this value. */
  expectedSignCount: number;
  signCount: number;
  backedUp: boolean;
  lastUsedAt: Date;
}

/** Outcome of {@link Store.removePasskey}. */
export type RemovePasskeyResult = 'removed' | 'not_found' | 'last_credential';

/** A self-service flow as persisted between requests. The library owns `data`; the store keeps it opaque. */
export interface FlowRecord {
  /** UUID v4. */
  id: string;
  /** When the flow stops accepting submits. */
  expiresAt: Date;
  /**
   * The pending WebAuthn challenge (base64url), if a ceremony is open. Consumed exactly once by
   * {@link Store.consumeChallenge}.
   */
  challenge: string | null;
  /** `true` when the flow was created without a session (a flood target: evictable under memory pressure). */
  anonymous: boolean;
  /** Opaque, JSON-serialisable state of the flow. */
  data: { [key: string]: JsonValue };
}

/**
 * The storage adapter. Implement it for your database; `MemoryStore` is the built-in one.
 *
 * Conventions: every method returns a promise; "not found" is `null` (or `false` / `'not_found'` where the
 * return type says so), never an exception. Anything else that goes wrong (a lost connection, a constraint the
 * library does not expect) must reject: the library answers 500 and never mistakes a failure for "not found".
 * Dates are `Date` objects in and out.
 */
export interface Store {
  /**
   * Required. Create an identity together with its first passkey, atomically: either both exist afterwards or
   * neither. Rejects with `DuplicateIdentifierError` if another identity has the same `identifier`, and with
   * `DuplicateCredentialError` if the passkey's credential id exists already (on any identity).
   */
  createIdentity(identity: Identity, passkey: Passkey): Promise<void>;
  /** Required. The identity with this id, or `null`. */
  getIdentity(id: string): Promise<Identity | null>;
  /** Required. The identity whose `userHandle` equals this value (exact, base64url), or `null`. */
  findIdentityByUserHandle(userHandle: string): Promise<Identity | null>;
  /** Required. The identity whose normalised `identifier` equals this value (already normalised), or `null`. */
  findIdentityByIdentifier(identifier: string): Promise<Identity | null>;

  /** Required. The passkey with this credential id (base64url), or `null`. */
  getPasskey(credentialId: string): Promise<Passkey | null>;
  /** Required. All passkeys of an identity, oldest first; `[]` when none or no such identity. */
  listPasskeys(identityId: string): Promise<Passkey[]>;
  /**
   * Required. Add a passkey to an existing identity. Rejects with `DuplicateCredentialError` if the credential id
   * exists already (on any identity).
   */
  addPasskey(passkey: Passkey): Promise<void>;
  /**
   * Required. Record a successful sign-in, as one compare-and-set: apply `usage` only if the stored `signCount`
   * still equals `usage.expectedSignCount`. Returns `true` if applied, `false` if the counter changed meanwhile
   * or the passkey is gone.
   */
  updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean>;
  /** Required. Rename a passkey of this identity. `false` when the identity has no such passkey. */
  renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean>;
  /**
   * Required. Remove a passkey of this identity, atomically refusing to remove its last one: two concurrent
   * removals of an identity's last two passkeys must leave one. Returns `'not_found'` when this identity has no
   * such passkey (including when it belongs to another identity), `'last_credential'` when it is the last one.
   */
  removePasskey(identityId: string, credentialId: string): Promise<RemovePasskeyResult>;

  /** Required. Insert or replace a flow. */
  saveFlow(flow: FlowRecord): Promise<void>;
  /**
   * Required. The flow with this id, or `null`. Expired flows must still be returned for at least one hour after
   * `expiresAt` (the library answers 410 for them) and should be deleted no later than 24 hours after it.
   */
  getFlow(id: string): Promise<FlowRecord | null>;
  /**
   * Required. Atomically take the flow's pending challenge: if the stored `challenge` equals `challenge`, set it
   * to `null` and return `true`; otherwise return `false`. Of two concurrent calls, exactly one returns `true`.
   */
  consumeChallenge(flowId: string, challenge: string): Promise<boolean>;
  /** Optional. Delete a flow (no-op when absent). */
  deleteFlow?(id: string): Promise<void>;
}
