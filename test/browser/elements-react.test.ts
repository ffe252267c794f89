/**
 * Ory Elements React (`@ory/elements-react`, unchanged) in a real Chromium against the router: its Registration card
 * signs up with a security key, and its Login card renders the identifier-first steps (its method chooser keys on the
 * hidden `identifier` in group `identifier_first`) and signs in with that non-discoverable passkey. The virtual
 * authenticator signs; Elements calls the router through Ory's SDK and runs the router's webauthn.js. A registration
 * hook's refusal shows under the email field of Elements' Registration card.
 *
 * Run: npx tsx --test test/browser/elements-react.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FlowRejection } from '../../src/index.js';
import { type ElementsApp, elementsReady, startElementsApp } from './elements.js';
import {
  addAuthenticator,
  credentialsOn,
  launchChromium,
  openTab,
  type Tab,
  waitFor,
  waitForGlobal,
} from './helpers.js';

let app: ElementsApp;
let browser: Browser;
const tabs: Tab[] = [];

before(async () => {
  // A security key that cannot store discoverable credentials, and an app that lets it register one.
  app = await startElementsApp({
    login: { style: 'identifier_first' },
    authenticatorSelection: { residentKey: 'discouraged' },
  });
  browser = await launchChromium();
});

after(async () => {
  for (const tab of tabs) await tab.context.close();
  await browser?.close();
  await app?.close();
});

/** A tab with a CTAP2 USB security key without resident keys (so every credential is non-discoverable). */
async function securityKeyTab(): Promise<{ tab: Tab; authenticatorId: string }> {
  const tab = await openTab(browser);
  tabs.push(tab);
  const authenticatorId = await addAuthenticator(tab, 'usb', { hasResidentKey: false });
  return { tab, authenticatorId };
}

/** Elements' Registration card: type the email, "Sign up with passkey", land on `/` signed in. */
async function signUp(tab: Tab, email: string): Promise<void> {
  await tab.page.goto(`${app.url}/ui/registration`);
  await elementsReady(tab.page);
  await tab.page.getByLabel('E-Mail').fill(email);
  await Promise.all([
    tab.page.waitForURL(`${app.url}/`),
    tab.page.getByRole('button', { name: 'Sign up with passkey' }).click(),
  ]);
}

async function whoami(tab: Tab): Promise<string | number> {
  const res = await tab.context.request.get(`${app.sdk}/sessions/whoami`, { headers: { accept: 'application/json' } });
  return res.status() === 200 ? (await res.json()).identity.traits.email : res.status();
}

/** Elements' Login card, step one: type the identifier, Continue; returns once step two has rendered. */
async function stepOne(tab: Tab, identifier: string): Promise<void> {
  const { page } = tab;
  await page.goto(`${app.url}/ui/login`);
  await elementsReady(page);
  await waitForGlobal(page, 'oryPasskeyLogin'); // the flow's webauthn.js ran
  await page.getByTestId('ory/form/node/input/identifier').fill(identifier);
  const answer = page.waitForResponse((r) => r.url().startsWith(`${app.sdk}/self-service/login?flow=`));
  await page.getByRole('button', { name: 'Continue' }).click();
  assert.equal((await answer).status(), 400, 'step two comes in a 400, as from Kratos');
  await page.getByText('Passkey (recommended)').waitFor();
}

/** What the step-two card shows (its text, and its form's inputs), with the identifier typed taken out. */
async function stepTwoView(tab: Tab, identifier: string) {
  const text = String(await tab.page.locator('#root').textContent()).replaceAll(identifier, '<identifier>');
  const inputs = await tab.page.$$eval('form input', (list) =>
    list.map((i) => `${(i as HTMLInputElement).type}:${(i as HTMLInputElement).name}`),
  );
  return { text, inputs };
}

describe('Ory Elements React: identifier-first login', () => {
  test('renders both steps and signs in with a non-discoverable passkey', async () => {
    const { tab, authenticatorId } = await securityKeyTab();
    const email = `elements-${Date.now().toString(36)}@example.com`;
    await signUp(tab, email);
    assert.equal(await whoami(tab), email);
    const [credential] = await credentialsOn(tab, authenticatorId);
    assert.equal(credential?.isResidentCredential, false, 'a non-discoverable credential');
    await tab.context.clearCookies(); // signed out; the security key keeps its credential

    const { page } = tab;
    await page.goto(`${app.url}/ui/login`);
    await elementsReady(page);
    // Step one: the identifier (autofill-ready) and Continue. (A security key offers no autofill: the browser
    // reports conditional mediation unavailable, so webauthn.js starts none; the next test has a platform one.)
    const identifier = page.getByTestId('ory/form/node/input/identifier');
    assert.equal(await identifier.getAttribute('autocomplete'), 'username webauthn');
    await page.screenshot({ path: '.tmp/elements-identifier-first-1.png', fullPage: true });

    await stepOne(tab, email);
    // Step two: the identifier is hidden in group identifier_first; the method chooser offers the passkey.
    assert.equal(await page.locator('input[type=hidden][name=identifier]').first().inputValue(), email);
    assert.equal(await page.getByRole('button', { name: 'Continue' }).count(), 0);
    await page.screenshot({ path: '.tmp/elements-identifier-first-2.png', fullPage: true });

    await Promise.all([page.waitForURL(`${app.url}/`), page.getByText('Passkey (recommended)').click()]);
    assert.equal(await whoami(tab), email);
    assert.ok(tab.calls.some((c) => c.op === 'get' && c.mediation !== 'conditional' && c.phase === 'ok'));
    assert.deepEqual(tab.errors, []);
  });

  test('an unknown email looks exactly like a known one', async () => {
    const { tab: owner } = await securityKeyTab();
    const known = `elements-known-${Date.now().toString(36)}@example.com`;
    await signUp(owner, known);

    // A visitor whose device has a platform authenticator (no passkey for this site): autofill starts at step one.
    const tab = await openTab(browser);
    tabs.push(tab);
    await addAuthenticator(tab, 'internal');
    await stepOne(tab, known);
    await waitFor(
      () => tab.calls.some((c) => c.op === 'get' && c.mediation === 'conditional' && c.phase === 'call'),
      'conditional UI at step one',
    );
    const knownView = await stepTwoView(tab, known);
    const unknown = `elements-nobody-${Date.now().toString(36)}@example.com`;
    await stepOne(tab, unknown);
    const unknownView = await stepTwoView(tab, unknown);
    assert.deepEqual(unknownView, knownView);
    assert.match(knownView.text, /Passkey \(recommended\)/);
    assert.deepEqual(tab.errors, []);
  });
});

describe('Ory Elements React: a registration hook that says no', () => {
  const ONLY_EXAMPLE = 4_000_900; // the app's own message id (Elements shows the text of ids it does not know)
  let hookApp: ElementsApp;

  before(async () => {
    hookApp = await startElementsApp({
      hooks: {
        beforeRegistration: ({ traits }) => {
          if (!String(traits.email).endsWith('@example.com')) {
            throw new FlowRejection({
              instancePtr: '#/traits/email',
              id: ONLY_EXAMPLE,
              text: 'Only example.com addresses can sign up.',
            });
          }
        },
      },
    });
  });
  after(() => hookApp?.close());

  test("shows the hook's message under the email field, and nothing is written", async () => {
    const tab = await openTab(browser);
    tabs.push(tab);
    const authenticatorId = await addAuthenticator(tab, 'internal');
    const { page } = tab;
    await page.goto(`${hookApp.url}/ui/registration`);
    await elementsReady(page);
    await page.getByLabel('E-Mail').fill('mallory@elsewhere.test');
    await page.getByRole('button', { name: 'Sign up with passkey' }).click();

    const message = page.getByTestId(`ory/message/${ONLY_EXAMPLE}`);
    await message.waitFor();
    assert.equal((await message.textContent())?.trim(), 'Only example.com addresses can sign up.');
    // Under the email field: the closest element holding both the message and an input holds the email input only.
    const inputs = await message.evaluate((element) => {
      let box: Element | null = element.parentElement;
      while (box && box.querySelectorAll('input').length === 0) box = box.parentElement;
      return Array.from(box?.querySelectorAll('input') ?? [], (i) => i.name);
    });
    assert.deepEqual(inputs, ['traits.email']);
    await page.screenshot({ path: '.tmp/elements-hook-message.png', fullPage: true });

    assert.equal(await hookApp.store.findIdentityByIdentifier('mallory@elsewhere.test'), null, 'no identity');
    assert.deepEqual(await credentialsOn(tab, authenticatorId), [], 'no passkey left on the authenticator');
    assert.equal(await whoamiAt(tab, hookApp), 401, 'no session');
  });
});

async function whoamiAt(tab: Tab, at: ElementsApp): Promise<number> {
  const res = await tab.context.request.get(`${at.sdk}/sessions/whoami`, { headers: { accept: 'application/json' } });
  return res.status();
}
