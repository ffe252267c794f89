// The factory: options resolved once → an Express router with Kratos's passkey self-service routes.

import createDebug from 'debug';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { createAdmin, type PasskeysAdmin } from './admin/index.js';
import { createAdminRouter } from './admin/router.js';
import { HttpError } from './errors.js';
import { codeRenderer } from './flows/code-method.js';
import { getError, saveError } from './flows/error.js';
import { fetchFlow } from './flows/fetch.js';
import { initLogin, loginRenderer, submitLogin } from './flows/login.js';
import { createLogoutUrl, logout, logoutApi, whoami } from './flows/logout.js';
import { initRecovery, recovery, submitRecovery } from './flows/recovery.js';
import { initRegistration, registrationRenderer, submitRegistration } from './flows/registration.js';
import { isNativeRequest } from './flows/respond.js';
import {
  listMySessions,
  otherSessionsOf,
  revokeMyOtherSessions,
  revokeMySession,
  type SessionInfo,
} from './flows/sessions.js';
import {
  identityOf,
  initSettings,
  listPasskeysOf,
  type PasskeyInfo,
  settingsRenderer,
  submitSettings,
} from './flows/settings.js';
import { initVerification, submitVerification, verification, verifyByLink } from './flows/verification.js';
import { acceptsJson, isJsonSubmit, seeOther } from './http.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import {
  checkSession,
  MissingSessionMiddlewareError,
  type RequireSessionOptions,
  registerRouter,
  requireSessionOf,
} from './session.js';
import { type PasskeySignals, signalsOf } from './signals.js';
import { FlowVersionConflictError } from './store/errors.js';
import type { Identity } from './store/types.js';
import type { PasskeysOptions } from './types.js';
import { scriptIntegrity, WEBAUTHN_SCRIPT } from './ui/webauthn-script.js';

const log = createDebug('express-passkeys');

type Handler = (config: ResolvedOptions, req: Request, res: Response) => Promise<void>;

/** The router `passkeys()` returns, with helpers for the app's own pages. */
export interface PasskeysRouter extends Router {
  /** The passkeys of the signed-in identity (no key material); `[]` without a session. */
  listPasskeys(req: Request): Promise<PasskeyInfo[]>;
  /** The signed-in identity, or `null`. */
  getIdentity(req: Request): Promise<Identity | null>;
  /**
   * The signed-in identity's other sessions in force, newest first, with their devices (`[]` without a session): what
   * `GET /sessions` lists, for the app's own pages.
   */
  listSessions(req: Request): Promise<SessionInfo[]>;
  /**
   * What the app's own pages should signal to the browser's authenticators (WebAuthn Signal API) for the signed-in
   * identity: all its passkeys and its current display name; `{}` without a session. Render it as the value
   * (JSON) of a hidden input named `passkey_signal` on a page that loads `webauthn.js`.
   */
  signals(req: Request): Promise<PasskeySignals>;
  /**
   * `GET /.well-known/webauthn` (Related Origin Requests): `{ "origins": rp.relatedOrigins }` as JSON. Mount it at the
   * root of the `rp.id` host: `app.get('/.well-known/webauthn', auth.wellKnown)`.
   */
  wellKnown: RequestHandler;
  /**
   * {@link requireSession} for this router: the app's route passes only with a session in force in this router's
   * store. Prefer it to the free `requireSession()` when the process has several routers.
   */
  requireSession(options?: RequireSessionOptions): RequestHandler;
  /**
   * Administration in code (SPEC §8): identities (find, create with imported passkeys, disable, delete) and their
   * sessions, recovery codes for support staff. Typed; no HTTP and no authentication of its own.
   */
  admin: PasskeysAdmin;
  /**
   * A new router with Kratos's admin routes (`/admin/identities`, `/admin/sessions`, `/admin/recovery/code`), for Ory's
   * `IdentityApi`. **It has no authentication of its own**: mount it only behind the app's guard, never publicly.
   */
  adminRouter(): Router;
}

/**
 * Create the passkeys router: registration, login, sessions and logout with Ory Kratos's `passkey` flow API.
 * Mount it at any path, after express-session.
 *
 * @example
 * app.use(session({ secret, resave: false, saveUninitialized: false }));
 * app.use('/auth', passkeys({
 *   rp: { id: 'example.com', displayName: 'Example', origins: ['https://example.com'] },
 *   store: new MemoryStore(),
 * }));
 *
 * @throws TypeError when an option is missing or wrong, naming it and the fix.
 */
export function passkeys(options: PasskeysOptions): PasskeysRouter {
  const config = resolveOptions(options);
  const admin = createAdmin(config);
  const router = Object.assign(express.Router(), {
    admin,
    adminRouter: () => createAdminRouter(config, admin),
    listPasskeys: (req: Request) => listPasskeysOf(config, req),
    getIdentity: (req: Request) => identityOf(config, req),
    listSessions: (req: Request) => otherSessionsOf(config, req),
    signals: (req: Request) => signalsOf(config, req),
    wellKnown: wellKnownHandler(config.rp.relatedOrigins),
    requireSession: (opts?: RequireSessionOptions) => requireSessionOf(config, opts),
  });
  registerRouter(config);
  const limit = config.maxBodySize;
  const bodies = [
    express.json({ limit, type: ['application/json', 'application/*+json'] }),
    express.urlencoded({ extended: false, limit, parameterLimit: 200 }),
    refuseOtherBodies,
  ];
  const route = (handler: Handler) =>
    async function passkeysRoute(req: Request, res: Response, next: NextFunction) {
      try {
        await handler(config, req, res);
      } catch (error) {
        next(error);
      }
    };

  router.use(function noStore(_req: Request, res: Response, next: NextFunction) {
    res.set('Cache-Control', 'private, no-store');
    next();
  });

  // Every request's session (cookie or `X-Session-Token`) is checked against its record once, before any route.
  router.use(function checkPasskeysSession(req: Request, _res: Response, next: NextFunction) {
    if (req.headers['x-session-token'] === undefined && !req.session?.passkeys) {
      next();
      return;
    }
    checkSession(config, req).then(() => next(), next);
  });

  router.get('/self-service/registration/browser', route(initRegistration('browser')));
  router.get('/self-service/registration/api', route(initRegistration('api')));
  router.get('/self-service/registration/flows', route(fetchFlow('registration', registrationRenderer(config))));
  router.post('/self-service/registration', ...bodies, route(submitRegistration));

  router.get('/self-service/login/browser', route(initLogin('browser')));
  router.get('/self-service/login/api', route(initLogin('api')));
  router.get('/self-service/login/flows', route(fetchFlow('login', loginRenderer(config))));
  router.post('/self-service/login', ...bodies, route(submitLogin));

  router.get('/self-service/settings/browser', route(initSettings('browser')));
  router.get('/self-service/settings/api', route(initSettings('api')));
  router.get('/self-service/settings/flows', route(fetchFlow('settings', settingsRenderer(config))));
  router.post('/self-service/settings', ...bodies, route(submitSettings));

  // Recovery and verification by code: only with a courier (otherwise 404, as unknown routes).
  if (config.codes?.recovery.enabled) {
    router.get('/self-service/recovery/browser', route(initRecovery('browser')));
    router.get('/self-service/recovery/api', route(initRecovery('api')));
    router.get('/self-service/recovery/flows', route(fetchFlow('recovery', codeRenderer(config, recovery))));
    router.post('/self-service/recovery', ...bodies, route(submitRecovery));
  }
  if (config.codes?.verification.enabled) {
    router.get('/self-service/verification/browser', route(initVerification('browser')));
    router.get('/self-service/verification/api', route(initVerification('api')));
    router.get(
      '/self-service/verification/flows',
      route(fetchFlow('verification', codeRenderer(config, verification))),
    );
    router.get('/self-service/verification', route(verifyByLink));
    router.post('/self-service/verification', ...bodies, route(submitVerification));
  }

  router.get('/self-service/errors', route(getError));
  router.get('/sessions/whoami', route(whoami));
  router.get('/sessions', route(listMySessions));
  router.delete('/sessions', route(revokeMyOtherSessions));
  router.delete('/sessions/:id', route(revokeMySession));
  router.get('/self-service/logout/browser', route(createLogoutUrl));
  router.get('/self-service/logout', route(logout));
  router.delete('/self-service/logout/api', ...bodies, route(logoutApi));

  router.get('/.well-known/ory/webauthn.js', serveScript);
  router.get('/schemas/:id', function serveSchema(req: Request, res: Response) {
    if (req.params.id !== Buffer.from(config.schema.id).toString('base64url')) {
      const error = new HttpError(404, 'not_found', 'Unknown identity schema.');
      res.status(404).json(error.toJSON());
      return;
    }
    res.set('Cache-Control', 'public, max-age=300').json(config.schema.raw);
  });

  router.use(function passkeysErrors(error: unknown, req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) {
      next(error);
      return;
    }
    const http = toHttpError(error);
    const browser = !isNativeRequest(req) && !(req.method === 'GET' ? acceptsJson(req) : isJsonSubmit(req));
    if (http.id === 'session_already_available' && browser) {
      seeOther(req, res, config, config.urls.defaultReturnTo);
      return;
    }
    if (http.id === 'session_refresh_required' && browser && typeof http.extra.redirect_browser_to === 'string') {
      seeOther(req, res, config, http.extra.redirect_browser_to);
      return;
    }
    const errorUi = config.urls.ui.error;
    // Pages a browser navigates to: flow inits, the logout link, form posts. Not the JSON endpoints.
    const navigation =
      req.method === 'POST' ||
      /^\/self-service\/(registration|login|settings|recovery|verification)\/browser$/.test(req.path) ||
      req.path === '/self-service/verification' ||
      req.path === '/self-service/logout';
    if (browser && errorUi && navigation && http.code !== 410) {
      // Browsers go to the error page with the id of a stored error, as Kratos does.
      saveError(config, http).then(
        (id) => seeOther(req, res, config, `${errorUi}${errorUi.includes('?') ? '&' : '?'}id=${id}`),
        () => res.status(http.code).json(http.toJSON()),
      );
      return;
    }
    res.status(http.code).json(http.toJSON());
  });

  log('router ready for rp %s (%d origins)', config.rp.id, config.rp.origins.length);
  return router;
}

/** Map anything thrown to an answer: ours as is, body-parser's 4xx to 400/413/415, the rest to a logged 500. */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const status = (error as { status?: unknown; type?: unknown })?.status;
  const type = (error as { type?: unknown })?.type;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'The request body is too large.');
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return new HttpError(415, 'unsupported_media_type', 'The request body encoding is not supported.');
    }
    if (type === 'entity.parse.failed') return new HttpError(400, 'bad_request', 'The request body is not valid JSON.');
    return new HttpError(400, 'bad_request', 'The request could not be read.');
  }
  if (error instanceof FlowVersionConflictError) {
    return new HttpError(409, 'conflict', 'The flow was changed by a concurrent request. Fetch it again and retry.');
  }
  if (error instanceof MissingSessionMiddlewareError) {
    console.error(error.message);
    return new HttpError(500, 'internal_server_error', error.message);
  }
  console.error('express-passkeys: unexpected error', error);
  return new HttpError(500, 'internal_server_error', 'An unexpected error occurred.');
}

/** POST bodies must be JSON or a urlencoded form; anything else is a 415 rather than an empty body. */
function refuseOtherBodies(req: Request, _res: Response, next: NextFunction) {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is(['application/json', 'application/*+json', 'application/x-www-form-urlencoded'])) {
    next(new HttpError(415, 'unsupported_media_type', 'Send the body as application/json or a urlencoded form.'));
    return;
  }
  next();
}

/** `GET /.well-known/ory/webauthn.js`: the browser helper, loadable cross-origin (its SRI hash is in the flow). */
function serveScript(req: Request, res: Response) {
  const etag = `"${scriptIntegrity().slice(7, 39)}"`;
  res.set({
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'public, max-age=3600',
    'Access-Control-Allow-Origin': '*',
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'X-Content-Type-Options': 'nosniff',
    ETag: etag,
  });
  if (req.get('if-none-match') === etag) {
    res.status(304).end();
    return;
  }
  res.status(200).send(WEBAUTHN_SCRIPT);
}

/** The Related Origin Requests document: fixed at config time, cacheable (browsers fetch it before a ceremony). */
function wellKnownHandler(origins: string[]): RequestHandler {
  const body = JSON.stringify({ origins });
  return function passkeysWellKnown(_req: Request, res: Response) {
    res.set({ 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' });
    res.status(200).send(body);
  };
}
