/**
 * End to end: passkeys made in two browsers get two names a person tells apart, on the basic example in Chromium.
 *
 * Each browser is its own Chromium context with its own User-Agent and virtual authenticator; the second and third
 * carry the first one's cookies (the same account, signed in elsewhere). The names come from the User-Agent of the
 * request that created each passkey (the authenticators' AAGUID is all zeros, so the AAGUID table names none).
 *
 * Run: npx tsx --test test/browser/passkey-names.test.ts   (needs /usr/bin/chromium)
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
  skipWithoutChromium,
  type Tab,
  waitForGlobal,
} from './helpers.js';

const EDGE_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0';

let example: Awaited<ReturnType<typeof createApp>>;
let browser: Browser;
const tabs: Tab[] = [];

async function newTab(userAgent?: string): Promise<Tab> {
  const tab = await openTab(browser, userAgent ? { userAgent } : {});
  tab.page.setDefaultTimeout(10_000);
  tabs.push(tab);
  return tab;
}

const names = (tab: Tab) =>
  tab.page.locator('#passkeys .passkey-name').evaluateAll((els) => els.map((el) => el.textContent));

/** On /settings, "Add passkey"; resolves once the page the router sends back to shows "saved". */
async function addPasskey(tab: Tab): Promise<void> {
  await tab.page.goto(`${example.url}/settings`);
  await waitForGlobal(tab.page, 'oryPasskeySettingsRegistration');
  await tab.page.evaluate('document.documentElement.dataset.old = "1"');
  await tab.page.getByRole('button', { name: 'Add passkey' }).click();
  await tab.page.locator('html:not([data-old]) [data-message-id="1050001"]').waitFor();
}

describe('default passkey names in Chromium', { skip: skipWithoutChromium }, () => {
  before(async () => {
    example = await createApp({ port: 0 });
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await example?.close();
  });

  test('two browsers, two names; the same browser again gets a number', async () => {
    // Browser 1: headless Chromium's own User-Agent (HeadlessChrome on Linux), signs up.
    const chrome = await newTab();
    const chromeAuth = await addAuthenticator(chrome);
    assert.match(await chrome.page.evaluate('navigator.userAgent'), /Linux.*Chrome\//);
    await chrome.page.goto(`${example.url}/registration`);
    await waitForGlobal(chrome.page, 'oryPasskeyRegistration');
    await chrome.page.getByLabel('E-Mail').fill(`names-${Date.now().toString(36)}@example.com`);
    await Promise.all([
      chrome.page.waitForURL(/\/verification\?flow=/),
      chrome.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
    ]);
    await chrome.page.goto(`${example.url}/settings`);
    assert.deepEqual(await names(chrome), ['Chrome on Linux']);

    // Browser 2: Edge on Windows, the same account.
    const edge = await newTab(EDGE_WINDOWS);
    const edgeAuth = await addAuthenticator(edge);
    await edge.context.addCookies(await chrome.context.cookies());
    await addPasskey(edge);
    assert.deepEqual(await names(edge), ['Chrome on Linux', 'Edge on Windows']);

    // Browser 3: another Chromium on Linux: its name is taken, so it is numbered.
    const chrome2 = await newTab();
    const chrome2Auth = await addAuthenticator(chrome2);
    await chrome2.context.addCookies(await chrome.context.cookies());
    await addPasskey(chrome2);
    assert.deepEqual(await names(chrome2), ['Chrome on Linux', 'Edge on Windows', 'Chrome on Linux 2']);

    // Each name belongs to the passkey its browser's authenticator holds, and the remove buttons read apart.
    const ids = await chrome2.page
      .locator('#passkeys li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-passkey-id')));
    const held = [chromeAuth, edgeAuth, chrome2Auth];
    const tabsInOrder = [chrome, edge, chrome2];
    for (const [i, auth] of held.entries()) {
      const creds = await credentialsOn(tabsInOrder[i]!, auth);
      assert.deepEqual(
        creds.map((c) => c.id),
        [ids[i]],
      );
    }
    const labels = await chrome2.page
      .locator('#passkeys button[name="passkey_remove"]')
      .evaluateAll((els) => els.map((el) => el.textContent));
    assert.deepEqual(labels, [
      'Remove passkey "Chrome on Linux"',
      'Remove passkey "Edge on Windows"',
      'Remove passkey "Chrome on Linux 2"',
    ]);
    assert.deepEqual([...chrome.errors, ...edge.errors, ...chrome2.errors], []);
  });
});
