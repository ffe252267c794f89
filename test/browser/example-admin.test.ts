/**
 * End to end, scenario 3 of issue 15 on the basic example in Chromium: a user signs up with a passkey (virtual
 * authenticator); support staff open /admin with ADMIN_TOKEN, find the account by email and disable it (the user's
 * session ends at once, a sign-in with the passkey shows 4010011), enable it again, hand the user a recovery code that
 * the normal recovery page accepts, and delete the account. Without ADMIN_TOKEN, /admin does not exist.
 *
 * Run: npx tsx --test test/browser/example-admin.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import {
  addAuthenticator,
  autofillWaiting,
  launchChromium,
  openTab,
  setPresence,
  skipWithoutChromium,
  type Tab,
  waitForGlobal,
} from './helpers.js';

const TOKEN = 'example-admin-token-for-tests';
const SHOTS = mkdtempSync(join(tmpdir(), 'passkeys-admin-screenshots-'));

let example: Awaited<ReturnType<typeof createApp>>;
let browser: Browser;
const tabs: Tab[] = [];

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser, { viewport: { width: 900, height: 700 } });
  tab.page.setDefaultTimeout(10_000);
  tabs.push(tab);
  return tab;
}

async function shoot(tab: Tab, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`);
  await tab.page.screenshot({ path, fullPage: true });
  assert.equal(readFileSync(path).subarray(1, 4).toString('latin1'), 'PNG');
}

describe('the example support page (/admin), in Chromium', { skip: skipWithoutChromium }, () => {
  before(async () => {
    process.env.ADMIN_TOKEN = TOKEN;
    try {
      example = await createApp({ port: 0 });
    } finally {
      delete process.env.ADMIN_TOKEN;
    }
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
    console.log(`# screenshots in ${SHOTS}`);
  });

  test('without ADMIN_TOKEN there is no /admin nor /admin-api', async () => {
    const plain = await createApp({ port: 0 });
    try {
      assert.equal((await fetch(`${plain.url}/admin`)).status, 404);
      assert.equal((await fetch(`${plain.url}/admin-api/admin/identities`)).status, 404);
    } finally {
      await plain.close();
    }
  });

  test('find by email, disable (signed out, sign-in refused with 4010011), enable, recovery code, delete', async () => {
    const email = 'support-case@example.com';
    // The user signs up.
    const user = await newTab();
    const authenticatorId = await addAuthenticator(user);
    await user.page.goto(`${example.url}/registration`);
    await waitForGlobal(user.page, 'oryPasskeyRegistration');
    await user.page.getByLabel('E-Mail').fill(email);
    await Promise.all([
      user.page.waitForURL(/\/verification\?flow=/),
      user.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
    ]);
    await user.page.goto(`${example.url}/`);
    assert.equal(await user.page.locator('h1').textContent(), 'Your account');

    // Staff: the token, then the account by email.
    const staff = await newTab();
    await staff.page.goto(`${example.url}/admin`);
    await shoot(staff, 'admin-sign-in');
    await staff.page.getByLabel('Admin token').fill('wrong');
    await staff.page.getByRole('button', { name: 'Open support tools' }).click();
    assert.match((await staff.page.locator('#admin-error').textContent()) ?? '', /not the admin token/);
    await staff.page.getByLabel('Admin token').fill(TOKEN);
    await Promise.all([
      staff.page.waitForURL(`${example.url}/admin`),
      staff.page.getByRole('button', { name: 'Open support tools' }).click(),
    ]);
    await staff.page.getByLabel('Find an account by email').fill('Support-Case@Example.com');
    await staff.page.getByRole('button', { name: 'Find' }).click();
    await staff.page.locator('#admin-result h2').waitFor();
    assert.match(
      (await staff.page.locator('#admin-result h2').textContent()) ?? '',
      /support-case@example\.com\s*active/,
    );
    await shoot(staff, 'admin-found');

    // Disable: the user's session ends at once; a sign-in with the passkey is refused with 4010011.
    await staff.page.getByRole('button', { name: 'Disable' }).click();
    await staff.page.locator('#admin-notice').waitFor();
    assert.match((await staff.page.locator('#admin-result h2').textContent()) ?? '', /disabled/);
    await user.page.goto(`${example.url}/`);
    assert.equal(await user.page.locator('h1').textContent(), 'Welcome', 'signed out');
    // The authenticator holds back until the button is clicked, and again once the refusal is answered: with
    // presence simulated, passkey autofill would sign in on its own each time the page loads.
    await setPresence(user, authenticatorId, false);
    const since = user.calls.length;
    await user.page.goto(`${example.url}/login`);
    await waitForGlobal(user.page, 'oryPasskeyLogin');
    await autofillWaiting(user, since);
    await setPresence(user, authenticatorId, true);
    await Promise.all([
      user.page.waitForResponse(
        (r) => r.request().method() === 'POST' && r.url().includes('/auth/self-service/login?flow='),
      ),
      user.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
    ]);
    await setPresence(user, authenticatorId, false);
    await user.page.locator('[data-message-id="4010011"]').waitFor();
    assert.match(
      (await user.page.locator('[data-message-id="4010011"]').textContent()) ?? '',
      /This account has been disabled\. Please contact support for assistance\./,
    );
    await shoot(user, 'sign-in-disabled');

    // Enable, then a recovery code the user types into the normal recovery page.
    await staff.page.getByRole('button', { name: 'Enable' }).click();
    await staff.page.locator('#admin-notice').waitFor();
    await staff.page.getByRole('button', { name: 'Make a recovery code' }).click();
    await staff.page.locator('#recovery-code').waitFor();
    await shoot(staff, 'admin-recovery-code');
    const [link, code] = await staff.page.locator('#recovery-code dd code').allTextContents();
    assert.match(String(link), new RegExp(`^${example.url}/recovery\\?flow=`));
    assert.match(String(code), /^[0-9]{6}$/);
    const other = await newTab(); // a new device
    await other.page.goto(String(link));
    await other.page.getByLabel('Recovery code').fill(String(code));
    await Promise.all([
      other.page.waitForURL(/\/settings\?flow=/),
      other.page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
    await other.page.locator('[data-message-id="1060001"]').waitFor();

    // Delete: the account is gone, with its sessions.
    await staff.page.getByRole('button', { name: 'Delete…' }).click();
    await staff.page.locator('[popover].confirm:popover-open').waitFor();
    await shoot(staff, 'admin-delete');
    await staff.page.getByRole('button', { name: 'Delete account' }).click();
    await staff.page.locator('#admin-notice').waitFor();
    assert.match((await staff.page.locator('#admin-result').textContent()) ?? '', /No account has this address/);
    await other.page.goto(`${example.url}/`);
    assert.equal(await other.page.locator('h1').textContent(), 'Welcome', 'its sessions ended with it');
  });
});
