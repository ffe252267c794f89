/**
 * End to end, issue 15's scenarios on the basic example in Chromium (CDP virtual authenticators, mail over real SMTP):
 *  1. Signed in on two browsers and a native app, the user opens "Where you're signed in" in settings: the other two
 *     are listed with their device; "Sign out" ends one at once, "Sign out everywhere else" the rest; an ended
 *     browser's next request is anonymous.
 *  2. A lost phone: removing its passkey in settings ends the session it signed in; recovering by code on a new device
 *     ends every other session.
 *
 * Run: npx tsx --test test/browser/sessions.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { type SoftCredential, SoftwareAuthenticator } from '../helpers/authenticator.js';
import { CHROME_MAC, FIREFOX_LINUX } from '../helpers/sessions.js';
import { codeFrom, type Inbox, startSmtp } from '../helpers/smtp.js';
import {
  addAuthenticator,
  autofillWaiting,
  credentialsOn,
  launchChromium,
  openTab,
  setPresence,
  skipWithoutChromium,
  type Tab,
  waitFor,
  waitForGlobal,
} from './helpers.js';

let example: Awaited<ReturnType<typeof createApp>>;
let base = '';
let browser: Browser;
let inbox: Inbox;
const tabs: Tab[] = [];
let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

async function newTab(userAgent: string): Promise<Tab> {
  const tab = await openTab(browser, { userAgent });
  // A shared, loaded machine: waits get more room than the helpers' 5 s.
  tab.page.setDefaultTimeout(15_000);
  tabs.push(tab);
  return tab;
}

/** The router's view of this browser's session: 200 or 401. */
async function whoamiStatus(tab: Tab): Promise<number> {
  const res = await tab.context.request.get(`${base}/auth/sessions/whoami`, {
    headers: { accept: 'application/json' },
  });
  return res.status();
}

async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  await waitForGlobal(tab.page, 'oryPasskeyRegistration');
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(/\/verification\?flow=/),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
  assert.equal(await whoamiStatus(tab), 200);
}

/** /login with the authenticator held back (conditional UI waits), then "Sign in with passkey" with it answering. */
async function signIn(tab: Tab, authenticator: string): Promise<void> {
  await setPresence(tab, authenticator, false);
  const since = tab.calls.length;
  await tab.page.goto(`${base}/login`);
  await autofillWaiting(tab, since);
  await setPresence(tab, authenticator, true);
  await Promise.all([
    tab.page.waitForURL(`${base}/`),
    tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
  ]);
  assert.equal(await whoamiStatus(tab), 200);
}

type Exported = Awaited<ReturnType<typeof credentialsOn>>[number];

/** A synced copy of a passkey on another device's authenticator, its counter ahead (each copy counts on its own). */
async function plant(tab: Tab, credential: Exported, ahead: number): Promise<string> {
  const authenticator = await addAuthenticator(tab);
  const { id: _id, userHandleUrl: _handle, ...copy } = credential;
  await tab.cdp.send('WebAuthn.addCredential', {
    authenticatorId: authenticator,
    credential: { ...copy, signCount: copy.signCount + ahead },
  });
  return authenticator;
}

/** The same passkey in a native app (the software authenticator signs with the exported private key). */
function nativeKey(credential: Exported, ahead: number): SoftwareAuthenticator {
  const authenticator = new SoftwareAuthenticator();
  const privateKey = createPrivateKey({
    key: Buffer.from(credential.privateKey, 'base64'),
    format: 'der',
    type: 'pkcs8',
  });
  const soft: SoftCredential = {
    id: Buffer.from(credential.id, 'base64url'),
    idB64u: credential.id,
    rpId: 'localhost',
    userHandle: Buffer.from(credential.userHandleUrl ?? '', 'base64url'),
    alg: privateKey.asymmetricKeyType === 'ed25519' ? -8 : -7,
    privateKey,
    publicKey: createPublicKey(privateKey),
    signCount: credential.signCount + ahead,
  };
  authenticator.credentials.push(soft);
  return authenticator;
}

/** A native app signs in through the API flow; returns its session token. */
async function nativeSignIn(key: SoftwareAuthenticator): Promise<string> {
  const init = await fetch(`${base}/auth/self-service/login/api`, { headers: { accept: 'application/json' } });
  const flow = (await init.json()) as {
    ui: { action: string; nodes: { attributes: { name?: string; value?: string } }[] };
  };
  const challenge = JSON.parse(flow.ui.nodes.find((n) => n.attributes.name === 'passkey_challenge')!.attributes.value!);
  const assertion = key.get(challenge.publicKey, { origin: base });
  const done = await fetch(flow.ui.action, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'ExampleApp/2.1 (iOS 18.1)',
    },
    body: JSON.stringify({ method: 'passkey', passkey_login: JSON.stringify(assertion) }),
  });
  const body = (await done.json()) as { session_token?: string };
  assert.equal(done.status, 200, JSON.stringify(body));
  return body.session_token!;
}

async function tokenStatus(token: string): Promise<number> {
  return (await fetch(`${base}/auth/sessions/whoami`, { headers: { 'x-session-token': token } })).status;
}

/** Settings, "Where you're signed in": each listed session's device line. */
async function listedDevices(tab: Tab): Promise<string[]> {
  return tab.page.locator('#sessions li .session-device').allTextContents();
}

describe('sessions you can see and end, on the basic example in Chromium', { skip: skipWithoutChromium }, () => {
  before(async () => {
    inbox = await startSmtp();
    example = await createApp({ port: 0, smtpUrl: inbox.url });
    base = example.url;
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
    await inbox?.close();
  });

  test('scenario 1: two browsers and a native app; "Sign out" one, then "Sign out everywhere else"', async () => {
    const laptop = await newTab(CHROME_MAC);
    const a = await addAuthenticator(laptop);
    await signUp(laptop, newEmail('where'));
    const [passkey] = await credentialsOn(laptop, a);
    assert.ok(passkey);
    const desktop = await newTab(FIREFOX_LINUX);
    await signIn(desktop, await plant(desktop, passkey, 10));
    const token = await nativeSignIn(nativeKey(passkey, 20));

    await laptop.page.goto(`${base}/settings`);
    await laptop.page.getByRole('heading', { name: "Where you're signed in" }).waitFor();
    assert.deepEqual(
      await listedDevices(laptop),
      ['ExampleApp/2.1 (iOS 18.1)', 'Firefox on Linux'],
      'the app, then the desktop (newest first)',
    );
    const desktopRow = laptop.page.locator('#sessions li').filter({ hasText: 'Firefox on Linux' });
    assert.match(
      (await desktopRow.locator('small').textContent()) ?? '',
      /signed in \d{4}-\d\d-\d\d \d\d:\d\d UTC · 127\.0\.0\.1/,
    );
    await laptop.page.screenshot({ path: '/tmp/h15s-sessions-list.png', fullPage: true });

    // "Sign out" the desktop: gone from the list, and its next request is anonymous.
    await Promise.all([
      laptop.page.waitForURL(`${base}/settings?flow=*`),
      desktopRow.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    await laptop.page.getByText('Signed out of that device.').waitFor();
    assert.deepEqual(await listedDevices(laptop), ['ExampleApp/2.1 (iOS 18.1)']);
    assert.equal(await whoamiStatus(desktop), 401);
    await desktop.page.goto(`${base}/`);
    await desktop.page.getByText('You are not signed in.').waitFor();
    assert.equal(await tokenStatus(token), 200, 'the app is still signed in');

    // "Sign out everywhere else": the app too; this browser stays.
    await Promise.all([
      laptop.page.waitForURL(`${base}/settings?flow=*`),
      laptop.page.getByRole('button', { name: 'Sign out everywhere else' }).click(),
    ]);
    await laptop.page.getByText('Signed out everywhere else.').waitFor();
    await laptop.page.locator('#sessions-none').waitFor();
    assert.equal(await tokenStatus(token), 401);
    assert.equal(await whoamiStatus(laptop), 200);
    await laptop.page.screenshot({ path: '/tmp/h15s-sessions-none.png', fullPage: true });
    for (const tab of [laptop, desktop]) assert.deepEqual(tab.errors, []);
  });

  test('scenario 2: removing a lost phone’s passkey ends its session; recovery on a new device ends the others', async () => {
    const laptop = await newTab(CHROME_MAC);
    const a = await addAuthenticator(laptop);
    const email = newEmail('lost');
    await signUp(laptop, email);
    // The phone's own passkey, added in settings through a second authenticator, then moved to the phone.
    const phoneKey = await addAuthenticator(laptop, 'usb');
    await setPresence(laptop, a, false);
    await laptop.page.goto(`${base}/settings`);
    await waitForGlobal(laptop.page, 'oryPasskeySettingsRegistration');
    await laptop.page.getByRole('button', { name: 'Add passkey' }).click();
    await waitFor(() => laptop.calls.some((c) => c.op === 'create' && c.phase === 'ok'), 'the new passkey');
    await laptop.page.locator('[data-message-id="1050001"]').waitFor();
    await setPresence(laptop, a, true);
    const [phonePasskey] = await credentialsOn(laptop, phoneKey);
    assert.ok(phonePasskey);
    await laptop.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: phoneKey });
    const phone = await newTab(FIREFOX_LINUX);
    await signIn(phone, await plant(phone, phonePasskey, 10));
    const tablet = await newTab(FIREFOX_LINUX);
    const [laptopPasskey] = await credentialsOn(laptop, a);
    await signIn(tablet, await plant(tablet, laptopPasskey!, 10));

    // The phone is lost: its passkey is removed on the laptop. Its session ends; the tablet's does not.
    await laptop.page.goto(`${base}/settings`);
    const row = laptop.page.locator(`#passkeys li[data-passkey-id="${phonePasskey.id}"]`);
    await row.locator('button.remove-open').click();
    await laptop.page.locator(`[popover][id="remove-${phonePasskey.id}"] button[name="passkey_remove"]`).click();
    await laptop.page.locator('[data-message-id="1050001"]').waitFor();
    assert.equal(await whoamiStatus(phone), 401, 'the phone is signed out');
    assert.equal(await whoamiStatus(tablet), 200, 'the tablet never used it');
    assert.equal(await whoamiStatus(laptop), 200);

    // Then the laptop is lost too: recovery by code on a new device ends every other session.
    const fresh = await newTab(CHROME_MAC);
    await fresh.page.goto(`${base}/recovery`);
    await fresh.page.getByLabel('Email', { exact: true }).fill(email);
    await Promise.all([
      fresh.page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/self-service/recovery')),
      fresh.page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    const mail = await inbox.waitForMail(email, { match: (m) => m.subject === 'Your account recovery code' });
    await fresh.page.getByLabel('Recovery code').fill(codeFrom(mail));
    await Promise.all([
      fresh.page.waitForURL(/\/settings\?flow=/),
      fresh.page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    assert.equal(await whoamiStatus(fresh), 200, 'signed in on the new device');
    assert.equal(await whoamiStatus(laptop), 401, 'the laptop is signed out');
    assert.equal(await whoamiStatus(tablet), 401, 'the tablet too');
    await laptop.page.goto(`${base}/`);
    await laptop.page.getByText('You are not signed in.').waitFor();
    for (const tab of [laptop, phone, tablet, fresh]) assert.deepEqual(tab.errors, []);
  });
});
