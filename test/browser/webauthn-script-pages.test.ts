/**
 * webauthn.js (SPEC section 3) on pages shaped otherwise than one flow form with one script tag: two flow forms on one
 * page, the script inserted after DOMContentLoaded or re-inserted by a single-page app, a path-relative form action,
 * `<input type="button">` triggers next to `<button>` ones, and forms the script must leave alone (no action, an
 * empty action, broken options). Real Chromium, a CDP virtual authenticator, and every post verified with
 * @simplewebauthn/server; every test ends with no uncaught page error.
 *
 * Run: npx tsx --test test/browser/webauthn-script-pages.test.ts   (needs /usr/bin/chromium)
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import express from 'express';
import type { Browser } from 'playwright-core';
import { WEBAUTHN_SCRIPT } from '../../src/ui/webauthn-script.js';
import {
  addAuthenticator,
  autofillWaiting,
  launchChromium,
  openTab,
  setPresence,
  skipWithoutChromium,
  type Tab,
  waitFor,
} from './helpers.js';

const MOUNT = '/auth';
const SCRIPT_PATH = `${MOUNT}/.well-known/ory/webauthn.js`;

type Kind = 'registration' | 'login';
interface Post {
  kind: string;
  flow: string;
  verified: boolean;
  error?: string;
  field?: string;
}

const challenges = new Map<string, { kind: Kind; userId?: string }>();
const stored = new Map<string, { credential: WebAuthnCredential; userId: string }>();
const posts: Post[] = [];
let origin = '';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function registrationInputs(): Promise<string> {
  const options = await generateRegistrationOptions({
    rpName: 'Test',
    rpID: 'localhost',
    userName: 'placeholder',
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  options.user.name = '';
  options.user.displayName = '';
  challenges.set(options.challenge, { kind: 'registration', userId: options.user.id });
  const data = { credentialOptions: { publicKey: options }, displayNameFieldName: 'traits.email' };
  return `<input type="email" name="traits.email" value="ada@example.com">
<input type="hidden" name="passkey_register" value="">
<input type="hidden" name="passkey_create_data" value="${esc(JSON.stringify(data))}">`;
}

async function loginInputs(): Promise<string> {
  const options = await generateAuthenticationOptions({ rpID: 'localhost', userVerification: 'preferred' });
  challenges.set(options.challenge, { kind: 'login' });
  return `<input type="hidden" name="passkey_login" value="">
<input type="hidden" name="passkey_challenge" value="${esc(JSON.stringify({ publicKey: options }))}">`;
}

const scriptTag = (extra = '') => `<script src="${SCRIPT_PATH}"${extra}></script>`;

function page(body: string, head = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>t</title>${head}</head><body>${body}</body></html>`;
}

function createApp(): express.Express {
  const app = express();
  app.get(SCRIPT_PATH, (_req, res) => {
    res.type('text/javascript; charset=utf-8').send(WEBAUTHN_SCRIPT);
  });

  // Sign-up and sign-in on one page: two flow forms, each with its own trigger (a <button> and an <input>).
  app.get('/both', async (req, res) => {
    const input = req.query['input'] === '1';
    const trigger = (name: string, label: string) =>
      input
        ? `<input type="button" name="${name}" value="${label}">`
        : `<button type="button" name="${name}">${label}</button>`;
    res.type('html').send(
      page(`<form id="reg" method="POST" action="${MOUNT}/self-service/registration?flow=reg-${req.query['case']}">
${await registrationInputs()}
${trigger('passkey_register_trigger', 'Sign up')}
</form>
<form id="login" method="POST" action="${MOUNT}/self-service/login?flow=login-${req.query['case']}">
${await loginInputs()}
${trigger('passkey_login_trigger', 'Sign in')}
</form>
${scriptTag()}`),
    );
  });

  // Two login flows on one page (two tabs of a UI rendered together): the second form's trigger posts to it.
  app.get('/two-logins', async (req, res) => {
    const form = async (
      id: string,
    ) => `<form id="${id}" method="POST" action="${MOUNT}/self-service/login?flow=${id}-${req.query['case']}">
${await loginInputs()}
<input type="button" data-onclicktrigger="oryPasskeyLogin" value="Sign in (${id})">
</form>`;
    res.type('html').send(page(`${await form('first')}${await form('second')}${scriptTag()}`));
  });

  // The page is at <mount>/ui/..., its form's action relative to it (`../self-service/login?flow=`).
  app.get(`${MOUNT}/ui/login`, async (req, res) => {
    res.type('html').send(
      page(`<form id="flow" method="POST" action="../self-service/login?flow=rel-${req.query['case']}">
${await loginInputs()}
<button type="button" name="passkey_login_trigger">Sign in</button>
</form>
${scriptTag()}`),
    );
  });

  // The script is added by the page's own code after load (`late`), and then removed and inserted again as a
  // single-page app does on navigation (`again`), or put in the head before the body exists (`head`).
  app.get('/dynamic', async (req, res) => {
    const how = String(req.query['how']);
    const inject = `<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var s = document.createElement('script');
    s.src = '${SCRIPT_PATH}';
    s.id = 'webauthn_script';
    document.body.appendChild(s);
    ${
      how === 'again'
        ? `s.onload = function () {
      s.remove();
      var t = document.createElement('script');
      t.src = '${SCRIPT_PATH}?spa=2';
      t.onload = function () { window.__reinserted = true; };
      document.body.appendChild(t);
    };`
        : ''
    }
  }, 50);
});
</script>`;
    const form = `<form id="flow" method="POST" action="${MOUNT}/self-service/login?flow=dyn-${req.query['case']}">
<input type="text" name="identifier" autocomplete="username webauthn">
${await loginInputs()}
<button type="button" name="passkey_login_trigger">Sign in</button>
</form>`;
    if (how === 'head') {
      res.type('html').send(page(form, scriptTag(' defer')));
      return;
    }
    res.type('html').send(page(form + inject));
  });

  // Forms the script must leave alone, next to a flow form: no action, an empty action, broken options JSON.
  app.get('/odd-forms', async (req, res) => {
    res.type('html').send(
      page(`<form id="no-action" method="POST">
${await loginInputs()}
<button type="button" name="passkey_login_trigger">No action</button>
</form>
<form id="empty-action" method="POST" action="">
${await loginInputs()}
<button type="button" name="passkey_login_trigger">Empty action</button>
</form>
<form id="broken" method="POST" action="${MOUNT}/self-service/login?flow=broken-${req.query['case']}">
<input type="hidden" name="passkey_login" value="" data-onloadtrigger="oryPasskeyLoginAutocompleteInit">
<input type="hidden" name="passkey_challenge" value="{not json">
<input type="hidden" name="passkey_signal" value="{not json either">
<button type="button" name="passkey_login_trigger">Broken</button>
</form>
<form id="flow" method="POST" action="${MOUNT}/self-service/login?flow=ok-${req.query['case']}">
${await loginInputs()}
<input type="button" name="passkey_login_trigger" value="Sign in">
</form>
${scriptTag()}`),
    );
  });

  app.post(`${MOUNT}/self-service/:kind`, express.urlencoded({ extended: false }), async (req, res) => {
    const body = req.body as Record<string, string>;
    if (body['method'] === 'profile') {
      res.json({ state: 'show_form' });
      return;
    }
    const post: Post = { kind: String(req.params['kind']), flow: String(req.query['flow']), verified: false };
    try {
      const field = (['passkey_register', 'passkey_login'] as const).find((f) => body[f]);
      if (!field) throw new Error('no credential posted');
      post.field = field;
      const response = JSON.parse(body[field]!);
      const { challenge } = decodeClientDataJSON(response.response.clientDataJSON);
      const ceremony = challenges.get(challenge);
      if (!ceremony) throw new Error('unknown challenge');
      challenges.delete(challenge);
      if (ceremony.kind === 'login') {
        const known = stored.get(response.id);
        if (!known) throw new Error('unknown credential');
        const v = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: 'localhost',
          credential: known.credential,
        });
        if (!v.verified) throw new Error('not verified');
        known.credential.counter = v.authenticationInfo.newCounter;
      } else {
        const v = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: origin,
          expectedRPID: 'localhost',
        });
        if (!v.verified) throw new Error('not verified');
        const cred = v.registrationInfo.credential;
        stored.set(cred.id, { credential: cred, userId: ceremony.userId! });
      }
      post.verified = true;
    } catch (err) {
      post.error = (err as Error).message;
    }
    posts.push(post);
    res.type('html').send(`<!doctype html><title>done</title><p id="result">${post.verified}</p>`);
  });
  return app;
}

let browser: Browser;
let server: ReturnType<express.Express['listen']>;
const tabs: Tab[] = [];
let counter = 0;
const newCase = (label: string) => `${label}${++counter}`;
const isPost = (u: URL) => u.pathname.startsWith(`${MOUNT}/self-service/`);
const postsOf = (flow: string) => posts.filter((p) => p.flow === flow);

async function tabWithPasskey(): Promise<Tab & { authenticatorId: string }> {
  const tab = await openTab(browser);
  tabs.push(tab);
  return Object.assign(tab, { authenticatorId: await addAuthenticator(tab) });
}

/** Signs up on /both (the registration form's <button>), so that the tab's authenticator holds a known passkey. */
async function signUp(tab: Tab): Promise<void> {
  const c = newCase('setup');
  await tab.page.goto(`${origin}/both?case=${c}`);
  await tab.page.waitForFunction(() => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function');
  await Promise.all([tab.page.waitForURL(isPost), tab.page.click('#reg [name="passkey_register_trigger"]')]);
  assert.deepEqual(
    postsOf(`reg-${c}`).map((p) => [p.verified, p.error]),
    [[true, undefined]],
  );
}

describe('webauthn.js on pages with several forms, late or repeated script loads', {
  skip: skipWithoutChromium,
}, () => {
  before(async () => {
    server = createApp().listen(0, 'localhost');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close().catch(() => {});
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  for (const input of [false, true]) {
    const what = input ? '<input type=button>' : '<button>';
    test(`two flow forms on one page (sign-up and sign-in), ${what} triggers: each posts to its own flow`, async () => {
      const tab = await tabWithPasskey();
      const c = newCase('both');
      await tab.page.goto(`${origin}/both?case=${c}&input=${input ? 1 : 0}`);
      await tab.page.waitForFunction(
        () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
      );
      await Promise.all([tab.page.waitForURL(isPost), tab.page.click('#reg [name="passkey_register_trigger"]')]);
      assert.deepEqual(
        postsOf(`reg-${c}`).map((p) => [p.kind, p.field, p.verified, p.error]),
        [['registration', 'passkey_register', true, undefined]],
      );
      assert.equal(postsOf(`login-${c}`).length, 0);

      const c2 = newCase('both');
      await tab.page.goto(`${origin}/both?case=${c2}&input=${input ? 1 : 0}`);
      await tab.page.waitForFunction(
        () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
      );
      await Promise.all([tab.page.waitForURL(isPost), tab.page.click('#login [name="passkey_login_trigger"]')]);
      assert.deepEqual(
        postsOf(`login-${c2}`).map((p) => [p.kind, p.field, p.verified, p.error]),
        [['login', 'passkey_login', true, undefined]],
      );
      assert.equal(postsOf(`reg-${c2}`).length, 0, 'the sign-up form is not submitted by the sign-in trigger');
      assert.deepEqual(
        tab.calls.filter((x) => x.phase === 'call').map((x) => x.op),
        ['create', 'get'],
      );
      assert.deepEqual(tab.errors, []);
    });
  }

  test('two login flows on one page: the second form trigger signs in through the second flow', async () => {
    const tab = await tabWithPasskey();
    await signUp(tab);
    const c = newCase('');
    await tab.page.goto(`${origin}/two-logins?case=${c}`);
    await tab.page.waitForFunction(
      () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
    );
    await Promise.all([tab.page.waitForURL(isPost), tab.page.click('#second input[type="button"]')]);
    assert.deepEqual(
      postsOf(`second-${c}`).map((p) => [p.verified, p.error]),
      [[true, undefined]],
    );
    assert.equal(postsOf(`first-${c}`).length, 0);
    assert.deepEqual(tab.errors, []);
  });

  test('a path-relative form action (../self-service/login?flow=) counts as the browser resolves it', async () => {
    const tab = await tabWithPasskey();
    await signUp(tab);
    const c = newCase('');
    await tab.page.goto(`${origin}${MOUNT}/ui/login?case=${c}`);
    await tab.page.waitForFunction(
      () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
    );
    await Promise.all([tab.page.waitForURL(isPost), tab.page.click('[name="passkey_login_trigger"]')]);
    assert.deepEqual(
      postsOf(`rel-${c}`).map((p) => [p.verified, p.error]),
      [[true, undefined]],
    );
    assert.deepEqual(tab.errors, []);
  });

  for (const how of ['late', 'again', 'head'] as const) {
    const label = {
      late: 'inserted by the page after load',
      again: 'inserted after load, then removed and inserted again (a single-page app)',
      head: 'in the head with defer, before the form is parsed',
    }[how];
    test(`the script ${label}: passkey autofill starts once, the button signs in once`, async () => {
      const tab = await tabWithPasskey();
      await signUp(tab);
      const { authenticatorId } = tab;
      // Presence off: the autofill request waits (unanswered) while the page settles.
      await setPresence(tab, authenticatorId, false);
      const c = newCase(how);
      const since = tab.calls.length;
      await tab.page.goto(`${origin}/dynamic?case=${c}&how=${how}`);
      await tab.page.waitForFunction(
        () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
      );
      if (how === 'again') await tab.page.waitForFunction(() => (window as { __reinserted?: boolean }).__reinserted);
      await autofillWaiting(tab, since);
      await tab.page.waitForTimeout(200);
      assert.deepEqual(
        tab.calls.slice(since).filter((x) => x.phase === 'call'),
        [{ op: 'get', mediation: 'conditional', phase: 'call' }],
        'one autofill request',
      );
      await setPresence(tab, authenticatorId, true);
      const flow = `dyn-${c}`;
      await Promise.all([tab.page.waitForURL(isPost), tab.page.click('[name="passkey_login_trigger"]')]);
      await waitFor(() => postsOf(flow).length > 0, 'the post');
      await tab.page.waitForTimeout(200);
      assert.deepEqual(
        postsOf(flow).map((p) => [p.verified, p.error]),
        [[true, undefined]],
        'one verified post',
      );
      assert.deepEqual(
        tab.calls.slice(since).filter((x) => x.phase === 'call'),
        [
          { op: 'get', mediation: 'conditional', phase: 'call' },
          { op: 'get', mediation: 'optional', phase: 'call' },
        ],
        'the click aborted autofill and ran one modal request',
      );
      assert.deepEqual(tab.errors, []);
    });
  }

  test('forms without an action, with an empty one, or with broken options are left alone without an uncaught error', async () => {
    const tab = await tabWithPasskey();
    await signUp(tab);
    const c = newCase('odd');
    await tab.page.goto(`${origin}/odd-forms?case=${c}`);
    await tab.page.waitForFunction(
      () => typeof (window as { oryPasskeyLogin?: unknown }).oryPasskeyLogin === 'function',
    );
    const since = tab.calls.length;
    for (const id of ['no-action', 'empty-action', 'broken']) {
      await tab.page.click(`#${id} [name="passkey_login_trigger"]`);
    }
    await tab.page.waitForTimeout(300);
    assert.equal(new URL(tab.page.url()).pathname, '/odd-forms', 'nothing was submitted');
    assert.deepEqual(tab.calls.slice(since), [], 'no ceremony for those forms');
    assert.equal(posts.filter((p) => p.flow.endsWith(`-${c}`)).length, 0);
    assert.ok(
      tab.warnings.some((w) => w.includes('[webauthn.js]')),
      'each is reported as a console warning',
    );

    await Promise.all([tab.page.waitForURL(isPost), tab.page.click('#flow [name="passkey_login_trigger"]')]);
    assert.deepEqual(
      postsOf(`ok-${c}`).map((p) => [p.verified, p.error]),
      [[true, undefined]],
    );
    assert.deepEqual(tab.errors, []);
  });
});
