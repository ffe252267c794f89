/**
 * The Signal API and related origins in a real Chromium (SPEC §7), with CDP virtual authenticators.
 *
 * A small app mounts the router with UI pages of its own: `/page/<flow>` renders the flow's nodes client-side (as a
 * UI library such as Ory Elements does: it fetches the flow JSON, builds the form, inserts the script node) and
 * `/account` renders `auth.signals(req)` server-side, the way an app's own page uses it. Form posts go to the
 * router, which redirects to those pages (`urls.ui`, `defaultReturnTo: '/account'`).
 *
 * The Signal methods are replaced in the page before webauthn.js loads (`addInitScript`) by recorders; in `real` mode
 * the recorder calls Chromium's own method afterwards, whose effect on the virtual authenticator is checked too.
 *
 * The basic example (examples/basic) is driven through its own pages too: its home page (auth.signals) and its
 * settings pages, including an email change saved in its profile form.
 *
 * Related origins: an https server (self-signed certificate, trusted by its SPKI hash) serves the same app for
 * `example.com` (the RP ID), `example.org` (a related origin) and `example.net` (unlisted), all mapped to 127.0.0.1
 * with `--host-resolver-rules`; Chromium fetches `https://example.com/.well-known/webauthn` itself.
 *
 * Run: npx tsx --test test/browser/signals.test.ts   (needs /usr/bin/chromium and openssl)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import session from 'express-session';
import { type Browser, chromium } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { MemoryStore, type PasskeysOptions, passkeys } from '../../src/index.js';
import {
  addAuthenticator,
  CHROMIUM,
  credentialsOn,
  launchChromium,
  openTab,
  setPresence,
  skipWithoutChromium,
  type Tab,
  waitFor,
  waitForGlobal,
} from './helpers.js';

// ---- the app --------------------------------------------------------------------------------------------------

const esc = (value: unknown) =>
  String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** A flow page rendered in the browser from the flow JSON (no conditional UI: sign-ins happen on a click). */
const FLOW_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>flow</title></head>
<body><div id="messages"></div><div id="root"></div>
<script>
(async () => {
  const kind = location.pathname.split('/').pop();
  const id = new URLSearchParams(location.search).get('flow');
  const url = id ? '/auth/self-service/' + kind + '/flows?id=' + encodeURIComponent(id) : '/auth/self-service/' + kind + '/browser';
  const flow = await (await fetch(url, { headers: { accept: 'application/json' } })).json();
  const say = (m) => {
    const p = document.createElement('p');
    p.dataset.messageId = m.id;
    p.textContent = m.text;
    document.getElementById('messages').append(p);
  };
  (flow.ui.messages || []).forEach(say);
  const form = document.createElement('form');
  form.id = 'flow';
  form.method = 'POST';
  form.action = flow.ui.action;
  const scripts = [];
  for (const n of flow.ui.nodes) {
    const a = n.attributes;
    n.messages.forEach(say);
    if (n.type === 'script') {
      const s = document.createElement('script');
      s.id = a.id;
      s.src = a.src;
      s.integrity = a.integrity;
      s.crossOrigin = a.crossorigin;
      s.referrerPolicy = a.referrerpolicy;
      s.async = true;
      scripts.push(s);
    } else if (a.type === 'button' || a.type === 'submit') {
      const b = document.createElement('button');
      b.type = a.type;
      b.name = a.name;
      b.value = a.value || '';
      b.disabled = a.disabled;
      if (a.onclickTrigger) b.dataset.onclicktrigger = a.onclickTrigger;
      b.textContent = (n.meta.label && n.meta.label.text) || a.name;
      form.append(b);
    } else {
      const i = document.createElement('input');
      i.type = a.type;
      i.name = a.name;
      if (a.value !== undefined) i.value = a.value;
      if (a.autocomplete) i.autocomplete = a.autocomplete.replace('webauthn', '').trim();
      if (n.meta.label) i.setAttribute('aria-label', n.meta.label.text);
      form.append(i);
    }
  }
  document.getElementById('root').append(form);
  scripts.forEach((s) => document.body.append(s));
  window.__flowShown = flow.id;
})();
</script></body></html>`;

/** Markup an attacker could inject: signal nodes this browser did not earn, and one well-formed control. */
function forgedPage(control: unknown) {
  const node = (value: unknown) =>
    `<input type="hidden" name="passkey_signal" value="${esc(typeof value === 'string' ? value : JSON.stringify(value))}">`;
  return `<!doctype html><title>forged</title>
${node({ unknownCredential: { rpId: 'localhost', credentialId: 'AAAAAAAAAAAAAAAAAAAAAA' } })}
${node({ allAcceptedCredentials: { rpId: 'localhost', userId: 'dXNlcg', allAcceptedCredentialIds: [] } })}
${node({ allAcceptedCredentials: { rpId: 'localhost', userId: 'dXNlcg', allAcceptedCredentialIds: ['not base64url!'] } })}
${node({ currentUserDetails: { rpId: 'localhost', userId: '../x', name: 'x', displayName: 'x' } })}
${node({ currentUserDetails: { rpId: 'localhost', userId: 'dXNlcg', name: '', displayName: 'x' } })}
${node('{not json')}
<div><img name="passkey_signal" alt=""></div>
${node(control)}
<script src="/auth/.well-known/ory/webauthn.js" async></script>`;
}

function signalApp(rp: PasskeysOptions['rp']) {
  const store = new MemoryStore();
  const app = express();
  app.use(session({ secret: 'signals test', resave: false, saveUninitialized: false, name: 'sid' }));
  const auth = passkeys({
    rp,
    store,
    urls: {
      ui: { login: '/page/login', registration: '/page/registration', settings: '/page/settings' },
      defaultReturnTo: '/account',
    },
  });
  app.use('/auth', auth);
  app.get('/.well-known/webauthn', auth.wellKnown);
  app.get('/page/:kind', (_req, res) => {
    res.type('html').send(FLOW_PAGE);
  });
  // The app's own page: who is signed in, and what to signal (auth.signals) for webauthn.js to pass on.
  app.get('/account', async (req, res) => {
    const identity = await auth.getIdentity(req);
    const signals = await auth.signals(req);
    res.type('html').send(`<!doctype html><title>Account</title>
<p id="who">${identity ? esc(identity.traits.email) : 'nobody'}</p>
<input type="hidden" name="passkey_signal" value="${esc(JSON.stringify(signals))}">
<script src="/auth/.well-known/ory/webauthn.js" async></script>`);
  });
  app.get('/forged', (_req, res) => {
    const control = {
      allAcceptedCredentials: { rpId: 'localhost', userId: 'dXNlcg', allAcceptedCredentialIds: ['Y29udHJvbA'] },
    };
    res.type('html').send(forgedPage(control));
  });
  return { app, store, auth };
}

// ---- the page -------------------------------------------------------------------------------------------------

type Mode = 'record' | 'real' | 'throw' | 'absent';
interface SignalCall {
  name: string;
  arg: Record<string, unknown>;
  page: string;
}
interface SignalTab extends Tab {
  signals: SignalCall[];
}

/** Replaces the three Signal methods before any page script runs: recorders (then Chromium's own in `real` mode). */
const signalInit = (mode: Mode) => `(() => {
  const P = window.PublicKeyCredential;
  if (typeof P !== 'function') return;
  for (const name of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
    const real = P[name];
    if (${JSON.stringify(mode)} === 'absent') {
      delete P[name];
      continue;
    }
    P[name] = function (arg) {
      try { window.__signal(JSON.stringify({ name, arg, page: location.pathname })); } catch (e) {}
      if (${JSON.stringify(mode)} === 'throw') {
        if (name === 'signalCurrentUserDetails') throw new TypeError('thrown by the test');
        return Promise.reject(new DOMException('rejected by the test', 'NotAllowedError'));
      }
      if (${JSON.stringify(mode)} === 'real') return real.call(P, arg);
      return Promise.resolve();
    };
  }
})();`;

async function signalTab(browser: Browser, mode: Mode): Promise<SignalTab> {
  const tab = (await openTab(browser)) as SignalTab;
  tab.signals = [];
  await tab.page.exposeFunction('__signal', (json: string) => {
    tab.signals.push(JSON.parse(json) as SignalCall);
  });
  await tab.page.addInitScript(signalInit(mode));
  return tab;
}

const callsOf = (tab: SignalTab, name: string, page?: string) =>
  tab.signals.filter((s) => s.name === name && (page === undefined || s.page === page)).map((s) => s.arg);

async function flowShown(tab: Tab, kind: string) {
  await tab.page.waitForURL((url) => url.pathname === `/page/${kind}`);
  await waitForGlobal(tab.page, '__flowShown', 'string');
  await waitForGlobal(tab.page, 'oryPasskeyLogin');
}

async function signUp(tab: Tab, base: string, email: string) {
  await tab.page.goto(`${base}/page/registration`);
  await flowShown(tab, 'registration');
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(`${base}/account`),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
  assert.equal(await tab.page.locator('#who').textContent(), email);
}

async function logOut(tab: Tab, base: string) {
  const res = await tab.context.request.get(`${base}/auth/self-service/logout/browser`, {
    headers: { accept: 'application/json' },
  });
  const { logout_url } = (await res.json()) as { logout_url: string };
  await tab.context.request.get(logout_url, { headers: { accept: 'application/json' }, maxRedirects: 0 });
}

async function signIn(tab: Tab, base: string) {
  await tab.page.goto(`${base}/page/login`);
  await flowShown(tab, 'login');
  await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
}

/** Click something that posts the settings form; resolves once the settings page shows the flow again. */
async function postSettings(tab: Tab, click: () => Promise<void>) {
  const posted = tab.page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' &&
      r.request().resourceType() === 'document' && // the form post, not webauthn.js's pre-check (a fetch)
      r.url().includes('/auth/self-service/settings?flow='),
  );
  await tab.page.evaluate('window.__flowShown = undefined');
  await click();
  assert.equal((await posted).status(), 303);
  await flowShown(tab, 'settings');
}

async function until(predicate: () => Promise<boolean>, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

// ---- the Signal API on http://localhost ---------------------------------------------------------------------------

describe('Signal API in Chromium: webauthn.js passes the server’s passkey_signal on', {
  skip: skipWithoutChromium,
}, () => {
  let browser: Browser;
  let server: Server;
  let base = '';
  let app: ReturnType<typeof signalApp>;
  const tabs: Tab[] = [];
  const newTab = async (mode: Mode) => {
    const tab = await signalTab(browser, mode);
    tabs.push(tab);
    return tab;
  };

  before(async () => {
    const listener = express();
    server = listener.listen(0, 'localhost');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    base = `http://localhost:${(server.address() as AddressInfo).port}`;
    app = signalApp({ id: 'localhost', displayName: 'Signals', origins: [base] });
    listener.use(app.app);
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  test('settings page load, an added passkey, a removal: the full set and the display name each time', async () => {
    const tab = await newTab('record');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('settings');
    await signUp(tab, base, email);
    const [credA] = await credentialsOn(tab, a);
    const userId = credA!.userHandleUrl!;
    const details = { rpId: 'localhost', userId, name: email, displayName: email };
    const accepted = (ids: string[]) => ({ rpId: 'localhost', userId, allAcceptedCredentialIds: ids });

    await tab.page.goto(`${base}/page/settings`);
    await flowShown(tab, 'settings');
    await waitFor(
      () => callsOf(tab, 'signalCurrentUserDetails', '/page/settings').length === 1,
      'the settings signals',
    );
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/page/settings'), [accepted([credA!.id])]);
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/page/settings'), [details]);

    // Add a security key (the first authenticator must not answer).
    const b = await addAuthenticator(tab, 'usb');
    await setPresence(tab, a, false);
    tab.signals.length = 0;
    await postSettings(tab, () => tab.page.getByRole('button', { name: 'Add passkey' }).click());
    await setPresence(tab, a, true);
    const [credB] = await credentialsOn(tab, b);
    await waitFor(() => callsOf(tab, 'signalAllAcceptedCredentials').length === 1, 'the signals after adding');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials'), [accepted([credA!.id, credB!.id])]);

    // Remove the first one: the next page signals the full remaining set.
    tab.signals.length = 0;
    await postSettings(tab, () => tab.page.locator(`button[name="passkey_remove"][value="${credA!.id}"]`).click());
    await tab.page.locator('[data-message-id="1050001"]').waitFor();
    await waitFor(() => callsOf(tab, 'signalAllAcceptedCredentials').length === 1, 'the signals after the removal');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials'), [accepted([credB!.id])]);
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails'), [details]);
    assert.deepEqual(callsOf(tab, 'signalUnknownCredential'), []);
    assert.deepEqual(tab.errors, []);
  });

  test('sign-up and sign-in land on the app’s page, which signals auth.signals(req)', async () => {
    const tab = await newTab('record');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('signin');
    await signUp(tab, base, email);
    const [cred] = await credentialsOn(tab, a);
    const userId = cred!.userHandleUrl!;
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails', '/account').length === 1, 'the sign-up signals');
    await logOut(tab, base);
    tab.signals.length = 0;
    await signIn(tab, base);
    await tab.page.waitForURL(`${base}/account`);
    assert.equal(await tab.page.locator('#who').textContent(), email);
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails').length === 1, 'the sign-in signals');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/account'), [
      { rpId: 'localhost', userId, allAcceptedCredentialIds: [cred!.id] },
    ]);
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/account'), [
      { rpId: 'localhost', userId, name: email, displayName: email },
    ]);
    // The login page before it (anonymous) signalled nothing.
    assert.deepEqual(
      tab.signals.filter((s) => s.page !== '/account'),
      [],
    );
    // Signed out, the page has nothing to say.
    await logOut(tab, base);
    tab.signals.length = 0;
    await tab.page.goto(`${base}/account`);
    await waitForGlobal(tab.page, 'oryPasskeyLogin');
    assert.equal(await tab.page.locator('#who').textContent(), 'nobody');
    assert.deepEqual(tab.signals, []);
    assert.deepEqual(tab.errors, []);
  });

  test('a sign-in with a passkey the server does not know: signalUnknownCredential gets the id the browser sent', async () => {
    const tab = await newTab('record');
    const a = await addAuthenticator(tab, 'internal');
    // A passkey for this RP that the server never registered.
    const credentialId = randomBytes(16);
    await tab.cdp.send('WebAuthn.addCredential', {
      authenticatorId: a,
      credential: {
        credentialId: credentialId.toString('base64'),
        isResidentCredential: true,
        rpId: 'localhost',
        privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ format: 'der', type: 'pkcs8' })
          .toString('base64'),
        userHandle: randomBytes(32).toString('base64'),
        signCount: 0,
      },
    });
    await signIn(tab, base);
    await tab.page.locator('[data-message-id="4000015"]').waitFor();
    assert.match(tab.page.url(), /\/page\/login\?flow=/);
    await waitFor(() => callsOf(tab, 'signalUnknownCredential').length === 1, 'signalUnknownCredential');
    assert.deepEqual(callsOf(tab, 'signalUnknownCredential'), [
      { rpId: 'localhost', credentialId: credentialId.toString('base64url') },
    ]);
    assert.deepEqual(
      tab.signals.filter((s) => s.name !== 'signalUnknownCredential'),
      [],
      'nothing about any identity',
    );
    // Shown again (a reload), the same signal is not the browser's own any more: said once.
    tab.signals.length = 0;
    await tab.page.evaluate('window.__flowShown = undefined');
    await tab.page.reload();
    await flowShown(tab, 'login');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(tab.signals, []);
    assert.deepEqual(tab.errors, []);
  });

  test('an email change through the profile method on a one-form page: Chromium’s own method renames the passkey', async () => {
    // The page renders every node in one form (as a UI library may): Save posts method=profile along with the
    // passkey group's hidden inputs, and the settings page it comes back to signals the new name.
    const tab = await newTab('real');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('before');
    await signUp(tab, base, email);
    const [cred] = await credentialsOn(tab, a);
    assert.equal(cred!.userName, email);
    await tab.page.goto(`${base}/page/settings`);
    await flowShown(tab, 'settings');
    await waitFor(
      () => callsOf(tab, 'signalCurrentUserDetails', '/page/settings').length === 1,
      'the first settings signals',
    );
    const changed = newEmail('after');
    await tab.page.getByLabel('E-Mail').fill(changed);
    tab.signals.length = 0;
    await postSettings(tab, () => tab.page.getByRole('button', { name: 'Save' }).click());
    await tab.page.locator('[data-message-id="1050001"]').waitFor();
    assert.equal((await app.store.findIdentityByIdentifier(changed))?.traits.email, changed, 'the profile was saved');
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails').length === 1, 'signalCurrentUserDetails');
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails'), [
      { rpId: 'localhost', userId: cred!.userHandleUrl, name: changed, displayName: changed },
    ]);
    // Chromium's own signalCurrentUserDetails renames the passkey on the (virtual) authenticator.
    await until(async () => (await credentialsOn(tab, a))[0]?.userName === changed, 'the authenticator to rename');
    const [renamed] = await credentialsOn(tab, a);
    assert.equal(renamed!.userDisplayName, changed);
    assert.equal(renamed!.id, cred!.id, 'the same passkey');
    assert.deepEqual(tab.errors, []);
  });

  test('with Chromium’s own Signal API: a removed passkey and an unknown one leave the virtual authenticator', async () => {
    const tab = await newTab('real');
    const a = await addAuthenticator(tab, 'internal');
    await signUp(tab, base, newEmail('real'));
    const [credA] = await credentialsOn(tab, a);
    await tab.page.goto(`${base}/page/settings`);
    await flowShown(tab, 'settings');
    const b = await addAuthenticator(tab, 'usb');
    await setPresence(tab, a, false);
    await postSettings(tab, () => tab.page.getByRole('button', { name: 'Add passkey' }).click());
    await setPresence(tab, a, true);
    assert.equal((await credentialsOn(tab, a)).length, 1, 'both authenticators hold their passkey');
    assert.equal((await credentialsOn(tab, b)).length, 1);
    await postSettings(tab, () => tab.page.locator(`button[name="passkey_remove"][value="${credA!.id}"]`).click());
    await until(async () => (await credentialsOn(tab, a)).length === 0, 'the removed passkey to leave');
    assert.equal((await credentialsOn(tab, b)).length, 1, 'the accepted one stays');

    // Put the removed passkey back (a browser without the Signal API would still hold it) and sign in with it: the
    // server refuses it and says it is unknown; the authenticator forgets it.
    const { id: _id, userHandleUrl: _handle, ...planted } = credA!;
    await tab.cdp.send('WebAuthn.addCredential', { authenticatorId: a, credential: planted });
    await logOut(tab, base);
    await setPresence(tab, b, false);
    await signIn(tab, base);
    await tab.page.locator('[data-message-id="4000043"]').waitFor();
    await until(async () => (await credentialsOn(tab, a)).length === 0, 'the unknown passkey to leave');
    assert.deepEqual(callsOf(tab, 'signalUnknownCredential'), [{ rpId: 'localhost', credentialId: credA!.id }]);
    assert.deepEqual(tab.errors, []);
  });

  test('injected signal nodes are not acted on: another tab’s credential id, an empty list, malformed values', async () => {
    const tab = await newTab('record');
    await tab.page.goto(`${base}/forged`);
    await waitForGlobal(tab.page, 'oryPasskeyLogin');
    // The well-formed control shows the page's nodes were read.
    await waitFor(() => tab.signals.length > 0, 'the control signal');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(tab.signals, [
      {
        name: 'signalAllAcceptedCredentials',
        arg: { rpId: 'localhost', userId: 'dXNlcg', allAcceptedCredentialIds: ['Y29udHJvbA'] },
        page: '/forged',
      },
    ]);
    assert.deepEqual(tab.errors, []);
  });

  test('Signal methods that throw or reject, or are missing, change nothing: the ceremonies still work', async () => {
    for (const mode of ['throw', 'absent'] as const) {
      const tab = await newTab(mode);
      const a = await addAuthenticator(tab, 'internal');
      const email = newEmail(mode);
      await signUp(tab, base, email);
      await tab.page.goto(`${base}/page/settings`);
      await flowShown(tab, 'settings');
      await logOut(tab, base);
      await signIn(tab, base);
      await tab.page.waitForURL(`${base}/account`);
      assert.equal(await tab.page.locator('#who').textContent(), email, mode);
      assert.equal((await credentialsOn(tab, a)).length, 1, mode);
      if (mode === 'throw') assert.ok(tab.signals.length >= 6, 'the throwing methods were called');
      else assert.deepEqual(tab.signals, []);
      assert.deepEqual(tab.errors, [], `${mode}: no page errors, no unhandled rejections`);
      assert.deepEqual(
        tab.warnings.filter((w) => w.includes('webauthn.js')),
        [],
        mode,
      );
    }
  });
});

// ---- the basic example ---------------------------------------------------------------------------------------------

describe('Signal API in the basic example: its home page (auth.signals) and its settings pages', {
  skip: skipWithoutChromium,
}, () => {
  let browser: Browser;
  let example: Awaited<ReturnType<typeof createApp>>;
  const tabs: Tab[] = [];

  before(async () => {
    example = await createApp({ port: 0 });
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
  });

  const newTab = async (mode: Mode) => {
    const tab = await signalTab(browser, mode);
    tabs.push(tab);
    return tab;
  };

  /** Sign up on /registration with the tab's authenticator; the example goes on to /verification (a code is sent). */
  async function signUpInExample(tab: SignalTab, email: string) {
    await tab.page.goto(`${example.url}/registration`);
    await waitForGlobal(tab.page, 'oryPasskeyLogin');
    await tab.page.getByLabel('E-Mail').fill(email);
    await Promise.all([
      tab.page.waitForURL(/\/verification\?flow=/),
      tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
    ]);
  }

  /**
   * On the example's /settings: the email in its profile form (`<form id="profile">`), typed and saved with the
   * form's own Save button; resolves once the settings page the router sends the browser back to shows "saved".
   */
  async function changeEmailInSettings(tab: SignalTab, email: string) {
    const form = tab.page.locator('form#profile');
    await form.locator('input[name="traits.email"]').fill(email);
    const posted = tab.page.waitForResponse(
      (r) =>
        r.request().method() === 'POST' &&
        r.request().resourceType() === 'document' && // the form post, not webauthn.js's pre-check (a fetch)
        r.url().includes('/auth/self-service/settings?flow='),
    );
    await form.getByRole('button', { name: 'Save' }).click();
    const answer = await posted;
    assert.equal(answer.status(), 303);
    assert.match(answer.headers().location ?? '', /\/settings\?flow=/);
    // Only the page after the save carries the flow's success message (a fresh flow has none).
    await tab.page.locator('[data-message-id="1050001"]').waitFor();
    await waitForGlobal(tab.page, 'oryPasskeyLogin');
    assert.equal(await tab.page.locator('form#profile input[name="traits.email"]').inputValue(), email);
  }

  test('after sign-up and on every settings page the browser is told the passkeys and the display name', async () => {
    const tab = await newTab('record');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('example');
    // A sign-up goes on to verify the address (a code is on its way); the test goes home from there.
    await signUpInExample(tab, email);
    await tab.page.goto(`${example.url}/`);
    const [cred] = await credentialsOn(tab, a);
    const userId = cred!.userHandleUrl!;
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails', '/').length === 1, 'the home page signals');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/'), [
      { rpId: 'localhost', userId, allAcceptedCredentialIds: [cred!.id] },
    ]);
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/'), [
      { rpId: 'localhost', userId, name: email, displayName: email },
    ]);
    await tab.page.goto(`${example.url}/settings`);
    await waitFor(() => callsOf(tab, 'signalAllAcceptedCredentials', '/settings').length === 1, 'the settings signals');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/settings'), [
      { rpId: 'localhost', userId, allAcceptedCredentialIds: [cred!.id] },
    ]);
    // Under the example's nonce-only CSP: no violations, no errors.
    assert.deepEqual(tab.errors, []);
  });

  test('an email change in the settings profile form: the page after Save signals the new name and the full set', async () => {
    const tab = await newTab('record');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('old');
    await signUpInExample(tab, email);
    await tab.page.goto(`${example.url}/settings`);
    const [cred] = await credentialsOn(tab, a);
    const userId = cred!.userHandleUrl!;
    const accepted = { rpId: 'localhost', userId, allAcceptedCredentialIds: [cred!.id] };
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails', '/settings').length === 1, 'the settings signals');
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/settings'), [
      { rpId: 'localhost', userId, name: email, displayName: email },
    ]);
    assert.equal(callsOf(tab, 'signalAllAcceptedCredentials', '/settings').length, 1);

    const changed = newEmail('new');
    tab.signals.length = 0;
    await changeEmailInSettings(tab, changed);
    await waitFor(
      () =>
        callsOf(tab, 'signalCurrentUserDetails').length === 1 &&
        callsOf(tab, 'signalAllAcceptedCredentials').length === 1,
      'the signals after the save',
    );
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/settings'), [
      { rpId: 'localhost', userId, name: changed, displayName: changed },
    ]);
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/settings'), [accepted]);
    assert.deepEqual(callsOf(tab, 'signalUnknownCredential'), []);
    assert.equal(tab.signals.length, 2, 'nothing else was signalled');

    // The home page (auth.signals(req)) says the same from now on.
    tab.signals.length = 0;
    await tab.page.goto(`${example.url}/`);
    assert.equal(await tab.page.locator('#whoami strong').textContent(), changed);
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails', '/').length === 1, 'the home page signals');
    assert.deepEqual(callsOf(tab, 'signalCurrentUserDetails', '/'), [
      { rpId: 'localhost', userId, name: changed, displayName: changed },
    ]);
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/'), [accepted]);
    assert.deepEqual(tab.errors, []);
  });

  test('an email change in the settings profile form, with Chromium’s own Signal API: the passkey is renamed', async () => {
    const tab = await newTab('real');
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('old');
    await signUpInExample(tab, email);
    await tab.page.goto(`${example.url}/settings`);
    const [cred] = await credentialsOn(tab, a);
    assert.equal(cred!.userName, email, 'created with the old name');
    await waitFor(() => callsOf(tab, 'signalCurrentUserDetails', '/settings').length === 1, 'the settings signals');

    const changed = newEmail('new');
    await changeEmailInSettings(tab, changed);
    // Chromium's own signalCurrentUserDetails renames the passkey on the (virtual) authenticator.
    await until(async () => (await credentialsOn(tab, a))[0]?.userName === changed, 'the authenticator to rename');
    const credentials = await credentialsOn(tab, a);
    assert.equal(credentials.length, 1, 'renamed, not replaced');
    assert.equal(credentials[0]!.id, cred!.id);
    assert.equal(credentials[0]!.userHandleUrl, cred!.userHandleUrl);
    assert.equal(credentials[0]!.userDisplayName, changed);
    assert.deepEqual(tab.errors, []);
  });
});

// ---- related origins over https -------------------------------------------------------------------------------------

describe('related origins in Chromium: a page on another domain signs in with a passkey of rp.id', {
  skip: skipWithoutChromium,
}, () => {
  let browser: Browser;
  let server: ReturnType<typeof createHttpsServer>;
  let certDir = '';
  const wellKnownHits: string[] = [];
  const tabs: Tab[] = [];

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'passkeys-ro-'));
    const key = join(certDir, 'key.pem');
    const cert = join(certDir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=example.com',
        '-addext',
        'subjectAltName=DNS:example.com,DNS:example.org,DNS:example.net',
      ],
      { stdio: 'ignore' },
    );
    const pem = readFileSync(cert);
    const spki = createHash('sha256')
      .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    const { app } = signalApp({
      id: 'example.com',
      displayName: 'Related',
      origins: ['https://example.com'],
      relatedOrigins: ['https://example.org'],
    });
    const outer = express();
    outer.use((req, _res, next) => {
      if (req.path === '/.well-known/webauthn') wellKnownHits.push(String(req.headers.host));
      next();
    });
    outer.use(app);
    server = createHttpsServer({ key: readFileSync(key), cert: pem }, outer);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const map = ['example.com', 'example.org', 'example.net'].map((h) => `MAP ${h}:443 127.0.0.1:${port}`).join(', ');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--host-resolver-rules=${map}`,
        `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    });
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  test('sign up on https://example.com, sign in on https://example.org; https://example.net is refused', async () => {
    const tab = await signalTab(browser, 'record');
    tabs.push(tab);
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('related');
    await signUp(tab, 'https://example.com', email);
    const [cred] = await credentialsOn(tab, a);
    assert.equal(cred!.rpId, 'example.com');
    assert.equal(wellKnownHits.length, 0, 'on rp.id itself the browser needs no well-known document');

    // The related origin: the browser checks https://example.com/.well-known/webauthn, then signs for example.com.
    const posted = tab.page.waitForRequest(
      (r) => r.method() === 'POST' && r.url().startsWith('https://example.org/auth/self-service/login?flow='),
    );
    await signIn(tab, 'https://example.org');
    await tab.page.waitForURL('https://example.org/account');
    const body = new URLSearchParams((await posted).postData() ?? '');
    const assertion = JSON.parse(body.get('passkey_login') ?? '{}');
    const clientData = JSON.parse(Buffer.from(assertion.response.clientDataJSON, 'base64url').toString('utf8'));
    assert.equal(clientData.origin, 'https://example.org');
    assert.equal(assertion.id, cred!.id);
    assert.equal(await tab.page.locator('#who').textContent(), email, 'signed in on example.org');
    assert.ok(wellKnownHits.includes('example.com'), `the browser fetched the well-known document: ${wellKnownHits}`);
    assert.ok(!wellKnownHits.includes('example.org'), 'only from rp.id');
    // The app's page on the related origin signals for rp.id.
    await waitFor(() => callsOf(tab, 'signalAllAcceptedCredentials', '/account').length > 0, 'the signals');
    assert.deepEqual(callsOf(tab, 'signalAllAcceptedCredentials', '/account').at(-1), {
      rpId: 'example.com',
      userId: cred!.userHandleUrl,
      allAcceptedCredentialIds: [cred!.id],
    });

    // An origin the well-known document does not list: the browser itself refuses, nothing is posted.
    const before = tab.calls.length;
    await signIn(tab, 'https://example.net');
    await waitFor(() => tab.calls.slice(before).some((c) => c.phase === 'error'), 'the refused ceremony');
    assert.deepEqual(
      tab.calls.slice(before).map((c) => `${c.op}:${c.phase}:${c.error ?? ''}`),
      ['get:call:', 'get:error:SecurityError'],
    );
    assert.match(tab.page.url(), /^https:\/\/example\.net\/page\/login$/);
    // (In the page: Playwright's own request API would not use the browser's host mapping.)
    assert.equal(await tab.page.evaluate(() => fetch('/auth/sessions/whoami').then((r) => r.status)), 401);
    assert.deepEqual(tab.errors, []);
  });
});
