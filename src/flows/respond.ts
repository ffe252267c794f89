// How flow routes answer: flow JSON or a 303 to the UI, errors as Kratos bodies, success redirects, hooks.

import createDebug from 'debug';
import type { Request, Response } from 'express';
import { csrfViolation, HttpError, sessionAlreadyAvailable } from '../errors.js';
import {
  acceptsJson,
  baseUrl,
  checkReturnTo,
  csrfToken,
  csrfValid,
  isJsonSubmit,
  queryParams,
  seeOther,
  withFlow,
} from '../http.js';
import { isActive } from '../identities.js';
import type { ResolvedOptions } from '../options.js';
import { type CheckedSession, currentSession, endIssuedSession, issueSession, issueTokenSession } from '../session.js';
import { inForce, type SignIn } from '../session-records.js';
import { refusedCredentialId } from '../signals.js';
import type { JsonValue } from '../store/types.js';
import type { UiText } from '../ui/messages.js';
import { claimFlow } from './binding.js';
import { bodyOf } from './bodies.js';
import {
  expiredFlowError,
  type Flow,
  type FlowKind,
  type FlowRenderer,
  isExpired,
  renderFlow,
  saveFlow,
  setMessages,
} from './flow.js';

const log = createDebug('express-passkeys:flow');

/** The UI page configured for a flow kind, if any. */
export function uiUrl(config: ResolvedOptions, kind: FlowKind): string | undefined {
  return config.urls.ui[kind];
}

/** Answer a flow init: JSON (asked for, or no UI page configured) or 303 to the UI page with `?flow=`. */
export async function answerInit(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  renderer: FlowRenderer,
): Promise<void> {
  const ui = uiUrl(config, flow.data.kind);
  if (flow.data.type === 'browser' && ui && !acceptsJson(req)) {
    csrfToken(req, res, flow.id); // sets the CSRF cookie on this response when the browser has none
    seeOther(req, res, config, withFlow(ui, flow.id));
    return;
  }
  res.status(200).json(await renderFlow(config, req, res, flow, renderer));
}

/**
 * Answer a submit that did not complete the flow (validation or ceremony error, or a step such as the profile
 * step): save the flow with its messages, then JSON with `status`, or for form posts a 303 to the UI page (the
 * flow JSON with `status` when no UI page is configured).
 */
export async function answerFlow(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  renderer: FlowRenderer,
  status: number,
): Promise<void> {
  await saveFlow(config, flow);
  await showFlow(config, req, res, flow, renderer, status);
}

/** {@link answerFlow} for a flow saved already. */
export async function showFlow(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  renderer: FlowRenderer,
  status: number,
): Promise<void> {
  const ui = uiUrl(config, flow.data.kind);
  if (!isJsonSubmit(req) && ui && flow.data.type === 'browser') {
    seeOther(req, res, config, withFlow(ui, flow.id));
    return;
  }
  res.status(status).json(await renderFlow(config, req, res, flow, renderer));
}

/**
 * Finish a successful login or registration: JSON body, or a 303 to `return_to` / `urls.defaultReturnTo` (or to
 * `browserTo`, where the flow continues in another flow's page).
 * A browser flow with a `return_to` answered as JSON says where to go next in `continue_with`, as Kratos does, so
 * that UIs such as Ory Elements keep the `return_to` (without one, `continue_with` stays `[]`).
 */
export function answerSuccess(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  body: Record<string, unknown>,
  browserTo?: string,
): void {
  if (isJsonSubmit(req) || flow.data.type === 'api') {
    const returnTo = flow.data.returnTo;
    if (flow.data.type === 'browser' && returnTo) {
      const target = new URL(returnTo, `${baseUrl(req, config)}/`).href;
      const next = Array.isArray(body.continue_with) ? body.continue_with : [];
      body.continue_with = [...next, { action: 'redirect_browser_to', redirect_browser_to: target }];
    }
    res.status(200).json(body);
    return;
  }
  seeOther(req, res, config, browserTo ?? flow.data.returnTo ?? config.urls.defaultReturnTo);
}

/**
 * The checks every submit starts with: not expired (410, or for form posts a 303 to the successor flow), a valid
 * CSRF token for browser flows (403), and, where `anonymousOnly`, no session yet (400).
 */
export async function checkSubmit(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  opts: { body: Record<string, unknown>; expiredMessage: (at: Date) => UiText },
): Promise<boolean> {
  if (isExpired(flow)) {
    const { error, successor } = await expiredFlowError(config, flow);
    setMessages(successor, [opts.expiredMessage(flow.expiresAt)]);
    // Signal API: a passkey created for the expired flow (the person sat at the browser's dialog past its lifespan)
    // is not stored; the flow that replaces it names it, so that the browser's passkey manager drops it.
    const created = opts.body.passkey_register || opts.body.passkey_settings_register;
    if (created) successor.data.unknownCredential = await refusedCredentialId(config, created);
    await saveFlow(config, successor);
    // Browser form posts go on with the new flow: its UI page, or without one its JSON.
    if (!isJsonSubmit(req) && flow.data.type === 'browser') {
      const ui = uiUrl(config, flow.data.kind);
      const next = ui
        ? withFlow(ui, successor.id)
        : `${baseUrl(req, config)}/self-service/${flow.data.kind}/flows?id=${successor.id}`;
      seeOther(req, res, config, next);
      return false;
    }
    throw error;
  }
  if (flow.data.type === 'api') refuseBrowserContext(req);
  else if (!sameOrigin(req, config) || !csrfValid(req, flow.id, opts.body.csrf_token)) throw csrfViolation();
  else await claimFlow(config, req, res, flow);
  return true;
}

const nativeRequests = new WeakSet<Request>();

/**
 * The body submitted to a flow, checked as {@link bodyOf} does. A submit to an API flow is a native app's from here
 * on: even a body refused here is answered with JSON, never redirected to an error page.
 */
export function flowBodyOf(req: Request, flow: Flow, kind: Parameters<typeof bodyOf>[1]): Record<string, unknown> {
  if (flow.data.type === 'api') nativeRequests.add(req);
  return bodyOf(req, kind);
}

/** Was this request made to an API flow (answered with JSON, never redirected)? */
export function isNativeRequest(req: Request): boolean {
  return nativeRequests.has(req) || req.headers['x-session-token'] !== undefined;
}

/**
 * A browser that says where the post comes from (`Origin`) must name one of `rp.origins` or `rp.relatedOrigins`: a
 * second line of defence after the CSRF token, against a planted CSRF cookie, for instance. Requests without `Origin`
 * (older browsers, server-side UIs) rely on the token alone.
 */
function sameOrigin(req: Request, config: ResolvedOptions): boolean {
  const origin = req.get('origin');
  return origin === undefined || config.rp.allowedOrigins.includes(origin);
}

/** Native-app (API) flows refuse requests that carry cookies or an `Origin`: those come from browsers. */
export function refuseBrowserContext(req: Request): void {
  nativeRequests.add(req);
  if (req.headers.cookie !== undefined || req.headers.origin !== undefined) {
    throw new HttpError(
      400,
      'bad_request',
      'API flows are for native apps and must not carry cookies or an Origin header. Browsers use the /browser flows.',
    );
  }
}

/** Why a sign-in that passed its checks gets no session after all (see {@link startSession}). */
export type SessionWithdrawn = 'identity_inactive' | 'passkey_removed' | 'session_ended';

/**
 * Start the session of a successful login or registration: a record in the store, pointed at by a cookie session for
 * browser flows or a session token for API flows. `previous` is the session a refresh login re-authenticates.
 *
 * Once the record is written, the identity must still be active and the passkey signed in with still its own: an
 * identity disabled, or a passkey removed (a lost phone's), while the sign-in was under way (by an admin, the owner
 * on another device, an after-hook) ends the new session at once, and the reason is returned. Both write first and
 * revoke sessions after, so a record written after that revocation is caught here, and one written before, by it.
 * A refresh whose session was revoked meanwhile (logged out elsewhere) stays revoked, and says so: `session_ended`.
 */
export async function startSession(
  config: ResolvedOptions,
  req: Request,
  flow: Flow,
  identityId: string,
  signIn: SignIn,
  previous?: CheckedSession,
): Promise<CheckedSession | SessionWithdrawn> {
  const session =
    flow.data.type === 'api'
      ? await issueTokenSession(config, req, identityId, signIn)
      : await issueSession(config, req, identityId, signIn, previous);
  const [identity, passkey, record] = await Promise.all([
    config.store.getIdentity(identityId),
    signIn.credentialId ? config.store.getPasskey(signIn.credentialId) : undefined,
    previous ? config.store.getSession(session.record.id) : undefined,
  ]);
  let withdrawn: SessionWithdrawn | undefined;
  if (!identity || !isActive(identity)) withdrawn = 'identity_inactive';
  else if (passkey === null || (passkey && passkey.identityId !== identityId)) withdrawn = 'passkey_removed';
  else if (record !== undefined && !inForce(record, identityId)) withdrawn = 'session_ended';
  if (!withdrawn) return session;
  await endIssuedSession(config, req, session);
  return withdrawn;
}

/** Refuse login/registration when a session exists (unless the flow is a refresh). */
export function checkNoSession(req: Request): void {
  if (currentSession(req)) throw sessionAlreadyAvailable();
}

/** Validate `return_to` from the query for a new flow. */
export function returnToOf(req: Request, config: ResolvedOptions): string | undefined {
  const value = queryParams(req).return_to;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'bad_request', '`return_to` must be a single URL.');
  return checkReturnTo(value, config);
}

/** `transient_payload` from the body: an object (JSON bodies) or a JSON string (form bodies). */
export function transientPayloadOf(body: Record<string, unknown>): { [key: string]: JsonValue } | undefined {
  let value = body.transient_payload;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as { [key: string]: JsonValue })
    : undefined;
}

/** Run a hook: awaited, and an error in it is logged, never undoing the ceremony. */
export async function runHook<E>(name: string, hook: ((event: E) => void | Promise<void>) | undefined, event: E) {
  if (!hook) return;
  try {
    await hook(event);
  } catch (error) {
    log('hook %s failed: %s', name, error instanceof Error ? error.message : String(error));
    console.error(`express-passkeys: hook ${name} threw; the ceremony stands.`, error);
  }
}
