// Session records: made at sign-in, grown at refresh, read (optionally cached) at every request, revoked in bulk.

import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request } from 'express';
import type { ResolvedOptions } from './options.js';
import type { SessionDevice, SessionMethod, SessionRecord } from './store/types.js';

/** How a sign-in was made: the method, and the passkey's credential id for passkey sign-ins. */
export interface SignIn {
  method: SessionMethod['method'];
  credentialId?: string;
}

/** Most methods and devices one record keeps (one of each per sign-in); refreshes beyond it drop old entries. */
export const MAX_SIGN_INS_PER_SESSION = 64;
/** A `User-Agent` longer than this is cut (a record must stay small). */
const MAX_USER_AGENT = 512;

/** Where this sign-in comes from (Kratos's `devices` entry): `req.ip` (trust proxy applies), user agent, location. */
export function deviceOf(req: Request): SessionDevice {
  const city = headerValue(req, 'cf-ipcity');
  const country = headerValue(req, 'cf-ipcountry');
  return {
    id: randomUUID(),
    ipAddress: addressOf(req),
    userAgent: (req.get('user-agent') ?? '').slice(0, MAX_USER_AGENT),
    location: [city, country].filter((part) => part !== '').join(', '),
  };
}

/**
 * The client's IP address: `req.ip`, so `trust proxy` applies. Under `trust proxy: true` that is the first
 * `X-Forwarded-For` entry, any text the client chose (of any length): when it is not an IP address, the peer's
 * address is kept instead.
 */
function addressOf(req: Request): string {
  const ip = req.ip;
  if (ip !== undefined && isIP(ip) !== 0) return ip;
  return req.socket?.remoteAddress ?? '';
}

/** A header's text: Node reads header bytes as latin1; UTF-8 (as Cloudflare sends city names) is decoded back. */
function headerValue(req: Request, name: string): string {
  const raw = (req.get(name) ?? '').trim().slice(0, 128);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: only plain ASCII needs no decoding.
  if (/^[\u0000-\u007f]*$/.test(raw)) return raw;
  const utf8 = Buffer.from(raw, 'latin1').toString('utf8');
  return utf8.includes('\ufffd') ? raw : utf8;
}

/** A new, active record for a sign-in now. */
export function newRecord(
  config: ResolvedOptions,
  req: Request,
  id: string,
  identityId: string,
  signIn: SignIn,
  now: number,
): SessionRecord {
  const at = new Date(now);
  return {
    id,
    identityId,
    active: true,
    issuedAt: at,
    authenticatedAt: at,
    expiresAt: new Date(now + config.lifespans.session),
    aal: 'aal1',
    methods: [methodOf(signIn, at)],
    devices: [deviceOf(req)],
  };
}

function methodOf(signIn: SignIn, at: Date): SessionMethod {
  return {
    method: signIn.method,
    aal: 'aal1',
    completedAt: at,
    ...(signIn.credentialId ? { credentialId: signIn.credentialId } : {}),
  };
}

/** The record after a refresh sign-in now: a new authentication time, one more method and device. */
export function refreshed(record: SessionRecord, req: Request, signIn: SignIn, now: number): SessionRecord {
  const at = new Date(now);
  return {
    ...record,
    authenticatedAt: at,
    methods: capMethods([...record.methods, methodOf(signIn, at)]),
    devices: capList([...record.devices, deviceOf(req)]),
  };
}

/** Keep the first entry and the latest ones. */
function capList<T>(list: T[]): T[] {
  return list.length <= MAX_SIGN_INS_PER_SESSION
    ? list
    : [list[0] as T, ...list.slice(list.length - MAX_SIGN_INS_PER_SESSION + 1)];
}

/**
 * Keep at most {@link MAX_SIGN_INS_PER_SESSION} methods, dropping first the old ones whose passkey a later entry names
 * too: every passkey that ever signed in on the session stays known (removing it must end the session).
 */
function capMethods(methods: SessionMethod[]): SessionMethod[] {
  const list = [...methods];
  while (list.length > MAX_SIGN_INS_PER_SESSION) {
    const repeated = list.findIndex(
      (m, i) => i > 0 && list.slice(i + 1).some((later) => later.credentialId === m.credentialId),
    );
    list.splice(repeated > 0 ? repeated : 1, 1);
  }
  return list;
}

/** Is the record a session in force: active, unexpired, of this identity? */
export function inForce(record: SessionRecord | null, identityId: string, now = Date.now()): record is SessionRecord {
  return record?.active === true && record.identityId === identityId && record.expiresAt.getTime() > now;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading, with the optional `sessionCheckCacheMs` cache (off by default: every read goes to the store).

/** Entries one configuration's cache holds at most. */
const CACHE_LIMIT = 10_000;
const caches = new WeakMap<ResolvedOptions, Map<string, { record: SessionRecord | null; until: number }>>();

/** The record with this id, from the store, or within `sessionCheckCacheMs` from this instance's last read. */
export async function readRecord(config: ResolvedOptions, id: string): Promise<SessionRecord | null> {
  const ttl = config.sessions.checkCacheMs;
  if (ttl <= 0) return config.store.getSession(id);
  let cache = caches.get(config);
  if (!cache) {
    cache = new Map();
    caches.set(config, cache);
  }
  const now = Date.now();
  const hit = cache.get(id);
  if (hit && hit.until > now) return hit.record;
  const record = await config.store.getSession(id);
  cache.delete(id);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(id, { record, until: now + ttl });
  return record;
}

/** Forget what this instance cached about these sessions (after it changed them). */
export function forgetRecords(config: ResolvedOptions, ids?: Iterable<string>): void {
  const cache = caches.get(config);
  if (!cache) return;
  if (ids === undefined) cache.clear();
  else for (const id of ids) cache.delete(id);
}

// ---------------------------------------------------------------------------------------------------------------
// Revoking in bulk.

/** Revoke every session of the identity but `exceptId`; returns how many were in force. */
export async function revokeOtherSessions(config: ResolvedOptions, identityId: string, exceptId?: string) {
  const count = await config.store.revokeSessions(identityId, exceptId);
  forgetRecords(config);
  return count;
}

/** Each session of the identity in force, newest first, one store page at a time. */
export async function* sessionsInForce(config: ResolvedOptions, identityId: string): AsyncGenerator<SessionRecord> {
  let after: { issuedAt: Date; id: string } | undefined;
  for (;;) {
    const page = await config.store.listSessions(identityId, { active: true, limit: 500, ...(after ? { after } : {}) });
    const now = Date.now();
    for (const record of page) if (inForce(record, identityId, now)) yield record;
    const last = page[page.length - 1];
    if (!last || page.length < 500) return;
    after = { issuedAt: last.issuedAt, id: last.id };
  }
}

/** Revoke the identity's sessions, but `exceptId`, on which any sign-in used this passkey. Returns how many. */
export async function revokeSessionsOfPasskey(
  config: ResolvedOptions,
  identityId: string,
  credentialId: string,
  exceptId?: string,
): Promise<number> {
  const targets: string[] = [];
  for await (const record of sessionsInForce(config, identityId)) {
    if (record.id !== exceptId && record.methods.some((m) => m.credentialId === credentialId)) targets.push(record.id);
  }
  let count = 0;
  for (const id of targets) if (await config.store.revokeSession(identityId, id)) count++;
  forgetRecords(config, targets);
  return count;
}
