// Request/response plumbing shared by the routes: URLs, content negotiation, return_to, CSRF cookie.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parse as parseQueryString } from 'node:querystring';
import type { Request, Response } from 'express';
import { HttpError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { publicBaseUrl } from './public-url.js';

/** Per request, what Express recomputes on every read and a request asks for several times. */
interface Memo {
  /** `req.baseUrl` the base URL below was computed for (it changes as the request goes through routers). */
  mount?: string;
  base?: string;
  query?: Record<string, unknown>;
  jsonBody?: boolean;
  /** The CSRF cookie secret this response set (the request had none). */
  csrfSecret?: string;
}
const memos = new WeakMap<Request, Memo>();

function memoOf(req: Request): Memo {
  let memo = memos.get(req);
  if (!memo) {
    memo = {};
    memos.set(req, memo);
  }
  return memo;
}

/** Absolute URL of the mount path: `urls.publicBase`, or the request's protocol, host and `req.baseUrl`. */
export function baseUrl(req: Request, config: ResolvedOptions): string {
  if (config.urls.publicBase) return config.urls.publicBase;
  const memo = memoOf(req);
  if (memo.base === undefined || memo.mount !== req.baseUrl) {
    memo.mount = req.baseUrl;
    memo.base = `${requestOrigin(req)}${req.baseUrl}`;
  }
  return memo.base;
}

/** The origin the client asked for (scheme and host, behind a trusted proxy its forwarded ones). */
export function requestOrigin(req: Request): string {
  return `${req.protocol}://${hostOf(req)}`;
}

/**
 * The host (with port) the client asked for: `X-Forwarded-Host` when the app trusts the proxy that sent it (Express's
 * `trust proxy`, as `req.protocol` does), else `Host`. Express 5's `req.host` does this; Express 4's drops the port.
 */
function hostOf(req: Request): string {
  const trust = req.app?.get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
  const forwarded = req.get('x-forwarded-host');
  if (forwarded && trust?.(req.socket?.remoteAddress ?? '', 0)) {
    const first = forwarded.split(',')[0]?.trim();
    if (first) return first;
  }
  return req.get('host') ?? 'localhost';
}

/**
 * The absolute URL of this request (the flow's `request_url`), on the configured public base (see `publicBaseUrl`):
 * it is stored with the flow and goes into mails, so its origin never comes from the request's Host. Only an app
 * whose configuration gives no base (no `urls.publicBase`, no web origin first, no courier) falls back to the
 * request's. A query string longer than any legitimate one (1 KiB) is left out rather than stored.
 */
export function requestUrl(req: Request, config: ResolvedOptions): string {
  const query = queryOf(req.originalUrl);
  const base = publicBaseUrl(config, req) ?? baseUrl(req, config);
  const url = `${base}${req.path === '/' ? '' : req.path}${query.length <= 1024 ? query : ''}`;
  return url.slice(0, 2048); // a Host header can be long too
}

function queryOf(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? '' : url.slice(index);
}

/** Does the client ask for JSON (`Accept: application/json`)? */
export function acceptsJson(req: Request): boolean {
  return (req.get('accept') ?? '').toLowerCase().includes('application/json');
}

/** A submit answers JSON when its body is JSON or it accepts JSON; a form post gets redirects. */
export function isJsonSubmit(req: Request): boolean {
  const memo = memoOf(req);
  memo.jsonBody ??= Boolean(req.is('application/json'));
  return memo.jsonBody || acceptsJson(req);
}

/**
 * The parsed query string, parsed here rather than read from `req.query`: that depends on the app's `query parser`
 * (Express 4's default is `qs`, which turns `return_to[]=x` into `return_to: ['x']` and `flow[a]=x` into an object).
 * Parsed as Express 5's default (`simple`) does: flat names, a repeated name gives an array of strings. Memoised
 * (Express 5 parses again at every read of `req.query`).
 */
export function queryParams(req: Request): Record<string, unknown> {
  const memo = memoOf(req);
  if (!memo.query) {
    const url = req.url ?? '';
    const index = url.indexOf('?');
    // A null-prototype object: `?constructor=` or `?__proto__=` are plain names.
    memo.query = parseQueryString(index === -1 ? '' : url.slice(index + 1));
  }
  return memo.query;
}

/** A string query parameter (the first, if repeated), or undefined. */
export function queryParam(req: Request, name: string): string | undefined {
  const value = queryParams(req)[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/**
 * Check a `return_to` against `urls.allowedReturnTo`: a same-site path, or an absolute http(s) URL under an allowed
 * origin or prefix. `//host`, `\\host`, a path that normalises to `//host`, userinfo and other schemes are refused.
 * Returns the URL to use.
 */
export function checkReturnTo(value: string | undefined, config: ResolvedOptions): string | undefined {
  if (value === undefined || value === '') return undefined;
  const forbidden = () =>
    new HttpError(400, 'self_service_flow_return_to_forbidden', `Requested return_to URL "${value}" is not allowed.`);
  // Whitespace, backslashes and control characters have no place in a URL we redirect to.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point.
  if (value.length > 2048 || /[\s\\\u0000-\u001f\u007f]/.test(value)) throw forbidden();
  // A path on this site. Kept relative: resolving it against the request's Host would let a forged Host choose
  // where the victim lands; redirects make it absolute with the Host of the request that follows it.
  // A path that normalises to `//host` (`/.//evil.com`, `/a/..//evil.com`) is refused too: a client that resolves the
  // dot segments before it follows the redirect would go to another host.
  if (value.startsWith('/') && !value.startsWith('//')) {
    let path: string;
    try {
      path = new URL(value, 'http://localhost').pathname;
    } catch {
      throw forbidden();
    }
    if (path.startsWith('//')) throw forbidden();
    return value;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw forbidden();
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) throw forbidden();
  if (url.pathname.startsWith('//')) throw forbidden();
  // Only configured origins: never one derived from the request (its Host header is the client's to choose).
  const allowed = config.urls.allowedReturnTo.some((entry) => {
    const rule = new URL(entry);
    if (rule.origin !== url.origin) return false;
    const prefix = rule.pathname;
    return (
      prefix === '/' || url.pathname === prefix || url.pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)
    );
  });
  if (!allowed) throw forbidden();
  return url.href;
}

/**
 * Redirect with 303 See Other (the browser follows with GET) to an absolute URL: relative locations resolve against
 * the origin of `urls.publicBase`, or of the request.
 */
export function seeOther(req: Request, res: Response, config: ResolvedOptions, location: string): void {
  res.redirect(303, new URL(location, `${baseUrl(req, config)}/`).href);
}

/** Append `?flow=<id>` (or `&flow=`) to a UI URL. */
export function withFlow(url: string, flowId: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}flow=${encodeURIComponent(flowId)}`;
}

/** The browser's CSRF cookie (also what tells one browser from another for the code method's limits). */
export const CSRF_COOKIE = 'passkeys_csrf_token';

/**
 * The double-submit CSRF token of a flow, bound to the browser's CSRF cookie (set here when absent) and the flow id:
 * HMAC-SHA256(cookie secret, flow id). No server-side session is needed, so anonymous inits cost only the flow.
 */
export function csrfToken(req: Request, res: Response, flowId: string): string {
  return sign(csrfSecret(req, res), flowId);
}

/** The browser's CSRF cookie secret; a new one is set on this response (once per request) when it has none. */
export function csrfSecret(req: Request, res: Response): string {
  const memo = memoOf(req);
  let secret = memo.csrfSecret ?? readCookie(req, CSRF_COOKIE);
  if (!secret || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    secret = randomBytes(32).toString('base64url');
    memo.csrfSecret = secret;
    res.cookie(CSRF_COOKIE, secret, {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.secure,
      // The whole site: UIs outside the mount path fetch flows server-side with the browser's cookies, as Kratos's
      // own UI does, and each flow's token is bound to its flow id anyway.
      path: '/',
      maxAge: 365 * 24 * 3600 * 1000,
    });
  }
  return secret;
}

/** Is the posted token the one this browser's cookie yields for this flow? Constant-time. */
export function csrfValid(req: Request, flowId: string, posted: unknown): boolean {
  const secret = readCookie(req, CSRF_COOKIE);
  if (!secret || typeof posted !== 'string' || posted.length !== 43) return false;
  const expected = Buffer.from(sign(secret, flowId));
  const actual = Buffer.from(posted);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function sign(secret: string, flowId: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64url')).update(`csrf:${flowId}`).digest('base64url');
}

/** Read one cookie from the `Cookie` header (no cookie-parser needed). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index !== -1 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
