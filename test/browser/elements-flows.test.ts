/**
 * Ory Elements React (`@ory/elements-react`, unchanged) in a real Chromium against the router, for the flows beyond
 * sign-up and sign-in: its Settings card lists the passkeys, adds one ("Add passkey", the router's webauthn.js and a
 * virtual authenticator) and removes one; its Recovery card recovers an account by a code sent by the courier and
 * lands on the Settings card; its Verification card verifies the address a sign-up sends a code to. Codes are read
 * from the recording courier (what the app's mailer was handed), as a user reads them in their inbox.
 *
 * Run: npx tsx --test test/browser/elements-flows.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { RecordingCourier } from '../helpers/codes.js';
import { type ElementsApp, elementsReady, startElementsApp } from './elements.js';
import {
  addAuthenticator,
  autofillWaiting,
  credentialsOn,
  launchChromium,
  openTab,
  setPresence,
  type Tab,
} from './helpers.js';

let browser: Browser;
const tabs: Tab[] = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  for (const tab of tabs) await tab.context.close();
  await browser?.close();
});

async function newTab(): Promise<Tab> {
  const tab = await openTab(browser);
  tabs.push(tab);
  return tab;
}

/** Elements' Registration card: type the email, "Sign up with passkey"; resolves once the browser left the card. */
async function signUp(app: ElementsApp, tab: Tab, email: string, landing: string | RegExp): Promise<void> {
  await tab.page.goto(`${app.url}/ui/registration`);
  await elementsReady(tab.page);
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(landing),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
}

async function whoami(app: ElementsApp, tab: Tab) {
  const res = await tab.context.request.get(`${app.sdk}/sessions/whoami`, { headers: { accept: 'application/json' } });
  return res.status() === 200 ? await res.json() : res.status();
}

const newEmail = (what: string) => `elements-${what}-${Date.now().toString(36)}@example.com`;

/**
 * The settings page loaded anew (the form post of "Add passkey" and its 303 back): waitForURL would resolve at once,
 * as the page is on /ui/settings?flow= already, and the card would then be read while the page navigates.
 */
function settingsShownAgain(page: Page): Promise<unknown> {
  return page.waitForEvent('framenavigated', {
    predicate: (frame) => frame === page.mainFrame() && /\/ui\/settings\?flow=/.test(frame.url()),
    timeout: 10_000,
  });
}

describe('Ory Elements React: the Settings card', () => {
  let app: ElementsApp;
  before(async () => {
    app = await startElementsApp();
  });
  after(() => app?.close());

  test('lists the passkeys, adds one with "Add passkey", and removes one', async () => {
    const tab = await newTab();
    const { page } = tab;
    const phone = await addAuthenticator(tab, 'internal');
    const email = newEmail('settings');
    await signUp(app, tab, email, `${app.url}/`);
    const [first] = await credentialsOn(tab, phone);
    assert.ok(first, 'a passkey on the phone');

    await page.goto(`${app.url}/ui/settings`);
    await elementsReady(page);
    await page.getByRole('button', { name: 'Add passkey' }).waitFor();
    await page.screenshot({ path: '.tmp/elements-settings-1.png', fullPage: true });
    const removeButtons = () => page.locator('button[name="passkey_remove"]');
    assert.equal(await removeButtons().count(), 1, 'one passkey listed');

    // A second passkey on a security key (the phone already holds one and is excluded).
    await setPresence(tab, phone, false);
    const key = await addAuthenticator(tab, 'usb');
    await Promise.all([settingsShownAgain(page), page.getByRole('button', { name: 'Add passkey' }).click()]);
    await elementsReady(page);
    await page.getByRole('button', { name: 'Add passkey' }).waitFor();
    await page.screenshot({ path: '.tmp/elements-settings-2.png', fullPage: true });
    const [second] = await credentialsOn(tab, key);
    assert.ok(second, 'a passkey on the security key');
    assert.equal(await removeButtons().count(), 2, 'two passkeys listed');
    const values = await removeButtons().evaluateAll((list) => list.map((b) => (b as HTMLButtonElement).value));
    assert.deepEqual(values.sort(), [first.id, second.id].sort());

    // Remove the first: Elements posts { csrf_token, method: "passkey", passkey_remove } as JSON.
    const answer = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/settings?flow=`));
    await page.locator(`button[name="passkey_remove"][value="${first.id}"]`).click();
    assert.equal((await answer).status(), 200);
    await page.waitForFunction(() => document.querySelectorAll('button[name="passkey_remove"]').length === 1);
    await page.screenshot({ path: '.tmp/elements-settings-3.png', fullPage: true });
    assert.equal(await removeButtons().first().getAttribute('value'), second.id);
    const identity = (await app.store.findIdentityByIdentifier(email))?.id;
    assert.ok(identity);
    assert.deepEqual(
      (await app.store.listPasskeys(identity)).map((p) => p.id),
      [second.id],
      'the store keeps the second passkey only',
    );

    // The last one: Elements ignores `disabled` on remove buttons and posts anyway; the router refuses (400, the
    // message on that passkey_remove node, as Kratos does) and the passkey stays. (Elements' passkey list renders
    // no node messages, so the card shows no text for the refusal; Kratos behind Elements does the same.)
    const refused = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/settings?flow=`));
    await removeButtons().first().click();
    const refusal = await refused;
    assert.equal(refusal.status(), 400);
    const refusedFlow = (await refusal.json()) as {
      ui: { nodes: { attributes: { name?: string; value?: unknown }; messages: { type: string }[] }[] };
    };
    const refusedNode = refusedFlow.ui.nodes.find(
      (n) => n.attributes.name === 'passkey_remove' && n.attributes.value === second.id,
    );
    assert.equal(refusedNode?.messages[0]?.type, 'error');
    await page.screenshot({ path: '.tmp/elements-settings-4.png', fullPage: true });
    assert.equal(await removeButtons().count(), 1);
    assert.equal((await app.store.listPasskeys(identity)).length, 1);

    // The profile form: a first name saved through Elements' Save button.
    await page.getByLabel('First name').fill('Ada');
    const saved = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/settings?flow=`));
    await page.getByRole('button', { name: 'Save' }).click();
    assert.equal((await saved).status(), 200);
    assert.deepEqual((await whoami(app, tab)).identity.traits, { email, name: { first: 'Ada' } });
    assert.deepEqual(tab.errors, []);
  });
});

describe('Ory Elements React: the Settings card with a session too old to change passkeys', () => {
  let app: ElementsApp;
  before(async () => {
    app = await startElementsApp({ lifespans: { privilegedSession: '1s' } });
  });
  after(() => app?.close());

  test('a removal goes through a refresh sign-in on the Login card and back to Settings, then succeeds', async () => {
    const tab = await newTab();
    const { page } = tab;
    const phone = await addAuthenticator(tab, 'internal');
    const email = newEmail('refresh');
    await signUp(app, tab, email, `${app.url}/`);
    await page.goto(`${app.url}/ui/settings`);
    await elementsReady(page);
    await setPresence(tab, phone, false);
    const key = await addAuthenticator(tab, 'usb');
    await Promise.all([settingsShownAgain(page), page.getByRole('button', { name: 'Add passkey' }).click()]);
    await elementsReady(page);
    await page.locator('button[name="passkey_remove"]').nth(1).waitFor();
    const [first] = await credentialsOn(tab, phone);
    assert.ok(first);
    await setPresence(tab, key, false); // neither authenticator answers until the Login card is up

    await new Promise((resolve) => setTimeout(resolve, 1100)); // the privileged window closes
    // Elements posts the removal as JSON; the 403 names the refresh login, which Elements opens.
    const since = tab.calls.length;
    const refused = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/settings?flow=`));
    await Promise.all([
      page.waitForURL(/\/ui\/login\?flow=/),
      page.locator(`button[name="passkey_remove"][value="${first.id}"]`).click(),
    ]);
    assert.equal((await refused).status(), 403);
    await elementsReady(page);
    const flowId = new URL(page.url()).searchParams.get('flow');
    const loginFlow = await (
      await tab.context.request.get(`${app.sdk}/self-service/login/flows?id=${flowId}`, {
        headers: { accept: 'application/json' },
      })
    ).json();
    assert.equal(loginFlow.refresh, true, 'a refresh login');
    await page.screenshot({ path: '.tmp/elements-settings-refresh-1.png', fullPage: true });
    // The card's passkey autofill request has reached the authenticators, which hold back; the phone then answers
    // the method button's request (which aborts the autofill one).
    await autofillWaiting(tab, since);
    await setPresence(tab, phone, true);
    // Elements' "Reauthenticate" card lists the passkey method; it is enabled once webauthn.js has loaded (Elements
    // checks for the trigger function when it renders, and otherwise waits for the `oryWebAuthnInitialized` event).
    await Promise.all([
      page.waitForURL(/\/ui\/settings\?flow=/),
      page.getByTestId('ory/form/auth-picker/passkey').click(),
    ]);
    await elementsReady(page);
    const removed = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/settings?flow=`));
    await page.locator(`button[name="passkey_remove"][value="${first.id}"]`).click();
    assert.equal((await removed).status(), 200);
    await page.waitForFunction(() => document.querySelectorAll('button[name="passkey_remove"]').length === 1);
    const identity = (await app.store.findIdentityByIdentifier(email))?.id;
    assert.ok(identity);
    assert.equal((await app.store.listPasskeys(identity)).length, 1);
    assert.deepEqual(tab.errors, []);
  });
});

describe('Ory Elements React: the Recovery and Verification cards', () => {
  let app: ElementsApp;
  const courier = new RecordingCourier();
  before(async () => {
    app = await startElementsApp({ courier, secrets: ['an elements test secret of at least 32 characters'] });
  });
  after(() => app?.close());

  test('a sign-up goes on to the Verification card; the mailed code verifies the address', async () => {
    const tab = await newTab();
    const { page } = tab;
    await addAuthenticator(tab, 'internal');
    const email = newEmail('verify');
    await signUp(app, tab, email, /\/ui\/verification\?flow=/);
    await elementsReady(page);
    await page.screenshot({ path: '.tmp/elements-verification-1.png', fullPage: true });
    const code = await courier.lastCode(email, 'verification');
    await page.locator('input[name="code"]').fill(code);
    const answer = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/verification?flow=`));
    await page.getByRole('button', { name: 'Continue' }).first().click();
    assert.equal((await answer).status(), 200);
    await page.getByText('You successfully verified your email address.').waitFor();
    await page.screenshot({ path: '.tmp/elements-verification-2.png', fullPage: true });
    const session = await whoami(app, tab);
    assert.equal(session.identity.verifiable_addresses[0].verified, true);
    assert.equal(session.identity.verifiable_addresses[0].status, 'completed');
    assert.deepEqual(tab.errors, []);
  });

  test('recovery by code: the mailed code signs in and lands on the Settings card', async () => {
    const tab = await newTab();
    const { page } = tab;
    const phone = await addAuthenticator(tab, 'internal');
    const email = newEmail('recover');
    await signUp(app, tab, email, /\/ui\/verification\?flow=/);
    await tab.context.clearCookies(); // the passkey is lost, say; the address still receives mail

    await page.goto(`${app.url}/ui/recovery`);
    await elementsReady(page);
    await page.screenshot({ path: '.tmp/elements-recovery-1.png', fullPage: true });
    await page.locator('input[name="email"]').fill(email);
    const sent = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/recovery?flow=`));
    await page.getByRole('button', { name: 'Continue' }).first().click();
    assert.equal((await sent).status(), 200);
    await page.locator('input[name="code"]').waitFor();
    await page.screenshot({ path: '.tmp/elements-recovery-2.png', fullPage: true });
    const code = await courier.lastCode(email, 'recovery');
    // A wrong code first: Elements shows Kratos's message and keeps the code form.
    await page.locator('input[name="code"]').fill(code === '000000' ? '111111' : '000000');
    const wrong = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/recovery?flow=`));
    await page.getByRole('button', { name: 'Continue' }).first().click();
    assert.equal((await wrong).status(), 200);
    await page.getByTestId('ory/message/4060006').waitFor();
    await page.locator('input[name="code"]').fill(code);
    await Promise.all([
      page.waitForURL(/\/ui\/settings\?flow=/),
      page.getByRole('button', { name: 'Continue' }).first().click(),
    ]);
    await elementsReady(page);
    await page.getByRole('button', { name: 'Add passkey' }).waitFor();
    await page.screenshot({ path: '.tmp/elements-recovery-3.png', fullPage: true });
    const session = await whoami(app, tab);
    assert.equal(session.identity.traits.email, email);
    assert.equal(session.authentication_methods[0].method, 'code_recovery');

    // The lost passkey is gone from the device; a new one is enrolled from the card.
    await tab.cdp.send('WebAuthn.clearCredentials', { authenticatorId: phone });
    await Promise.all([settingsShownAgain(page), page.getByRole('button', { name: 'Add passkey' }).click()]);
    await elementsReady(page);
    await page.getByRole('button', { name: 'Add passkey' }).waitFor();
    const [enrolled] = await credentialsOn(tab, phone);
    assert.ok(enrolled, 'a new passkey on the device');
    assert.equal(await page.locator('button[name="passkey_remove"]').count(), 2);
    await page.screenshot({ path: '.tmp/elements-recovery-4.png', fullPage: true });
    const passkeys = await app.store.listPasskeys(session.identity.id);
    assert.ok(passkeys.some((p) => p.id === enrolled.id));
    assert.deepEqual(tab.errors, []);
  });
});
