/**
 * End to end, flow policy (SPEC §9) on the basic example in Chromium with a CDP virtual authenticator and mail over
 * a real SMTP server: (1) SIGNUP_DOMAIN refuses a sign-up from another domain with the app's message under the email
 * field, writing nothing; (2) with a verified address required, an unverified user's sign-in lands on the
 * verification page with a code on its way, and after entering it the user signs in.
 *
 * Run: npx tsx --test test/browser/flow-policy.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { MemoryStore } from '../../src/index.js';
import { codeFrom, type Inbox, startSmtp } from '../helpers/smtp.js';
import { watchStore } from '../helpers/store-watch.js';
import {
  addAuthenticator,
  autofillWaiting,
  credentialsOn,
  launchChromium,
  openTab,
  setPresence,
  type Tab,
} from './helpers.js';

/** webauthn.js has loaded (a function predicate: a string one is eval'd in the page, which its CSP forbids). */
async function scriptReady(tab: Tab, name: string): Promise<void> {
  await tab.page.waitForFunction(
    (fn) => typeof (globalThis as unknown as Record<string, unknown>)[fn] === 'function',
    name,
  );
}

/** Poll an async condition (up to 5 s). */
async function waitFor(predicate: () => Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let browser: Browser;
let inbox: Inbox;
const tabs: Tab[] = [];
const closers: (() => Promise<void>)[] = [];
const SHOTS = '.tmp/flow-policy'; // screenshots to look at (ignored by git)

const FLOW_PAGE = (kind: string) => new RegExp(`/${kind}\\?flow=[0-9a-f-]{36}$`);
const message = (tab: Tab, id: number) => tab.page.locator(`[data-message-id="${id}"]`);
const button = (tab: Tab, name: string) => tab.page.getByRole('button', { name, exact: true });

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser);
  tab.page.setDefaultTimeout(10_000);
  tabs.push(tab);
  return tab;
}

async function whoami(tab: Tab, base: string): Promise<number | string> {
  const res = await tab.context.request.get(`${base}/auth/sessions/whoami`, {
    headers: { accept: 'application/json' },
  });
  return res.status() === 200 ? (await res.json()).identity.traits.email : res.status();
}

async function startExample(options: Parameters<typeof createApp>[0]) {
  const example = await createApp({ port: 0, smtpUrl: inbox.url, ...options });
  closers.push(example.close);
  return example.url;
}

describe('flow policy on the basic example, in Chromium', () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    inbox = await startSmtp();
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    for (const close of closers) await close();
    await inbox?.close();
  });

  test('scenario 1: SIGNUP_DOMAIN refuses another domain: the message under the email field, nothing written', async () => {
    const watched = watchStore(new MemoryStore());
    const base = await startExample({ signupDomain: 'example.com', store: watched.store });
    const tab = await newTab();
    const authenticator = await addAuthenticator(tab);

    await tab.page.goto(`${base}/registration`);
    await scriptReady(tab, 'oryPasskeyRegistration');
    const page = tab.page.url();
    assert.match(page, FLOW_PAGE('registration'));
    const before = await watched.snapshot();
    await tab.page.getByLabel('E-Mail').fill('zoe@other.org');
    await button(tab, 'Sign up with passkey').click();

    // Back on the same flow's page, the app's message right under the email field.
    const refusal = tab.page.locator('[data-message-id="4100001"]');
    await refusal.waitFor();
    assert.equal(tab.page.url(), page);
    assert.match((await refusal.textContent()) ?? '', /@example\.com/);
    const follows = await tab.page.getByLabel('E-Mail').evaluate((input) => {
      const label = input.closest('label') ?? input;
      const next = label.nextElementSibling;
      return next?.getAttribute('data-message-id') ?? null;
    });
    assert.equal(follows, '4100001', 'the message is the element right after the email field');
    assert.equal(await tab.page.getByLabel('E-Mail').inputValue(), 'zoe@other.org', 'what was typed stays');
    await tab.page.screenshot({ path: `${SHOTS}/signup-domain-refused.png`, fullPage: true });

    // Nothing written: no identity, no passkey, no session; and the passkey the authenticator made is signalled
    // unknown (Signal API), so the device does not keep an orphan.
    assert.deepEqual(await watched.snapshot(), before);
    assert.equal(await whoami(tab, base), 401);
    await waitFor(async () => (await credentialsOn(tab, authenticator)).length === 0, 'the orphan passkey dropped');

    // Corrected, the same page signs up (the flow came back with a new challenge).
    await tab.page.getByLabel('E-Mail').fill('zoe@example.com');
    await Promise.all([tab.page.waitForURL(FLOW_PAGE('verification')), button(tab, 'Sign up with passkey').click()]);
    assert.equal(await whoami(tab, base), 'zoe@example.com');
    await inbox.waitForMail('zoe@example.com');
    assert.deepEqual(tab.errors, []);
  });

  test('scenario 2: a verified address required: code at sign-in → verification page → sign-in', async () => {
    const base = await startExample({ requireVerifiedAddress: true });
    const tab = await newTab();
    const authenticator = await addAuthenticator(tab);
    const email = 'max@example.com';

    // Sign up (the sign-up's own verification mail is left unread), then log out.
    await tab.page.goto(`${base}/registration`);
    await scriptReady(tab, 'oryPasskeyRegistration');
    await tab.page.getByLabel('E-Mail').fill(email);
    await Promise.all([tab.page.waitForURL(FLOW_PAGE('verification')), button(tab, 'Sign up with passkey').click()]);
    await inbox.waitForMail(email);
    await tab.page.goto(`${base}/`);
    await Promise.all([
      tab.page.waitForResponse((r) => r.url().startsWith(`${base}/auth/self-service/logout?token=`)),
      tab.page.getByRole('link', { name: 'Log out' }).click(),
    ]);
    await tab.page.getByText('You are not signed in.').waitFor();

    // Sign in: no session; the browser lands on the verification page, a code on its way.
    // (The authenticator holds back until the button is clicked: with presence simulated, passkey autofill would
    // sign in on its own as soon as the page loads.)
    await setPresence(tab, authenticator, false);
    let since = tab.calls.length;
    await tab.page.goto(`${base}/login`);
    await scriptReady(tab, 'oryPasskeyLogin');
    await autofillWaiting(tab, since);
    await setPresence(tab, authenticator, true);
    await Promise.all([tab.page.waitForURL(FLOW_PAGE('verification')), button(tab, 'Sign in with passkey').click()]);
    await message(tab, 1080003).waitFor();
    assert.equal(await whoami(tab, base), 401, 'no session before the address is verified');
    // The page says why a sign-in led here.
    assert.equal(
      await tab.page.locator('#lead').textContent(),
      'This app signs you in once your email address is verified. Enter the code we sent you, then sign in with your passkey.',
    );
    await tab.page.screenshot({ path: `${SHOTS}/verification-at-sign-in.png`, fullPage: true });

    const code = codeFrom(await inbox.waitForMail(email));
    await tab.page.getByLabel('Verification code').fill(code);
    await button(tab, 'Continue').click();
    await message(tab, 1080002).waitFor();
    await tab.page.screenshot({ path: `${SHOTS}/verified-then-sign-in.png`, fullPage: true });

    // "Continue" leads home; the user signs in now.
    await Promise.all([tab.page.waitForURL(`${base}/`), tab.page.locator('a#continue').click()]);
    await setPresence(tab, authenticator, false);
    since = tab.calls.length;
    await Promise.all([
      tab.page.waitForURL(FLOW_PAGE('login')),
      tab.page.getByRole('link', { name: 'Sign in' }).first().click(),
    ]);
    await scriptReady(tab, 'oryPasskeyLogin');
    await autofillWaiting(tab, since);
    await setPresence(tab, authenticator, true);
    await Promise.all([tab.page.waitForURL(`${base}/`), button(tab, 'Sign in with passkey').click()]);
    assert.equal(await whoami(tab, base), email);
    assert.deepEqual(tab.errors, []);
  });
});
