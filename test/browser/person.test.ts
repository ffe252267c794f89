/**
 * The basic example as a person uses it, in Chromium with a virtual authenticator: what they trip over when an action
 * is refused (the message tied to the field, focus on it, an alert for screen readers), the one passkey that cannot
 * be removed (the reason shown, not only in a tooltip), the back button after sign-up, sign-in and sign-out (no stale
 * sign-in page), a way on from every page (verification signed out, the error page, its id folded away), the support
 * page's refused token, contrast in the stylesheet, and a phone-sized viewport.
 *
 * Run: npx tsx --test test/browser/person.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { codeFrom, type Inbox, startSmtp } from '../helpers/smtp.js';
import { addAuthenticator, launchChromium, openTab, skipWithoutChromium, type Tab, waitForGlobal } from './helpers.js';

let example: Awaited<ReturnType<typeof createApp>>;
let base = '';
let browser: Browser;
let inbox: Inbox;
const tabs: Tab[] = [];

let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

async function newTab(viewport = { width: 900, height: 700 }): Promise<Tab> {
  const tab = await openTab(browser, { viewport });
  tab.page.setDefaultTimeout(10_000);
  tabs.push(tab);
  return tab;
}

/** Click and wait for the next document to load (a form post and its 303, a link). */
async function navigating(tab: Tab, click: () => Promise<void>): Promise<void> {
  await tab.page.evaluate('document.documentElement.dataset.old = "1"');
  await click();
  await tab.page.locator('html:not([data-old])').waitFor({ state: 'attached' });
  await tab.page.waitForLoadState();
}

/** What has focus: its tag, name and the texts its aria-describedby points at. */
function focused(tab: Tab) {
  return tab.page.evaluate(() => {
    const el = document.activeElement as HTMLInputElement | null;
    const ids = (el?.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
    return {
      tag: el?.tagName.toLowerCase(),
      name: el?.getAttribute('name') ?? null,
      invalid: el?.getAttribute('aria-invalid') ?? null,
      describedBy: ids.map((id) => document.getElementById(id)?.textContent?.trim() ?? `<missing #${id}>`),
    };
  });
}

/** /registration → email → "Sign up with passkey" → the verification page. */
async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  await waitForGlobal(tab.page, 'oryPasskeyRegistration');
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(/\/verification\?flow=/),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
}

/** WCAG relative luminance contrast of two `rgb(...)`/`rgba(...)` colours (the second opaque). */
function contrast(fg: string, bg: string): number {
  const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const [br, bgG, bb] = parse(bg);
  const [r, g, b, a = 1] = parse(fg);
  const mix = [r! * a + br! * (1 - a), g! * a + bgG! * (1 - a), b! * a + bb! * (1 - a)];
  const lum = (rgb: number[]) => {
    const [R, G, B] = rgb.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R! + 0.7152 * G! + 0.0722 * B!;
  };
  const [l1, l2] = [lum(mix), lum([br!, bgG!, bb!])].sort((x, y) => y - x);
  return (l1! + 0.05) / (l2! + 0.05);
}

describe('the basic example, as a person uses it, in Chromium', { skip: skipWithoutChromium }, () => {
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

  test('a refused sign-up: focus on the email field, which is marked invalid and described by the message', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    await tab.page.goto(`${base}/registration`);
    await waitForGlobal(tab.page, 'oryPasskeyRegistration');
    await navigating(tab, () => tab.page.getByRole('button', { name: 'Sign up with passkey' }).click());
    assert.deepEqual(await focused(tab), {
      tag: 'input',
      name: 'traits.email',
      invalid: 'true',
      describedBy: ['Property email is missing.'],
    });
    assert.deepEqual(tab.errors, []);
  });

  test('a wrong code: the message is an alert, focus is back on the code field, which it describes', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = newEmail('wrong-code');
    await signUp(tab, email);
    const mail = await inbox.waitForMail(email);
    await tab.page.getByLabel('Verification code').fill('000000');
    await navigating(tab, () => tab.page.getByRole('button', { name: 'Continue', exact: true }).click());
    const alert = tab.page.getByRole('alert');
    assert.match((await alert.textContent()) ?? '', /verification code is invalid or has already been used/);
    const now = await focused(tab);
    assert.equal(now.name, 'code');
    assert.match(now.describedBy.join(' '), /verification code is invalid/);
    // Success is no alert, and takes no focus from where the person is.
    await tab.page.getByLabel('Verification code').fill(codeFrom(mail));
    await navigating(tab, () => tab.page.getByRole('button', { name: 'Continue', exact: true }).click());
    await tab.page.getByText('You successfully verified your email address.').waitFor();
    assert.equal(await tab.page.getByRole('alert').count(), 0);
    assert.deepEqual(tab.errors, []);
  });

  test('the only passkey: "Remove" is disabled and the page says why, in words a person sees', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    await signUp(tab, newEmail('only'));
    await tab.page.goto(`${base}/settings`);
    const remove = tab.page.locator('#passkeys button.remove-open');
    assert.equal(await remove.isDisabled(), true);
    const reason = tab.page.locator('#passkeys').getByText('This is your only passkey');
    assert.equal(await reason.isVisible(), true, 'the reason is on the page, not only in a tooltip');
    const describedBy = await remove.getAttribute('aria-describedby');
    assert.equal(await tab.page.locator(`[id="${describedBy}"]`).textContent(), await reason.textContent());
  });

  test('back after sign-up or sign-in shows the account, not a sign-up or sign-in form; back after sign-out, not the account', async () => {
    const tab = await newTab();
    const authenticator = await addAuthenticator(tab);
    const email = newEmail('back');
    await signUp(tab, email);
    await tab.page.goBack();
    await tab.page.waitForURL(`${base}/`);
    assert.equal(await tab.page.locator('h1').textContent(), 'Your account');

    // Sign out, then back: the account page is fetched again (no-store), signed out.
    await navigating(tab, () => tab.page.getByRole('link', { name: 'Log out' }).click());
    await tab.page.getByText('You are not signed in.').waitFor();
    await tab.page.goBack();
    await tab.page.getByText('You are not signed in.').waitFor();

    // Sign in with the button (autofill held back: the presence check is off until the button is clicked), then back.
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: authenticator, enabled: false });
    await tab.page.goto(`${base}/login`);
    await waitForGlobal(tab.page, 'oryPasskeyLogin');
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: authenticator, enabled: true });
    await Promise.all([
      tab.page.waitForURL(`${base}/`),
      tab.page.getByRole('button', { name: 'Sign in with passkey' }).click(),
    ]);
    await tab.page.getByText(`Signed in as ${email}.`).waitFor();
    await tab.page.goBack();
    await tab.page.waitForURL(`${base}/`);
    assert.equal(await tab.page.locator('h1').textContent(), 'Your account');
    assert.deepEqual(tab.errors, []);
  });

  test('verification, signed out: the way on is "Sign in", not "Back to your account" (there is none)', async () => {
    const tab = await newTab();
    await tab.page.goto(`${base}/verification`);
    await tab.page.waitForURL(/\/verification\?flow=/);
    assert.deepEqual(await tab.page.locator('footer.links a').allTextContents(), ['Sign in']);
    // Signed in, the account is the way back.
    await addAuthenticator(tab);
    await signUp(tab, newEmail('verify-footer'));
    assert.deepEqual(await tab.page.locator('footer.links a').allTextContents(), ['Back to your account']);
  });

  test('the error page says what happened in words; the error id is folded away under "Details for support"', async () => {
    const tab = await newTab();
    await tab.page.goto(`${base}/auth/self-service/logout?token=not-yours`);
    await tab.page.waitForURL(/\/error\?id=/);
    assert.equal(await tab.page.locator('#error-message').isVisible(), true);
    assert.equal(await tab.page.getByText('session_inactive').isVisible(), false, 'no raw id on show');
    await tab.page.getByText('Details for support').click();
    assert.equal(await tab.page.getByText('session_inactive').isVisible(), true, 'there for who asks');
    assert.deepEqual(await tab.page.locator('footer.links a').allTextContents(), ['Sign in', 'Home']);
  });

  test('support page: a wrong token is an alert, focus on its field; an action redirects, a reload posts nothing', async () => {
    process.env.ADMIN_TOKEN = 'the-admin-token';
    const withAdmin = await createApp({ port: 0, smtpUrl: inbox.url }).finally(() => {
      delete process.env.ADMIN_TOKEN;
    });
    try {
      const tab = await newTab();
      await tab.page.goto(`${withAdmin.url}/admin`);
      await tab.page.getByLabel('Admin token').fill('not-it');
      await navigating(tab, () => tab.page.getByRole('button', { name: 'Open support tools' }).click());
      assert.equal(await tab.page.getByRole('alert').textContent(), 'That is not the admin token.');
      assert.deepEqual(await focused(tab), {
        tag: 'input',
        name: 'token',
        invalid: 'true',
        describedBy: ['That is not the admin token.'],
      });

      // An action (here on an account just signed up) ends on a page a reload or the back button does not post again.
      const email = newEmail('support');
      const user = await newTab();
      await addAuthenticator(user);
      await user.page.goto(`${withAdmin.url}/registration`);
      await waitForGlobal(user.page, 'oryPasskeyRegistration');
      await user.page.getByLabel('E-Mail').fill(email);
      await Promise.all([
        user.page.waitForURL(/\/verification\?flow=/),
        user.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
      ]);
      await tab.page.getByLabel('Admin token').fill('the-admin-token');
      await navigating(tab, () => tab.page.getByRole('button', { name: 'Open support tools' }).click());
      await tab.page.getByLabel('Find an account by email').fill(email);
      await navigating(tab, () => tab.page.getByRole('button', { name: 'Find' }).click());
      const posts: string[] = [];
      tab.page.on('request', (r) => {
        if (r.method() === 'POST') posts.push(r.url());
      });
      await navigating(tab, () => tab.page.getByRole('button', { name: 'Disable' }).click());
      assert.equal(posts.length, 1);
      assert.equal(tab.page.url(), `${withAdmin.url}/admin?email=${encodeURIComponent(email)}`);
      assert.match((await tab.page.locator('#admin-notice').textContent()) ?? '', /Account disabled/);
      await tab.page.reload();
      assert.equal(posts.length, 1, 'the reload posted nothing');
      assert.equal(await tab.page.locator('#admin-notice').count(), 0, 'the notice shows once');
      assert.match((await tab.page.locator('#admin-result h2').textContent()) ?? '', /disabled/);
    } finally {
      await withAdmin.close();
    }
  });

  test('contrast: text, field borders and the focus ring meet WCAG AA', async () => {
    const tab = await newTab();
    await tab.page.goto(`${base}/registration`);
    // As strings: the page runs them as written (no helper the test's compiler adds to named functions).
    const pairs = (await tab.page.evaluate(`(() => {
      const css = (el, prop) => getComputedStyle(el).getPropertyValue(prop);
      const input = document.querySelector('input[type="email"]');
      input.focus();
      return {
        lead: [css(document.querySelector('.lead'), 'color'), 'rgb(255, 255, 255)'],
        link: [css(document.querySelector('footer a'), 'color'), 'rgb(255, 255, 255)'],
        button: ['rgb(255, 255, 255)', css(document.querySelector('form#flow button'), 'background-color')],
        'field border': [css(input, 'border-top-color'), 'rgb(255, 255, 255)'],
        'focus ring': [css(input, 'outline-color'), 'rgb(255, 255, 255)'],
      };
    })()`)) as Record<string, [string, string]>;
    const low = Object.entries(pairs)
      .map(([what, [fg, bg]]) => ({ what, ratio: contrast(fg!, bg!) }))
      .filter(({ what, ratio }) => ratio < (what === 'field border' || what === 'focus ring' ? 3 : 4.5))
      .map(({ what, ratio }) => `${what}: ${ratio.toFixed(2)}`);
    assert.deepEqual(low, []);
    // Messages on their tinted backgrounds (from the stylesheet's variables).
    const vars = (await tab.page.evaluate(`(() => {
      const s = getComputedStyle(document.documentElement);
      const v = (name) => {
        const h = s.getPropertyValue(name).trim().replace('#', '');
        return 'rgb(' + [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16)).join(', ') + ')';
      };
      return {
        error: [v('--danger'), v('--error-bg')],
        success: [v('--ok'), v('--ok-bg')],
        muted: [v('--muted'), v('--bg')],
      };
    })()`)) as Record<string, [string, string]>;
    for (const [what, [fg, bg]] of Object.entries(vars)) {
      assert.ok(contrast(fg!, bg!) >= 4.5, `${what}: ${contrast(fg!, bg!).toFixed(2)}`);
    }
  });

  test('a phone (375 px): settings with a long passkey name and other sessions fit, nothing scrolls sideways', async () => {
    const tab = await newTab({ width: 375, height: 700 });
    await addAuthenticator(tab);
    await signUp(tab, newEmail('phone-with-a-rather-long-address-that-does-not-break-easily'));
    await tab.page.goto(`${base}/settings`);
    await tab.page.locator('#passkeys .rename-open').click();
    await tab.page.getByLabel('New name').fill('W'.repeat(64));
    await navigating(tab, () => tab.page.getByRole('button', { name: 'Save name' }).click());
    for (const path of ['/settings', '/', '/registration', '/login', '/recovery', '/verification', '/error?id=x']) {
      await tab.page.goto(`${base}${path}`);
      const width = await tab.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 375, `${path}: ${width} px wide`);
    }
  });
});
