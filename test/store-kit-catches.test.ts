// The conformance kit catches broken adapters: each deliberately broken store below must fail the case(s) aimed at
// its flaw, while a correct store written independently of MemoryStore passes every case.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { DuplicateCredentialError, DuplicateIdentifierError } from '../src/store/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import type { FlowRecord, Identity, Passkey, PasskeyUsage, RemovePasskeyResult, Store } from '../src/store/types.js';
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

/** Reads the flow, yields, then saves it without its challenge: two submits both win. */
class NonAtomicConsumeStore extends MemoryStore {
  override async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const flow = await this.getFlow(flowId);
    if (!flow || flow.challenge !== challenge) return false;
    await tick();
    await this.saveFlow({ ...flow, challenge: null });
    return true;
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
// microtask lets concurrent calls pass the same check.

type Gap = 'none' | 'microtask' | 'macrotask';

class NaiveStore implements Store {
  readonly identities = new Map<string, Identity>();
  readonly passkeys = new Map<string, Passkey>();
  readonly flows = new Map<string, FlowRecord>();
  constructor(readonly gap: Gap = 'none') {}

  /** Only called (and awaited) when there is a gap: with `'none'`, check and write stay in one synchronous step. */
  async #yield(): Promise<void> {
    if (this.gap === 'macrotask') await tick();
  }

  async createIdentity(identity: Identity, passkey: Passkey): Promise<void> {
    const taken = [...this.identities.values()].some((i) => i.identifier === identity.identifier);
    if (taken) throw new DuplicateIdentifierError(identity.identifier);
    if (this.passkeys.has(passkey.id)) throw new DuplicateCredentialError(passkey.id);
    if (this.gap !== 'none') await this.#yield();
    this.identities.set(identity.id, structuredClone(identity));
    this.passkeys.set(passkey.id, structuredClone(passkey));
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
    this.flows.set(flow.id, structuredClone(flow));
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
    return true;
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

  for (const gap of ['microtask', 'macrotask'] as const) {
    it(`a from-scratch store with an await (${gap}) between check and write`, () =>
      assertCaught(
        () => new NaiveStore(gap),
        [
          'createIdentity: of 10 concurrent sign-ups with one identifier, exactly one succeeds',
          'addPasskey: of 10 concurrent adds of one credential id to different identities, exactly one succeeds',
          'updatePasskeyUsage: of 20 concurrent compare-and-sets from one count, exactly one applies',
          'removePasskey: concurrent removal of an identity’s last two passkeys leaves exactly one (20 times)',
          'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed',
          'a large identity: 500 passkeys listed in order, all but one removable at once',
        ],
      ));
  }
});

// The same from-scratch store without the yield is correct: the kit does not just accept MemoryStore.
runStoreConformance({
  name: 'a correct from-scratch store (NaiveStore without a gap)',
  makeStore: () => new NaiveStore('none'),
  scale: context.scale,
  breakStore: (store) => {
    // Replace its maps with ones that throw, like a lost connection.
    const naive = store as NaiveStore;
    for (const map of [naive.identities, naive.passkeys, naive.flows] as Map<string, unknown>[]) {
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
