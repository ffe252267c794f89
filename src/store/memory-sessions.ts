// MemoryStore's session records: copies in and out, an index by identity, sweeping of ended records, a cap per identity.

import type { ListSessionsOptions, SessionDevice, SessionMethod, SessionRecord } from './types.js';

/** How long a record stays after it expired (an admin listing "all" still sees it): 1 h. */
const RETAIN_EXPIRED_MS = 60 * 60 * 1000;
/** A sweep pass over all records starts at most this often, on session operations. */
const SWEEP_INTERVAL_MS = 60 * 1000;
/** Records examined per session operation while a pass is under way. */
const SWEEP_STEP = 256;

const copyDate = (date: Date) => new Date(date.getTime());

function copyMethod(method: SessionMethod): SessionMethod {
  return {
    method: method.method,
    aal: method.aal,
    completedAt: copyDate(method.completedAt),
    ...(method.credentialId !== undefined ? { credentialId: method.credentialId } : {}),
  };
}

function copyDevice(device: SessionDevice): SessionDevice {
  return { id: device.id, ipAddress: device.ipAddress, userAgent: device.userAgent, location: device.location };
}

function copySession(session: SessionRecord): SessionRecord {
  return {
    id: session.id,
    identityId: session.identityId,
    active: session.active,
    issuedAt: copyDate(session.issuedAt),
    authenticatedAt: copyDate(session.authenticatedAt),
    expiresAt: copyDate(session.expiresAt),
    aal: session.aal,
    methods: session.methods.map(copyMethod),
    devices: session.devices.map(copyDevice),
  };
}

/** Newest `issuedAt` first, then `id` descending: the order of `listSessions`. */
function newestFirst(a: SessionRecord, b: SessionRecord): number {
  const byTime = b.issuedAt.getTime() - a.issuedAt.getTime();
  return byTime !== 0 ? byTime : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const live = (session: SessionRecord, now: number) => session.active && session.expiresAt.getTime() > now;

/**
 * Session records for {@link MemoryStore}: every method does its check and write in one synchronous step. Records
 * expired over an hour ago are dropped (in small steps on session operations, and in `sweep()`); one identity keeps
 * at most `maxPerIdentity` records, dropping its ended ones first, then its oldest.
 */
export class MemorySessions {
  readonly #sessions = new Map<string, SessionRecord>();
  /** identity id → its session ids. */
  readonly #byIdentity = new Map<string, Set<string>>();
  #cursor: Iterator<[string, SessionRecord]> | null = null;
  #lastSweepStart = 0;

  constructor(readonly maxPerIdentity: number) {}

  /** Number of records held now. */
  get size(): number {
    return this.#sessions.size;
  }

  create(session: SessionRecord): void {
    this.#step();
    if (this.#sessions.has(session.id)) throw new Error('MemoryStore.createSession: a session with this id exists.');
    const stored = copySession(session);
    this.#sessions.set(stored.id, stored);
    let ids = this.#byIdentity.get(stored.identityId);
    if (!ids) {
      ids = new Set();
      this.#byIdentity.set(stored.identityId, ids);
    }
    ids.add(stored.id);
    if (ids.size > this.maxPerIdentity) this.#trim(ids, stored.id);
  }

  get(id: string): SessionRecord | null {
    this.#step();
    const session = this.#sessions.get(id);
    return session ? copySession(session) : null;
  }

  update(session: SessionRecord): boolean {
    const stored = this.#sessions.get(session.id);
    if (!stored) return false;
    stored.active = stored.active && session.active;
    stored.authenticatedAt = copyDate(session.authenticatedAt);
    stored.expiresAt = copyDate(session.expiresAt);
    stored.methods = session.methods.map(copyMethod);
    stored.devices = session.devices.map(copyDevice);
    return true;
  }

  list(identityId: string, options: ListSessionsOptions): SessionRecord[] {
    this.#step();
    const now = Date.now();
    const after = options.after;
    const records: SessionRecord[] = [];
    for (const id of this.#byIdentity.get(identityId) ?? []) {
      const session = this.#sessions.get(id);
      if (!session || (options.active && !live(session, now))) continue;
      if (after && newestFirst(session, { issuedAt: after.issuedAt, id: after.id } as SessionRecord) <= 0) continue;
      records.push(session);
    }
    return records.sort(newestFirst).slice(0, Math.max(0, options.limit)).map(copySession);
  }

  revoke(identityId: string, sessionId: string): boolean {
    const session = this.#sessions.get(sessionId);
    if (!session || session.identityId !== identityId || !session.active) return false;
    session.active = false;
    return true;
  }

  revokeAll(identityId: string, exceptId?: string): number {
    const now = Date.now();
    let count = 0;
    for (const id of this.#byIdentity.get(identityId) ?? []) {
      const session = this.#sessions.get(id);
      if (!session || id === exceptId || !live(session, now)) continue;
      session.active = false;
      count++;
    }
    return count;
  }

  deleteAll(identityId: string): number {
    const ids = this.#byIdentity.get(identityId);
    if (!ids) return 0;
    for (const id of ids) this.#sessions.delete(id);
    this.#byIdentity.delete(identityId);
    return ids.size;
  }

  extend(id: string, expiresAt: Date): boolean {
    const session = this.#sessions.get(id);
    if (!session?.active) return false;
    session.expiresAt = copyDate(expiresAt);
    return true;
  }

  /** Drop every record that expired over an hour ago, now. Returns how many. */
  sweep(): number {
    const now = Date.now();
    let dropped = 0;
    for (const [id, session] of this.#sessions) {
      if (this.#isDead(session, now)) {
        this.#drop(id);
        dropped++;
      }
    }
    this.#cursor = null;
    this.#lastSweepStart = now;
    return dropped;
  }

  #isDead(session: SessionRecord, now: number): boolean {
    return now > session.expiresAt.getTime() + RETAIN_EXPIRED_MS;
  }

  #drop(id: string): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    const ids = this.#byIdentity.get(session.identityId);
    ids?.delete(id);
    if (ids?.size === 0) this.#byIdentity.delete(session.identityId);
  }

  /** One bounded step of the lazy sweep (a Map iterator stays valid while entries are deleted). */
  #step(): void {
    const now = Date.now();
    if (this.#cursor === null) {
      if (now - this.#lastSweepStart < SWEEP_INTERVAL_MS || this.#sessions.size === 0) return;
      this.#lastSweepStart = now;
      this.#cursor = this.#sessions.entries();
    }
    for (let i = 0; i < SWEEP_STEP; i++) {
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = null;
        return;
      }
      const [id, session] = next.value;
      if (this.#isDead(session, now)) this.#drop(id);
    }
  }

  /**
   * Over the cap: drop every ended record of the identity (revoked or expired: they answer as signed out anyway),
   * then its oldest live ones down to the cap, never `keep`. One pass, plus one per live record over the cap (usually
   * none or one), so a sign-in at the cap costs no sort.
   */
  #trim(ids: Set<string>, keep: string): void {
    const now = Date.now();
    for (const id of ids) {
      const session = this.#sessions.get(id);
      if (session && !live(session, now)) this.#drop(id);
    }
    while (ids.size > this.maxPerIdentity) {
      let oldest: SessionRecord | undefined;
      for (const id of ids) {
        const session = this.#sessions.get(id);
        if (session && id !== keep && (!oldest || newestFirst(session, oldest) > 0)) oldest = session;
      }
      if (!oldest) return;
      this.#drop(oldest.id);
    }
  }
}
