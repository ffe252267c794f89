// Sessions: cookie and token pointers at store records, checked at every request; issue, refresh, end; Kratos JSON.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { addressesJson } from './addresses.js';
import { type HttpError, sessionInactive } from './errors.js';
import { isActive, stateOf } from './identities.js';
import type { ResolvedOptions } from './options.js';
import { forgetRecords, inForce, newRecord, readRecord, refreshed, type SignIn } from './session-records.js';
import type { Identity, SessionRecord } from './store/types.js';
import type { PasskeysSessionData } from './types.js';

/** Thrown when express-session is not mounted before the router: a setup mistake, answered with a 500 and a hint. */
export class MissingSessionMiddlewareError extends Error {
  constructor() {
    super(
      'express-passkeys: `req.session` is undefined. Did you forget to use express-session middleware before the passkeys router? `app.use(session({ secret, resave: false, saveUninitialized: false }))`',
    );
    this.name = 'MissingSessionMiddlewareError';
  }
}

function sessionOf(req: Request) {
  if (!req.session) throw new MissingSessionMiddlewareError();
  return req.session;
}

/** A session read from the request (cookie or `X-Session-Token`) whose record in the store is in force. */
export interface CheckedSession {
  /** The pointer (express-session data or the token's), its times refreshed from the record. */
  data: PasskeysSessionData;
  /** The record in the store, as read for this request. */
  record: SessionRecord;
  /** The native app's session token, when the session came from `X-Session-Token`. */
  token?: string;
}

/** What {@link checkSession} found for each request: a session in force, or `null` (none, or not in force). */
const checked = new WeakMap<Request, CheckedSession | null>();

function pointer(data: unknown): PasskeysSessionData | undefined {
  const value = data as PasskeysSessionData | undefined;
  if (!value || typeof value !== 'object' || typeof value.identityId !== 'string' || typeof value.id !== 'string') {
    return undefined;
  }
  return value;
}

/**
 * Find the request's session (a native app's `X-Session-Token` first, else the session cookie) and check its record in
 * the store: it must exist, be active, unexpired and of the same identity; otherwise the request has no session.
 * Once per request (the result is kept); never creates a session.
 */
export async function checkSession(config: ResolvedOptions, req: Request): Promise<CheckedSession | null> {
  const known = checked.get(req);
  if (known !== undefined) return known;
  let found: { data: PasskeysSessionData; token?: string } | undefined;
  const header = req.get('x-session-token');
  if (header && header.length <= 256 && req.sessionStore) {
    const data = pointer((await readTokenEntry(req, header))?.passkeys);
    if (data) found = { data, token: header };
  }
  if (!found) {
    const data = pointer(req.session?.passkeys);
    if (data) found = { data };
  }
  let result: CheckedSession | null = null;
  if (found) {
    const record = await readRecord(config, found.data.id);
    if (inForce(record, found.data.identityId)) result = { ...found, record, data: withTimes(found.data, record) };
  }
  if (!checked.has(req)) checked.set(req, result);
  return checked.get(req) ?? null;
}

/** The pointer with the record's times (a refresh or an admin's extend on another instance shows at once). */
function withTimes(data: PasskeysSessionData, record: SessionRecord): PasskeysSessionData {
  return {
    ...data,
    authenticatedAt: record.authenticatedAt.getTime(),
    issuedAt: record.issuedAt.getTime(),
    expiresAt: record.expiresAt.getTime(),
  };
}

/**
 * The request's session, as checked by {@link checkSession} (the router checks every request first), or undefined.
 * Reading never creates a session.
 */
export function currentSession(req: Request): PasskeysSessionData | undefined {
  const session = checked.get(req);
  if (!session?.token) sessionOf(req);
  return session?.data;
}

/** The checked session with its record, or undefined. */
export function currentChecked(req: Request): CheckedSession | undefined {
  return checked.get(req) ?? undefined;
}

/** The session token the request authenticated with, if it is a native app's. */
export function currentSessionToken(req: Request): string | undefined {
  return checked.get(req)?.token;
}

/**
 * Whether an identity may hold a session: not disabled (`state: 'inactive'`). Where a route loads the identity
 * anyway (whoami, settings, `auth.getIdentity`), an inactive one counts as no session.
 */
export function sessionIdentityActive(identity: Identity): boolean {
  return isActive(identity);
}

// Native-app sessions live in the app's express-session store too, under an id derived from the token, so
// every instance sharing that store (Redis, PostgreSQL) knows them. The token itself is never stored.
const tokenSid = (token: string) => `passkeys-token:${createHash('sha256').update(token).digest('base64url')}`;

function storeOf(req: Request) {
  if (!req.sessionStore) throw new MissingSessionMiddlewareError();
  return req.sessionStore;
}

function readTokenEntry(req: Request, token: string): Promise<{ passkeys?: unknown } | null> {
  return new Promise((resolve, reject) =>
    storeOf(req).get(tokenSid(token), (err: unknown, value?: unknown) =>
      err ? reject(err) : resolve((value as { passkeys?: unknown } | null | undefined) ?? null),
    ),
  );
}

function saveTokenSession(req: Request, token: string, data: PasskeysSessionData): Promise<void> {
  const expires = new Date(data.expiresAt);
  const record = {
    cookie: { originalMaxAge: data.expiresAt - Date.now(), expires, httpOnly: true, path: '/' },
    passkeys: data,
  };
  return new Promise((resolve, reject) =>
    storeOf(req).set(tokenSid(token), record as never, (err?: unknown) => (err ? reject(err) : resolve())),
  );
}

/**
 * The record of a sign-in: for a refresh of `previous` (same identity), its record with one more method and device;
 * otherwise a new record. Written to the store before the cookie or token points at it.
 */
async function recordSignIn(
  config: ResolvedOptions,
  req: Request,
  identityId: string,
  signIn: SignIn,
  previous: CheckedSession | undefined,
  now: number,
): Promise<{ record: SessionRecord; refresh: boolean }> {
  if (previous && previous.data.identityId === identityId) {
    const record = refreshed(previous.record, req, signIn, now);
    if (await config.store.updateSession(record)) {
      forgetRecords(config, [record.id]);
      return { record, refresh: true };
    }
  }
  const record = newRecord(config, req, randomUUID(), identityId, signIn, now);
  await config.store.createSession(record);
  return { record, refresh: false };
}

/** Sign a native app in: a new session and its token (or, for a refresh, the same token with a new auth time). */
export async function issueTokenSession(
  config: ResolvedOptions,
  req: Request,
  identityId: string,
  signIn: SignIn,
): Promise<CheckedSession & { token: string }> {
  const now = Date.now();
  const previous = currentChecked(req);
  const ofToken = previous?.token ? previous : undefined;
  const { record, refresh } = await recordSignIn(config, req, identityId, signIn, ofToken, now);
  const token = refresh && ofToken?.token ? ofToken.token : `ory_st_${randomBytes(32).toString('base64url')}`;
  const data = refresh && ofToken ? { ...ofToken.data, authenticatedAt: now } : newSessionData(record, signIn.method);
  await saveTokenSession(req, token, data);
  const session = { data, record, token };
  checked.set(req, session);
  return session;
}

/** End a native app's session by its token: its record is revoked. Returns false when the token names no session. */
export async function destroyTokenSession(config: ResolvedOptions, req: Request, token: string): Promise<boolean> {
  const store = storeOf(req);
  const entry = await readTokenEntry(req, token);
  if (!entry) return false;
  const data = pointer(entry.passkeys);
  if (data) {
    await config.store.revokeSession(data.identityId, data.id);
    forgetRecords(config, [data.id]);
  }
  const sid = tokenSid(token);
  await new Promise<void>((resolve, reject) => store.destroy(sid, (err?: unknown) => (err ? reject(err) : resolve())));
  return true;
}

function newSessionData(record: SessionRecord, method: SignIn['method']): PasskeysSessionData {
  return {
    ...(method !== 'passkey' ? { method } : {}),
    id: record.id,
    identityId: record.identityId,
    authenticatedAt: record.authenticatedAt.getTime(),
    issuedAt: record.issuedAt.getTime(),
    expiresAt: record.expiresAt.getTime(),
    logoutToken: randomBytes(24).toString('base64url'),
  };
}

/**
 * Sign in: record the sign-in, regenerate the session id (no fixation), store the pointer, cap the cookie's lifetime,
 * save. A refresh (`previous` of the same identity) keeps the session's id and issue time but moves `authenticatedAt`.
 */
export async function issueSession(
  config: ResolvedOptions,
  req: Request,
  identityId: string,
  signIn: SignIn,
  previous?: CheckedSession,
): Promise<CheckedSession> {
  const session = sessionOf(req);
  const now = Date.now();
  const { record, refresh } = await recordSignIn(config, req, identityId, signIn, previous, now);
  await new Promise<void>((resolve, reject) => session.regenerate((err) => (err ? reject(err) : resolve())));
  // A refresh re-authenticates with a passkey: the session is a passkey session from then on.
  const data: PasskeysSessionData =
    refresh && previous
      ? { ...withoutMethod(previous.data), authenticatedAt: now }
      : newSessionData(record, signIn.method);
  req.session.passkeys = data;
  req.session.cookie.maxAge = Math.max(1000, record.expiresAt.getTime() - now);
  await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
  const checkedSession = { data, record };
  checked.set(req, checkedSession);
  return checkedSession;
}

function withoutMethod({ method: _, ...rest }: PasskeysSessionData): PasskeysSessionData {
  return rest;
}

/** End the cookie session: revoke its record, then destroy it in the session store. */
export async function destroySession(config: ResolvedOptions, req: Request): Promise<void> {
  const session = sessionOf(req);
  const data = pointer(session.passkeys);
  if (data) {
    await config.store.revokeSession(data.identityId, data.id);
    forgetRecords(config, [data.id]);
  }
  checked.set(req, null);
  await new Promise<void>((resolve, reject) => session.destroy((err) => (err ? reject(err) : resolve())));
}

/**
 * End a session this request just issued (its identity turned out inactive): the record is revoked, and the cookie
 * session destroyed or the token forgotten; the request has no session from then on.
 */
export async function endIssuedSession(config: ResolvedOptions, req: Request, session: CheckedSession): Promise<void> {
  if (session.token) {
    await destroyTokenSession(config, req, session.token);
    checked.set(req, null);
  } else {
    await destroySession(config, req);
  }
}

/** base64url of each schema id seen (a handful per app), for `schema_url`. */
const schemaPaths = new Map<string, string>();

function schemaPath(schemaId: string): string {
  let path = schemaPaths.get(schemaId);
  if (path === undefined) {
    path = `/schemas/${Buffer.from(schemaId).toString('base64url')}`;
    if (schemaPaths.size < 64) schemaPaths.set(schemaId, path);
  }
  return path;
}

/** Identity JSON as Kratos shapes it (no credentials, no `metadata_admin`: what the identity itself may see). */
export function identityJson(identity: Identity, base: string) {
  return {
    id: identity.id,
    schema_id: identity.schemaId,
    schema_url: `${base}${schemaPath(identity.schemaId)}`,
    state: stateOf(identity),
    ...(identity.stateChangedAt ? { state_changed_at: identity.stateChangedAt.toISOString() } : {}),
    traits: identity.traits,
    ...addressesJson(identity),
    metadata_public: identity.metadataPublic ?? null,
    created_at: identity.createdAt.toISOString(),
    updated_at: identity.updatedAt.toISOString(),
  };
}

/** Session JSON as Kratos shapes it, from its record (`devices` included; credential ids never). */
export function sessionJson(record: SessionRecord, identity: Identity, base: string) {
  return {
    id: record.id,
    active: record.active && record.expiresAt.getTime() > Date.now(),
    expires_at: record.expiresAt.toISOString(),
    authenticated_at: record.authenticatedAt.toISOString(),
    issued_at: record.issuedAt.toISOString(),
    authenticator_assurance_level: record.aal,
    authentication_methods: record.methods.map((m) => ({
      method: m.method,
      aal: m.aal,
      completed_at: m.completedAt.toISOString(),
    })),
    devices: record.devices.map((d) => ({
      id: d.id,
      ip_address: d.ipAddress,
      user_agent: d.userAgent,
      location: d.location,
    })),
    identity: identityJson(identity, base),
  };
}

/** Options of {@link requireSession}. */
export interface RequireSessionOptions {
  /**
   * Where to send browsers (requests that do not accept JSON) without a session, e.g. your login page. Unset: they
   * get the 401 JSON like API clients.
   */
  redirectTo?: string;
}

/**
 * Middleware for the app's own routes: lets the request through when it carries a passkeys session in force (its
 * record in the store is active and unexpired), from the session cookie or a native app's `X-Session-Token` (then
 * `res.locals.passkeysSession` holds it), and answers 401 `session_inactive` (or redirects browsers) otherwise.
 * It checks the session with the store of the `passkeys()` router made last in this process (or, when the session is
 * not found there, of the others); `auth.requireSession()` names the router explicitly.
 *
 * @example
 * app.get('/account', requireSession(), (req, res) => res.send(res.locals.passkeysSession?.identityId));
 */
export function requireSession(options: RequireSessionOptions = {}): RequestHandler {
  return guard(options, (req) => resolveAnySession(req));
}

/** {@link requireSession} bound to one router's configuration (`auth.requireSession()`). */
export function requireSessionOf(config: ResolvedOptions, options: RequireSessionOptions = {}): RequestHandler {
  return guard(options, (req) => resolveSession(config, req));
}

function guard(
  options: RequireSessionOptions,
  resolve: (req: Request) => Promise<PasskeysSessionData | undefined>,
): RequestHandler {
  return async function requirePasskeysSession(req: Request, res: Response, next: NextFunction) {
    let data: PasskeysSessionData | undefined;
    try {
      data = await resolve(req);
    } catch (error) {
      next(error);
      return;
    }
    if (data) {
      // One place for the app to read it, whether it came from the cookie or a native app's `X-Session-Token`.
      res.locals.passkeysSession = data;
      next();
      return;
    }
    const wantsJson = (req.get('accept') ?? '').includes('application/json');
    if (options.redirectTo && !wantsJson) {
      res.redirect(303, options.redirectTo);
      return;
    }
    const error: HttpError = sessionInactive();
    res.status(error.code).json(error.toJSON());
  };
}

/** {@link checkSession} for the app's own routes, outside the router: the session in force, or undefined. */
export async function resolveSession(config: ResolvedOptions, req: Request): Promise<PasskeysSessionData | undefined> {
  const session = await checkSession(config, req);
  if (!session?.token && !req.session) throw new MissingSessionMiddlewareError();
  return session?.data;
}

// The configurations of the `passkeys()` routers of this process (held weakly), for the free `requireSession()`.
const routers: WeakRef<ResolvedOptions>[] = [];

/** Remember a router's configuration for {@link requireSession}. */
export function registerRouter(config: ResolvedOptions): void {
  for (let i = routers.length - 1; i >= 0; i--) if (!routers[i]?.deref()) routers.splice(i, 1);
  routers.push(new WeakRef(config));
}

/**
 * The request's session checked against the last router's store; when its record is not there (another router's
 * session), against the others'. A store that fails answers for the last router only (the others are skipped).
 */
async function resolveAnySession(req: Request): Promise<PasskeysSessionData | undefined> {
  const configs = routers.map((ref) => ref.deref()).filter((c): c is ResolvedOptions => c !== undefined);
  const last = configs.pop();
  if (!last) {
    throw new Error('express-passkeys: requireSession() needs a passkeys() router; create it before serving requests.');
  }
  const found = await resolveSession(last, req);
  if (found || configs.length === 0 || !hasPointer(req)) return found;
  for (const config of configs.reverse()) {
    checked.delete(req);
    try {
      const other = await checkSession(config, req);
      if (other) return other.data;
    } catch {
      // Not this router's store.
    }
  }
  checked.set(req, null);
  return undefined;
}

function hasPointer(req: Request): boolean {
  return pointer(req.session?.passkeys) !== undefined || req.get('x-session-token') !== undefined;
}
