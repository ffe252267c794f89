/**
 * What a person sees when a passkey ceremony fails, in a real Chromium with CDP virtual authenticators, on the basic
 * example's own pages (examples/basic): no passkey is left on the device for an account that was not created (the
 * registration pre-check; the Signal API after a refusal), and failures are shown next to the button, with a
 * `passkeys:error` event for UIs that show their own.
 *
 * Run: npx tsx --test test/browser/failures.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { MemoryStore } from '../../src/index.js';
import {
  addAuthenticator,
  credentialsOn,
  launchChromium,
  openTab,
  skipWithoutChromium,
  type Tab,
  waitForGlobal,
} from './helpers.js';

let example: Awaited<ReturnType<typeof createApp>>;
const store = new MemoryStore();
let base = '';
let browser: Browser;
const tabs: Tab[] = [];

let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser);
  tabs.push(tab);
  return tab;
}

const scriptReady = (tab: Tab) => waitForGlobal(tab.page, 'oryPasskeyLogin');
const creates = (tab: Tab) => tab.calls.filter((c) => c.op === 'create' && c.phase === 'call').length;
const message = (tab: Tab, id: number) => tab.page.locator(`[data-message-id="${id}"]`);
/** The helper's own message region: the `role="alert"` element right after the trigger button. */
const alertAfter = (tab: Tab, button: string) =>
  tab.page.locator(`button:text-is("${button}") + [role="alert"].passkeys-error`);

/** The authenticator's credentials once Chromium has acted on a signal (it drops a signalled one asynchronously). */
async function credentialsAfterSignal(tab: Tab, authenticatorId: string) {
  let left = await credentialsOn(tab, authenticatorId);
  const until = Date.now() + 5000;
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    left = await credentialsOn(tab, authenticatorId);
  }
  return left;
}

/** Every `passkeys:error` event the page sees (listening on document, so it must bubble there). */
async function recordErrors(tab: Tab): Promise<void> {
  await tab.page.evaluate(`window.__errors = [];
    document.addEventListener('passkeys:error', (e) => window.__errors.push(e.detail));`);
}
const errorsSeen = (tab: Tab) => tab.page.evaluate('window.__errors') as Promise<unknown[]>;

async function openRegistration(tab: Tab): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  assert.match(tab.page.url(), /\/registration\?flow=[0-9a-f-]{36}$/);
  await scriptReady(tab);
}

/** Sign-up on the example's page, as a person does it; waits for the verification page. */
async function signUp(tab: Tab, email: string): Promise<void> {
  await openRegistration(tab);
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(/\/verification\?flow=/),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
}

/** Clicks "Sign up with passkey" and waits for the registration page the refused post comes back to. */
async function refusedSignUp(tab: Tab): Promise<void> {
  const flowUrl = tab.page.url();
  const posted = tab.page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.request().resourceType() === 'document',
  );
  await tab.page.getByRole('button', { name: 'Sign up with passkey' }).click();
  const response = await posted;
  assert.equal(response.status(), 303);
  assert.equal(new URL(response.headers()['location'] ?? '', base).href, flowUrl, 'back to the same flow');
  await tab.page.waitForLoadState('load');
  await scriptReady(tab);
}

describe('failures in the browser: no orphan passkeys, messages next to the button', {
  skip: skipWithoutChromium,
}, () => {
  before(async () => {
    example = await createApp({ port: 0, store });
    base = example.url;
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
  });

  test('sign-up with an empty email: the server says why before any passkey is created', async () => {
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await openRegistration(tab);
    const prechecks: string[] = [];
    tab.page.on('request', (r) => {
      if (r.method() === 'POST' && r.resourceType() === 'fetch') prechecks.push(r.postData() ?? '');
    });
    await refusedSignUp(tab);
    await message(tab, 4000002).waitFor();
    assert.equal(creates(tab), 0, 'navigator.credentials.create() was never called');
    assert.deepEqual(await credentialsOn(tab, auth), [], 'the authenticator holds no passkey');
    assert.equal(prechecks.length, 1, 'one pre-check');
    assert.equal(new URLSearchParams(prechecks[0]).get('method'), 'profile');

    // Then with an email: the passkey is created and the account with it.
    const email = newEmail('empty-then-filled');
    await tab.page.getByLabel('E-Mail').fill(email);
    await Promise.all([
      tab.page.waitForURL(/\/verification\?flow=/),
      tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
    ]);
    const creds = await credentialsOn(tab, auth);
    assert.equal(creds.length, 1);
    assert.equal(creds[0]!.userName, email);
    assert.deepEqual(tab.errors, []);
  });

  test('sign-up with a taken email: 4000028 is shown and the authenticator holds no passkey for the RP', async () => {
    const email = newEmail('taken');
    const first = await newTab();
    await addAuthenticator(first);
    await signUp(first, email);

    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await openRegistration(tab);
    await tab.page.getByLabel('E-Mail').fill(email.toUpperCase());
    await refusedSignUp(tab);
    await message(tab, 4000028).waitFor();
    assert.equal(creates(tab), 0);
    assert.deepEqual(await credentialsOn(tab, auth), []);
    assert.deepEqual(tab.errors, []);
  });

  test('a sign-up refused after create() (the email was taken meanwhile): the new passkey is signalled unknown and dropped', async () => {
    const email = newEmail('race');
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await openRegistration(tab);
    await tab.page.getByLabel('E-Mail').fill(email);
    // The pre-check passes; the post carrying the new passkey is held until another browser has taken the email.
    let held = false;
    await tab.page.route(/\/auth\/self-service\/registration\?flow=/, async (route) => {
      const body = new URLSearchParams(route.request().postData() ?? '');
      if (route.request().resourceType() === 'document' && body.get('passkey_register')) {
        held = true;
        const other = await newTab();
        await addAuthenticator(other);
        await signUp(other, email);
      }
      await route.continue();
    });
    await refusedSignUp(tab);
    assert.ok(held, 'the post with the passkey went through the hold');
    await message(tab, 4000028).waitFor();
    assert.equal(creates(tab), 1, 'the passkey was created: the pre-check had passed');
    const signal = JSON.parse(await tab.page.locator('input[name="passkey_signal"]').inputValue());
    assert.deepEqual(Object.keys(signal), ['unknownCredential']);
    assert.equal(signal.unknownCredential.rpId, 'localhost');
    // Chromium's Signal API removes it from the virtual authenticator.
    assert.deepEqual(await credentialsAfterSignal(tab, auth), [], 'the orphan passkey is gone from the authenticator');
    assert.deepEqual(tab.errors, []);
  });

  test('a sign-up whose flow expired while the passkey was created: the new flow names it, and it is dropped', async () => {
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await openRegistration(tab);
    const flowId = new URL(tab.page.url()).searchParams.get('flow')!;
    await tab.page.getByLabel('E-Mail').fill(newEmail('expired'));
    // The pre-check passes; the post carrying the new passkey is held while the flow's lifespan runs out (as when a
    // person leaves the browser's passkey dialog open past it).
    let held = false;
    await tab.page.route(/\/auth\/self-service\/registration\?flow=/, async (route) => {
      const body = new URLSearchParams(route.request().postData() ?? '');
      if (route.request().resourceType() === 'document' && body.get('passkey_register')) {
        held = true;
        const flow = (await store.getFlow(flowId))!;
        await store.saveFlow({ ...flow, expiresAt: new Date(Date.now() - 1000) });
      }
      await route.continue();
    });
    const posted = tab.page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.request().resourceType() === 'document',
    );
    await tab.page.getByRole('button', { name: 'Sign up with passkey' }).click();
    assert.equal((await posted).status(), 303);
    assert.ok(held, 'the post with the passkey went through the hold');
    await tab.page.waitForURL((url) => url.pathname === '/registration' && url.searchParams.get('flow') !== flowId);
    await message(tab, 4040001).waitFor();
    assert.equal(creates(tab), 1, 'the passkey was created: the pre-check had passed');
    assert.deepEqual(await credentialsAfterSignal(tab, auth), [], 'the orphan passkey is gone from the authenticator');
    assert.deepEqual(tab.errors, []);
  });

  test('a second "Add passkey" on the same device says so next to the button, and dispatches passkeys:error', async () => {
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await signUp(tab, newEmail('twice'));
    await tab.page.goto(`${base}/settings`);
    await scriptReady(tab);
    await recordErrors(tab);
    await tab.page.getByRole('button', { name: 'Add passkey' }).click();
    const alert = alertAfter(tab, 'Add passkey');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'This device already has a passkey for this account.');
    assert.deepEqual(await errorsSeen(tab), [
      { name: 'InvalidStateError', message: 'This device already has a passkey for this account.', flow: 'settings' },
    ]);
    assert.equal((await credentialsOn(tab, auth)).length, 1, 'still the one passkey');
    assert.match(tab.page.url(), /\/settings\?flow=/, 'nothing was posted');

    // Another try clears the message first; the same failure shows it again, in the same region.
    await tab.page.getByRole('button', { name: 'Add passkey' }).click();
    await tab.page.waitForFunction(() => (window as unknown as { __errors: unknown[] }).__errors.length === 2);
    assert.equal(await tab.page.locator('[role="alert"].passkeys-error').count(), 1);
    assert.deepEqual(tab.errors, []);
  });

  test('"Add passkey" with a session too old to change settings: to the sign-in again, no passkey created', async () => {
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await signUp(tab, newEmail('stale'));
    const before = creates(tab);
    // The server's clock (this process runs the example) moves past the privileged window (1 h); the settings flow
    // is made after that, so it is fresh.
    const realNow = Date.now;
    const offset = 61 * 60 * 1000;
    Date.now = () => realNow() + offset;
    try {
      await tab.page.goto(`${base}/settings`);
      await scriptReady(tab);
      await Promise.all([
        tab.page.waitForURL(/\/login\?flow=/),
        tab.page.getByRole('button', { name: 'Add passkey' }).click(),
      ]);
    } finally {
      Date.now = realNow;
    }
    assert.equal(creates(tab), before, 'navigator.credentials.create() was not called');
    assert.equal((await credentialsOn(tab, auth)).length, 1, 'only the sign-up passkey');
    assert.deepEqual(tab.errors, []);
  });

  test('a cancelled sign-in shows "Passkey request cancelled. Try again."; a listener may show it its own way', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    await tab.page.goto(`${base}/login`);
    await scriptReady(tab);
    await recordErrors(tab);
    // No passkey for this RP on the device: Chromium answers NotAllowedError, as for a cancelled or timed-out prompt.
    await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
    const alert = alertAfter(tab, 'Sign in with passkey');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'Passkey request cancelled. Try again.');
    assert.deepEqual(await errorsSeen(tab), [
      { name: 'NotAllowedError', message: 'Passkey request cancelled. Try again.', flow: 'login' },
    ]);

    // An SPA calling window.oryPasskeyLogin() without an element (Ory Elements does) and showing its own message:
    // preventDefault() keeps the helper's region out of it.
    await tab.page.evaluate(`document.querySelector('[role="alert"].passkeys-error').remove();
      document.addEventListener('passkeys:error', (e) => e.preventDefault(), { once: true });`);
    assert.equal(await tab.page.evaluate('window.oryPasskeyLogin().then((r) => r)'), false);
    assert.equal((await errorsSeen(tab)).length, 2);
    assert.equal(await tab.page.locator('[role="alert"].passkeys-error').count(), 0);

    // Without a listener, a call without an element puts the message at the end of the flow form.
    assert.equal(await tab.page.evaluate('window.oryPasskeyLogin().then((r) => r)'), false);
    const region = tab.page.locator('form [role="alert"].passkeys-error');
    await region.waitFor();
    assert.equal(await region.textContent(), 'Passkey request cancelled. Try again.');
    assert.deepEqual(tab.errors, []);
  });

  test('a page with its own #passkeys-error region gets the message there', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    await tab.page.goto(`${base}/login`);
    await scriptReady(tab);
    await tab.page.evaluate(`const own = document.createElement('p');
      own.id = 'passkeys-error';
      own.setAttribute('role', 'alert');
      document.body.prepend(own);`);
    await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
    await tab.page.locator('#passkeys-error:text-is("Passkey request cancelled. Try again.")').waitFor();
    assert.equal(await tab.page.locator('.passkeys-error').count(), 0, 'no region of its own');
  });

  test('a browser without WebAuthn: "This browser does not support passkeys." instead of nothing', async () => {
    const tab = await newTab();
    await tab.page.addInitScript('delete window.PublicKeyCredential');
    await openRegistration(tab);
    await recordErrors(tab);
    await tab.page.getByLabel('E-Mail').fill(newEmail('old-browser'));
    await tab.page.getByRole('button', { name: 'Sign up with passkey' }).click();
    const alert = alertAfter(tab, 'Sign up with passkey');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'This browser does not support passkeys.');
    assert.deepEqual(await errorsSeen(tab), [
      { name: 'NotSupportedError', message: 'This browser does not support passkeys.', flow: 'registration' },
    ]);
  });
});
