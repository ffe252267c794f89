/**
 * End to end: what a person sees on the basic example, in Chromium: the stylesheet and icon load (no 404), the
 * "Account created" notice after sign-up (once), the development banner while codes go to the terminal, the error
 * page; and a full-page screenshot of each page (sign-up, verification, home, settings, the remove confirmation,
 * sign-in, recovery, error).
 *
 * Screenshots go to a temporary directory; with UPDATE_SCREENSHOTS=1 they replace the README's, in docs/screenshots/.
 *
 * Run: npx tsx --test test/browser/example-pages.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Response } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { addAuthenticator, launchChromium, openTab, skipWithoutChromium, type Tab, waitForGlobal } from './helpers.js';

const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : mkdtempSync(join(tmpdir(), 'passkeys-screenshots-'));
mkdirSync(SHOTS, { recursive: true });

const EDGE_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0';

let example: Awaited<ReturnType<typeof createApp>>;
let browser: Browser;
const tabs: Tab[] = [];
const shots: string[] = [];

/** A tab with a desktop-sized viewport that records every answer of 400 or more it gets. */
async function newTab(userAgent?: string): Promise<Tab & { failed: string[] }> {
  const tab = await openTab(browser, { viewport: { width: 900, height: 700 }, ...(userAgent ? { userAgent } : {}) });
  tab.page.setDefaultTimeout(10_000);
  const failed: string[] = [];
  tab.page.on('response', (r: Response) => {
    // webauthn.js's pre-check before "Add passkey" (a fetch of the settings action with nothing to do) is answered
    // 400 4010004 by design: that is its "go ahead". Every other answer of 400 or more is a failure.
    const preCheck =
      r.request().resourceType() === 'fetch' && r.status() === 400 && /\/self-service\/settings\?/.test(r.url());
    if (r.status() >= 400 && !preCheck) failed.push(`${r.status()} ${r.url()}`);
  });
  tabs.push(tab);
  return Object.assign(tab, { failed });
}

/** A full-page screenshot of what the tab shows, checked to be a PNG of the page's width. */
async function shoot(tab: Tab, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  await tab.page.evaluate('document.fonts.ready');
  await tab.page.screenshot({ path, fullPage: true });
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${name}: a PNG`);
  assert.equal(png.readUInt32BE(16), 900, `${name}: the viewport's width`);
  assert.ok(png.readUInt32BE(20) >= 300, `${name}: a page, not a blank strip`);
  shots.push(name);
}

/** The page is styled by the example's stylesheet (not the browser's defaults) and shows its icon. */
async function assertStyled(tab: Tab): Promise<void> {
  const styles = (await tab.page.evaluate(`({
    background: getComputedStyle(document.body).backgroundColor,
    card: getComputedStyle(document.querySelector('.card')).borderRadius,
    icon: document.querySelector('.brand img')?.naturalWidth ?? 0,
  })`)) as { background: string; card: string; icon: number };
  assert.equal(styles.background, 'rgb(244, 245, 248)', 'the stylesheet applies');
  assert.equal(styles.card, '10px');
  assert.ok(styles.icon > 0, 'the icon loaded');
}

describe('the basic example: pages a person sees, in Chromium', { skip: skipWithoutChromium }, () => {
  before(async () => {
    example = await createApp({ port: 0 }); // no SMTP_URL: the console courier, so the development banner shows
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
    console.log(`# screenshots (${shots.join(', ')}) in ${SHOTS}`);
  });

  test('icon and stylesheet are served; /favicon.ico is the icon too', async () => {
    const css = await fetch(`${example.url}/assets/style.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    const icon = await fetch(`${example.url}/favicon.ico`);
    assert.equal(icon.status, 200, 'followed to the icon');
    assert.equal(icon.url, `${example.url}/assets/favicon.svg`);
    assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.equal((await fetch(`${example.url}/assets/nothing.css`)).status, 404);
  });

  test('sign up → "Account created" once, the development banner, then every page, styled, each shot', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = 'ada@example.com';

    // Sign-up page.
    await tab.page.goto(`${example.url}/registration`);
    await waitForGlobal(tab.page, 'oryPasskeyRegistration');
    assert.match((await tab.page.locator('.dev-banner').textContent()) ?? '', /codes are\s+printed in the terminal/);
    await assertStyled(tab);
    await tab.page.getByLabel('E-Mail').fill(email);
    await shoot(tab, 'sign-up');
    await Promise.all([
      tab.page.waitForURL(/\/verification\?flow=/),
      tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
    ]);

    // The page the sign-up lands on says the account was created, once.
    assert.equal(await tab.page.locator('#flash').textContent(), 'Account created. Welcome!');
    await tab.page.locator('[data-message-id="1080003"]').waitFor();
    await shoot(tab, 'verification');
    await tab.page.reload();
    assert.equal(await tab.page.locator('#flash').count(), 0, 'a flash shows once');

    // Home, signed in.
    await tab.page.goto(`${example.url}/`);
    assert.equal(await tab.page.locator('h1').textContent(), 'Your account');
    await shoot(tab, 'home');

    // A second passkey, from another browser of the same person (its cookies): two names to tell apart.
    const edge = await newTab(EDGE_WINDOWS);
    await addAuthenticator(edge);
    await edge.context.addCookies(await tab.context.cookies());
    await edge.page.goto(`${example.url}/settings`);
    await waitForGlobal(edge.page, 'oryPasskeySettingsRegistration');
    await edge.page.evaluate('document.documentElement.dataset.old = "1"');
    await edge.page.getByRole('button', { name: 'Add passkey' }).click();
    await edge.page.locator('html:not([data-old]) [data-message-id="1050001"]').waitFor();

    // Settings: sections with headings, the passkeys by name.
    await tab.page.goto(`${example.url}/settings`);
    await waitForGlobal(tab.page, 'oryPasskeySettingsRegistration');
    await assertStyled(tab);
    assert.deepEqual(await tab.page.locator('h1, h2').allTextContents(), [
      'Account settings',
      'Profile',
      'Passkeys',
      "Where you're signed in",
    ]);
    assert.deepEqual(await tab.page.locator('#passkeys .passkey-name').allTextContents(), [
      'Chrome on Linux',
      'Edge on Windows',
    ]);
    await shoot(tab, 'settings');

    // "Add passkey" again on this device, which holds one of the account's passkeys: the browser refuses
    // (InvalidStateError) and webauthn.js says so beside the button, styled by the example.
    await tab.page.getByRole('button', { name: 'Add passkey' }).click();
    const failure = tab.page.locator('form#flow [role="alert"]');
    await failure.filter({ hasText: 'This device already has a passkey for this account.' }).waitFor();
    const failureStyle = await tab.page.evaluate(
      `getComputedStyle(document.querySelector('form#flow [role="alert"]')).backgroundColor`,
    );
    assert.equal(failureStyle, 'rgb(251, 233, 232)', 'shown as an error');
    await shoot(tab, 'settings-failure');

    // The confirmation before a removal. A popover sits in the viewport: make that the whole page for the shot.
    const height = Number(await tab.page.evaluate('document.documentElement.scrollHeight'));
    await tab.page.setViewportSize({ width: 900, height });
    const first = tab.page.locator('#passkeys li').first();
    await first.locator('button.remove-open').click();
    const dialog = tab.page.locator('[popover].confirm:popover-open');
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Remove this passkey\?[\s\S]*Chrome on Linux/);
    await shoot(tab, 'settings-remove');
    await tab.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await tab.page.setViewportSize({ width: 900, height: 700 });

    // Signed out: the sign-in page, its identifier labelled with the trait's title.
    await Promise.all([
      tab.page.waitForURL(`${example.url}/`),
      (async () => {
        await tab.page.goto(`${example.url}/`);
        await tab.page.getByRole('link', { name: 'Log out' }).click();
      })(),
    ]);
    await tab.page.getByText('You are not signed in.').waitFor();
    await shoot(tab, 'signed-out');
    const login = await newTab(); // no authenticator: autofill waits, as for a person who has not picked a passkey
    await login.page.goto(`${example.url}/login`);
    await waitForGlobal(login.page, 'oryPasskeyLogin');
    assert.equal(await login.page.getByLabel('E-Mail').getAttribute('name'), 'identifier');
    await assertStyled(login);
    await shoot(login, 'sign-in');

    // Recovery, after the address is entered: the code field, Kratos's 1060003.
    await login.page.getByRole('link', { name: 'Forgot your passkey?' }).click();
    await login.page.waitForURL(/\/recovery\?flow=/);
    await login.page.getByLabel('Email', { exact: true }).fill(email);
    await login.page.evaluate('document.documentElement.dataset.old = "1"');
    await login.page.getByRole('button', { name: 'Continue', exact: true }).click();
    await login.page.locator('html:not([data-old]) [data-message-id="1060003"]').waitFor();
    await shoot(login, 'recovery');

    // An error: a logout link that is not this browser's. The router sends the browser to the error page.
    await login.page.goto(`${example.url}/auth/self-service/logout?token=not-yours`);
    await login.page.waitForURL(/\/error\?id=/);
    assert.equal(await login.page.locator('h1').textContent(), 'Something went wrong');
    assert.match((await login.page.locator('#error-details').textContent()) ?? '', /session_inactive \(401/);
    await assertStyled(login);
    await shoot(login, 'error');

    // An unknown or expired error id: the same page, 404.
    const gone = await login.page.goto(`${example.url}/error?id=00000000-0000-4000-8000-000000000000`);
    assert.equal(gone?.status(), 404);
    assert.match((await login.page.locator('#error-message').textContent()) ?? '', /expired or never existed/);

    // Nothing failed to load on any page (the error page's own 404 just above aside), no CSP violation.
    assert.deepEqual(tab.failed, []);
    assert.deepEqual(edge.failed, []);
    assert.deepEqual(
      login.failed.filter((f) => !f.includes('/error?id=00000000')),
      [],
    );
    assert.deepEqual([...tab.errors, ...edge.errors, ...login.errors], []);
  });

  test('with mail going out (SMTP_URL), no development banner', async () => {
    const withMail = await createApp({ port: 0, smtpUrl: 'smtp://localhost:9' });
    try {
      const page = await fetch(`${withMail.url}/login`, { redirect: 'follow' });
      const html = await page.text();
      assert.match(html, /<h1>Sign in<\/h1>/);
      assert.doesNotMatch(html, /dev-banner/);
    } finally {
      await withMail.close();
    }
  });
});
