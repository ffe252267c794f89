// The storage contract: everything the library persists goes through one `Store` the app provides.

/** A JSON value as stored in flows and traits. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** How an address is reached. Only `email` for now (Kratos's `via`). */
export type AddressVia = 'email';

/**
 * An address a user can recover the identity with (a trait marked `"ory.sh/kratos": { recovery: { via: "email" } }`).
 * `value` is normalised (trimmed, NFKC, lower-cased) and unique among all identities' recovery addresses.
 */
export interface RecoveryAddress {
  /** UUID v4, chosen by the library. */
  id: string;
  value: string;
  via: AddressVia;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An address the identity can prove it owns (a trait marked `"ory.sh/kratos": { verification: { via: "email" } }`).
 * `value` is normalised and unique among all identities' verifiable addresses.
 */
export interface VerifiableAddress {
  /** UUID v4, chosen by the library. */
  id: string;
  value: string;
  via: AddressVia;
  verified: boolean;
  /** `pending` until a code was sent, `sent` after, `completed` once verified (Kratos's states). */
  status: 'pending' | 'sent' | 'completed';
  verifiedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Whether an identity may sign in (Kratos's identity states). */
export type IdentityState = 'active' | 'inactive';

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
  /** Recovery addresses derived from the traits (`[]` when the schema marks none). */
  recoveryAddresses: RecoveryAddress[];
  /** Verifiable addresses derived from the traits (`[]` when the schema marks none). */
  verifiableAddresses: VerifiableAddress[];
  /**
   * `active` (signs in) or `inactive` (disabled by an admin: no sign-in, no recovery, its sessions answer inactive).
   * The library always writes it; an adapter must store and return it (the conformance kit checks it). Absent (a row
   * written before this field existed) reads as `active`.
   */
  state?: IdentityState;
  /** When `state` last changed (`null` or absent: never changed since creation). */
  stateChangedAt?: Date | null;
  /** Metadata the identity may see (Kratos's `metadata_public`, shown in whoami). Absent reads as `null`. */
  metadataPublic?: JsonValue | null;
  /** Metadata only admins see (Kratos's `metadata_admin`), never shown to the user. Absent reads as `null`. */
  metadataAdmin?: JsonValue | null;
  createdAt: Date;
  /**
   * Last change. The library makes it strictly increase with each {@link Store.updateIdentity}, which uses it for
   * compare-and-set: keep millisecond precision.
   */
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
  /**
   * `true` for a passkey imported without its backup flags (`auth.admin.createIdentity`): its next sign-in records
   * `backupEligible` and `backedUp` as the authenticator reports them instead of comparing (see
   * {@link PasskeyUsage.backupEligible}). Absent or `false` otherwise. Store it (the conformance kit checks it).
   */
  backupFlagsUnknown?: boolean;
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
  /**
   * Set only for a passkey whose `backupFlagsUnknown` is `true`: write it as its `backupEligible` and clear
   * `backupFlagsUnknown`, in the same compare-and-set.
   */
  backupEligible?: boolean;
}

/** Outcome of {@link Store.removePasskey}. */
export type RemovePasskeyResult = 'removed' | 'not_found' | 'last_credential';

/** A self-service flow as persisted between requests. The library owns `data`; the store keeps it opaque. */
export interface FlowRecord {
  /** UUID v4. */
  id: string;
  /**
   * Optimistic version: `0` for a flow never saved; the store keeps the version of each write (see
   * {@link Store.saveFlow}) and returns it from {@link Store.getFlow}.
   */
  version: number;
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
  /**
   * The identity this flow belongs to or acts on (settings, refresh logins, recovery and verification flows holding a
   * code for it), or `null`/absent. {@link Store.deleteIdentity} deletes the identity's flows by it, so index it if
   * flows are many.
   */
  identityId?: string | null;
}

/** A keyset page request of {@link Store.listIdentities}. */
export interface ListIdentitiesOptions {
  /**
   * At most this many identities, and exactly this many while at least that many remain: the library reads a shorter
   * page as the last one (so apply `LIMIT` to identities, not to rows joined with their addresses).
   */
  limit: number;
  /** Continue after the identity with this id (exclusive), in the list's order (ascending `id`). */
  after?: string;
  /** Only the identity whose normalised `identifier` equals this (already normalised; compared exactly). */
  identifier?: string;
}

/** One sign-in on a session (Kratos's `devices` entry): where it came from. */
export interface SessionDevice {
  /** UUID v4, chosen by the library. */
  id: string;
  /** `req.ip` at the sign-in (so Express's `trust proxy` rules apply). */
  ipAddress: string;
  /** The `User-Agent` header at the sign-in (`""` when absent). */
  userAgent: string;
  /** `Cf-Ipcity` and `Cf-Ipcountry` joined with ", " when present, else `""`. */
  location: string;
}

/** How a session (or a later refresh of it) was authenticated. */
export interface SessionMethod {
  method: 'passkey' | 'code_recovery';
  aal: 'aal1';
  completedAt: Date;
  /** The passkey's credential id (base64url) for `passkey` sign-ins. Server-side only, never in the session JSON. */
  credentialId?: string;
}

/**
 * A session the library issued (to a browser's cookie session or a native app's token). The cookie and the token only
 * point at it by `id`; every request that reads a session checks this record.
 */
export interface SessionRecord {
  /** UUID v4, chosen by the library; the session id clients see. */
  id: string;
  identityId: string;
  /** `false` once revoked (by logout, the owner, an admin or the library). A revoked record never becomes active. */
  active: boolean;
  issuedAt: Date;
  authenticatedAt: Date;
  expiresAt: Date;
  aal: 'aal1';
  /** Every sign-in on this session (the first, then refreshes), oldest first. */
  methods: SessionMethod[];
  /** One entry per sign-in on this session, oldest first. */
  devices: SessionDevice[];
}

/** A keyset page request of {@link Store.listSessions}. */
export interface ListSessionsOptions {
  /** `true`: only sessions that are active and unexpired (at `Date.now()`); `false` or absent: all. */
  active?: boolean;
  /**
   * At most this many records, and exactly this many while at least that many remain: the library reads a shorter page
   * as the last one (so filter `active` in the query, before its `LIMIT`).
   */
  limit: number;
  /** Continue after this record (exclusive), in the list's order (newest `issuedAt` first, then `id` descending). */
  after?: { issuedAt: Date; id: string };
}

/** The state of a counter after {@link Store.incrementCounter}, or as read by {@link Store.getCounter}. */
export interface CounterState {
  /** Events counted in the current window (1 for the first). */
  count: number;
  /** When the current window ends: the counter then starts again from 0. */
  resetAt: Date;
}

/**
 * The storage adapter. Implement it for your database; `MemoryStore` is the built-in one.
 *
 * Conventions: every method returns a promise; "not found" is `null` (or `false` / `'not_found'` where the
 * return type says so), never an exception. Anything else that goes wrong (a lost connection, a constraint the
 * library does not expect) must reject: the library answers 500 and never mistakes a failure for "not found".
 * Dates are `Date` objects in and out (inside lists too: addresses, session methods), `publicKey` a `Uint8Array` (a
 * `Buffer` is one), counts and versions `number`s (not the strings a `bigint` column reads as). Records are values:
 * store a copy of what you are given and return a fresh copy each time; the library may change objects it passed in
 * or got back, and that must never change the store.
 */
export interface Store {
  /**
   * Required. Create an identity together with its first passkey, atomically: either both exist afterwards or
   * neither. Rejects with `DuplicateIdentifierError` if another identity has the same `identifier`, with
   * `DuplicateAddressError` if another identity has one of its recovery or verifiable addresses, and with
   * `DuplicateCredentialError` if the passkey's credential id exists already (on any identity). Without `passkey`
   * (an identity an admin creates, which signs in first through a recovery code), the identity alone.
   */
  createIdentity(identity: Identity, passkey?: Passkey): Promise<void>;
  /** Required. The identity with this id, or `null`. */
  getIdentity(id: string): Promise<Identity | null>;
  /** Required. The identity whose `userHandle` equals this value (exact, base64url), or `null`. */
  findIdentityByUserHandle(userHandle: string): Promise<Identity | null>;
  /** Required. The identity whose normalised `identifier` equals this value (already normalised), or `null`. */
  findIdentityByIdentifier(identifier: string): Promise<Identity | null>;
  /**
   * Required. The identity with a recovery address (`kind` `'recovery'`) or a verifiable address (`'verification'`)
   * whose `value` equals this value (already normalised; compared exactly), or `null`. An address of the other kind
   * never matches.
   */
  findIdentityByAddress(kind: 'recovery' | 'verification', value: string): Promise<Identity | null>;
  /**
   * Required. Replace an identity's `traits`, `identifier`, `recoveryAddresses`, `verifiableAddresses`, `state`,
   * `stateChangedAt`, `metadataPublic`, `metadataAdmin` and `updatedAt` with those of `identity`, as one compare-and-set: only if the stored `updatedAt` still equals
   * `expectedUpdatedAt` (to the millisecond). Returns `true` if applied, `false` if it changed meanwhile or the
   * identity is gone (nothing changed). Rejects with `DuplicateIdentifierError` / `DuplicateAddressError` when another
   * identity has the new identifier / one of the new addresses, and then changes nothing. Never changes `id`,
   * `userHandle`, `schemaId` or `createdAt`; the old identifier and addresses no longer find the identity.
   */
  updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean>;
  /**
   * Required. Delete an identity with its passkeys, its addresses and the flows recorded with its `identityId`,
   * atomically (its session records go through {@link Store.deleteSessions}; an adapter may delete them here too).
   * Afterwards no lookup finds it and its identifier, user handle, addresses and credential ids are free. Returns
   * `false` when there is no such identity.
   */
  deleteIdentity(id: string): Promise<boolean>;
  /**
   * Required. Identities in ascending `id` order, one keyset page at a time: at most `limit` (a shorter page only at
   * the end), after `after` when given, only the one with `identifier` when given. `[]` past the end.
   */
  listIdentities(options: ListIdentitiesOptions): Promise<Identity[]>;

  /** Required. The passkey with this credential id (base64url), or `null`. */
  getPasskey(credentialId: string): Promise<Passkey | null>;
  /** Required. All passkeys of an identity, oldest first; `[]` when none or no such identity. */
  listPasskeys(identityId: string): Promise<Passkey[]>;
  /**
   * Optional. The credential ids of an identity's passkeys, in any order; `[]` when none or no such identity. The
   * Signal API sends an identity its full list at every JSON sign-in: without this method the library calls
   * `listPasskeys` (whole records) instead, which costs more for identities with many passkeys.
   */
  listPasskeyIds?(identityId: string): Promise<string[]>;
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

  /**
   * Required. Save a flow with an optimistic version check, atomically: `flow.version` is the version the caller
   * read (`0` for a new flow). Insert it when `version` is 0 and no flow has this id; replace it when the stored
   * version equals `flow.version`. Either way the stored version becomes `flow.version + 1`. Otherwise (a racing
   * write got there first, or a new flow's id exists) change nothing and reject with `FlowVersionConflictError`.
   * Of two concurrent saves of one version, exactly one succeeds.
   */
  saveFlow(flow: FlowRecord): Promise<void>;
  /**
   * Required. The flow with this id, or `null`. Expired flows must still be returned for at least one hour after
   * `expiresAt` (the library answers 410 for them) and should be deleted no later than 24 hours after it.
   */
  getFlow(id: string): Promise<FlowRecord | null>;
  /**
   * Required. Atomically take the flow's pending challenge (a WebAuthn challenge, or a one-time code's keyed hash):
   * if the stored `challenge` equals `challenge`, set it to `null`, increment the stored `version` by one and return
   * `true`; otherwise change nothing and return `false`. Of two concurrent calls, exactly one returns `true`.
   */
  consumeChallenge(flowId: string, challenge: string): Promise<boolean>;
  /** Optional. Delete a flow (no-op when absent). The library does not call it (expired flows are swept instead). */
  deleteFlow?(id: string): Promise<void>;

  /**
   * Required. Store a new session record (its `id` is new: the library chooses a UUID v4). An adapter may drop records
   * that expired long ago (the library treats a missing record as an ended session), and may bound how many records
   * one identity keeps by dropping its ended or oldest ones.
   */
  createSession(session: SessionRecord): Promise<void>;
  /** Required. The session record with this id (revoked and expired ones included, until swept), or `null`. */
  getSession(id: string): Promise<SessionRecord | null>;
  /**
   * Required. Replace a session record's mutable fields (`active`, `authenticatedAt`, `expiresAt`, `methods`,
   * `devices`); `false` when there is no such record. A revoked record stays revoked (`active` never goes back to
   * `true`).
   */
  updateSession(session: SessionRecord): Promise<boolean>;
  /**
   * Required. An identity's sessions, newest `issuedAt` first (ties: `id` descending), one keyset page at a time: at
   * most `limit` (a shorter page only at the end), strictly after `after` when given, only active and unexpired ones
   * when `active` is `true`. `[]` past the end or for an unknown identity.
   */
  listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]>;
  /**
   * Required. Revoke one session of this identity (`active: false`). `false` when this identity has no such active
   * session (another identity's session id is never touched, nor an unknown or already revoked one).
   */
  revokeSession(identityId: string, sessionId: string): Promise<boolean>;
  /**
   * Required. Revoke, atomically, every session of the identity that is active and unexpired, except `exceptId`
   * when given; returns how many were revoked.
   */
  revokeSessions(identityId: string, exceptId?: string): Promise<number>;
  /** Required. Delete every session record of the identity (with the identity itself); returns how many. */
  deleteSessions(identityId: string): Promise<number>;
  /** Required. Set an active session's `expiresAt`; `false` when it is missing or revoked. */
  extendSession(id: string, expiresAt: Date): Promise<boolean>;

  // Limits (recovery and verification by code). Required when a `courier` is set, so that every limit holds across
  // all instances of the app; the library checks for them at config time.

  /**
   * Required with `courier`. Count one event under `key`, atomically, in a fixed window: if there is no counter for
   * `key`, or its window has ended (`resetAt <= Date.now()`), start a new one with `count` 1 and `resetAt` = now +
   * `windowMs`; otherwise add 1 to `count` and keep `resetAt`. Returns the state after this event. Of N concurrent
   * calls on one key within a window, each returns a different `count`, 1 to N (no lost update). Keys are opaque
   * strings of at most 200 characters, compared exactly. Counters past `resetAt` may be deleted at any time.
   */
  incrementCounter?(key: string, windowMs: number): Promise<CounterState>;
  /** Required with `courier`. The counter under `key` while its window lasts (`resetAt > Date.now()`), else `null`. */
  getCounter?(key: string): Promise<CounterState | null>;
}
