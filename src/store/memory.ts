// The built-in embedded store: plain Maps in this process, with copies in and out and lazy sweeping of old flows.

import {
  DuplicateAddressError,
  DuplicateCredentialError,
  DuplicateIdentifierError,
  FlowVersionConflictError,
} from './errors.js';
import { MemorySessions } from './memory-sessions.js';
import type {
  CounterState,
  FlowRecord,
  Identity,
  JsonValue,
  ListIdentitiesOptions,
  ListSessionsOptions,
  Passkey,
  PasskeyUsage,
  RecoveryAddress,
  RemovePasskeyResult,
  SessionRecord,
  Store,
  VerifiableAddress,
} from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most flows kept at once. When a save would go beyond it, the oldest anonymous flows whose challenge is still
   * pending are evicted first (a flood of anonymous flow inits cannot grow memory without bound, and a save never
   * fails); only when none is left (a flood of flows made with a session) the oldest flows of any kind. The flow just
   * saved is never evicted. Default 100,000.
   */
  maxFlows?: number;
  /**
   * Most session records kept for one identity. Beyond it, the identity's ended sessions (revoked or expired) are
   * dropped first, oldest first, then its oldest active ones (which ends them). Default 1,000.
   */
  maxSessionsPerIdentity?: number;
}

/** How long an expired flow is still returned by `getFlow` (the library answers 410 for it): 2 h. */
const RETAIN_EXPIRED_MS = 2 * 60 * 60 * 1000;
/** A sweep pass over the flows starts at most this often on flow operations. */
const SWEEP_INTERVAL_MS = 60 * 1000;
/** Flows examined per flow operation while a sweep pass is under way. */
const SWEEP_STEP = 256;
/**
 * While flows are held, a timer (unref'd: it never keeps the process alive) starts a pass this often, so that flows
 * past retention leave memory within about this time plus one pass, with no request arriving.
 */
const SWEEP_TIMER_MS = 2000;
/** Event-loop time one chunk of a timer pass may take; the pass goes on in the next chunk (setImmediate). */
const SWEEP_CHUNK_MS = 2;
/** Flows examined between two looks at the clock within a chunk. */
const SWEEP_BATCH = 512;
const DEFAULT_MAX_FLOWS = 100_000;
const DEFAULT_MAX_SESSIONS_PER_IDENTITY = 1000;

/**
 * A flow as kept in memory: a fixed-shape object with the expiry as a number and `data` as its JSON text (a ~200 byte
 * `data` costs ~200 bytes instead of a tree of objects, and the text is a copy by construction).
 */
class StoredFlow {
  constructor(
    /** The optimistic version of this write. */
    public version: number,
    /** `expiresAt` in ms since the epoch. */
    readonly expiresAt: number,
    public challenge: string | null,
    readonly anonymous: boolean,
    /** `JSON.stringify(data)`. */
    readonly data: string,
    /** `FlowRecord.identityId`, or null. */
    readonly identityId: string | null = null,
  ) {}
}

let warnedProduction = false;

/**
 * The same string, in a flat, tightly sized copy where V8 gives one. `crypto.randomUUID()` returns a rope of ~20
 * pieces (~490 bytes for 36 characters) and `JSON.stringify` leaves slack after its result; `trim()` flattens and
 * copies. A string that trimming would change is kept as it is (the content must not change).
 */
function compact(value: string): string {
  const trimmed = value.trim();
  return trimmed.length === value.length ? trimmed : value;
}

/** A deep copy of a JSON value: faster than `structuredClone` for the plain data traits are. */
function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Record<string, unknown>)[key]);
    // An own `__proto__` key (JSON.parse makes them) must stay data, not become the copy's prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy as T;
}

const copyDate = (date: Date) => new Date(date.getTime());

function copyRecoveryAddress(address: RecoveryAddress): RecoveryAddress {
  return { ...address, createdAt: copyDate(address.createdAt), updatedAt: copyDate(address.updatedAt) };
}

function copyVerifiableAddress(address: VerifiableAddress): VerifiableAddress {
  return {
    ...address,
    verifiedAt: address.verifiedAt === null ? null : copyDate(address.verifiedAt),
    createdAt: copyDate(address.createdAt),
    updatedAt: copyDate(address.updatedAt),
  };
}

function copyIdentity(identity: Identity, pack = false): Identity {
  const str = pack ? compact : (value: string) => value;
  return {
    id: str(identity.id),
    schemaId: identity.schemaId,
    traits: copyJson(identity.traits),
    identifier: str(identity.identifier),
    userHandle: str(identity.userHandle),
    recoveryAddresses: (identity.recoveryAddresses ?? []).map(copyRecoveryAddress),
    verifiableAddresses: (identity.verifiableAddresses ?? []).map(copyVerifiableAddress),
    state: identity.state === 'inactive' ? 'inactive' : 'active',
    stateChangedAt: identity.stateChangedAt ? copyDate(identity.stateChangedAt) : null,
    metadataPublic: identity.metadataPublic === undefined ? null : copyJson(identity.metadataPublic),
    metadataAdmin: identity.metadataAdmin === undefined ? null : copyJson(identity.metadataAdmin),
    createdAt: copyDate(identity.createdAt),
    updatedAt: copyDate(identity.updatedAt),
  };
}

/** The address index keys of an identity: `kind:value`. */
function addressKeys(identity: Identity): string[] {
  return [
    ...(identity.recoveryAddresses ?? []).map((a) => `recovery:${a.value}`),
    ...(identity.verifiableAddresses ?? []).map((a) => `verification:${a.value}`),
  ];
}

function copyPasskey(passkey: Passkey, pack = false): Passkey {
  const str = pack ? compact : (value: string) => value;
  return {
    id: str(passkey.id),
    identityId: str(passkey.identityId),
    // A fresh, exactly-sized buffer (a Node Buffer may be a view into a shared 8 KiB pool).
    publicKey: new Uint8Array(passkey.publicKey),
    signCount: passkey.signCount,
    transports: [...passkey.transports],
    aaguid: str(passkey.aaguid),
    name: passkey.name,
    backupEligible: passkey.backupEligible,
    backedUp: passkey.backedUp,
    ...(passkey.backupFlagsUnknown ? { backupFlagsUnknown: true } : {}),
    createdAt: new Date(passkey.createdAt.getTime()),
    lastUsedAt: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt.getTime()),
  };
}

/**
 * The built-in, embedded {@link Store}: everything lives in this process's memory.
 *
 * Good for development, tests and single-instance apps that accept losing every account at restart. It loses all data
 * when the process stops and is not shared between instances behind a load balancer: under `NODE_ENV=production` it
 * warns once per process. Write an adapter for your database for anything else (see the PostgreSQL example and the
 * conformance suite in `express-passkeys/testing`).
 *
 * - Every object is copied on the way in and out: mutating what you passed or what you got back never changes the
 *   store.
 * - Every method does its check and its write in one synchronous step, so the atomicity the contract asks for holds.
 * - Flows: an expired flow is still returned for 2 h after its `expiresAt`, then dropped: within a few seconds, by an
 *   unref'd timer sweeping in chunks of a few milliseconds while flows are held, and in small steps during flow
 *   operations. At most `maxFlows` flows are kept; beyond, the oldest anonymous flows
 *   with a pending challenge are evicted (the oldest of any kind when there are none). A pending flow costs a few hundred bytes plus its `data` as JSON text.
 *
 * @example
 * app.use('/auth', passkeys({ rp, store: new MemoryStore({ maxFlows: 10_000 }) }));
 */
export class MemoryStore implements Store {
  readonly #maxFlows: number;
  readonly #identities = new Map<string, Identity>();
  /** userHandle → identity id. */
  readonly #byUserHandle = new Map<string, string>();
  /** identifier → identity id. */
  readonly #byIdentifier = new Map<string, string>();
  /** `recovery:<value>` / `verification:<value>` → identity id. */
  readonly #byAddress = new Map<string, string>();
  readonly #passkeys = new Map<string, Passkey>();
  /** identity id → its credential ids, in insertion order. */
  readonly #passkeysByIdentity = new Map<string, Set<string>>();
  readonly #flows = new Map<string, StoredFlow>();
  /** identity id → ids of the flows saved with that `identityId`. */
  readonly #flowsByIdentity = new Map<string, Set<string>>();
  /** Identity ids in ascending order for `listIdentities`; rebuilt on the first listing after a create or delete. */
  #sortedIds: string[] | null = null;
  /** Ids of the anonymous flows with a pending challenge, oldest first: the eviction candidates. */
  readonly #evictable = new Set<string>();
  /** Limit counters: key → count and end of window (ms). Swept as they expire (see {@link MemoryStore.incrementCounter}). */
  readonly #counters = new Map<string, { count: number; resetAt: number }>();
  #counterCursor: Iterator<[string, { count: number; resetAt: number }]> | null = null;
  #sweepCursor: Iterator<[string, StoredFlow]> | null = null;
  #lastSweepStart = 0;
  #sweepTimer: ReturnType<typeof setInterval> | null = null;
  #sweepNextChunk: ReturnType<typeof setImmediate> | null = null;
  readonly #sessions: MemorySessions;

  constructor(options: MemoryStoreOptions = {}) {
    const maxSessions = options.maxSessionsPerIdentity ?? DEFAULT_MAX_SESSIONS_PER_IDENTITY;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new TypeError('MemoryStore: maxSessionsPerIdentity must be a positive integer.');
    }
    this.#sessions = new MemorySessions(maxSessions);
    const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (!Number.isInteger(maxFlows) || maxFlows < 1) {
      throw new TypeError('MemoryStore: maxFlows must be a positive integer.');
    }
    this.#maxFlows = maxFlows;
    if (process.env.NODE_ENV === 'production' && !warnedProduction) {
      warnedProduction = true;
      console.warn(
        'express-passkeys: MemoryStore keeps identities, passkeys and flows in this process only: they are lost at ' +
          'restart and not shared between instances. Use a store adapter for your database in production.',
      );
    }
  }

  /** Number of flows held now (expired ones not yet swept included). */
  get flowCount(): number {
    return this.#flows.size;
  }

  async createIdentity(identity: Identity, passkey?: Passkey): Promise<void> {
    if (passkey && passkey.identityId !== identity.id) {
      throw new Error('MemoryStore.createIdentity: passkey.identityId differs from identity.id.');
    }
    if (this.#byIdentifier.has(identity.identifier)) throw new DuplicateIdentifierError(identity.identifier);
    this.#checkAddresses(identity);
    if (passkey && this.#passkeys.has(passkey.id)) throw new DuplicateCredentialError(passkey.id);
    if (this.#identities.has(identity.id)) throw new Error('MemoryStore.createIdentity: identity id exists already.');
    if (this.#byUserHandle.has(identity.userHandle)) {
      throw new Error('MemoryStore.createIdentity: user handle exists already.');
    }
    // Copy both before writing anything: a copy that throws (say, a trait that is not cloneable) leaves no trace.
    const storedIdentity = copyIdentity(identity, true);
    const storedPasskey = passkey ? copyPasskey(passkey, true) : null;
    this.#identities.set(storedIdentity.id, storedIdentity);
    this.#byUserHandle.set(storedIdentity.userHandle, storedIdentity.id);
    this.#byIdentifier.set(storedIdentity.identifier, storedIdentity.id);
    for (const key of addressKeys(storedIdentity)) this.#byAddress.set(key, storedIdentity.id);
    if (storedPasskey) this.#passkeys.set(storedPasskey.id, storedPasskey);
    this.#passkeysByIdentity.set(storedIdentity.id, new Set(storedPasskey ? [storedPasskey.id] : []));
    this.#sortedIds = null;
  }

  async deleteIdentity(id: string): Promise<boolean> {
    const stored = this.#identities.get(id);
    if (!stored) return false;
    this.#identities.delete(id);
    this.#byUserHandle.delete(stored.userHandle);
    this.#byIdentifier.delete(stored.identifier);
    for (const key of addressKeys(stored)) this.#byAddress.delete(key);
    for (const credentialId of this.#passkeysByIdentity.get(id) ?? []) this.#passkeys.delete(credentialId);
    this.#passkeysByIdentity.delete(id);
    for (const flowId of [...(this.#flowsByIdentity.get(id) ?? [])]) this.#dropFlow(flowId);
    this.#flowsByIdentity.delete(id);
    this.#sortedIds = null;
    return true;
  }

  async listIdentities(options: ListIdentitiesOptions): Promise<Identity[]> {
    const limit = Math.max(0, Math.floor(options.limit));
    if (options.identifier !== undefined) {
      const id = this.#byIdentifier.get(options.identifier);
      const identity = id === undefined ? undefined : this.#identities.get(id);
      const after = options.after;
      return identity && limit > 0 && (after === undefined || identity.id > after) ? [copyIdentity(identity)] : [];
    }
    this.#sortedIds ??= [...this.#identities.keys()].sort();
    const ids = this.#sortedIds;
    // Binary search for the first id after `after`.
    let low = 0;
    if (options.after !== undefined) {
      const after = options.after;
      let high = ids.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((ids[mid] as string) <= after) low = mid + 1;
        else high = mid;
      }
    }
    const page: Identity[] = [];
    for (let i = low; i < ids.length && page.length < limit; i++) {
      const identity = this.#identities.get(ids[i] as string);
      if (identity) page.push(copyIdentity(identity));
    }
    return page;
  }

  async getIdentity(id: string): Promise<Identity | null> {
    const identity = this.#identities.get(id);
    return identity ? copyIdentity(identity) : null;
  }

  async findIdentityByUserHandle(userHandle: string): Promise<Identity | null> {
    const id = this.#byUserHandle.get(userHandle);
    return id === undefined ? null : this.getIdentity(id);
  }

  async findIdentityByIdentifier(identifier: string): Promise<Identity | null> {
    const id = this.#byIdentifier.get(identifier);
    return id === undefined ? null : this.getIdentity(id);
  }

  async findIdentityByAddress(kind: 'recovery' | 'verification', value: string): Promise<Identity | null> {
    const id = this.#byAddress.get(`${kind}:${value}`);
    return id === undefined ? null : this.getIdentity(id);
  }

  async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    const stored = this.#identities.get(identity.id);
    if (!stored || stored.updatedAt.getTime() !== expectedUpdatedAt.getTime()) return false;
    const owner = this.#byIdentifier.get(identity.identifier);
    if (owner !== undefined && owner !== identity.id) throw new DuplicateIdentifierError(identity.identifier);
    this.#checkAddresses(identity);
    const fresh = copyIdentity(identity, true);
    this.#byIdentifier.delete(stored.identifier);
    for (const key of addressKeys(stored)) this.#byAddress.delete(key);
    const updated: Identity = {
      ...fresh,
      id: stored.id,
      userHandle: stored.userHandle,
      schemaId: stored.schemaId,
      createdAt: stored.createdAt,
    };
    this.#identities.set(stored.id, updated);
    this.#byIdentifier.set(updated.identifier, stored.id);
    for (const key of addressKeys(updated)) this.#byAddress.set(key, stored.id);
    return true;
  }

  /** Refuse addresses another identity holds. */
  #checkAddresses(identity: Identity): void {
    for (const address of identity.recoveryAddresses ?? []) {
      const owner = this.#byAddress.get(`recovery:${address.value}`);
      if (owner !== undefined && owner !== identity.id) throw new DuplicateAddressError('recovery', address.value);
    }
    for (const address of identity.verifiableAddresses ?? []) {
      const owner = this.#byAddress.get(`verification:${address.value}`);
      if (owner !== undefined && owner !== identity.id) throw new DuplicateAddressError('verification', address.value);
    }
  }

  async getPasskey(credentialId: string): Promise<Passkey | null> {
    const passkey = this.#passkeys.get(credentialId);
    return passkey ? copyPasskey(passkey) : null;
  }

  async listPasskeys(identityId: string): Promise<Passkey[]> {
    const ids = this.#passkeysByIdentity.get(identityId);
    if (!ids) return [];
    const list: Passkey[] = [];
    for (const id of ids) {
      const passkey = this.#passkeys.get(id);
      if (passkey) list.push(copyPasskey(passkey));
    }
    // Stable: equal creation times keep insertion order.
    return list.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async listPasskeyIds(identityId: string): Promise<string[]> {
    return [...(this.#passkeysByIdentity.get(identityId) ?? [])];
  }

  async addPasskey(passkey: Passkey): Promise<void> {
    if (this.#passkeys.has(passkey.id)) throw new DuplicateCredentialError(passkey.id);
    const ids = this.#passkeysByIdentity.get(passkey.identityId);
    if (!this.#identities.has(passkey.identityId) || !ids) {
      throw new Error('MemoryStore.addPasskey: no identity with this id.');
    }
    const stored = copyPasskey(passkey, true);
    this.#passkeys.set(stored.id, stored);
    ids.add(stored.id);
  }

  async updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean> {
    const passkey = this.#passkeys.get(credentialId);
    if (!passkey || passkey.signCount !== usage.expectedSignCount) return false;
    passkey.signCount = usage.signCount;
    passkey.backedUp = usage.backedUp;
    if (usage.backupEligible !== undefined && passkey.backupFlagsUnknown) {
      passkey.backupEligible = usage.backupEligible;
      delete passkey.backupFlagsUnknown;
    }
    passkey.lastUsedAt = new Date(usage.lastUsedAt.getTime());
    return true;
  }

  async renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean> {
    const passkey = this.#passkeys.get(credentialId);
    if (!passkey || passkey.identityId !== identityId) return false;
    passkey.name = name;
    return true;
  }

  async removePasskey(identityId: string, credentialId: string): Promise<RemovePasskeyResult> {
    const passkey = this.#passkeys.get(credentialId);
    const ids = this.#passkeysByIdentity.get(identityId);
    if (!passkey || passkey.identityId !== identityId || !ids) return 'not_found';
    if (ids.size <= 1) return 'last_credential';
    ids.delete(credentialId);
    this.#passkeys.delete(credentialId);
    return 'removed';
  }

  async saveFlow(flow: FlowRecord): Promise<void> {
    const expiresAt = flow.expiresAt.getTime();
    if (Number.isNaN(expiresAt)) throw new TypeError('MemoryStore.saveFlow: expiresAt is an invalid date.');
    const data = JSON.stringify(flow.data);
    if (typeof data !== 'string') throw new TypeError('MemoryStore.saveFlow: data is not JSON-serialisable.');
    const now = Date.now();
    this.#sweepStep(now);
    const version = flow.version ?? 0;
    const existing = this.#flows.get(flow.id);
    if ((existing?.version ?? 0) !== version) throw new FlowVersionConflictError(flow.id);
    const id = compact(flow.id);
    const challenge = flow.challenge === null ? null : compact(flow.challenge);
    const identityId = typeof flow.identityId === 'string' ? compact(flow.identityId) : null;
    const stored = new StoredFlow(
      version + 1,
      expiresAt,
      challenge,
      flow.anonymous === true,
      compact(data),
      identityId,
    );
    if (existing && existing.identityId !== identityId) this.#unindexFlow(id, existing);
    this.#flows.set(id, stored);
    if (identityId !== null) {
      let ids = this.#flowsByIdentity.get(identityId);
      if (!ids) {
        ids = new Set();
        this.#flowsByIdentity.set(identityId, ids);
      }
      ids.add(id);
    }
    // Re-queue: a flow becomes the newest eviction candidate each time it is saved with a pending challenge.
    this.#evictable.delete(id);
    if (stored.anonymous && stored.challenge !== null) this.#evictable.add(id);
    this.#enforceCap(id);
  }

  async getFlow(id: string): Promise<FlowRecord | null> {
    const now = Date.now();
    this.#sweepStep(now);
    const stored = this.#flows.get(id);
    if (!stored) return null;
    if (this.#isDead(stored, now)) {
      this.#dropFlow(id);
      return null;
    }
    return {
      id,
      version: stored.version,
      expiresAt: new Date(stored.expiresAt),
      challenge: stored.challenge,
      anonymous: stored.anonymous,
      data: JSON.parse(stored.data) as { [key: string]: JsonValue },
      identityId: stored.identityId,
    };
  }

  async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const now = Date.now();
    this.#sweepStep(now);
    const stored = this.#flows.get(flowId);
    if (!stored || stored.challenge === null || stored.challenge !== challenge) return false;
    if (this.#isDead(stored, now)) {
      this.#dropFlow(flowId);
      return false;
    }
    stored.challenge = null;
    stored.version++;
    this.#evictable.delete(flowId);
    return true;
  }

  async deleteFlow(id: string): Promise<void> {
    this.#dropFlow(id);
  }

  /** Number of session records held now (ended ones not yet swept included). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  async createSession(session: SessionRecord): Promise<void> {
    this.#sessions.create(session);
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    return this.#sessions.get(id);
  }

  async updateSession(session: SessionRecord): Promise<boolean> {
    return this.#sessions.update(session);
  }

  async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    return this.#sessions.list(identityId, options);
  }

  async revokeSession(identityId: string, sessionId: string): Promise<boolean> {
    return this.#sessions.revoke(identityId, sessionId);
  }

  async revokeSessions(identityId: string, exceptId?: string): Promise<number> {
    return this.#sessions.revokeAll(identityId, exceptId);
  }

  async deleteSessions(identityId: string): Promise<number> {
    return this.#sessions.deleteAll(identityId);
  }

  async extendSession(id: string, expiresAt: Date): Promise<boolean> {
    return this.#sessions.extend(id, expiresAt);
  }

  async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    if (!(windowMs > 0)) throw new TypeError('MemoryStore.incrementCounter: windowMs must be a positive number.');
    const now = Date.now();
    if (this.#sweepTimer === null) this.#armSweepTimer();
    this.#sweepCounters(now, SWEEP_STEP);
    let counter = this.#counters.get(key);
    if (!counter || counter.resetAt <= now) {
      counter = { count: 0, resetAt: now + windowMs };
      this.#counters.set(compact(key), counter);
    }
    counter.count++;
    return { count: counter.count, resetAt: new Date(counter.resetAt) };
  }

  async getCounter(key: string): Promise<CounterState | null> {
    const counter = this.#counters.get(key);
    if (!counter || counter.resetAt <= Date.now()) return null;
    return { count: counter.count, resetAt: new Date(counter.resetAt) };
  }

  /** Drop up to `step` counters whose window has ended, going on from where the last call stopped. */
  #sweepCounters(now: number, step: number): void {
    if (this.#counters.size === 0) return;
    this.#counterCursor ??= this.#counters.entries();
    for (let i = 0; i < step; i++) {
      const next = this.#counterCursor.next();
      if (next.done) {
        this.#counterCursor = null;
        return;
      }
      const [key, counter] = next.value;
      if (counter.resetAt <= now) this.#counters.delete(key);
    }
  }

  /**
   * Drop every flow that expired more than 2 h ago, and every session record that expired more than 1 h ago, now, in
   * one pass. Not needed in normal use (a timer and flow
   * operations sweep in small steps); useful before measuring memory.
   * Returns how many flows were dropped.
   */
  sweep(): number {
    const now = Date.now();
    let dropped = 0;
    for (const [id, stored] of this.#flows) {
      if (this.#isDead(stored, now)) {
        this.#dropFlow(id);
        dropped++;
      }
    }
    this.#sweepCursor = null;
    this.#lastSweepStart = now;
    this.#sessions.sweep();
    for (const [key, counter] of this.#counters) if (counter.resetAt <= now) this.#counters.delete(key);
    return dropped;
  }

  #isDead(stored: StoredFlow, now: number): boolean {
    return now > stored.expiresAt + RETAIN_EXPIRED_MS;
  }

  #dropFlow(id: string): void {
    const stored = this.#flows.get(id);
    if (stored) this.#unindexFlow(id, stored);
    this.#flows.delete(id);
    this.#evictable.delete(id);
  }

  #unindexFlow(id: string, stored: StoredFlow): void {
    if (stored.identityId === null) return;
    const ids = this.#flowsByIdentity.get(stored.identityId);
    ids?.delete(id);
    if (ids?.size === 0) this.#flowsByIdentity.delete(stored.identityId);
  }

  /**
   * One bounded step of the lazy sweep: a pass over all flows starts at most once a minute and advances by
   * {@link SWEEP_STEP} flows per flow operation (a Map iterator stays valid while entries are deleted). Arms the sweep
   * timer too, which goes on without requests.
   */
  #sweepStep(now: number): void {
    if (this.#sweepTimer === null) this.#armSweepTimer();
    if (this.#sweepCursor === null) {
      if (now - this.#lastSweepStart < SWEEP_INTERVAL_MS || this.#flows.size === 0) return;
      this.#lastSweepStart = now;
      this.#sweepCursor = this.#flows.entries();
    }
    for (let i = 0; i < SWEEP_STEP; i++) {
      const next = this.#sweepCursor.next();
      if (next.done) {
        this.#sweepCursor = null;
        return;
      }
      const [id, stored] = next.value;
      if (this.#isDead(stored, now)) this.#dropFlow(id);
    }
  }

  /**
   * Start the sweep timer: every {@link SWEEP_TIMER_MS} it starts a pass over the flows, run in chunks of at most
   * {@link SWEEP_CHUNK_MS} each; it stops when no flow is left (the next flow operation starts it again). It is
   * unref'd and holds the store weakly: it neither keeps the process alive nor an unused store in memory.
   */
  #armSweepTimer(): void {
    const store = new WeakRef(this);
    const timer = setInterval(() => {
      const self = store.deref();
      if (self) self.#sweepTick();
      else clearInterval(timer);
    }, SWEEP_TIMER_MS);
    timer.unref();
    this.#sweepTimer = timer;
  }

  #sweepTick(): void {
    if (this.#sweepNextChunk !== null) return; // the pass under way goes on by itself
    this.#sweepCounters(Date.now(), SWEEP_BATCH);
    if (this.#flows.size === 0 && this.#counters.size === 0) {
      if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
      this.#sweepTimer = null;
      this.#sweepCursor = null;
      return;
    }
    if (this.#sweepCursor === null) {
      this.#lastSweepStart = Date.now();
      this.#sweepCursor = this.#flows.entries();
    }
    this.#sweepChunk();
  }

  /** Advance the pass under way for up to {@link SWEEP_CHUNK_MS}; schedule the next chunk when it is not done. */
  #sweepChunk(): void {
    this.#sweepNextChunk = null;
    const cursor = this.#sweepCursor;
    if (cursor === null) return;
    const now = Date.now();
    const until = performance.now() + SWEEP_CHUNK_MS;
    do {
      for (let i = 0; i < SWEEP_BATCH; i++) {
        const next = cursor.next();
        if (next.done) {
          if (this.#sweepCursor === cursor) this.#sweepCursor = null;
          return;
        }
        const [id, stored] = next.value;
        if (this.#isDead(stored, now)) this.#dropFlow(id);
      }
    } while (performance.now() < until);
    this.#sweepNextChunk = setImmediate(() => {
      if (this.#sweepCursor === cursor) this.#sweepChunk();
      else this.#sweepNextChunk = null;
    }).unref();
  }

  /** Evict the oldest evictable flows (never `keep`, the one just saved) while over the cap. */
  #enforceCap(keep: string): void {
    while (this.#flows.size > this.#maxFlows) {
      // Abandoned anonymous flows go first; when there are none left (a flood of flows made with a session), the
      // oldest flows of any kind, so that the cap bounds memory whoever fills it.
      let victim = this.#evictable.values().next().value;
      if (victim === undefined || victim === keep) {
        victim = undefined;
        for (const id of this.#flows.keys()) {
          if (id !== keep) {
            victim = id;
            break;
          }
        }
      }
      if (victim === undefined) return;
      this.#dropFlow(victim);
    }
  }
}
