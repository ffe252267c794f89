/**
 * End to end: the basic example app with `LOGIN_STYLE=identifier_first` in a real Chromium. A security key that cannot
 * store discoverable credentials (CTAP2 over USB, `hasResidentKey: false`) signs up with `RESIDENT_KEY=discouraged`,
 * then signs in: type the email, Continue, "Sign in with passkey" (the usernameless style cannot sign it in). An
 * unknown email gets a page that looks exactly like a known one's.
 *
 * Run: npx tsx --test test/browser/identifier-first.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import {
  addAuthenticator,
  credentialsOn,
  launchChromium,
  openTab,
  type Tab,
  waitFor,
  waitForGlobal,
} from './helpers.js';

let example: Awaited<ReturnType<typeof createApp>>;
let base = '';
let browser: Browser;
const tabs: Tab[] = [];

before(async () => {
  process.env.LOGIN_STYLE = 'identifier_first';
  process.env.RESIDENT_KEY = 'discouraged';
  example = await createApp({ port: 0 });
  base = example.url;
  browser = await launchChromium();
});

after(async () => {
  for (const tab of tabs) await tab.context.close();
  await browser?.close();
  await example?.close();
});

/** A tab holding a USB security key without resident keys: every credential it makes is non-discoverable. */
async function securityKeyTab(): Promise<{ tab: Tab; authenticatorId: string }> {
  const tab = await openTab(browser);
  tabs.push(tab);
  const authenticatorId = await addAuthenticator(tab, 'usb', { hasResidentKey: false });
  return { tab, authenticatorId };
}

const scriptReady = (tab: Tab) => waitForGlobal(tab.page, 'oryPasskeyLogin');

async function sessionEmail(tab: Tab): Promise<string | number> {
  const res = await tab.context.request.get(`${base}/auth/sessions/whoami`, {
    headers: { accept: 'application/json' },
  });
  return res.status() === 200 ? (await res.json()).identity.traits.email : res.status();
}

/** /registration → the email → "Sign up with passkey" → the verification page (signed in). */
async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  await scriptReady(tab);
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(/\/verification\?flow=[0-9a-f-]{36}$/),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
  assert.equal(await sessionEmail(tab), email);
}

/** /login → type the email → Continue: the same flow comes back at step two. */
async function stepOne(tab: Tab, email: string): Promise<string> {
  const { page } = tab;
  await page.goto(`${base}/login`);
  const first = page.url();
  await page.screenshot({ path: '.tmp/example-identifier-first-1.png', fullPage: true });
  assert.match(first, /\/login\?flow=[0-9a-f-]{36}$/);
  await scriptReady(tab);
  const identifier = page.getByLabel('E-Mail');
  assert.equal(await identifier.getAttribute('autocomplete'), 'username webauthn');
  await identifier.fill(email);
  await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().startsWith(`${base}/auth/self-service/login`),
    ),
    page.getByRole('button', { name: 'Continue' }).click(),
  ]);
  await page.waitForURL(first);
  await scriptReady(tab);
  return first;
}

/** What step two shows: the page's text and its inputs, the challenge's shape; the email typed taken out. */
async function stepTwoView(tab: Tab, email: string) {
  const { page } = tab;
  const text = (await page.locator('body').textContent())?.replaceAll(email, '<email>');
  const inputs = await page
    .locator('form#flow input, form#flow button')
    .evaluateAll((list) => list.map((e) => `${e.tagName}:${e.getAttribute('type')}:${e.getAttribute('name')}`));
  const options = JSON.parse(await page.locator('input[name="passkey_challenge"]').inputValue()).publicKey;
  const allow = (options.allowCredentials as Record<string, string>[]).map((c) => ({
    keys: Object.keys(c).sort().join(),
    bytes: Buffer.from(c.id as string, 'base64url').length,
  }));
  return { text, inputs, keys: Object.keys(options).sort(), entry: allow[0], identifier: await hiddenIdentifier(tab) };
}

const hiddenIdentifier = (tab: Tab) => tab.page.locator('input[type="hidden"][name="identifier"]').inputValue();

describe('example app, LOGIN_STYLE=identifier_first', () => {
  test('type the email, then sign in with a non-discoverable security key', async () => {
    const { tab, authenticatorId } = await securityKeyTab();
    const email = `key-${Date.now().toString(36)}@example.com`;
    await signUp(tab, email);
    const [credential] = await credentialsOn(tab, authenticatorId);
    assert.equal(credential?.isResidentCredential, false, 'the security key holds a non-discoverable credential');
    await tab.context.clearCookies(); // signed out; the key keeps its credential
    assert.equal(await sessionEmail(tab), 401);

    await stepOne(tab, email);
    await tab.page.screenshot({ path: '.tmp/example-identifier-first-2.png', fullPage: true });
    assert.equal(await hiddenIdentifier(tab), email);
    assert.equal(await tab.page.locator('#signing-in-as strong').textContent(), email);
    assert.equal(await tab.page.getByRole('button', { name: 'Continue' }).count(), 0);
    const options = JSON.parse(await tab.page.locator('input[name="passkey_challenge"]').inputValue()).publicKey;
    assert.deepEqual(
      options.allowCredentials.map((c: { id: string }) => c.id),
      [credential?.id],
    );
    await Promise.all([
      tab.page.waitForURL(`${base}/`),
      tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
    ]);
    assert.equal(await sessionEmail(tab), email);
    assert.deepEqual(tab.errors, []);
  });

  test('an unknown email looks exactly like a known one', async () => {
    const { tab: owner } = await securityKeyTab();
    const known = `known-${Date.now().toString(36)}@example.com`;
    await signUp(owner, known);

    const { tab } = await securityKeyTab();
    await stepOne(tab, known);
    const knownView = await stepTwoView(tab, known);
    const unknown = `nobody-${Date.now().toString(36)}@example.com`;
    await stepOne(tab, unknown);
    await tab.page.screenshot({ path: '.tmp/example-identifier-first-unknown.png', fullPage: true });
    const unknownView = await stepTwoView(tab, unknown);
    assert.deepEqual({ ...unknownView, identifier: '' }, { ...knownView, identifier: '' });
    assert.equal(unknownView.identifier, unknown);
    // The sign-in then fails in the browser (no credential of this key is allowed), and nobody is signed in.
    await tab.page.getByRole('button', { name: 'Sign in with passkey' }).click();
    await waitFor(
      () => tab.calls.some((c) => c.op === 'get' && c.mediation !== 'conditional' && c.phase === 'error'),
      'the refused ceremony',
    );
    assert.equal(await sessionEmail(tab), 401);
    assert.deepEqual(tab.errors, []);
  });
});
