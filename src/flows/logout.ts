// Sessions seen from outside: whoami, and logout (a URL with a token bound to the session, then revoke and destroy).

import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { HttpError, sessionInactive } from '../errors.js';
import { acceptsJson, baseUrl, checkReturnTo, queryParam, seeOther } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import {
  currentChecked,
  currentSession,
  currentSessionToken,
  destroySession,
  destroyTokenSession,
  sessionIdentityActive,
  sessionJson,
} from '../session.js';
import { bodyOf } from './bodies.js';
import { refuseBrowserContext } from './respond.js';

/** `GET /sessions/whoami`: the session (200) or 401 `session_inactive`. */
export async function whoami(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  currentSession(req); // a missing express-session is a setup error, not "no session"
  const session = currentChecked(req);
  const identity = session ? await config.store.getIdentity(session.data.identityId) : null;
  if (!session || !identity || !sessionIdentityActive(identity)) throw sessionInactive();
  res.set('Cache-Control', 'private, no-store');
  res.status(200).json(sessionJson(session.record, identity, baseUrl(req, config)));
}

/** `GET /self-service/logout/browser`: `{ logout_url, logout_token }` for the current session. */
export async function createLogoutUrl(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  refuseSessionToken(req);
  const data = currentSession(req);
  if (!data) throw sessionInactive();
  const returnTo = checkReturnTo(queryParam(req, 'return_to'), config);
  const query = new URLSearchParams({ token: data.logoutToken });
  if (returnTo) query.set('return_to', returnTo);
  res.set('Cache-Control', 'private, no-store');
  res.status(200).json({
    logout_url: `${baseUrl(req, config)}/self-service/logout?${query}`,
    logout_token: data.logoutToken,
  });
}

/** `GET /self-service/logout?token=`: end the session, then 303 to `return_to` (204 for JSON clients). */
export async function logout(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  refuseSessionToken(req);
  const token = queryParam(req, 'token');
  if (!token) throw new HttpError(400, 'bad_request', 'Please include a token in the URL query.');
  const returnTo = checkReturnTo(queryParam(req, 'return_to'), config);
  const data = currentSession(req);
  // Signed out already (a second click, another tab): 401, as the token is the session's and cannot be checked
  // without it. (Kratos's token is the CSRF cookie's and completes again; the session-bound token was kept.)
  if (!data) throw sessionInactive();
  if (!sameToken(token, data.logoutToken)) {
    throw new HttpError(
      403,
      'security_csrf_violation',
      'Unable to log out because the logout token in the URL query does not match the session cookie.',
    );
  }
  await destroySession(config, req);
  if (acceptsJson(req)) {
    res.status(204).end();
    return;
  }
  seeOther(req, res, config, returnTo ?? config.urls.defaultReturnTo);
}

/** Browser logout ends the cookie session; a native app's token session ends only through the API logout. */
function refuseSessionToken(req: Request): void {
  if (currentSessionToken(req)) {
    throw new HttpError(400, 'bad_request', 'Native apps log out with DELETE /self-service/logout/api.');
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `DELETE /self-service/logout/api` with `{ session_token }`: end a native app's session (204). */
export async function logoutApi(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  refuseBrowserContext(req);
  const token = bodyOf(req, 'logout').session_token as string;
  if (!(await destroyTokenSession(config, req, token))) {
    throw new HttpError(403, 'forbidden', 'Unable to log out because the session token is invalid.');
  }
  res.status(204).end();
}
