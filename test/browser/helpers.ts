/**
 * Shared real-browser plumbing (see /work/shared/BROWSER-TESTS.md): Chromium launch, a context per test with a CDP
 * session for the virtual authenticators, a record of every navigator.credentials call, page errors and CSP
 * violations. Nothing here fakes WebAuthn: the virtual authenticator signs, the page's own script runs.
 */
import { existsSync } from 'node:fs';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type CDPSession,
  chromium,
  type Page,
} from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** For `describe(..., { skip })`: a reason to skip when Chromium is not installed. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`;

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}

/** One navigator.credentials call: when it started (`call`) and how it ended. */
export interface CredentialCall {
  op: 'create' | 'get';
  mediation: string;
  phase: 'call' | 'ok' | 'error';
  error?: string;
}

// Wraps navigator.credentials.create/get to report calls through an exposed binding (survives navigations), and
// reports CSP violations. Observes only: the real calls go through unchanged.
const INIT_SCRIPT = `(() => {
  const rec = (kind, x) => { try { window.__report(kind, JSON.stringify(x)); } catch (e) {} };
  document.addEventListener('securitypolicyviolation', (e) => {
    rec('csp', { directive: e.violatedDirective, blocked: e.blockedURI, url: location.href });
  });
  const c = navigator.credentials;
  if (!c) return;
  const wrap = (op, fn) => (o) => {
    const mediation = (o && o.mediation) || 'optional';
    rec('call', { op, mediation, phase: 'call' });
    return fn(o).then(
      (v) => { rec('call', { op, mediation, phase: 'ok' }); return v; },
      (e) => { rec('call', { op, mediation, phase: 'error', error: e && e.name }); throw e; },
    );
  };
  c.create = wrap('create', c.create.bind(c));
  c.get = wrap('get', c.get.bind(c));
})();`;

export interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  calls: CredentialCall[];
  /** Uncaught page exceptions and CSP violations: a test ends with this empty. */
  errors: string[];
  /** Console warnings (webauthn.js reports failed ceremonies there). */
  warnings: string[];
}

/**
 * A new browser context and page, with WebAuthn enabled on its CDP session (no authenticator yet). `options` are the
 * context's (another `userAgent`, a `viewport`, ...).
 */
export async function openTab(browser: Browser, options: BrowserContextOptions = {}): Promise<Tab> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  const tab: Tab = { context, page, cdp: await context.newCDPSession(page), calls: [], errors: [], warnings: [] };
  await page.exposeFunction('__report', (kind: string, json: string) => {
    if (kind === 'call') tab.calls.push(JSON.parse(json) as CredentialCall);
    else tab.errors.push(`CSP violation: ${json}`);
  });
  await page.addInitScript(INIT_SCRIPT);
  page.on('pageerror', (e) => tab.errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'warning') tab.warnings.push(m.text());
  });
  await tab.cdp.send('WebAuthn.enable');
  return tab;
}

/**
 * Add a CTAP2 virtual authenticator with user verification and, unless `hasResidentKey` is false (a security key
 * whose every credential is non-discoverable), resident keys; returns its id.
 */
export async function addAuthenticator(
  tab: Tab,
  transport: 'internal' | 'usb' = 'internal',
  { hasResidentKey = true }: { hasResidentKey?: boolean } = {},
): Promise<string> {
  const { authenticatorId } = await tab.cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport, hasResidentKey, hasUserVerification: true, isUserVerified: true },
  });
  return authenticatorId;
}

/** Switch automatic user presence on or off: an authenticator without it never answers. */
export async function setPresence(tab: Tab, authenticatorId: string, enabled: boolean): Promise<void> {
  await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
}

/**
 * Wait until the passkey autofill request the page made (a conditional `navigator.credentials.get`, recorded in
 * `tab.calls` from index `since`) has reached the authenticators, which hold back (presence off). Only then may a
 * test switch presence on for a button's modal request: the request reaches the authenticator a few milliseconds
 * after the page makes it, and an authenticator whose presence is on by then answers it, so the page signs in by
 * itself and the button is gone (seen here 1 time in 40 with no wait, 0 in 80 with 10 ms; we wait 150 ms).
 */
export async function autofillWaiting(tab: Tab, since: number): Promise<void> {
  await waitFor(
    () => tab.calls.slice(since).some((c) => c.op === 'get' && c.mediation === 'conditional' && c.phase === 'call'),
    'the passkey autofill request',
  );
  await new Promise((r) => setTimeout(r, AUTOFILL_REACHES_AUTHENTICATOR_MS));
}

const AUTOFILL_REACHES_AUTHENTICATOR_MS = 150;

/** The credentials on an authenticator, with ids and user handles converted to base64url (WebAuthn JSON's). */
export async function credentialsOn(tab: Tab, authenticatorId: string) {
  const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const url = (b64: string | undefined) =>
    b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('base64url');
  return credentials.map((c) => ({ ...c, id: url(c.credentialId)!, userHandleUrl: url(c.userHandle) }));
}

/** Poll until `predicate` holds. */
export async function waitFor(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Wait until `window[name]` is of `type` (default: a function the flow's webauthn.js defines). A function predicate:
 * a string predicate is evaluated with eval in the page, which a nonce-only CSP (the example's) blocks once it polls.
 */
export async function waitForGlobal(page: Page, name: string, type = 'function'): Promise<void> {
  await page.waitForFunction(
    ([key, expected]) => typeof (window as unknown as Record<string, unknown>)[key] === expected,
    [name, type] as const,
  );
}
