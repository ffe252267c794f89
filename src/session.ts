// Sessions on express-session: issue (regenerated, no fixation), read, refresh, end, and their Kratos JSON.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { addressesJson } from './addresses.js';
import { type HttpError, sessionInactive } from './errors.js';
import { stateOf } from './identities.js';
import type { Identity } from './store/types.js';
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

/** Native-app sessions found by their `X-Session-Token` for this request (see {@link loadTokenSession}). */
const tokenSessions = new WeakMap<Request, { token: string; data: PasskeysSessionData }>();

function valid(data: PasskeysSessionData | undefined): PasskeysSessionData | undefined {
  if (!data || typeof data !== 'object' || typeof data.identityId !== 'string') return undefined;
  return data.expiresAt > Date.now() ? data : undefined;
}

/**
 * The current, unexpired passkeys session (from the `X-Session-Token` of a native app, or the session cookie), or
 * undefined. Reading never creates a session.
 */
export function currentSession(req: Request): PasskeysSessionData | undefined {
  const byToken = tokenSessions.get(req);
  if (byToken) return valid(byToken.data);
  return valid(sessionOf(req).passkeys);
}

/** The session token the request authenticated with, if it is a native app's. */
export function currentSessionToken(req: Request): string | undefined {
  return tokenSessions.get(req)?.token;
}

// Native-app sessions live in the app's express-session store too, under an id derived from the token, so
// every instance sharing that store (Redis, PostgreSQL) knows them. The token itself is never stored.
const tokenSid = (token: string) => `passkeys-token:${createHash('sha256').update(token).digest('base64url')}`;

function storeOf(req: Request) {
  if (!req.sessionStore) throw new MissingSessionMiddlewareError();
  return req.sessionStore;
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
 * Load the session named by `X-Session-Token` (native apps), if the request carries one, so that
 * {@link currentSession} sees it. Invalid or expired tokens simply leave the request without a session.
 */
export async function loadTokenSession(req: Request): Promise<void> {
  const header = req.get('x-session-token');
  if (tokenSessions.has(req)) return;
  if (!header || header.length > 256) return;
  const record = await new Promise<{ passkeys?: PasskeysSessionData } | null | undefined>((resolve, reject) =>
    storeOf(req).get(tokenSid(header), (err: unknown, value?: unknown) =>
      err ? reject(err) : resolve(value as { passkeys?: PasskeysSessionData } | null),
    ),
  );
  const data = valid(record?.passkeys);
  if (data) tokenSessions.set(req, { token: header, data });
}

/** Sign a native app in: a new session and its token (or, for a refresh, the same token with a new auth time). */
export async function issueTokenSession(
  req: Request,
  identityId: string,
  lifespan: number,
  method?: PasskeysSessionData['method'],
): Promise<{ token: string; data: PasskeysSessionData }> {
  const now = Date.now();
  const previous = tokenSessions.get(req);
  if (previous && previous.data.identityId === identityId) {
    const data = { ...withoutMethod(previous.data), authenticatedAt: now };
    await saveTokenSession(req, previous.token, data);
    return { token: previous.token, data };
  }
  const token = `ory_st_${randomBytes(32).toString('base64url')}`;
  const data = newSessionData(identityId, lifespan, now, method);
  await saveTokenSession(req, token, data);
  return { token, data };
}

/** End a native app's session by its token. Returns false when the token names no session. */
export async function destroyTokenSession(req: Request, token: string): Promise<boolean> {
  const store = storeOf(req);
  const sid = tokenSid(token);
  const exists = await new Promise<boolean>((resolve, reject) =>
    store.get(sid, (err: unknown, value?: unknown) => (err ? reject(err) : resolve(Boolean(value)))),
  );
  if (!exists) return false;
  await new Promise<void>((resolve, reject) => store.destroy(sid, (err?: unknown) => (err ? reject(err) : resolve())));
  return true;
}

/** A refresh re-authenticates with a passkey: the session is a passkey session from then on. */
function withoutMethod({ method: _, ...rest }: PasskeysSessionData): PasskeysSessionData {
  return rest;
}

function newSessionData(
  identityId: string,
  lifespan: number,
  now: number,
  method?: PasskeysSessionData['method'],
): PasskeysSessionData {
  return {
    ...(method && method !== 'passkey' ? { method } : {}),
    id: randomUUID(),
    identityId,
    authenticatedAt: now,
    issuedAt: now,
    expiresAt: now + lifespan,
    logoutToken: randomBytes(24).toString('base64url'),
  };
}

/**
 * Sign in: regenerate the session id (no fixation), store the passkeys session, cap the cookie's lifetime, save.
 * A refresh keeps the session's id and issue time but moves `authenticatedAt`.
 */
export async function issueSession(
  req: Request,
  identityId: string,
  lifespan: number,
  previous?: PasskeysSessionData,
  method?: PasskeysSessionData['method'],
): Promise<PasskeysSessionData> {
  const session = sessionOf(req);
  await new Promise<void>((resolve, reject) => session.regenerate((err) => (err ? reject(err) : resolve())));
  const now = Date.now();
  const data: PasskeysSessionData =
    previous && previous.identityId === identityId
      ? { ...withoutMethod(previous), authenticatedAt: now }
      : newSessionData(identityId, lifespan, now, method);
  req.session.passkeys = data;
  req.session.cookie.maxAge = Math.max(1000, data.expiresAt - now);
  await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
  return data;
}

/** End the session: destroy it in the session store. */
export async function destroySession(req: Request): Promise<void> {
  const session = sessionOf(req);
  await new Promise<void>((resolve, reject) => session.destroy((err) => (err ? reject(err) : resolve())));
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

/** Session JSON as Kratos shapes it. */
export function sessionJson(data: PasskeysSessionData, identity: Identity, base: string) {
  const authenticatedAt = new Date(data.authenticatedAt).toISOString();
  return {
    id: data.id,
    active: true,
    expires_at: new Date(data.expiresAt).toISOString(),
    authenticated_at: authenticatedAt,
    issued_at: new Date(data.issuedAt).toISOString(),
    authenticator_assurance_level: 'aal1' as const,
    authentication_methods: [{ method: data.method ?? 'passkey', aal: 'aal1' as const, completed_at: authenticatedAt }],
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
 * Middleware for the app's own routes: lets the request through when it carries a valid passkeys session, from the
 * session cookie or a native app's `X-Session-Token` (then `res.locals.passkeysSession` holds it), and answers 401
 * `session_inactive` (or redirects browsers) otherwise.
 *
 * @example
 * app.get('/account', requireSession(), (req, res) => res.send(req.session.passkeys?.identityId));
 */
export function requireSession(options: RequireSessionOptions = {}): RequestHandler {
  return async function requirePasskeysSession(req: Request, res: Response, next: NextFunction) {
    let data: PasskeysSessionData | undefined;
    try {
      data = await resolveSession(req);
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

/** {@link currentSession} for the app's own routes, outside the router: loads a native app's token session first. */
export async function resolveSession(req: Request): Promise<PasskeysSessionData | undefined> {
  if (req.headers['x-session-token'] !== undefined) await loadTokenSession(req);
  return currentSession(req);
}
