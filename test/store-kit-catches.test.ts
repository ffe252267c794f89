// The conformance kit catches broken adapters: each deliberately broken store below must fail the case(s) aimed at
// its flaw, while a correct store written independently of MemoryStore passes every case.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  DuplicateAddressError,
  DuplicateCredentialError,
  DuplicateIdentifierError,
  FlowVersionConflictError,
} from '../src/store/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import type {
  CounterState,
  FlowRecord,
  Identity,
  ListIdentitiesOptions,
  ListSessionsOptions,
  Passkey,
  PasskeyUsage,
  RecoveryAddress,
  RemovePasskeyResult,
  SessionRecord,
  Store,
  VerifiableAddress,
} from '../src/store/types.js';
import { type CaseName, cases, checkFailuresReject, runStoreConformance } from '../src/testing/index.js';

const context = { scale: { identities: 2_000, passkeysPerIdentity: 100 } };

/** Asserts that the named cases reject against a store from `make` (a fresh store per case). */
async function assertCaught(make: () => Store, names: CaseName[]): Promise<void> {
  for (const name of names) {
    await assert.rejects(
      cases[name](make(), context),
      (error) => error instanceof assert.AssertionError,
      `the kit must catch it in "${name}", with a failed assertion`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Broken variants of MemoryStore, through its public API: a check, an `await`, then a write.

/** Reads the counter, yields, then writes whatever the counter is by then: a lost update. */
class NonAtomicCasStore extends MemoryStore {
  override async updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean> {
    const passkey = await this.getPasskey(credentialId);
    if (!passkey || passkey.signCount !== usage.expectedSignCount) return false;
    await tick();
    const current = await this.getPasskey(credentialId);
    if (!current) return false;
    return super.updatePasskeyUsage(credentialId, { ...usage, expectedSignCount: current.signCount });
  }
}

/**
 * Reads the flow, yields, then saves it without its challenge (re-reading it on a version conflict, so the versioned
 * save does not save it): two submits both win.
 */
class NonAtomicConsumeStore extends MemoryStore {
  override async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const flow = await this.getFlow(flowId);
    if (!flow || flow.challenge !== challenge) return false;
    await tick();
    for (;;) {
      const fresh = await this.getFlow(flowId);
      if (!fresh) return false;
      try {
        await this.saveFlow({ ...fresh, challenge: null });
        return true;
      } catch (error) {
        if (!(error instanceof FlowVersionConflictError)) throw error;
      }
    }
  }
}

/**
 * A consume that leaves the version as it was (what `UPDATE flows SET challenge = NULL` alone does): a request that
 * read the flow before the consume writes the challenge back. The hidden offset makes MemoryStore's own bump invisible.
 */
class ConsumeKeepsVersionStore extends MemoryStore {
  readonly #hidden = new Map<string, number>();
  override async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const consumed = await super.consumeChallenge(flowId, challenge);
    if (consumed) this.#hidden.set(flowId, (this.#hidden.get(flowId) ?? 0) + 1);
    return consumed;
  }
  override async getFlow(id: string): Promise<FlowRecord | null> {
    const flow = await super.getFlow(id);
    return flow && { ...flow, version: flow.version - (this.#hidden.get(id) ?? 0) };
  }
  override async saveFlow(flow: FlowRecord): Promise<void> {
    const hidden = this.#hidden.get(flow.id) ?? 0;
    await super.saveFlow({ ...flow, version: flow.version === 0 ? 0 : flow.version + hidden });
  }
}

/** Returns the flow version as a string (a `bigint` column read with pg's default parsers). */
class StringVersionStore extends MemoryStore {
  override async getFlow(id: string): Promise<FlowRecord | null> {
    const flow = await super.getFlow(id);
    return flow && ({ ...flow, version: String(flow.version) } as unknown as FlowRecord);
  }
}

/** Compares nothing: updates whatever the stored updatedAt is (an `UPDATE ... WHERE id = $1` without the CAS). */
class UpdateIgnoresExpectedStore extends MemoryStore {
  override async updateIdentity(identity: Identity, _expectedUpdatedAt: Date): Promise<boolean> {
    const current = await this.getIdentity(identity.id);
    return current ? super.updateIdentity(identity, current.updatedAt) : false;
  }
}

/** Checks updatedAt, yields, then writes over whatever is stored by then: a lost update. */
class NonAtomicUpdateIdentityStore extends MemoryStore {
  override async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    const before = await this.getIdentity(identity.id);
    if (!before || before.updatedAt.getTime() !== expectedUpdatedAt.getTime()) return false;
    await tick();
    const current = await this.getIdentity(identity.id);
    return current ? super.updateIdentity(identity, current.updatedAt) : false;
  }
}

/** Reads the counter, yields, then writes count + 1: concurrent increments lose updates (and repeat counts). */
class NonAtomicCounterStore extends MemoryStore {
  readonly #counts = new Map<string, CounterState>();
  override async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    const current = this.#counts.get(key);
    const now = Date.now();
    await tick();
    const next =
      !current || current.resetAt.getTime() <= now
        ? { count: 1, resetAt: new Date(now + windowMs) }
        : { count: current.count + 1, resetAt: current.resetAt };
    this.#counts.set(key, next);
    return { ...next };
  }
  override async getCounter(key: string): Promise<CounterState | null> {
    const current = this.#counts.get(key);
    return current && current.resetAt.getTime() > Date.now() ? { ...current } : null;
  }
}

/** Never starts a new window: a counter only grows (a limit, once reached, holds for good). */
class CounterNeverResetsStore extends MemoryStore {
  override async incrementCounter(key: string, _windowMs: number): Promise<CounterState> {
    return super.incrementCounter(key, 1000 * 24 * 3600 * 1000);
  }
}

/** A sliding "window" that moves at every increment (resetAt = now + window each time): a busy key never resets. */
class CounterSlidesStore extends MemoryStore {
  readonly #counts = new Map<string, CounterState>();
  override async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    const now = Date.now();
    const current = this.#counts.get(key);
    const count = current && current.resetAt.getTime() > now ? current.count + 1 : 1;
    const next = { count, resetAt: new Date(now + windowMs) };
    this.#counts.set(key, next);
    return { ...next };
  }
  override async getCounter(key: string): Promise<CounterState | null> {
    const current = this.#counts.get(key);
    return current && current.resetAt.getTime() > Date.now() ? { ...current } : null;
  }
}

/** Looks an address up among both kinds (one table of addresses with no `kind` in the WHERE). */
class MixedKindsStore extends MemoryStore {
  override async findIdentityByAddress(_kind: 'recovery' | 'verification', value: string): Promise<Identity | null> {
    return (
      (await super.findIdentityByAddress('recovery', value)) ??
      (await super.findIdentityByAddress('verification', value))
    );
  }
}

/** Forgets to drop the old addresses from its index on update: a released address still finds the identity. */
class StaleAddressIndexStore extends MemoryStore {
  readonly #previous = new Map<string, string>();
  override async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    const before = await this.getIdentity(identity.id);
    const updated = await super.updateIdentity(identity, expectedUpdatedAt);
    if (updated && before) {
      for (const a of before.recoveryAddresses) this.#previous.set(`recovery:${a.value}`, before.id);
      for (const a of before.verifiableAddresses) this.#previous.set(`verification:${a.value}`, before.id);
    }
    return updated;
  }
  override async findIdentityByAddress(kind: 'recovery' | 'verification', value: string): Promise<Identity | null> {
    const found = await super.findIdentityByAddress(kind, value);
    const stale = this.#previous.get(`${kind}:${value}`);
    return found ?? (stale === undefined ? null : this.getIdentity(stale));
  }
}

/** Returns the addresses' dates as ISO strings (a JSON column without revival). */
class AddressDatesAsStringsStore extends MemoryStore {
  override async getIdentity(id: string): Promise<Identity | null> {
    const identity = await super.getIdentity(id);
    if (!identity) return null;
    const iso = (a: RecoveryAddress | VerifiableAddress) => ({
      ...a,
      createdAt: a.createdAt.toISOString(),
      updatedAt: a.updatedAt.toISOString(),
    });
    return {
      ...identity,
      recoveryAddresses: identity.recoveryAddresses.map(iso),
      verifiableAddresses: identity.verifiableAddresses.map(iso),
    } as unknown as Identity;
  }
}

/** Creates the identity first and adds the passkey in a second step: a duplicate credential leaves an orphan. */
class TwoStepCreateStore extends MemoryStore {
  override async createIdentity(identity: Identity, passkey: Passkey): Promise<void> {
    await super.createIdentity(identity, { ...passkey, id: randomUUID() });
    await this.addPasskey(passkey);
  }
}

/** Finds the passkey by credential id alone: acts on another identity's passkey. */
class IgnoresOwnerStore extends MemoryStore {
  override async renamePasskey(_identityId: string, credentialId: string, name: string): Promise<boolean> {
    const passkey = await this.getPasskey(credentialId);
    return passkey ? super.renamePasskey(passkey.identityId, credentialId, name) : false;
  }
  override async removePasskey(_identityId: string, credentialId: string): Promise<RemovePasskeyResult> {
    const passkey = await this.getPasskey(credentialId);
    return passkey ? super.removePasskey(passkey.identityId, credentialId) : 'not_found';
  }
}

/** Treats expired flows as gone: the library could not answer 410. */
class HidesExpiredFlowsStore extends MemoryStore {
  override async getFlow(id: string): Promise<FlowRecord | null> {
    const flow = await super.getFlow(id);
    return flow && flow.expiresAt.getTime() < Date.now() ? null : flow;
  }
}

/** Lists newest first. */
class NewestFirstStore extends MemoryStore {
  override async listPasskeys(identityId: string): Promise<Passkey[]> {
    return (await super.listPasskeys(identityId)).reverse();
  }
}

/** Hands out the same cached objects: a caller's mutation changes what the next caller sees. */
class SharedObjectsStore extends MemoryStore {
  readonly #cache = new Map<string, Identity>();
  override async getIdentity(id: string): Promise<Identity | null> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const identity = await super.getIdentity(id);
    if (identity) this.#cache.set(id, identity);
    return identity;
  }
}

/** Case-insensitive identifier lookups (what a `citext` column or a `_ci` collation does). */
class CaseFoldingStore extends MemoryStore {
  override async findIdentityByIdentifier(identifier: string): Promise<Identity | null> {
    return super.findIdentityByIdentifier(identifier.toLowerCase());
  }
}

/** Returns dates as ISO strings (what a JSON column without revival does). */
class StringDatesStore extends MemoryStore {
  override async getIdentity(id: string): Promise<Identity | null> {
    const identity = await super.getIdentity(id);
    return identity && ({ ...identity, createdAt: identity.createdAt.toISOString() } as unknown as Identity);
  }
}

/** Reports success for a duplicate identifier by ignoring the insert (an `ON CONFLICT DO NOTHING`). */
class SilentDuplicateStore extends MemoryStore {
  override async createIdentity(identity: Identity, passkey: Passkey): Promise<void> {
    try {
      await super.createIdentity(identity, passkey);
    } catch (error) {
      if (!(error instanceof DuplicateIdentifierError)) throw error;
    }
  }
}

/** Writes traits and addresses on update but not the state (an UPDATE written before the state column existed). */
class UpdateDropsStateStore extends MemoryStore {
  override async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    const stored = await this.getIdentity(identity.id);
    if (!stored) return false;
    const { state, stateChangedAt, metadataPublic, metadataAdmin } = stored;
    return super.updateIdentity(
      { ...identity, state, stateChangedAt, metadataPublic, metadataAdmin },
      expectedUpdatedAt,
    );
  }
}

/** Deletes the identity row only: its passkeys and flows stay behind (no ON DELETE CASCADE). */
class DeleteLeavesPasskeysStore extends MemoryStore {
  readonly #orphans = new Map<string, Passkey>();
  override async deleteIdentity(id: string): Promise<boolean> {
    for (const passkey of await this.listPasskeys(id)) this.#orphans.set(passkey.id, passkey);
    return super.deleteIdentity(id);
  }
  override async getPasskey(credentialId: string): Promise<Passkey | null> {
    return (await super.getPasskey(credentialId)) ?? this.#orphans.get(credentialId) ?? null;
  }
}

/** Deletes the identity and passkeys but keeps its flows (it does not record a flow's identity). */
class DeleteKeepsFlowsStore extends MemoryStore {
  override async saveFlow(flow: FlowRecord): Promise<void> {
    await super.saveFlow({ ...flow, identityId: null });
  }
}

/** Drops the backup-flags marker (a column the adapter never added). */
class ForgetsFlagsUnknownStore extends MemoryStore {
  override async getPasskey(credentialId: string): Promise<Passkey | null> {
    const passkey = await super.getPasskey(credentialId);
    if (passkey) delete passkey.backupFlagsUnknown;
    return passkey;
  }
}

/** Pages without honouring `after` when listing by identifier, and sorts newest first otherwise. */
class ListIdentitiesUnorderedStore extends MemoryStore {
  override async listIdentities(options: ListIdentitiesOptions): Promise<Identity[]> {
    const all = await super.listIdentities({ ...options, limit: 1_000_000 });
    return all.reverse().slice(0, options.limit);
  }
}

/** A store whose every call fails once `broken` is set, like a database that went away. */
function breakable(store: Store): Store & { broken: boolean } {
  const state = { broken: false };
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'broken') return state.broken;
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        state.broken ? Promise.reject(new Error('connection terminated')) : value.apply(target, args);
    },
    set(_target, key, value) {
      if (key !== 'broken') return false;
      state.broken = value as boolean;
      return true;
    },
  }) as Store & { broken: boolean };
}

/** Turns every failure into "not found": the library would answer 404 / "no such user" during an outage. */
function swallowing(store: Store): Store {
  const fallback: Record<string, unknown> = {
    getIdentity: null,
    findIdentityByUserHandle: null,
    findIdentityByIdentifier: null,
    findIdentityByAddress: null,
    updateIdentity: false,
    getPasskey: null,
    listPasskeys: [],
    updatePasskeyUsage: false,
    renamePasskey: false,
    removePasskey: 'not_found',
    getFlow: null,
    consumeChallenge: false,
  };
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string' || !(key in fallback)) return value;
      return (...args: unknown[]) =>
        (value.apply(target, args) as Promise<unknown>).catch(() => structuredClone(fallback[key]));
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// A store written from scratch with plain Maps. `gap` puts an `await` between every check and its write: even one
// microtask lets concurrent calls pass the same check. `flaw` breaks one rule of the contract on purpose.

type Gap = 'none' | 'microtask' | 'macrotask';
type Flaw =
  /** saveFlow upserts whatever version it is given (the old `INSERT ... ON CONFLICT DO UPDATE`): last write wins. */
  | 'ignoresFlowVersion'
  /** No uniqueness of addresses (no unique index on them). */
  | 'duplicateAddresses'
  /** One unique index over the values of both kinds: a recovery address blocks the same verifiable address. */
  | 'addressUniqueAcrossKinds';

type AddressKind = 'recovery' | 'verification';
const fieldOf = { recovery: 'recoveryAddresses', verification: 'verifiableAddresses' } as const;

/** Revokes by session id alone: forgets the identity scope (`WHERE id = $2` without `AND identity_id = $1`). */
class UnscopedRevokeStore extends MemoryStore {
  override async revokeSession(_identityId: string, sessionId: string): Promise<boolean> {
    const session = await this.getSession(sessionId);
    return session ? super.revokeSession(session.identityId, sessionId) : false;
  }
}

/** Keeps revocation in a column it forgets to read back: a revoked session reads as active. */
class RevokedReadsActiveStore extends MemoryStore {
  override async getSession(id: string): Promise<SessionRecord | null> {
    const session = await super.getSession(id);
    return session ? { ...session, active: true } : null;
  }
}

/** updateSession writes `active` as given: a refresh that read the record before a revocation undoes it. */
class UpdateReactivatesStore extends MemoryStore {
  readonly #reactivated = new Map<string, SessionRecord>();
  override async updateSession(session: SessionRecord): Promise<boolean> {
    const applied = await super.updateSession(session);
    if (applied && session.active) this.#reactivated.set(session.id, session);
    return applied;
  }
  override async revokeSession(identityId: string, sessionId: string): Promise<boolean> {
    this.#reactivated.delete(sessionId);
    return super.revokeSession(identityId, sessionId);
  }
  override async getSession(id: string): Promise<SessionRecord | null> {
    const session = await super.getSession(id);
    return session && this.#reactivated.has(id) ? { ...session, active: true } : session;
  }
}

/** Counts every session it touches in revokeSessions, revoked and expired ones included. */
class CountsEverythingStore extends MemoryStore {
  override async revokeSessions(identityId: string, exceptId?: string): Promise<number> {
    const all = await this.listSessions(identityId, { limit: 10_000 });
    await super.revokeSessions(identityId, exceptId);
    return all.filter((s) => s.id !== exceptId).length;
  }
}

/** Ignores `after` (a keyset condition left out of the query): every page is the first one again. */
class SessionsIgnoreAfterStore extends MemoryStore {
  override async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    const { after: _after, ...rest } = options;
    return super.listSessions(identityId, rest);
  }
}

/** Returns the sign-in times inside `methods` as ISO strings (a `jsonb` column read back without revival). */
class SessionMethodDatesAsStringsStore extends MemoryStore {
  static #strings(session: SessionRecord): SessionRecord {
    const methods = session.methods.map((m) => ({ ...m, completedAt: m.completedAt.toISOString() }));
    return { ...session, methods } as unknown as SessionRecord;
  }
  override async getSession(id: string): Promise<SessionRecord | null> {
    const session = await super.getSession(id);
    return session && SessionMethodDatesAsStringsStore.#strings(session);
  }
  override async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    return (await super.listSessions(identityId, options)).map((s) => SessionMethodDatesAsStringsStore.#strings(s));
  }
}

/**
 * Applies `LIMIT` first and filters `active` afterwards, in JavaScript: a page is short while more remain, and the
 * library, which reads a short page as the last one, stops early (a removed passkey's sessions stay in force).
 */
class SessionsShortPagesStore extends MemoryStore {
  override async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    const { active, ...rest } = options;
    const page = await super.listSessions(identityId, rest);
    const now = Date.now();
    return active ? page.filter((s) => s.active && s.expiresAt.getTime() > now) : page;
  }
}

/**
 * `SELECT ... FROM identities LEFT JOIN addresses ... ORDER BY id LIMIT n`: the limit counts joined rows, so a page
 * holds fewer identities than `limit` while more remain, and its last identity may lack some of its addresses.
 */
class IdentitiesJoinLimitStore extends MemoryStore {
  override async listIdentities(options: ListIdentitiesOptions): Promise<Identity[]> {
    const all = await super.listIdentities({ ...options, limit: 1_000_000 });
    type Row = { identity: Identity; address: RecoveryAddress | VerifiableAddress | null };
    const rows = all.flatMap((identity): Row[] => {
      const addresses = [...identity.recoveryAddresses, ...identity.verifiableAddresses];
      return addresses.length === 0
        ? [{ identity, address: null }]
        : addresses.map((address) => ({ identity, address }));
    });
    const page: Identity[] = [];
    for (const { identity, address } of rows.slice(0, options.limit)) {
      let last = page[page.length - 1];
      if (last === undefined || last.id !== identity.id) {
        last = { ...identity, recoveryAddresses: [], verifiableAddresses: [] };
        page.push(last);
      }
      if (address && 'verified' in address) last.verifiableAddresses.push(address);
      else if (address) last.recoveryAddresses.push(address);
    }
    return page;
  }
}

/** Returns `resetAt` as an ISO string (a timestamp read back through JSON, or a driver's text mode). */
class CounterResetAtStringStore extends MemoryStore {
  override async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    const state = await super.incrementCounter(key, windowMs);
    return { ...state, resetAt: state.resetAt.toISOString() } as unknown as CounterState;
  }
}

/** Returns the public key as a `Buffer` (what `pg` gives for `bytea`), a view into a larger shared buffer: allowed. */
class BufferKeyStore extends MemoryStore {
  override async getPasskey(credentialId: string): Promise<Passkey | null> {
    const passkey = await super.getPasskey(credentialId);
    if (!passkey) return null;
    const pool = Buffer.alloc(passkey.publicKey.length + 64, 0xee);
    pool.set(passkey.publicKey, 32);
    return { ...passkey, publicKey: pool.subarray(32, 32 + passkey.publicKey.length) };
  }
}

/** Returns the public key as a plain array of numbers (a JSON column): not a `Uint8Array`. */
class KeyAsArrayStore extends MemoryStore {
  override async getPasskey(credentialId: string): Promise<Passkey | null> {
    const passkey = await super.getPasskey(credentialId);
    return passkey && ({ ...passkey, publicKey: Array.from(passkey.publicKey) } as unknown as Passkey);
  }
}

class NaiveStore implements Store {
  readonly identities = new Map<string, Identity>();
  readonly passkeys = new Map<string, Passkey>();
  readonly flows = new Map<string, FlowRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly counters = new Map<string, CounterState>();
  constructor(
    readonly gap: Gap = 'none',
    readonly flaw?: Flaw,
  ) {}

  /** Only called (and awaited) when there is a gap: with `'none'`, check and write stay in one synchronous step. */
  async #yield(): Promise<void> {
    if (this.gap === 'macrotask') await tick();
  }

  /** Throws DuplicateAddressError if an identity other than `identity` holds one of its addresses. */
  #checkAddresses(identity: Identity): void {
    if (this.flaw === 'duplicateAddresses') return;
    for (const kind of ['recovery', 'verification'] as const) {
      for (const address of identity[fieldOf[kind]]) {
        const kinds: AddressKind[] = this.flaw === 'addressUniqueAcrossKinds' ? ['recovery', 'verification'] : [kind];
        const taken = [...this.identities.values()].some(
          (other) =>
            other.id !== identity.id && kinds.some((k) => other[fieldOf[k]].some((a) => a.value === address.value)),
        );
        if (taken) throw new DuplicateAddressError(kind, address.value);
      }
    }
  }

  async createIdentity(identity: Identity, passkey?: Passkey): Promise<void> {
    const taken = [...this.identities.values()].some((i) => i.identifier === identity.identifier);
    if (taken) throw new DuplicateIdentifierError(identity.identifier);
    this.#checkAddresses(identity);
    if (passkey && this.passkeys.has(passkey.id)) throw new DuplicateCredentialError(passkey.id);
    if (this.gap !== 'none') await this.#yield();
    this.identities.set(identity.id, structuredClone(identity));
    if (passkey) this.passkeys.set(passkey.id, structuredClone(passkey));
  }
  async deleteIdentity(id: string): Promise<boolean> {
    if (!this.identities.delete(id)) return false;
    for (const passkey of [...this.passkeys.values()]) if (passkey.identityId === id) this.passkeys.delete(passkey.id);
    for (const flow of [...this.flows.values()]) if (flow.identityId === id) this.flows.delete(flow.id);
    return true;
  }
  async listIdentities(options: ListIdentitiesOptions): Promise<Identity[]> {
    return [...this.identities.values()]
      .filter(
        (i) =>
          (options.after === undefined || i.id > options.after) &&
          (options.identifier === undefined || i.identifier === options.identifier),
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, options.limit)
      .map((i) => structuredClone(i));
  }
  async getIdentity(id: string): Promise<Identity | null> {
    const identity = this.identities.get(id);
    return identity ? structuredClone(identity) : null;
  }
  async findIdentityByUserHandle(userHandle: string): Promise<Identity | null> {
    const identity = [...this.identities.values()].find((i) => i.userHandle === userHandle);
    return identity ? structuredClone(identity) : null;
  }
  async findIdentityByIdentifier(identifier: string): Promise<Identity | null> {
    const identity = [...this.identities.values()].find((i) => i.identifier === identifier);
    return identity ? structuredClone(identity) : null;
  }
  async findIdentityByAddress(kind: AddressKind, value: string): Promise<Identity | null> {
    const identity = [...this.identities.values()].find((i) => i[fieldOf[kind]].some((a) => a.value === value));
    return identity ? structuredClone(identity) : null;
  }
  async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    const stored = this.identities.get(identity.id);
    if (!stored || stored.updatedAt.getTime() !== expectedUpdatedAt.getTime()) return false;
    const taken = [...this.identities.values()].some(
      (i) => i.id !== identity.id && i.identifier === identity.identifier,
    );
    if (taken) throw new DuplicateIdentifierError(identity.identifier);
    this.#checkAddresses(identity);
    if (this.gap !== 'none') await this.#yield();
    const { id, userHandle, schemaId, createdAt } = stored;
    this.identities.set(id, { ...structuredClone(identity), id, userHandle, schemaId, createdAt });
    return true;
  }
  async getPasskey(credentialId: string): Promise<Passkey | null> {
    const passkey = this.passkeys.get(credentialId);
    return passkey ? structuredClone(passkey) : null;
  }
  async listPasskeys(identityId: string): Promise<Passkey[]> {
    return [...this.passkeys.values()]
      .filter((p) => p.identityId === identityId)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((p) => structuredClone(p));
  }
  async addPasskey(passkey: Passkey): Promise<void> {
    if (this.passkeys.has(passkey.id)) throw new DuplicateCredentialError(passkey.id);
    if (this.gap !== 'none') await this.#yield();
    this.passkeys.set(passkey.id, structuredClone(passkey));
  }
  async updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean> {
    const passkey = this.passkeys.get(credentialId);
    if (!passkey || passkey.signCount !== usage.expectedSignCount) return false;
    if (this.gap !== 'none') await this.#yield();
    Object.assign(passkey, {
      signCount: usage.signCount,
      backedUp: usage.backedUp,
      lastUsedAt: new Date(usage.lastUsedAt),
    });
    if (passkey.backupFlagsUnknown && usage.backupEligible !== undefined) {
      passkey.backupEligible = usage.backupEligible;
      delete passkey.backupFlagsUnknown;
    }
    return true;
  }
  async renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean> {
    const passkey = this.passkeys.get(credentialId);
    if (!passkey || passkey.identityId !== identityId) return false;
    passkey.name = name;
    return true;
  }
  async removePasskey(identityId: string, credentialId: string): Promise<RemovePasskeyResult> {
    const passkey = this.passkeys.get(credentialId);
    if (!passkey || passkey.identityId !== identityId) return 'not_found';
    const count = [...this.passkeys.values()].filter((p) => p.identityId === identityId).length;
    if (count <= 1) return 'last_credential';
    if (this.gap !== 'none') await this.#yield();
    this.passkeys.delete(credentialId);
    return 'removed';
  }
  async saveFlow(flow: FlowRecord): Promise<void> {
    const stored = this.flows.get(flow.id)?.version ?? 0;
    if (this.flaw !== 'ignoresFlowVersion' && stored !== flow.version) throw new FlowVersionConflictError(flow.id);
    if (this.gap !== 'none') await this.#yield();
    this.flows.set(flow.id, { ...structuredClone(flow), version: (this.flows.get(flow.id)?.version ?? 0) + 1 });
  }
  async getFlow(id: string): Promise<FlowRecord | null> {
    const flow = this.flows.get(id);
    return flow ? structuredClone(flow) : null;
  }
  async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const flow = this.flows.get(flowId);
    if (!flow || flow.challenge !== challenge) return false;
    if (this.gap !== 'none') await this.#yield();
    flow.challenge = null;
    flow.version++;
    return true;
  }
  async createSession(session: SessionRecord): Promise<void> {
    this.sessions.set(session.id, structuredClone(session));
  }
  async getSession(id: string): Promise<SessionRecord | null> {
    const session = this.sessions.get(id);
    return session ? structuredClone(session) : null;
  }
  async updateSession(session: SessionRecord): Promise<boolean> {
    const stored = this.sessions.get(session.id);
    if (!stored) return false;
    const { authenticatedAt, expiresAt, methods, devices } = structuredClone(session);
    Object.assign(stored, { authenticatedAt, expiresAt, methods, devices, active: stored.active && session.active });
    return true;
  }
  async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    const now = Date.now();
    const key = (s: { issuedAt: Date; id: string }) => `${String(s.issuedAt.getTime()).padStart(16, '0')}|${s.id}`;
    return [...this.sessions.values()]
      .filter((s) => s.identityId === identityId && (!options.active || (s.active && s.expiresAt.getTime() > now)))
      .filter((s) => !options.after || key(s) < key(options.after))
      .sort((a, b) => (key(a) < key(b) ? 1 : -1))
      .slice(0, options.limit)
      .map((s) => structuredClone(s));
  }
  async revokeSession(identityId: string, sessionId: string): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (!session || session.identityId !== identityId || !session.active) return false;
    if (this.gap !== 'none') await this.#yield();
    session.active = false;
    return true;
  }
  async revokeSessions(identityId: string, exceptId?: string): Promise<number> {
    const now = Date.now();
    const targets = [...this.sessions.values()].filter(
      (s) => s.identityId === identityId && s.id !== exceptId && s.active && s.expiresAt.getTime() > now,
    );
    if (this.gap !== 'none') await this.#yield();
    for (const session of targets) session.active = false;
    return targets.length;
  }
  async deleteSessions(identityId: string): Promise<number> {
    let count = 0;
    for (const [id, session] of this.sessions) {
      if (session.identityId === identityId) {
        this.sessions.delete(id);
        count++;
      }
    }
    return count;
  }
  async extendSession(id: string, expiresAt: Date): Promise<boolean> {
    const session = this.sessions.get(id);
    if (!session?.active) return false;
    session.expiresAt = new Date(expiresAt);
    return true;
  }
  async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    const now = Date.now();
    const current = this.counters.get(key);
    const live = current && current.resetAt.getTime() > now;
    if (this.gap !== 'none') await this.#yield();
    const next = live
      ? { count: current.count + 1, resetAt: current.resetAt }
      : { count: 1, resetAt: new Date(now + windowMs) };
    this.counters.set(key, next);
    return { ...next };
  }
  async getCounter(key: string): Promise<CounterState | null> {
    const current = this.counters.get(key);
    return current && current.resetAt.getTime() > Date.now() ? { ...current } : null;
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('the kit catches broken stores', () => {
  it('a non-atomic compare-and-set (check, await, write)', () =>
    assertCaught(
      () => new NonAtomicCasStore(),
      ['updatePasskeyUsage: of 20 concurrent compare-and-sets from one count, exactly one applies'],
    ));

  it('a non-atomic consumeChallenge (read, await, save)', () =>
    assertCaught(
      () => new NonAtomicConsumeStore(),
      [
        'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed',
      ],
    ));

  it('a two-step createIdentity that leaves an orphan identity', () =>
    assertCaught(
      () => new TwoStepCreateStore(),
      ['createIdentity rejects a duplicate credential id with DuplicateCredentialError and leaves no orphan'],
    ));

  it('rename and remove that ignore which identity owns the passkey', () =>
    assertCaught(
      () => new IgnoresOwnerStore(),
      [
        'renamePasskey renames only a passkey of the given identity',
        'removePasskey removes, answers not_found for another identity’s passkey, refuses the last one',
      ],
    ));

  it('a getFlow that hides expired flows', () =>
    assertCaught(
      () => new HidesExpiredFlowsStore(),
      [
        'expired flows are still returned 59 minutes after they expired',
        'expired flows are still returned when Date.now() is 59 minutes past their expiry',
      ],
    ));

  it('listPasskeys newest first', () =>
    assertCaught(
      () => new NewestFirstStore(),
      [
        'listPasskeys returns an identity’s passkeys oldest first, and only its own',
        'a large identity: 500 passkeys listed in order, all but one removable at once',
      ],
    ));

  it('results shared between callers (no copies)', () =>
    assertCaught(
      () => new SharedObjectsStore(),
      ['returned objects are copies: mutating inputs or results never changes the store'],
    ));

  it('case-insensitive lookups', () =>
    assertCaught(() => new CaseFoldingStore(), ['keys are compared exactly: case and accents matter']));

  it('dates returned as strings', () =>
    assertCaught(
      () => new StringDatesStore(),
      ['createIdentity stores the identity and its passkey; every lookup finds them'],
    ));

  it('a duplicate identifier silently ignored', () =>
    assertCaught(
      () => new SilentDuplicateStore(),
      [
        'createIdentity rejects a duplicate identifier with DuplicateIdentifierError and leaves no orphan',
        'createIdentity: of 10 concurrent sign-ups with one identifier, exactly one succeeds',
        'many identities: create 100,000 (scale.identities), then find each sample by every key',
      ],
    ));

  it('a store that turns failures into "not found"', async () => {
    const breakIt = (store: Store) => {
      (store as unknown as { broken: boolean }).broken = true;
    };
    // The honest one passes: failures reject.
    await checkFailuresReject(breakable(new MemoryStore()), breakIt);
    // The swallowing one is caught.
    const inner = breakable(new MemoryStore());
    const swallower = swallowing(inner);
    await assert.rejects(
      checkFailuresReject(swallower, () => breakIt(inner)),
      /getIdentity resolved \(null\)/,
    );
  });

  it('a saveFlow that ignores the version (an upsert: last write wins, a racing update is lost)', () =>
    assertCaught(
      () => new NaiveStore('none', 'ignoresFlowVersion'),
      [
        'saveFlow is versioned: getFlow returns the version; a save of the version read bumps it; a stale or clashing save is refused and changes nothing',
        'saveFlow: of 20 concurrent saves of one version exactly one succeeds, the others get FlowVersionConflictError',
        'consumeChallenge bumps the version: a save from before the consume is refused, so a consumed challenge is never written back',
      ],
    ));

  it('a consumeChallenge that does not bump the version (a consumed challenge can be written back)', () =>
    assertCaught(
      () => new ConsumeKeepsVersionStore(),
      [
        'consumeChallenge bumps the version: a save from before the consume is refused, so a consumed challenge is never written back',
        'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed',
      ],
    ));

  it('a flow version returned as a string', () =>
    assertCaught(
      () => new StringVersionStore(),
      [
        'saveFlow / getFlow round-trip; saveFlow replaces',
        'saveFlow is versioned: getFlow returns the version; a save of the version read bumps it; a stale or clashing save is refused and changes nothing',
      ],
    ));

  it('an updateIdentity that ignores expectedUpdatedAt', () =>
    assertCaught(
      () => new UpdateIgnoresExpectedStore(),
      ['updateIdentity is a compare-and-set on updatedAt, to the millisecond; a refused one changes nothing'],
    ));

  it('a non-atomic updateIdentity (check updatedAt, await, write)', () =>
    assertCaught(
      () => new NonAtomicUpdateIdentityStore(),
      ['updateIdentity: of 20 concurrent compare-and-sets from one updatedAt, exactly one applies'],
    ));

  it('addresses without a unique index (duplicates allowed)', () =>
    assertCaught(
      () => new NaiveStore('none', 'duplicateAddresses'),
      [
        'createIdentity rejects an address another identity holds with DuplicateAddressError, per kind, and writes nothing',
        'createIdentity: of 10 concurrent sign-ups with one address, exactly one succeeds',
        'updateIdentity rejects an identifier or address another identity holds, and then changes nothing',
        'many identities: create 100,000 (scale.identities), then find each sample by every key',
      ],
    ));

  it('a findIdentityByAddress that does not separate the kinds', () =>
    assertCaught(
      () => new MixedKindsStore(),
      ['findIdentityByAddress finds by each kind, exactly, and never across kinds'],
    ));

  it('one unique index over the addresses of both kinds', () =>
    assertCaught(
      () => new NaiveStore('none', 'addressUniqueAcrossKinds'),
      ['findIdentityByAddress finds by each kind, exactly, and never across kinds'],
    ));

  it('an updateIdentity that leaves the old addresses in the index', () =>
    assertCaught(
      () => new StaleAddressIndexStore(),
      [
        'updateIdentity replaces traits, identifier and addresses; the old ones no longer find it; id, user handle, schema and createdAt stay',
      ],
    ));

  it('an updateIdentity that does not write the state and metadata', () =>
    assertCaught(
      () => new UpdateDropsStateStore(),
      ['identity state and metadata round-trip through createIdentity, every lookup and updateIdentity'],
    ));

  it('a deleteIdentity that leaves the passkeys behind', () =>
    assertCaught(
      () => new DeleteLeavesPasskeysStore(),
      ['deleteIdentity removes the identity, its passkeys, addresses and flows, frees its keys, and nothing else'],
    ));

  it('a deleteIdentity that leaves the flows behind', () =>
    assertCaught(
      () => new DeleteKeepsFlowsStore(),
      ['deleteIdentity removes the identity, its passkeys, addresses and flows, frees its keys, and nothing else'],
    ));

  it('a store that forgets backupFlagsUnknown', () =>
    assertCaught(
      () => new ForgetsFlagsUnknownStore(),
      ['a passkey imported without backup flags keeps backupFlagsUnknown until a usage records backupEligible'],
    ));

  it('listIdentities out of order', () =>
    assertCaught(
      () => new ListIdentitiesUnorderedStore(),
      ['listIdentities pages in ascending id order: limit, after (exclusive), identifier; [] past the end'],
    ));

  it('address dates returned as strings', () =>
    assertCaught(
      () => new AddressDatesAsStringsStore(),
      ['recovery and verifiable addresses round-trip with their dates, through every lookup'],
    ));

  it('a revokeSession that forgets the identity scope', () =>
    assertCaught(
      () => new UnscopedRevokeStore(),
      [
        'sessions: revokeSession is scoped by identity: another identity, an unknown or a revoked id is false and untouched',
      ],
    ));

  it('a revoked session that reads as active', () =>
    assertCaught(
      () => new RevokedReadsActiveStore(),
      [
        'sessions: a revoked session reads as revoked everywhere: getSession, listSessions, extendSession, revokeSessions',
        'sessions: a refresh (updateSession) racing a revocation leaves the session revoked',
      ],
    ));

  it('an updateSession that brings a revoked session back', () =>
    assertCaught(
      () => new UpdateReactivatesStore(),
      [
        'sessions: updateSession replaces the mutable fields; a revoked record never becomes active again; unknown is false',
      ],
    ));

  it('a revokeSessions that counts revoked and expired sessions too', () =>
    assertCaught(
      () => new CountsEverythingStore(),
      ['sessions: revokeSessions revokes all but one and counts the sessions that were valid'],
    ));

  it('a listSessions that ignores `after` (every page is the first)', () =>
    assertCaught(
      () => new SessionsIgnoreAfterStore(),
      [
        'sessions: listSessions gives keyset pages, newest issuedAt first (ties by id descending), of that identity only',
        'sessions: listSessions with active: true leaves out revoked and expired sessions, keyset pages included',
      ],
    ));

  it('session sign-in times returned as strings', () =>
    assertCaught(
      () => new SessionMethodDatesAsStringsStore(),
      ['sessions: createSession then getSession round-trips every field; an unknown id is null; results are copies'],
    ));

  it('a listSessions that filters `active` after its LIMIT (short pages while more remain)', () =>
    assertCaught(
      () => new SessionsShortPagesStore(),
      ['sessions: listSessions with active: true leaves out revoked and expired sessions, keyset pages included'],
    ));

  it('a listIdentities whose LIMIT counts joined address rows', () =>
    assertCaught(
      () => new IdentitiesJoinLimitStore(),
      ['listIdentities pages in ascending id order: limit, after (exclusive), identifier; [] past the end'],
    ));

  it('a counter whose resetAt is a string', () =>
    assertCaught(
      () => new CounterResetAtStringStore(),
      [
        'incrementCounter: 50 concurrent increments of one key count 1 to 50, each exactly once, in one window',
        'incrementCounter: the window is fixed; once it has passed the count starts again at 1',
      ],
    ));

  it('a public key returned as a plain array (a Buffer, even a view into a larger one, is fine)', async () => {
    await assertCaught(
      () => new KeyAsArrayStore(),
      ['createIdentity stores the identity and its passkey; every lookup finds them'],
    );
    for (const name of [
      'createIdentity stores the identity and its passkey; every lookup finds them',
      'returned objects are copies: mutating inputs or results never changes the store',
      'addPasskey adds to an identity; a credential id is unique across identities',
    ] as const) {
      await cases[name](new BufferKeyStore());
    }
  });

  for (const gap of ['microtask', 'macrotask'] as const) {
    it(`a from-scratch store with an await (${gap}) between check and write`, () =>
      assertCaught(
        () => new NaiveStore(gap),
        [
          'createIdentity: of 10 concurrent sign-ups with one identifier, exactly one succeeds',
          'createIdentity: of 10 concurrent sign-ups with one address, exactly one succeeds',
          'updateIdentity: of 20 concurrent compare-and-sets from one updatedAt, exactly one applies',
          'saveFlow: of 20 concurrent saves of one version exactly one succeeds, the others get FlowVersionConflictError',
          'addPasskey: of 10 concurrent adds of one credential id to different identities, exactly one succeeds',
          'updatePasskeyUsage: of 20 concurrent compare-and-sets from one count, exactly one applies',
          'removePasskey: concurrent removal of an identity’s last two passkeys leaves exactly one (20 times)',
          'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed',
          'a large identity: 500 passkeys listed in order, all but one removable at once',
          'sessions: of 20 concurrent revokeSession calls on one session exactly one is true',
          'sessions: concurrent revokeSessions count every valid session exactly once, across all of them',
          'incrementCounter: 50 concurrent increments of one key count 1 to 50, each exactly once, in one window',
        ],
      ));
  }

  it('a non-atomic incrementCounter (read, await, write)', () =>
    assertCaught(
      () => new NonAtomicCounterStore(),
      ['incrementCounter: 50 concurrent increments of one key count 1 to 50, each exactly once, in one window'],
    ));

  it('a counter that never starts a new window', () =>
    assertCaught(
      () => new CounterNeverResetsStore(),
      ['incrementCounter: the window is fixed; once it has passed the count starts again at 1'],
    ));

  it('a counter whose window slides with every event (a busy key never resets)', () =>
    assertCaught(
      () => new CounterSlidesStore(),
      ['incrementCounter: the window is fixed; once it has passed the count starts again at 1'],
    ));

  it('a store without counters fails the limit cases with a message that says why', async () => {
    const store = new NaiveStore('none') as Store;
    (store as { incrementCounter?: unknown }).incrementCounter = undefined;
    await assert.rejects(
      cases['incrementCounter: 50 concurrent increments of one key count 1 to 50, each exactly once, in one window'](
        store,
      ),
      /incrementCounter is missing: it is required when a `courier` is set/,
    );
  });
});

// The same from-scratch store without the yield is correct: the kit does not just accept MemoryStore.
runStoreConformance({
  name: 'a correct from-scratch store (NaiveStore without a gap)',
  makeStore: () => new NaiveStore('none'),
  scale: context.scale,
  breakStore: (store) => {
    // Replace its maps with ones that throw, like a lost connection.
    const naive = store as NaiveStore;
    for (const map of [naive.identities, naive.passkeys, naive.flows, naive.sessions, naive.counters] as Map<
      string,
      unknown
    >[]) {
      for (const method of ['get', 'set', 'has', 'delete', 'values'] as const) {
        Object.defineProperty(map, method, {
          value: () => {
            throw new Error('connection terminated');
          },
        });
      }
    }
  },
});
