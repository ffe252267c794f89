/**
 * End to end: the basic example app (examples/basic) in a real Chromium with CDP virtual authenticators.
 *
 * Nothing is mocked: the example's server-rendered pages load the router's webauthn.js, the virtual authenticator
 * creates and signs, and the router verifies. One Chromium per file, a new browser context per test.
 *
 * Run: npx tsx --test test/browser/example.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { esc } from '../../examples/basic/views.js';
import { WEBAUTHN_SCRIPT } from '../../src/ui/webauthn-script.js';
import {
  addAuthenticator,
  autofillWaiting,
  credentialsOn,
  launchChromium,
  openTab,
  setPresence,
  skipWithoutChromium,
  type Tab,
  waitForGlobal,
} from './helpers.js';

let example: Awaited<ReturnType<typeof createApp>>;
let base = '';
let browser: Browser;
const tabs: Tab[] = [];

const timings = new Map<string, number[]>();
function timed(label: string, t0: number): void {
  timings.set(label, [...(timings.get(label) ?? []), Date.now() - t0]);
}

let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser);
  tabs.push(tab);
  return tab;
}

// ---- steps a user takes -------------------------------------------------------------------------------------------

async function scriptReady(tab: Tab): Promise<void> {
  await waitForGlobal(tab.page, 'oryPasskeyLogin');
}

const whoamiText = async (tab: Tab) => (await tab.page.locator('#whoami').textContent())?.trim();

/** The session as the router sees it (the context's cookies): the email, or the status when signed out. */
async function sessionEmail(tab: Tab): Promise<string | number> {
  const res = await tab.context.request.get(`${base}/auth/sessions/whoami`, {
    headers: { accept: 'application/json' },
  });
  return res.status() === 200 ? (await res.json()).identity.traits.email : res.status();
}

/**
 * /registration → fill the email → click the real "Sign up with passkey" button → the verification page (a code is
 * on its way; test/browser/recovery.test.ts enters it) → home, signed in.
 */
async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  assert.match(tab.page.url(), /\/registration\?flow=[0-9a-f-]{36}$/, 'the browser init came back with ?flow=');
  await scriptReady(tab);
  await tab.page.getByLabel('E-Mail').fill(email);
  const t0 = Date.now();
  await Promise.all([
    tab.page.waitForURL(/\/verification\?flow=[0-9a-f-]{36}$/),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
  timed('sign-up: click -> verification page loaded', t0);
  await tab.page.locator('[data-message-id="1080003"]').waitFor();
  await tab.page.goto(`${base}/`);
  assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
}

/** Home → "Log out" → home, signed out. */
async function logOut(tab: Tab): Promise<void> {
  if (tab.page.url() !== `${base}/`) await tab.page.goto(`${base}/`);
  await Promise.all([
    tab.page.waitForResponse((r) => r.url().startsWith(`${base}/auth/self-service/logout?token=`)),
    tab.page.getByRole('link', { name: 'Log out' }).click(),
  ]);
  await tab.page.getByText('You are not signed in.').waitFor();
  assert.equal(await sessionEmail(tab), 401);
}

/**
 * /login with every authenticator held back (so conditional UI waits, as it does for a user who has not picked a
 * passkey yet), then only `use` answers, and the "Sign in with passkey" button is clicked.
 */
async function openLogin(tab: Tab, all: string[]): Promise<void> {
  for (const id of all) await setPresence(tab, id, false);
  const since = tab.calls.length;
  await tab.page.goto(`${base}/login`);
  assert.match(tab.page.url(), /\/login\?flow=[0-9a-f-]{36}$/);
  assert.equal(await tab.page.locator('input[name="identifier"]').getAttribute('autocomplete'), 'username webauthn');
  await autofillWaiting(tab, since);
}

async function signInByClick(tab: Tab, use: string, all: string[]): Promise<void> {
  await openLogin(tab, all);
  await setPresence(tab, use, true);
  const t0 = Date.now();
  await Promise.all([
    tab.page.waitForURL(`${base}/`),
    tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
  ]);
  timed('sign-in: click -> home page loaded', t0);
}

async function gotoSettings(tab: Tab): Promise<void> {
  await tab.page.goto(`${base}/settings`);
  assert.match(tab.page.url(), /\/settings\?flow=[0-9a-f-]{36}$/);
  await scriptReady(tab);
}

/**
 * Click something that posts to the settings flow; waits until the page the POST redirects to is shown. Success and
 * refusal alike redirect back to this same settings page (`/settings?flow=<same id>`).
 */
async function postSettings(tab: Tab, click: () => Promise<void>): Promise<void> {
  const page = tab.page.url();
  await tab.page.evaluate('document.documentElement.dataset.old = "1"');
  const posted = tab.page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' &&
      r.request().resourceType() === 'document' && // the form post, not webauthn.js's pre-check (a fetch)
      r.url().startsWith(`${base}/auth/self-service/settings?flow=`),
  );
  await click();
  const response = await posted;
  assert.equal(response.status(), 303);
  assert.equal(new URL(response.headers()['location'] ?? '', base).href, page);
  await tab.page.locator('html:not([data-old])').waitFor({ state: 'attached' });
  await scriptReady(tab);
}

const listedIds = (tab: Tab) =>
  tab.page.locator('#passkeys li').evaluateAll((items) => items.map((li) => li.getAttribute('data-passkey-id')));
const item = (tab: Tab, id: string) => tab.page.locator(`#passkeys li[data-passkey-id="${id}"]`);
const message = (tab: Tab, id: number) => tab.page.locator(`[data-message-id="${id}"]`);

/** A passkey's confirmation popover (opened by its "Remove" button), and the flow's remove button inside it. */
const confirmation = (tab: Tab, id: string) => tab.page.locator(`[popover][id="remove-${id}"]`);

/** "Remove" → the confirmation shows → "Remove passkey "<name>"" posts the flow's `passkey_remove`. */
async function removeConfirmed(tab: Tab, id: string): Promise<void> {
  await item(tab, id).locator('button.remove-open').click();
  await confirmation(tab, id).waitFor({ state: 'visible' });
  await confirmation(tab, id).locator('button[name="passkey_remove"]').click();
}

// ---- a page on another port of localhost --------------------------------------------------------------------------

interface Copied {
  action: string;
  csrf: string;
  challenge: string;
  src: string;
  integrity: string;
}

/** Reads what a copy of the example's login page needs from the page the tab shows. */
async function copyLoginPage(tab: Tab): Promise<Copied> {
  const p = tab.page;
  return {
    action: (await p.locator('form#flow').getAttribute('action')) ?? '',
    csrf: await p.locator('form#flow input[name="csrf_token"]').inputValue(),
    challenge: await p.locator('input[name="passkey_challenge"]').inputValue(),
    src: (await p.locator('script#webauthn_script').getAttribute('src')) ?? '',
    integrity: (await p.locator('script#webauthn_script').getAttribute('integrity')) ?? '',
  };
}

/**
 * Serves a copy of a login page (`/copy`) and records what is posted to its own `/self-service/login`. webauthn.js
 * posts only to a flow action on the origin it was loaded from, so a copy that collects on its own origin serves its
 * own copy of the script (as an attacker controlling that page would).
 */
async function startOtherOrigin() {
  const state: { page?: Copied; collected: Record<string, string>[] } = { collected: [] };
  const app = express();
  app.get('/copy', (_req, res) => {
    const c = state.page!;
    res.type('html').send(`<!doctype html><title>Sign in</title>
<form method="POST" action="${esc(c.action)}">
<input type="hidden" name="csrf_token" value="${esc(c.csrf)}">
<input type="hidden" name="passkey_login">
<input type="hidden" name="passkey_challenge" value="${esc(c.challenge)}">
<button type="button" data-onclicktrigger="oryPasskeyLogin">Sign in with passkey</button>
</form>
<script src="${esc(c.src)}" integrity="${esc(c.integrity)}" crossorigin="anonymous" async></script>`);
  });
  app.get('/.well-known/ory/webauthn.js', (_req, res) => {
    res.set('Access-Control-Allow-Origin', '*').type('text/javascript; charset=utf-8').send(WEBAUTHN_SCRIPT);
  });
  app.post('/self-service/login', express.urlencoded({ extended: false }), (req, res) => {
    state.collected.push(req.body as Record<string, string>);
    res.type('html').send('<p>collected</p>');
  });
  const server: Server = app.listen(0, 'localhost');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  return { url, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const clientDataOf = (assertion: { response: { clientDataJSON: string } }) =>
  JSON.parse(Buffer.from(assertion.response.clientDataJSON, 'base64url').toString('utf8'));

// ---- tests --------------------------------------------------------------------------------------------------------

describe('the basic example in Chromium', { skip: skipWithoutChromium }, () => {
  before(async () => {
    let t0 = Date.now();
    example = await createApp({ port: 0 });
    base = example.url;
    timed('example app start', t0);
    t0 = Date.now();
    browser = await launchChromium();
    timed('Chromium launch', t0);
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
    for (const [label, ms] of timings) {
      const sorted = [...ms].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(`# ${label}: n=${sorted.length} median ${median} ms, max ${sorted.at(-1)} ms`);
    }
  });

  test('sign up, log out, sign in with the button; the passkey on the authenticator is the one listed', async () => {
    const t0 = Date.now();
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    const email = newEmail('ada');
    await signUp(tab, email);
    assert.equal(await sessionEmail(tab), email);
    assert.equal(await tab.page.getByRole('link', { name: 'Manage passkeys' }).getAttribute('href'), '/settings');

    // Exactly one credential on the authenticator, and it is the passkey /settings lists, for this identity.
    const creds = await credentialsOn(tab, auth);
    assert.equal(creds.length, 1);
    const cred = creds[0]!;
    assert.equal(cred.rpId, 'localhost');
    assert.equal(cred.isResidentCredential, true);
    assert.equal(cred.userName, email, 'user.name came from the email field');
    await tab.page.getByRole('link', { name: 'Manage passkeys' }).click();
    await tab.page.waitForURL(/\/settings\?flow=/);
    assert.deepEqual(await listedIds(tab), [cred.id]);
    const createData = JSON.parse(await tab.page.locator('input[name="passkey_create_data"]').inputValue());
    assert.equal(createData.publicKey.user.id, cred.userHandleUrl, 'the credential user handle is the identity one');
    assert.deepEqual(
      createData.publicKey.excludeCredentials.map((c: { id: string }) => c.id),
      [cred.id],
    );
    assert.equal(await item(tab, cred.id).locator('button[name="passkey_remove"]').isDisabled(), true);

    await logOut(tab);
    await signInByClick(tab, auth, [auth]);
    assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
    assert.equal(await sessionEmail(tab), email);
    const [after] = await credentialsOn(tab, auth);
    assert.ok(after!.signCount > cred.signCount, 'the authenticator signed');
    // The click aborted the pending autofill request, then its own (modal) request succeeded.
    const ends = tab.calls.filter((c) => c.op === 'get' && c.phase !== 'call');
    assert.deepEqual(
      ends.map((c) => `${c.mediation}:${c.phase}:${c.error ?? ''}`),
      ['conditional:error:AbortError', 'optional:ok:'],
    );
    assert.deepEqual(tab.errors, []);
    timed('test a (sign up, log out, sign in)', t0);
  });

  test('conditional UI: /login signs in through passkey autofill without a click', async () => {
    const t0 = Date.now();
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    const email = newEmail('grace');
    await signUp(tab, email);
    await logOut(tab);
    const [before] = await credentialsOn(tab, auth);
    const callsBefore = tab.calls.length;
    const t1 = Date.now();
    // The virtual authenticator (automatic presence on) answers the conditional request as a user picking the
    // offered passkey would; nothing is clicked.
    await tab.page.goto(`${base}/login`, { waitUntil: 'commit' });
    await tab.page.waitForURL(`${base}/`);
    timed('conditional: /login -> home page loaded', t1);
    assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
    assert.equal(await sessionEmail(tab), email);
    assert.deepEqual(tab.calls.slice(callsBefore), [
      { op: 'get', mediation: 'conditional', phase: 'call' },
      { op: 'get', mediation: 'conditional', phase: 'ok' },
    ]);
    const [after] = await credentialsOn(tab, auth);
    assert.ok(after!.signCount > before!.signCount);
    assert.deepEqual(tab.errors, []);
    timed('test b (conditional UI)', t0);
  });

  test('settings: add a security key, sign in with each, rename (escaped), remove, the last one stays', async () => {
    const t0 = Date.now();
    const tab = await newTab();
    const a = await addAuthenticator(tab, 'internal');
    const email = newEmail('settings');
    await signUp(tab, email);
    const [credA] = await credentialsOn(tab, a);
    await gotoSettings(tab);
    assert.deepEqual(await listedIds(tab), [credA!.id]);

    // A second authenticator (a USB security key); the first must not answer while it is added.
    const b = await addAuthenticator(tab, 'usb');
    await setPresence(tab, a, false);
    let t1 = Date.now();
    await postSettings(tab, () => tab.page.getByRole('button', { name: 'Add passkey' }).click());
    timed('settings: add passkey click -> page shown', t1);
    await setPresence(tab, a, true);
    await message(tab, 1050001).waitFor();
    const [credB] = await credentialsOn(tab, b);
    assert.ok(credB, 'the security key holds the new passkey');
    assert.equal((await credentialsOn(tab, a)).length, 1);
    assert.deepEqual(await listedIds(tab), [credA!.id, credB.id]);
    for (const id of [credA!.id, credB.id]) {
      assert.equal(await item(tab, id).locator('button[name="passkey_remove"]').isDisabled(), false);
      assert.match((await item(tab, id).locator('small').textContent()) ?? '', /last used never/);
    }

    // Sign out and in with each authenticator in turn, the other one switched off.
    for (const [use, cred] of [
      [a, credA!],
      [b, credB],
    ] as const) {
      await logOut(tab);
      const before = (await credentialsOn(tab, use))[0]!.signCount;
      await signInByClick(tab, use, [a, b]);
      assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
      assert.ok((await credentialsOn(tab, use))[0]!.signCount > before, 'this authenticator signed');
      await gotoSettings(tab);
      assert.doesNotMatch((await item(tab, cred.id).locator('small').textContent()) ?? '', /last used never/);
    }
    assert.match((await item(tab, credA!.id).locator('small').textContent()) ?? '', /last used \d{4}-\d\d-\d\d/);

    // Rename: the name is shown as text, escaped in the HTML.
    const name = '<b>Key</b> & "2"';
    await item(tab, credB.id).locator('button.rename-open').click();
    await item(tab, credB.id).locator('input[name="passkey_rename_name"]').fill(name);
    const page = tab.page.waitForResponse(
      (r) => r.request().method() === 'GET' && r.url().startsWith(`${base}/settings?flow=`),
    );
    await postSettings(tab, () => item(tab, credB.id).getByRole('button', { name: 'Save name' }).click());
    const html = await (await page).text();
    assert.ok(html.includes('&lt;b&gt;Key&lt;/b&gt; &amp; &quot;2&quot;'), 'escaped in the HTML');
    assert.ok(!html.includes('<b>Key'), 'never raw');
    await message(tab, 1050001).waitFor();
    assert.equal(await item(tab, credB.id).locator('.passkey-name').textContent(), name);
    assert.equal(await item(tab, credB.id).locator('input[name="passkey_rename_name"]').inputValue(), name);
    assert.equal(
      await item(tab, credB.id).locator('button[name="passkey_remove"]').textContent(),
      `Remove passkey "${name}"`,
    );
    assert.equal(await tab.page.locator('#passkeys b').count(), 0, 'no element was injected');

    // Removing asks first: "Cancel" and Esc close the confirmation and post nothing.
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST') posts.push(r.url());
    };
    tab.page.on('request', onRequest);
    assert.equal(await confirmation(tab, credA!.id).isVisible(), false, 'hidden until asked');
    await item(tab, credA!.id).locator('button.remove-open').click();
    await confirmation(tab, credA!.id).waitFor({ state: 'visible' });
    assert.match((await confirmation(tab, credA!.id).textContent()) ?? '', /Remove this passkey\?/);
    await confirmation(tab, credA!.id).getByRole('button', { name: 'Cancel' }).click();
    await confirmation(tab, credA!.id).waitFor({ state: 'hidden' });
    await item(tab, credA!.id).locator('button.remove-open').click();
    await confirmation(tab, credA!.id).waitFor({ state: 'visible' });
    await tab.page.keyboard.press('Escape');
    await confirmation(tab, credA!.id).waitFor({ state: 'hidden' });
    tab.page.off('request', onRequest);
    assert.deepEqual(posts, []);
    assert.deepEqual(await listedIds(tab), [credA!.id, credB.id]);

    // Remove the first passkey, confirmed.
    t1 = Date.now();
    await postSettings(tab, () => removeConfirmed(tab, credA!.id));
    timed('settings: remove click -> page shown', t1);
    await message(tab, 1050001).waitFor();
    assert.deepEqual(await listedIds(tab), [credB.id]);
    const last = item(tab, credB.id).locator('button[name="passkey_remove"]');
    assert.equal(await last.isDisabled(), true, 'the last passkey cannot be removed from the page');
    assert.equal(await item(tab, credB.id).locator('button.remove-open').isDisabled(), true, 'nor asked about');

    // A UI may ignore `disabled` (Ory Elements does): the server refuses on its own, and says why.
    await last.evaluate((el) => el.removeAttribute('disabled'));
    await item(tab, credB.id)
      .locator('button.remove-open')
      .evaluate((el) => el.removeAttribute('disabled'));
    await postSettings(tab, () => removeConfirmed(tab, credB.id));
    await item(tab, credB.id).locator('[data-message-id="4000501"]').waitFor();
    assert.match((await message(tab, 4000501).textContent()) ?? '', /cannot remove your last passkey/);
    assert.deepEqual(await listedIds(tab), [credB.id]);

    // The settings page told the browser (Signal API, signalAllAcceptedCredentials): the first authenticator dropped
    // the removed passkey. Put it back once signed out (the signed-in home page signals too), as a browser without the
    // Signal API would still hold it: the server refuses it on its own. The remaining one signs in.
    for (let i = 0; (await credentialsOn(tab, a)).length > 0; i++) {
      assert.ok(i < 200, 'the removed passkey leaves the first authenticator');
      await new Promise((r) => setTimeout(r, 10));
    }
    await logOut(tab);
    const { id: _id, userHandleUrl: _handle, ...planted } = credA!;
    await tab.cdp.send('WebAuthn.addCredential', { authenticatorId: a, credential: planted });
    await openLogin(tab, [a, b]);
    await setPresence(tab, a, true);
    const posted = tab.page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/self-service/login?'));
    await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
    await posted;
    // The login page the refusal leads back to starts conditional UI again: keep the removed passkey out of it.
    await setPresence(tab, a, false);
    await message(tab, 4000043).waitFor();
    assert.match(tab.page.url(), /\/login\?flow=/);
    assert.equal(await sessionEmail(tab), 401);
    await signInByClick(tab, b, [a, b]);
    assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
    assert.deepEqual(tab.errors, []);
    timed('test c (settings)', t0);
  });

  test('a page on another localhost port gets a valid signature, but the login is refused (origin check)', async () => {
    const t0 = Date.now();
    const other = await startOtherOrigin();
    try {
      const tab = await newTab();
      const auth = await addAuthenticator(tab);
      const email = newEmail('origin');
      await signUp(tab, email);
      await logOut(tab);

      // The victim's login flow (and its CSRF cookie, in this browser), copied onto the other origin's page, whose
      // form posts the assertion back to that origin.
      await openLogin(tab, [auth]);
      const copied = await copyLoginPage(tab);
      const { challenge } = JSON.parse(copied.challenge).publicKey;
      const collect = `${other.url}/self-service/login?flow=${new URL(copied.action).searchParams.get('flow')}`;
      other.state.page = { ...copied, action: collect, src: `${other.url}/.well-known/ory/webauthn.js` };
      await tab.page.goto(`${other.url}/copy`);
      await scriptReady(tab);
      await setPresence(tab, auth, true);
      await Promise.all([
        tab.page.waitForURL(collect),
        tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
      ]);
      const collected = other.state.collected.at(-1)!;
      const assertion = JSON.parse(collected.passkey_login!);
      const clientData = clientDataOf(assertion);
      assert.equal(clientData.origin, other.url);
      assert.equal(clientData.type, 'webauthn.get');
      assert.equal(clientData.challenge, challenge, 'signed the example flow challenge');

      // The browser produced a valid signature: check it with the credential's key, taken from the authenticator.
      const [cred] = await credentialsOn(tab, auth);
      const privateKey = createPrivateKey({
        key: Buffer.from(cred!.privateKey, 'base64'),
        format: 'der',
        type: 'pkcs8',
      });
      const publicKey = createPublicKey(privateKey);
      const authData = Buffer.from(assertion.response.authenticatorData, 'base64url');
      const clientHash = createHash('sha256').update(Buffer.from(assertion.response.clientDataJSON, 'base64url'));
      assert.deepEqual(authData.subarray(0, 32), createHash('sha256').update('localhost').digest(), 'RP ID hash');
      const signed = Buffer.concat([authData, clientHash.digest()]);
      const algorithm = publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
      assert.ok(verify(algorithm, signed, publicKey, Buffer.from(assertion.response.signature, 'base64url')));
      assert.equal(assertion.id, cred!.id);

      // Posted to the example with this browser's cookies and the flow's CSRF token: only the origin is wrong.
      const cookies = await tab.context.cookies(copied.action);
      const res = await fetch(copied.action, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
          cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
        },
        body: new URLSearchParams({ csrf_token: copied.csrf, passkey_login: collected.passkey_login! }),
      });
      const body = (await res.json()) as { ui: { messages: { id: number }[] } };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(
        body.ui.messages.map((m: { id: number }) => m.id),
        [4000043],
      );
      assert.equal(await sessionEmail(tab), 401);

      // The same copy posting straight to the example, as a browser form post (same site, so the cookies go along):
      // refused before the assertion is even looked at, because the post's Origin is not one of rp.origins.
      await openLogin(tab, [auth]);
      const copied2 = await copyLoginPage(tab);
      other.state.page = copied2;
      await tab.page.goto(`${other.url}/copy`);
      await scriptReady(tab);
      await setPresence(tab, auth, true);
      const request = tab.page.waitForRequest((r) => r.method() === 'POST' && r.url() === copied2.action);
      const response = tab.page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === copied2.action);
      await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
      const posted = new URLSearchParams((await request).postData() ?? '');
      // The example's login page it lands on starts conditional UI again: keep the passkey out of that.
      await setPresence(tab, auth, false);
      assert.equal(clientDataOf(JSON.parse(posted.get('passkey_login')!)).origin, other.url);
      // The browser lands on the example's error page (urls.ui.error), which shows the stored error.
      const answer = await response;
      assert.equal(answer.status(), 303);
      const errorPage = new URL(answer.headers().location ?? '', copied2.action);
      assert.equal(errorPage.origin + errorPage.pathname, `${base}/error`);
      await tab.page.waitForURL(errorPage.href);
      assert.equal(await tab.page.locator('h1').textContent(), 'Something went wrong');
      assert.match((await tab.page.locator('#error-details').textContent()) ?? '', /security_csrf_violation \(403/);
      assert.match((await tab.page.locator('#error-message').textContent()) ?? '', /Cross-Site-Request-Forgery/);
      assert.equal(await sessionEmail(tab), 401);
      const flowId = new URL(copied2.action).searchParams.get('flow');
      const since = tab.calls.length;
      await tab.page.goto(`${base}/login?flow=${flowId}`);
      await scriptReady(tab);
      await autofillWaiting(tab, since);

      // Control: the same browser, passkey and flow on the example's own page signs in.
      await setPresence(tab, auth, true);
      await Promise.all([
        tab.page.waitForURL(`${base}/`),
        tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
      ]);
      assert.equal(await sessionEmail(tab), email);
      assert.deepEqual(tab.errors, []);
    } finally {
      await other.close();
    }
    timed('test d (origin check)', t0);
  });
});
