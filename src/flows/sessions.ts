// My sessions (Kratos's frontend session routes): list the identity's other sessions, revoke one, revoke all others.

import type { Request, Response } from 'express';
import { csrfViolation, HttpError, sessionInactive } from '../errors.js';
import { baseUrl, queryParams } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import {
  type CheckedSession,
  checkSession,
  currentChecked,
  currentSession,
  sessionIdentityActive,
  sessionJson,
} from '../session.js';
import { forgetRecords, inForce, revokeOtherSessions, sessionsInForce } from '../session-records.js';
import type { Identity } from '../store/types.js';

/** `page_size` of `GET /sessions`: Kratos's default and maximum. */
const DEFAULT_PAGE_SIZE = 250;
const MAX_PAGE_SIZE = 500;

/** A 400 with Kratos's own `message` and `debug` (as Kratos answers a revocation of the current session). */
class DebugError extends HttpError {
  constructor(
    readonly text: string,
    readonly debug: string,
  ) {
    super(400, 'bad_request', text);
  }
  override toJSON() {
    const body = super.toJSON();
    return { ...body, error: { ...body.error, message: this.text, debug: this.debug } };
  }
}

/** The session of the request, in force, with its identity (active); 401 `session_inactive` otherwise. */
async function mySession(
  config: ResolvedOptions,
  req: Request,
): Promise<{ session: CheckedSession; identity: Identity }> {
  currentSession(req); // a missing express-session is a setup error, not "no session"
  const session = currentChecked(req);
  if (!session) throw sessionInactive();
  const identity = await config.store.getIdentity(session.data.identityId);
  if (!identity || !sessionIdentityActive(identity)) throw sessionInactive();
  return { session, identity };
}

/**
 * No CSRF token on these routes (Kratos exempts them: Ory's SDK calls them with the cookie alone), but a browser that
 * says where a cookie-authenticated DELETE comes from must name one of `rp.origins` / `rp.relatedOrigins` (`null`
 * included: it is foreign). Native apps authenticate with `X-Session-Token`, which no other site can make a browser
 * send, and are exempt.
 */
function checkOrigin(config: ResolvedOptions, req: Request, session: CheckedSession): void {
  if (session.token) return;
  const origin = req.get('origin');
  if (origin !== undefined && !config.rp.allowedOrigins.includes(origin)) throw csrfViolation();
}

/** Where a page starts: after this session (exclusive) in the list's order. Opaque to clients. */
interface PageToken {
  issuedAt: Date;
  id: string;
}

function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify({ t: token.issuedAt.getTime(), i: token.id })).toString('base64url');
}

/** A token this list issued, or a 400: anything else (tampered, truncated, another encoding) is refused. */
function decodePageToken(value: unknown): PageToken | undefined {
  if (value === undefined) return undefined;
  const refuse = () => new HttpError(400, 'bad_request', 'The page_token is invalid: use the one a Link header gave.');
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw refuse();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const { t, i } = (parsed ?? {}) as { t?: unknown; i?: unknown };
  if (
    typeof t !== 'number' ||
    !Number.isSafeInteger(t) ||
    t < 0 ||
    typeof i !== 'string' ||
    !/^[0-9a-f-]{36}$/i.test(i) ||
    Object.keys(parsed as object).length !== 2
  ) {
    throw refuse();
  }
  const token = { issuedAt: new Date(t), id: i };
  if (encodePageToken(token) !== value) throw refuse();
  return token;
}

function pageSizeOf(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const size = typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) {
    throw new HttpError(400, 'bad_request', `page_size must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
  }
  return size;
}

/**
 * `GET /sessions`: the identity's other sessions in force (the current one excluded), newest first, in keyset pages
 * (`page_size`, `page_token`), with `X-Total-Count` and `Link` (`rel="first"`, and `rel="next"` while more remain).
 */
export async function listMySessions(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const { session, identity } = await mySession(config, req);
  const query = queryParams(req);
  const pageSize = pageSizeOf(query.page_size);
  const after = decodePageToken(query.page_token);
  const current = session.record.id;
  const now = Date.now();
  // One more than the page, plus the current session which is left out: enough to know whether more remain.
  const records = await config.store.listSessions(identity.id, {
    active: true,
    limit: pageSize + 2,
    ...(after ? { after } : {}),
  });
  const others = records.filter((r) => r.id !== current && inForce(r, identity.id, now));
  const page = others.slice(0, pageSize);
  let total = 0;
  for await (const record of sessionsInForce(config, identity.id)) if (record.id !== current) total++;

  const base = `${baseUrl(req, config)}/sessions`;
  const links = [`<${base}?${new URLSearchParams({ page_size: String(pageSize) })}>; rel="first"`];
  const last = page[page.length - 1];
  if (others.length > pageSize && last) {
    const next = new URLSearchParams({ page_size: String(pageSize), page_token: encodePageToken(last) });
    links.push(`<${base}?${next}>; rel="next"`);
  }
  const origin = baseUrl(req, config);
  res.set({ 'X-Total-Count': String(total), Link: links.join(','), 'Cache-Control': 'private, no-store' });
  res.status(200).json(page.map((record) => sessionJson(record, identity, origin)));
}

/**
 * `DELETE /sessions/{id}`: revoke one of the identity's other sessions (204). The current one: 400 (use the logout
 * flow). An unknown, revoked or another identity's id: 204, and nothing changes.
 */
export async function revokeMySession(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const { session, identity } = await mySession(config, req);
  checkOrigin(config, req, session);
  const id = String(req.params.id ?? '');
  if (id === session.record.id) throw new DebugError('cannot revoke current session', 'use the logout flow instead');
  // Scoped by identity in the store: another identity's session is never touched.
  if (id.length <= 256 && (await config.store.revokeSession(identity.id, id))) forgetRecords(config, [id]);
  res.status(204).end();
}

/** `DELETE /sessions`: revoke every other session of the identity; 200 `{ count }` of those that were in force. */
export async function revokeMyOtherSessions(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const { session, identity } = await mySession(config, req);
  checkOrigin(config, req, session);
  const count = await revokeOtherSessions(config, identity.id, session.record.id);
  res.status(200).json({ count });
}

/** One of the signed-in identity's other sessions, as `auth.listSessions(req)` gives it to the app (no credential ids). */
export interface SessionInfo {
  id: string;
  issuedAt: Date;
  authenticatedAt: Date;
  expiresAt: Date;
  /** Every sign-in on the session, oldest first. */
  methods: { method: 'passkey' | 'code_recovery'; completedAt: Date }[];
  /** Where each sign-in came from, oldest first. */
  devices: { id: string; ipAddress: string; userAgent: string; location: string }[];
}

/** The request's identity's other sessions in force, newest first (`[]` without a session): `auth.listSessions(req)`. */
export async function otherSessionsOf(config: ResolvedOptions, req: Request): Promise<SessionInfo[]> {
  const session = await checkSession(config, req);
  if (!session) return [];
  const list: SessionInfo[] = [];
  for await (const record of sessionsInForce(config, session.record.identityId)) {
    if (record.id === session.record.id) continue;
    list.push({
      id: record.id,
      issuedAt: record.issuedAt,
      authenticatedAt: record.authenticatedAt,
      expiresAt: record.expiresAt,
      methods: record.methods.map((m) => ({ method: m.method, completedAt: m.completedAt })),
      devices: record.devices.map((d) => ({ ...d })),
    });
  }
  return list;
}
