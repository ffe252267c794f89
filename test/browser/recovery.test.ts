/**
 * End to end: account recovery and address verification (Kratos's `code` method, SPEC §6) on the basic example app,
 * in a real Chromium with CDP virtual authenticators, the mail going over real SMTP.
 *
 * Nothing is mocked: the example runs with its own nodemailer courier (`createApp({ smtpUrl })`), which delivers to
 * an SMTP server started here (smtp-server, parsed by mailparser, test/helpers/smtp.ts); each code is read out of
 * the delivered mail's text, as a user reads it in their inbox, and typed into the example's pages.
 *
 * Run: npx tsx --test test/browser/recovery.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createApp } from '../../examples/basic/server.js';
import { codeFrom, type Inbox, linkFrom, type Mail, startSmtp } from '../helpers/smtp.js';
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
let inbox: Inbox;
const tabs: Tab[] = [];

const MAIL_TIMEOUT = 10_000;
const FLOW_PAGE = (kind: string) => new RegExp(`/${kind}\\?flow=[0-9a-f-]{36}$`);

let counter = 0;
const newEmail = (label: string) => `${label}-${++counter}-${Date.now().toString(36)}@example.com`;

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser);
  tab.page.setDefaultTimeout(10_000);
  tabs.push(tab);
  return tab;
}

// ---- what the user sees -------------------------------------------------------------------------------------------

const message = (tab: Tab, id: number) => tab.page.locator(`[data-message-id="${id}"]`);
const button = (tab: Tab, name: string) => tab.page.getByRole('button', { name, exact: true });
const whoamiText = async (tab: Tab) => (await tab.page.locator('#whoami').textContent())?.trim();

interface SessionJson {
  authentication_methods: { method: string }[];
  identity: {
    traits: { email?: string };
    verifiable_addresses: { value: string; verified: boolean; status: string; verified_at?: string }[];
  };
}

/** The session as the router sees it (the context's cookies), or the status when there is none. */
async function whoami(tab: Tab): Promise<{ status: number; body?: SessionJson }> {
  const res = await tab.context.request.get(`${base}/auth/sessions/whoami`, {
    headers: { accept: 'application/json' },
  });
  return { status: res.status(), body: res.status() === 200 ? await res.json() : undefined };
}

/** The home page's address list: address → the badge's text, and whether it is marked verified. */
async function homeAddresses(tab: Tab) {
  if (tab.page.url() !== `${base}/`) await tab.page.goto(`${base}/`);
  return tab.page.locator('#addresses li').evaluateAll((items) =>
    items.map((li) => ({
      address: li.getAttribute('data-address'),
      verified: li.getAttribute('data-verified'),
      badge: li.querySelector('.badge')?.textContent,
    })),
  );
}

/**
 * Click something that posts to a flow of the router (`/auth/self-service/<kind>?flow=`); returns where the 303
 * sent the browser, once that page is shown.
 */
async function post(tab: Tab, kind: string, click: () => Promise<void>): Promise<string> {
  await tab.page.evaluate('document.documentElement.dataset.old = "1"');
  const posted = tab.page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' &&
      r.request().resourceType() === 'document' && // the form post, not webauthn.js's pre-check (a fetch)
      r.url().startsWith(`${base}/auth/self-service/${kind}?flow=`),
  );
  await click();
  const response = await posted;
  assert.equal(response.status(), 303, `POST ${kind}: ${await response.text().catch(() => '')}`);
  const location = new URL(response.headers().location ?? '', base).href;
  await tab.page.locator('html:not([data-old])').waitFor({ state: 'attached' });
  await tab.page.waitForLoadState();
  assert.equal(tab.page.url(), location);
  return location;
}

/** /registration → the email → "Sign up with passkey" → the verification page, a code on its way by mail. */
async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${base}/registration`);
  await waitForGlobal(tab.page, 'oryPasskeyRegistration');
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([tab.page.waitForURL(FLOW_PAGE('verification')), button(tab, 'Sign up with passkey').click()]);
  await message(tab, 1080003).waitFor();
  assert.equal(await tab.page.locator('h1').textContent(), 'Verify your email address');
  assert.equal((await whoami(tab)).body?.identity.traits.email, email, 'signed in by the sign-up');
}

const verificationMail = (mail: Mail) => mail.subject === 'Verify your email address';
const recoveryMail = (mail: Mail) => mail.subject === 'Your account recovery code';

/** Home → "Log out" → home, signed out. */
async function logOut(tab: Tab): Promise<void> {
  if (tab.page.url() !== `${base}/`) await tab.page.goto(`${base}/`);
  await Promise.all([
    tab.page.waitForResponse((r) => r.url().startsWith(`${base}/auth/self-service/logout?token=`)),
    tab.page.getByRole('link', { name: 'Log out' }).click(),
  ]);
  await tab.page.getByText('You are not signed in.').waitFor();
  assert.equal((await whoami(tab)).status, 401);
}

/** The text a user reads on the page, and the form controls they act on, with this flow's own values masked. */
async function rendered(tab: Tab, mask: Record<string, string>) {
  // The rendered text (what is shown), not textContent (which also has the <style> sheet).
  // biome-ignore lint/performance/useDomNodeTextContent: the text as displayed is what is compared.
  const text = await tab.page.locator('body').innerText();
  const controls = await tab.page
    .locator('form input, form button, form a')
    .evaluateAll((els) =>
      els.map((el) =>
        [
          el.tagName,
          el.getAttribute('type'),
          el.getAttribute('name'),
          el.getAttribute('value'),
          el.getAttribute('href'),
          el.textContent,
          el.closest('form')?.getAttribute('action'),
        ].join('|'),
      ),
    );
  const flow = new URL(tab.page.url()).searchParams.get('flow') ?? '';
  const csrf = await tab.page
    .locator('input[name="csrf_token"]')
    .first()
    .inputValue()
    .catch(() => '');
  const masks = { ...mask, ...(flow ? { [flow]: '<flow>' } : {}), ...(csrf ? { [csrf]: '<csrf>' } : {}) };
  const hideAll = (s: string) => Object.entries(masks).reduce((t, [value, name]) => t.split(value).join(name), s);
  return { text: hideAll(text), controls: controls.map(hideAll) };
}

// ---- tests --------------------------------------------------------------------------------------------------------

describe('recovery and verification on the basic example, in Chromium, with mail over SMTP', {
  skip: skipWithoutChromium,
}, () => {
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

  test('sign up → verification page → the code from the mail, typed in → the account page shows it verified', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = newEmail('verify-code');
    await signUp(tab, email);
    const page = tab.page.url();

    // The mail went over SMTP, to the new address, from the example's nodemailer courier.
    const mail = await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail });
    assert.deepEqual(mail.to, [email]);
    const code = codeFrom(mail);
    assert.match(code, /^\d{6}$/);
    assert.match(mail.text, /expires in 60 minutes/);
    const flowId = new URL(page).searchParams.get('flow');
    assert.equal(new URL(linkFrom(mail, '/self-service/verification')).searchParams.get('flow'), flowId);

    // Not verified yet: the home page says so and links to /verification.
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'false', badge: 'not verified' }]);
    assert.equal(
      await tab.page.getByRole('link', { name: 'Verify your email address' }).getAttribute('href'),
      '/verification',
    );
    await tab.page.goto(page);

    // A wrong code first: Kratos's 4070006, the form stays.
    const wrong = code === '000000' ? '111111' : '000000';
    await tab.page.getByLabel('Verification code').fill(wrong);
    assert.equal(await post(tab, 'verification', () => button(tab, 'Continue').click()), page);
    await message(tab, 4070006).waitFor();
    assert.equal(await tab.page.getByLabel('Verification code').getAttribute('autocomplete'), 'one-time-code');

    // The right one.
    await tab.page.getByLabel('Verification code').fill(code);
    assert.equal(await post(tab, 'verification', () => button(tab, 'Continue').click()), page);
    await message(tab, 1080002).waitFor();
    assert.match((await message(tab, 1080002).textContent()) ?? '', /successfully verified your email address/);
    assert.equal(await tab.page.getByLabel('Verification code').count(), 0, 'no code form once passed');
    const next = tab.page.locator('a#continue');
    assert.equal(await next.textContent(), 'Continue');
    await Promise.all([tab.page.waitForURL(`${base}/`), next.click()]);

    assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);
    assert.equal(await tab.page.getByRole('link', { name: 'Verify your email address' }).count(), 0);
    const [address] = (await whoami(tab)).body?.identity.verifiable_addresses ?? [];
    assert.equal(address?.value, email);
    assert.equal(address?.verified, true);
    assert.equal(address?.status, 'completed');
    assert.ok(address?.verified_at, 'verified_at set');
    await inbox.expectNoMail(email, 200);
    assert.deepEqual(tab.errors, []);
  });

  test('sign up → the link in the mail, opened in the browser → verified', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = newEmail('verify-link');
    await signUp(tab, email);
    const mail = await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail });
    const link = linkFrom(mail, '/self-service/verification?');
    assert.ok(link.startsWith(`${base}/auth/self-service/verification?`), link);
    assert.equal(new URL(link).searchParams.get('code'), codeFrom(mail));

    await tab.page.goto(link);
    assert.match(tab.page.url(), FLOW_PAGE('verification'), 'the link lands on the verification page');
    await message(tab, 1080002).waitFor();
    await Promise.all([tab.page.waitForURL(`${base}/`), tab.page.locator('a#continue').click()]);
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);

    // Opened again (the code is used up), the link just shows the flow's page again; nothing changes.
    await tab.page.goto(link);
    assert.match(tab.page.url(), FLOW_PAGE('verification'));
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);
    assert.deepEqual(tab.errors, []);
  });

  test('the link opened in another browser (the mail read on another device) verifies the address too', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = newEmail('verify-elsewhere');
    await signUp(tab, email);
    const link = linkFrom(await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail }));

    const other = await newTab(); // no cookies of the sign-up, no session
    await other.page.goto(link);
    assert.match(other.page.url(), FLOW_PAGE('verification'));
    await message(other, 1080002).waitFor();
    assert.equal((await whoami(other)).status, 401, 'the link verifies; it does not sign in');
    await Promise.all([other.page.waitForURL(`${base}/`), other.page.locator('a#continue').click()]);
    assert.equal(await whoamiText(other), 'You are not signed in.');

    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);
    assert.deepEqual([...tab.errors, ...other.errors], []);
  });

  test('signed in, unverified: home → "Verify your email address" → email → code by mail → verified', async () => {
    const tab = await newTab();
    await addAuthenticator(tab);
    const email = newEmail('verify-later');
    await signUp(tab, email);
    await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail }); // the sign-up's, ignored

    await tab.page.goto(`${base}/`);
    await tab.page.getByRole('link', { name: 'Verify your email address' }).click();
    await tab.page.waitForURL(FLOW_PAGE('verification'));
    await tab.page.getByLabel('Email', { exact: true }).fill(email);
    const page = await post(tab, 'verification', () => button(tab, 'Continue').click());
    await message(tab, 1080003).waitFor();
    const code = codeFrom(await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail }));
    await tab.page.getByLabel('Verification code').fill(code);
    assert.equal(await post(tab, 'verification', () => button(tab, 'Continue').click()), page);
    await message(tab, 1080002).waitFor();
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);
    assert.deepEqual(tab.errors, []);
  });

  test('every passkey lost: "Forgot your passkey?" → email → code by mail → settings (1060001) → new passkey → sign in with it', async () => {
    // The account, made on a device that is then lost (its context, with its authenticator, is closed).
    const email = newEmail('lost');
    const old = await newTab();
    const oldAuth = await addAuthenticator(old);
    await signUp(old, email);
    const [oldCred] = await credentialsOn(old, oldAuth);
    assert.ok(oldCred);
    await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: verificationMail }); // not verified: left as is
    await old.context.close();

    // A new device: a fresh context and authenticator, with no passkey for this site.
    const tab = await newTab();
    const auth = await addAuthenticator(tab);
    await tab.page.goto(`${base}/login`);
    assert.match(tab.page.url(), FLOW_PAGE('login'));
    await tab.page.getByRole('link', { name: 'Forgot your passkey?' }).click();
    await tab.page.waitForURL(FLOW_PAGE('recovery'));
    assert.equal(await tab.page.locator('h1').textContent(), 'Recover your account');
    const page = tab.page.url();

    await tab.page.getByLabel('Email', { exact: true }).fill(email);
    assert.equal(await post(tab, 'recovery', () => button(tab, 'Continue').click()), page);
    await message(tab, 1060003).waitFor();
    const codeInput = tab.page.getByLabel('Recovery code');
    assert.equal(await codeInput.getAttribute('pattern'), '[0-9]+');
    assert.equal(await codeInput.getAttribute('maxlength'), '6');
    const first = await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: recoveryMail });
    const firstCode = codeFrom(first);
    assert.match(firstCode, /^\d{6}$/);

    // "Resend code" (the required code field left empty) sends a new code; the first one is dead.
    assert.equal(await post(tab, 'recovery', () => button(tab, 'Resend code').click()), page);
    await message(tab, 1060003).waitFor();
    const code = codeFrom(await inbox.waitForMail(email, { timeout: MAIL_TIMEOUT, match: recoveryMail }));
    if (code !== firstCode) {
      await tab.page.getByLabel('Recovery code').fill(firstCode);
      assert.equal(await post(tab, 'recovery', () => button(tab, 'Continue').click()), page);
      await message(tab, 4060006).waitFor();
      assert.equal((await whoami(tab)).status, 401, 'the old code signs nobody in');
    }

    // The live code: signed in, on the settings page, with Kratos's 1060001.
    await tab.page.getByLabel('Recovery code').fill(code);
    const settings = await post(tab, 'recovery', () => button(tab, 'Continue').click());
    assert.match(settings, FLOW_PAGE('settings'));
    await message(tab, 1060001).waitFor();
    // Kratos's id, in words about passkeys and whole minutes (Kratos's text asks for a password in "60.00 minutes").
    assert.equal(
      await message(tab, 1060001).textContent(),
      'You successfully recovered your account. Please add a new passkey within the next 60 minutes.',
    );
    const session = (await whoami(tab)).body;
    assert.equal(session?.identity.traits.email, email);
    assert.deepEqual(
      session?.authentication_methods.map((m) => m.method),
      ['code_recovery'],
    );
    // The code proved the address: it is verified now.
    assert.equal(session?.identity.verifiable_addresses[0]?.verified, true);

    // Add a passkey on this device, on the settings page the recovery led to.
    await waitForGlobal(tab.page, 'oryPasskeySettingsRegistration');
    const ids = () =>
      tab.page.locator('#passkeys li').evaluateAll((items) => items.map((li) => li.getAttribute('data-passkey-id')));
    assert.deepEqual(await ids(), [oldCred.id]);
    assert.equal(await post(tab, 'settings', () => button(tab, 'Add passkey').click()), settings);
    await message(tab, 1050001).waitFor();
    const [newCred] = await credentialsOn(tab, auth);
    assert.ok(newCred, 'the new authenticator holds a passkey');
    assert.deepEqual(await ids(), [oldCred.id, newCred.id]);
    assert.equal(newCred.userHandleUrl, oldCred.userHandleUrl, 'for the same account');

    // Sign out, then in with the new passkey (the "Sign in with passkey" button; autofill held back until then).
    await logOut(tab);
    await setPresence(tab, auth, false);
    const since = tab.calls.length;
    await tab.page.goto(`${base}/login`);
    await autofillWaiting(tab, since);
    await setPresence(tab, auth, true);
    await Promise.all([tab.page.waitForURL(`${base}/`), button(tab, 'Sign in with passkey').click()]);
    assert.equal(await whoamiText(tab), `Signed in as ${email}.`);
    const signedIn = (await whoami(tab)).body;
    assert.deepEqual(
      signedIn?.authentication_methods.map((m) => m.method),
      ['passkey'],
    );
    const [after] = await credentialsOn(tab, auth);
    assert.ok(after!.signCount > newCred.signCount, 'the new passkey signed');
    assert.deepEqual(await homeAddresses(tab), [{ address: email, verified: 'true', badge: 'verified' }]);
    assert.deepEqual(tab.errors, []);
  });

  test('an address with no account: the same pages and wording as a known one, and no mail', async () => {
    const known = newEmail('known');
    const signup = await newTab();
    await addAuthenticator(signup);
    await signUp(signup, known);
    await inbox.waitForMail(known, { timeout: MAIL_TIMEOUT, match: verificationMail });
    await signup.context.close();
    const unknown = newEmail('nobody');

    for (const kind of ['recovery', 'verification'] as const) {
      const seen: Record<string, Awaited<ReturnType<typeof rendered>>[]> = {};
      for (const [who, email] of [
        ['known', known],
        ['unknown', unknown],
      ] as const) {
        const tab = await newTab(); // signed out, a browser of its own
        await tab.page.goto(`${base}/${kind}`);
        await tab.page.waitForURL(FLOW_PAGE(kind));
        const ask = await rendered(tab, {});
        await tab.page.getByLabel('Email', { exact: true }).fill(email);
        const location = await post(tab, kind, () => button(tab, 'Continue').click());
        assert.match(location, FLOW_PAGE(kind), `${who}: back to the ${kind} page`);
        await message(tab, kind === 'recovery' ? 1060003 : 1080003).waitFor();
        seen[who] = [ask, await rendered(tab, { [email]: '<email>' })];
        assert.deepEqual(tab.errors, []);
      }
      assert.deepEqual(seen.unknown, seen.known, `${kind}: the unknown address sees exactly what the known one sees`);
      assert.ok(
        seen.known?.[1]?.controls.some((c) => c.includes('|email|<email>|')),
        'the resend button is compared',
      );

      // The known address got its mail over SMTP (so the pipeline works); the unknown one nothing.
      const mail = await inbox.waitForMail(known, {
        timeout: MAIL_TIMEOUT,
        match: kind === 'recovery' ? recoveryMail : verificationMail,
      });
      assert.match(codeFrom(mail), /^\d{6}$/);
      await inbox.expectNoMail(unknown, 1500);
    }
    assert.deepEqual(inbox.mailsTo(unknown), []);
  });
});
