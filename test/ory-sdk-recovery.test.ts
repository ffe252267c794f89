// Ory's own SDK (`@ory/client-fetch`, unchanged) against the router's recovery and verification flows (Kratos's
// `code` method, SPEC §6) on a real port: every object asserted on is one the SDK parsed with its own models
// (`RecoveryFlowFromJSON`, `VerificationFlowFromJSON`, `ContinueWithFromJSON`, ...), since that is all a UI written
// for Kratos ever sees. The courier here records messages in memory (this is the router-level SDK test; the
// end-to-end tests in test/browser/recovery.test.ts send real mail over SMTP).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Configuration,
  ContinueWithFromJSON,
  FrontendApi,
  getNodeId,
  getNodeLabel,
  instanceOfContinueWithSetOrySessionToken,
  instanceOfContinueWithSettingsUi,
  instanceOfContinueWithVerificationUi,
  instanceOfIdentity,
  instanceOfRecoveryFlow,
  instanceOfSession,
  instanceOfSettingsFlow,
  instanceOfUiNode,
  instanceOfUiNodeAnchorAttributes,
  instanceOfUiNodeInputAttributes,
  instanceOfUiText,
  instanceOfVerificationFlow,
  isCsrfError,
  isResponseError,
  isSessionAlreadyAvailable,
  isSetOrySessionToken,
  isShowRecoveryUi,
  isShowSettingsUi,
  isShowVerificationUi,
  isUiNodeAnchorAttributes,
  isUiNodeInputAttributes,
  isUiNodeScriptAttributes,
  isUiNodeTextAttributes,
  RecoveryFlowFromJSON,
  RecoveryFlowState,
  type ResponseError,
  type Session,
  SessionAuthenticationMethodMethodEnum,
  SettingsFlowState,
  type UiContainer,
  type UiNode,
  UiNodeGroupEnum,
  type UiNodeInputAttributes,
  UiNodeInputAttributesAutocompleteEnum,
  UiNodeInputAttributesTypeEnum,
  UiNodeTypeEnum,
  UiTextTypeEnum,
  VerifiableIdentityAddressViaEnum,
  VerificationFlowFromJSON,
  VerificationFlowState,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import {
  type CourierMessage,
  type CourierTemplate,
  MemoryStore,
  type PasskeysOptions,
  passkeys,
} from '../src/index.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CookieFetch, cookieFetch } from './helpers/cookie-fetch.js';

// ---------------------------------------------------------------------------------------------------------------
// A real server with a recording courier, and SDK clients for it
// ---------------------------------------------------------------------------------------------------------------

/** A courier that keeps every message; `next` waits for the next one to an address (the router sends after answering). */
class Outbox {
  readonly messages: CourierMessage[] = [];
  readonly #taken = new Set<CourierMessage>();
  send = (message: CourierMessage) => {
    this.messages.push(message);
  };
  to(address: string): CourierMessage[] {
    return this.messages.filter((m) => m.to.toLowerCase() === address.toLowerCase());
  }
  async next(address: string, template: CourierTemplate, timeout = 2000): Promise<CourierMessage> {
    const until = Date.now() + timeout;
    for (;;) {
      const found = this.to(address).find((m) => m.template === template && !this.#taken.has(m));
      if (found) {
        this.#taken.add(found);
        return found;
      }
      if (Date.now() > until) throw new Error(`no ${template} message to ${address} within ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

interface Server {
  base: string;
  origin: string;
  outbox: Outbox;
  close(): Promise<void>;
}

async function startServer(overrides: Partial<PasskeysOptions> = {}): Promise<Server> {
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  const outbox = new Outbox();
  const app = express();
  app.use(session({ secret: 'sdk recovery test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({
      rp: { id: 'localhost', displayName: 'SDK', origins: [origin] },
      store: new MemoryStore(),
      courier: outbox,
      secrets: ['a sdk test secret of more than thirty-two characters'],
      urls: { ui: { recovery: '/recovery', verification: '/verification', settings: '/settings' } },
      ...overrides,
    }),
  );
  app.get('/', (_req, res) => {
    res.send('home');
  });
  server.on('request', app);
  return {
    base: `${origin}/auth`,
    origin,
    outbox,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface BrowserClient {
  api: FrontendApi;
  jar: CookieFetch;
}

/** A browser-like client (cookies kept, redirects followed) sending `Accept: application/json`, as Ory Elements does. */
function browserClient(server: Server): BrowserClient {
  const jar = cookieFetch();
  const api = new FrontendApi(
    new Configuration({
      basePath: server.base,
      fetchApi: jar.fetch,
      credentials: 'include',
      headers: { Accept: 'application/json' },
    }),
  );
  return { api, jar };
}

/** A native-app client: Node's fetch, no cookie jar; records the headers it sends. */
function nativeClient(server: Server) {
  const sent: Headers[] = [];
  const recording = async (input: string | URL | Request, init: RequestInit = {}) => {
    sent.push(new Headers(init.headers));
    return fetch(input, init);
  };
  const api = new FrontendApi(
    new Configuration({
      basePath: server.base,
      fetchApi: recording as typeof fetch,
      headers: { Accept: 'application/json' },
    }),
  );
  return { api, sent };
}

async function rejection(promise: Promise<unknown>): Promise<{ status: number; body: unknown; error: ResponseError }> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, 'expected the SDK call to reject');
  assert.ok(isResponseError(caught), `expected a ResponseError, got ${String(caught)}`);
  return { status: caught.response.status, body: await caught.response.clone().json(), error: caught };
}

// ---------------------------------------------------------------------------------------------------------------
// Looking at flows through the SDK's types
// ---------------------------------------------------------------------------------------------------------------

const enumValues = (e: Record<string, string>) => Object.values(e).filter((v) => v !== '11184809');

/** Everything in a parsed `ui` that the SDK's models would not recognise; [] when the UI is renderable. */
function uiProblems(ui: UiContainer, method: 'POST' | 'GET' = 'POST'): string[] {
  const problems: string[] = [];
  const text = (where: string, t: unknown) => {
    if (t === undefined) return;
    if (!instanceOfUiText(t as object)) return problems.push(`${where}: not a UiText ${JSON.stringify(t)}`);
    const { id, type } = t as { id: unknown; type: string };
    if (typeof id !== 'number') problems.push(`${where}: id ${JSON.stringify(id)} is not a number`);
    if (!enumValues(UiTextTypeEnum).includes(type)) problems.push(`${where}: UiText type ${type}`);
  };
  if (ui.method !== method) problems.push(`ui.method ${ui.method}`);
  if (!URL.canParse(ui.action)) problems.push(`ui.action not absolute: ${ui.action}`);
  for (const [i, message] of (ui.messages ?? []).entries()) text(`ui.messages[${i}]`, message);
  for (const node of ui.nodes) {
    const where = `node ${getNodeId(node)}`;
    if (!instanceOfUiNode(node)) problems.push(`${where}: not a UiNode`);
    if (!enumValues(UiNodeGroupEnum).includes(node.group)) problems.push(`${where} group ${node.group}`);
    if (!enumValues(UiNodeTypeEnum).includes(node.type)) problems.push(`${where} type ${node.type}`);
    if (node.attributes.node_type !== node.type) problems.push(`${where}: node_type != type`);
    const a = node.attributes;
    if (isUiNodeInputAttributes(a)) {
      if (!instanceOfUiNodeInputAttributes(a)) problems.push(`${where}: not UiNodeInputAttributes`);
      if (typeof a.disabled !== 'boolean') problems.push(`${where}: disabled ${JSON.stringify(a.disabled)}`);
      if (!enumValues(UiNodeInputAttributesTypeEnum).includes(a.type)) problems.push(`${where}: input type ${a.type}`);
      if (a.autocomplete !== undefined && !enumValues(UiNodeInputAttributesAutocompleteEnum).includes(a.autocomplete)) {
        problems.push(`${where}: autocomplete ${a.autocomplete}`);
      }
    } else if (isUiNodeAnchorAttributes(a)) {
      if (!instanceOfUiNodeAnchorAttributes(a)) problems.push(`${where}: not UiNodeAnchorAttributes`);
      if (!URL.canParse(a.href)) problems.push(`${where}: href not absolute: ${a.href}`);
      text(`${where} title`, a.title);
    } else if (isUiNodeTextAttributes(a)) {
      text(`${where} text`, a.text);
    } else if (!isUiNodeScriptAttributes(a)) {
      problems.push(`${where}: node_type ${JSON.stringify(node.attributes.node_type)} not handled here`);
    }
    if (!Array.isArray(node.messages)) problems.push(`${where}: messages not an array`);
    text(`${where} meta.label`, node.meta?.label);
  }
  return problems;
}

function inputNodes(ui: UiContainer, name: string): { node: UiNode; attributes: UiNodeInputAttributes }[] {
  return ui.nodes.flatMap((node) =>
    isUiNodeInputAttributes(node.attributes) && node.attributes.name === name
      ? [{ node, attributes: node.attributes }]
      : [],
  );
}

function inputNode(ui: UiContainer, name: string, type?: string) {
  const found = inputNodes(ui, name).filter((n) => type === undefined || n.attributes.type === type);
  assert.equal(found.length, 1, `one ${name}${type ? ` (${type})` : ''} node; nodes: ${ui.nodes.map(getNodeId)}`);
  return found[0]!;
}

const csrfOf = (ui: UiContainer) => String(inputNode(ui, 'csrf_token').attributes.value);
const messageIds = (ui: UiContainer) => (ui.messages ?? []).map((m) => m.id);

/** Input nodes as [name, type, group, label id], the shape a UI renders from. */
const shape = (ui: UiContainer) =>
  ui.nodes.map((n) => [
    getNodeId(n),
    isUiNodeInputAttributes(n.attributes) ? n.attributes.type : n.type,
    n.group,
    getNodeLabel(n)?.id,
  ]);

/** The `choose_method` nodes of SPEC §6 (browser flows add `csrf_token`). */
function assertChooseMethod(ui: UiContainer, browser: boolean) {
  assert.deepEqual(uiProblems(ui), []);
  assert.equal(inputNodes(ui, 'csrf_token').length, browser ? 1 : 0, 'CSRF token only in browser flows');
  const email = inputNode(ui, 'email');
  assert.equal(email.node.group, UiNodeGroupEnum.Code);
  assert.equal(email.attributes.type, UiNodeInputAttributesTypeEnum.Email);
  assert.equal(email.attributes.required, true);
  assert.equal(getNodeLabel(email.node)?.id, 1070007);
  const submit = inputNode(ui, 'method');
  assert.equal(submit.attributes.type, UiNodeInputAttributesTypeEnum.Submit);
  assert.equal(submit.attributes.value, 'code');
  assert.equal(getNodeLabel(submit.node)?.id, 1070009);
}

/** The `sent_email` nodes of SPEC §6. */
function assertSentEmail(ui: UiContainer, kind: 'recovery' | 'verification', email: string, browser: boolean) {
  assert.deepEqual(uiProblems(ui), []);
  assert.equal(inputNodes(ui, 'csrf_token').length, browser ? 1 : 0);
  assert.deepEqual(messageIds(ui), [kind === 'recovery' ? 1060003 : 1080003]);
  assert.equal(ui.messages?.[0]?.type, UiTextTypeEnum.Info);
  const code = inputNode(ui, 'code');
  assert.equal(code.node.group, UiNodeGroupEnum.Code);
  assert.equal(code.attributes.type, UiNodeInputAttributesTypeEnum.Text);
  assert.equal(code.attributes.required, true);
  assert.equal(code.attributes.autocomplete, UiNodeInputAttributesAutocompleteEnum.OneTimeCode);
  assert.equal(getNodeLabel(code.node)?.id, kind === 'recovery' ? 1070010 : 1070011);
  if (kind === 'recovery') {
    assert.equal(code.attributes.pattern, '[0-9]+');
    assert.equal(code.attributes.maxlength, 6);
  }
  assert.equal(inputNode(ui, 'method', 'hidden').attributes.value, 'code');
  const submit = inputNode(ui, 'method', 'submit');
  assert.equal(submit.attributes.value, 'code');
  assert.equal(getNodeLabel(submit.node)?.id, 1070009);
  const resend = inputNode(ui, 'email', 'submit');
  assert.equal(resend.attributes.value, email);
  assert.equal(getNodeLabel(resend.node)?.id, 1070008);
}

function assertSession(s: Session | undefined, email: string, method: string): Session {
  assert.ok(s && instanceOfSession(s), 'a Session');
  assert.equal(s.active, true);
  assert.deepEqual(
    s.authentication_methods?.map((m) => m.method),
    [method],
  );
  assert.ok(s.identity && instanceOfIdentity(s.identity));
  assert.equal((s.identity.traits as { email?: string }).email, email);
  return s;
}

const newEmail = () => `sdk-rec-${randomUUID().slice(0, 8)}@example.com`;
const otherCode = (code: string) => (code === '000000' ? '111111' : '000000');
const codeOf = (m: CourierMessage) => String(m.model.recoveryCode ?? m.model.verificationCode);

/** Sign up through the SDK (browser flow, JSON). */
async function browserRegister(server: Server, client: BrowserClient, email = newEmail()) {
  const flow = await client.api.createBrowserRegistrationFlow();
  const data = JSON.parse(String(inputNode(flow.ui, 'passkey_create_data').attributes.value));
  const authenticator = new SoftwareAuthenticator();
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin: server.origin });
  const result = await client.api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: {
      method: 'passkey',
      csrf_token: csrfOf(flow.ui),
      traits: { email },
      passkey_register: JSON.stringify(credential),
    },
  });
  return { result, authenticator, email };
}

// ---------------------------------------------------------------------------------------------------------------
// Flows driven through the SDK
// ---------------------------------------------------------------------------------------------------------------

describe("Ory's SDK (@ory/client-fetch): recovery and verification against the router", () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('browser recovery: createBrowserRecoveryFlow → updateRecoveryFlow (email → sent_email; code → show_settings_ui, a session)', async () => {
    const { email } = await browserRegister(server, browserClient(server));
    await server.outbox.next(email, 'verification_code_valid'); // the sign-up's, not used here
    const client = browserClient(server); // another browser, signed out

    const flow = await client.api.createBrowserRecoveryFlow();
    assert.ok(instanceOfRecoveryFlow(flow), 'a RecoveryFlow');
    assert.equal(flow.type, 'browser');
    assert.equal(flow.state, RecoveryFlowState.ChooseMethod);
    assert.equal(flow.active, 'code');
    assert.equal(flow.ui.action, `${server.base}/self-service/recovery?flow=${flow.id}`);
    assert.ok(flow.expires_at > flow.issued_at);
    assertChooseMethod(flow.ui, true);
    assert.equal((await client.api.getRecoveryFlow({ id: flow.id })).id, flow.id);

    const sent = await client.api.updateRecoveryFlow({
      flow: flow.id,
      updateRecoveryFlowBody: { method: 'code', email, csrf_token: csrfOf(flow.ui) },
    });
    assert.ok(instanceOfRecoveryFlow(sent));
    assert.equal(sent.id, flow.id);
    assert.equal(sent.state, RecoveryFlowState.SentEmail);
    assertSentEmail(sent.ui, 'recovery', email, true);
    const message = await server.outbox.next(email, 'recovery_code_valid');
    assert.match(codeOf(message), /^\d{6}$/);
    assert.equal(message.model.expiresInMinutes, 60);
    assert.equal((message.model.identity as { traits?: { email?: string } } | undefined)?.traits?.email, email);
    assert.ok(URL.canParse(message.model.requestUrl), message.model.requestUrl);

    // A wrong code: 200, Kratos's 4060006, still sent_email.
    const wrong = await client.api.updateRecoveryFlow({
      flow: flow.id,
      updateRecoveryFlowBody: { method: 'code', code: otherCode(codeOf(message)), csrf_token: csrfOf(sent.ui) },
    });
    assert.equal(wrong.state, RecoveryFlowState.SentEmail);
    assert.deepEqual(messageIds(wrong.ui), [4060006]);
    assert.equal(wrong.ui.messages?.[0]?.type, UiTextTypeEnum.Error);
    await assert.rejects(client.api.toSession(), 'no session yet');

    const done = await client.api.updateRecoveryFlow({
      flow: flow.id,
      updateRecoveryFlowBody: { method: 'code', code: codeOf(message), csrf_token: csrfOf(wrong.ui) },
    });
    assert.ok(instanceOfRecoveryFlow(done));
    assert.equal(done.state, RecoveryFlowState.PassedChallenge);
    assert.equal(done.continue_with?.length, 1, JSON.stringify(done.continue_with));
    const [next] = done.continue_with ?? [];
    assert.ok(next && isShowSettingsUi(next) && instanceOfContinueWithSettingsUi(next), JSON.stringify(next));
    assert.equal(next.flow.url, `${server.origin}/settings?flow=${next.flow.id}`);

    // Signed in by the code, in this browser.
    const s = assertSession(await client.api.toSession(), email, SessionAuthenticationMethodMethodEnum.CodeRecovery);
    const [address] = s.identity?.verifiable_addresses ?? [];
    assert.equal(address?.verified, true, 'the code proved the address');
    assert.equal(address?.via, VerifiableIdentityAddressViaEnum.Email);
    assert.equal(s.identity?.recovery_addresses?.[0]?.value, email);

    // The settings flow it points to: Kratos's 1060001, privileged now, so a passkey can be added.
    const settings = await client.api.getSettingsFlow({ id: next.flow.id });
    assert.ok(instanceOfSettingsFlow(settings));
    assert.deepEqual(messageIds(settings.ui), [1060001]);
    assert.equal(settings.ui.messages?.[0]?.type, UiTextTypeEnum.Success);
    const create = JSON.parse(String(inputNode(settings.ui, 'passkey_create_data').attributes.value));
    const added = new SoftwareAuthenticator().create(create.publicKey, { origin: server.origin });
    const saved = await client.api.updateSettingsFlow({
      flow: settings.id,
      updateSettingsFlowBody: {
        method: 'passkey',
        csrf_token: csrfOf(settings.ui),
        passkey_settings_register: JSON.stringify(added),
      },
    });
    assert.equal(saved.state, SettingsFlowState.Success);
    assert.equal(inputNodes(saved.ui, 'passkey_remove').length, 2, 'the new passkey is listed');

    // Recovery is refused while signed in (Kratos's session_already_available).
    const again = await rejection(client.api.createBrowserRecoveryFlow());
    assert.equal(again.status, 400);
    assert.ok(isSessionAlreadyAvailable(again.body), JSON.stringify(again.body));
  });

  it('browser verification after sign-up: continue_with show_verification_ui → getVerificationFlow → updateVerificationFlow', async () => {
    const client = browserClient(server);
    const { result, email } = await browserRegister(server, client);
    const item = result.continue_with?.find(isShowVerificationUi);
    assert.ok(item && instanceOfContinueWithVerificationUi(item), JSON.stringify(result.continue_with));
    assert.equal(item.flow.verifiable_address, email);
    assert.equal(item.flow.url, `${server.origin}/verification?flow=${item.flow.id}`);
    const [address] = result.identity.verifiable_addresses ?? [];
    assert.equal(address?.value, email);
    assert.equal(address?.verified, false);

    const flow = await client.api.getVerificationFlow({ id: item.flow.id });
    assert.ok(instanceOfVerificationFlow(flow), 'a VerificationFlow');
    assert.equal(flow.state, VerificationFlowState.SentEmail);
    assert.equal(flow.active, 'code');
    assertSentEmail(flow.ui, 'verification', email, true);
    const message = await server.outbox.next(email, 'verification_code_valid');
    const link = new URL(String(message.model.verificationUrl));
    assert.equal(link.href.split('?')[0], `${server.base}/self-service/verification`);
    assert.equal(link.searchParams.get('flow'), flow.id);
    assert.equal(link.searchParams.get('code'), codeOf(message));

    const wrong = await client.api.updateVerificationFlow({
      flow: flow.id,
      updateVerificationFlowBody: { method: 'code', code: otherCode(codeOf(message)), csrf_token: csrfOf(flow.ui) },
    });
    assert.equal(wrong.state, VerificationFlowState.SentEmail);
    assert.deepEqual(messageIds(wrong.ui), [4070006]);

    const done = await client.api.updateVerificationFlow({
      flow: flow.id,
      updateVerificationFlowBody: { method: 'code', code: codeOf(message), csrf_token: csrfOf(wrong.ui) },
    });
    assert.ok(instanceOfVerificationFlow(done));
    assert.equal(done.state, VerificationFlowState.PassedChallenge);
    assert.deepEqual(messageIds(done.ui), [1080002]);
    assert.equal(done.ui.messages?.[0]?.type, UiTextTypeEnum.Success);
    // Kratos's passed page: a GET form to the return URL and a "Continue" link there.
    assert.deepEqual(uiProblems(done.ui, 'GET'), []);
    assert.equal(done.ui.action, `${server.origin}/`);
    const anchor = done.ui.nodes.find((n) => isUiNodeAnchorAttributes(n.attributes));
    assert.ok(anchor && isUiNodeAnchorAttributes(anchor.attributes), `an a node: ${JSON.stringify(done.ui.nodes)}`);
    assert.equal(anchor.type, UiNodeTypeEnum.A);
    assert.equal(anchor.group, UiNodeGroupEnum.Code);
    assert.equal(anchor.attributes.id, 'continue');
    assert.equal(anchor.attributes.href, `${server.origin}/`);
    assert.equal(anchor.attributes.title.id, 1070009);

    const s = assertSession(await client.api.toSession(), email, SessionAuthenticationMethodMethodEnum.Passkey);
    const [verified] = s.identity?.verifiable_addresses ?? [];
    assert.equal(verified?.verified, true);
    assert.equal(verified?.status, 'completed');
    assert.ok(verified?.verified_at instanceof Date && !Number.isNaN(verified.verified_at.getTime()), 'verified_at');
  });

  it('browser verification from scratch: createBrowserVerificationFlow → email → code; an unknown address looks the same', async () => {
    const { email } = await browserRegister(server, browserClient(server));
    await server.outbox.next(email, 'verification_code_valid'); // the sign-up's, not used here
    const unknown = newEmail();
    const seen: Record<string, unknown> = {};
    for (const [who, address] of [
      ['known', email],
      ['unknown', unknown],
    ] as const) {
      const client = browserClient(server);
      const flow = await client.api.createBrowserVerificationFlow();
      assert.ok(instanceOfVerificationFlow(flow));
      assert.equal(flow.state, VerificationFlowState.ChooseMethod);
      assertChooseMethod(flow.ui, true);
      const sent = await client.api.updateVerificationFlow({
        flow: flow.id,
        updateVerificationFlowBody: { method: 'code', email: address, csrf_token: csrfOf(flow.ui) },
      });
      assert.equal(sent.state, VerificationFlowState.SentEmail);
      assertSentEmail(sent.ui, 'verification', address, true);
      seen[who] = { state: sent.state, active: sent.active, shape: shape(sent.ui), messages: sent.ui.messages };
      if (who === 'known') {
        const code = codeOf(await server.outbox.next(address, 'verification_code_valid'));
        const done = await client.api.updateVerificationFlow({
          flow: flow.id,
          updateVerificationFlowBody: { method: 'code', code, csrf_token: csrfOf(sent.ui) },
        });
        assert.equal(done.state, VerificationFlowState.PassedChallenge);
      }
    }
    assert.deepEqual(seen.unknown, seen.known);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(server.outbox.to(unknown), [], 'nothing sent to an unknown address');
  });

  it('native recovery: createNativeRecoveryFlow → updateRecoveryFlow → set_ory_session_token, then show_settings_ui', async () => {
    const { email } = await browserRegister(server, browserClient(server));
    const { api, sent: headers } = nativeClient(server);
    const flow = await api.createNativeRecoveryFlow();
    assert.ok(instanceOfRecoveryFlow(flow));
    assert.equal(flow.type, 'api');
    assert.equal(flow.state, RecoveryFlowState.ChooseMethod);
    assertChooseMethod(flow.ui, false);

    const sent = await api.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', email } });
    assert.equal(sent.state, RecoveryFlowState.SentEmail);
    assertSentEmail(sent.ui, 'recovery', email, false);
    const code = codeOf(await server.outbox.next(email, 'recovery_code_valid'));
    const done = await api.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', code } });
    assert.equal(done.state, RecoveryFlowState.PassedChallenge);
    assert.deepEqual(
      done.continue_with?.map((c) => c.action),
      ['set_ory_session_token', 'show_settings_ui'],
      'the token first (Kratos), then the settings UI',
    );
    const [token, settingsItem] = done.continue_with ?? [];
    assert.ok(token && isSetOrySessionToken(token) && instanceOfContinueWithSetOrySessionToken(token));
    assert.match(token.ory_session_token, /^ory_st_/);
    assert.ok(settingsItem && isShowSettingsUi(settingsItem));

    const s = assertSession(
      await api.toSession({ xSessionToken: token.ory_session_token }),
      email,
      SessionAuthenticationMethodMethodEnum.CodeRecovery,
    );
    assert.ok(s.id);
    const settings = await api.getSettingsFlow({ id: settingsItem.flow.id, xSessionToken: token.ory_session_token });
    assert.equal(settings.type, 'api');
    assert.deepEqual(messageIds(settings.ui), [1060001]);
    assert.ok(
      headers.every((h) => !h.has('cookie')),
      'the native client never sent a cookie',
    );
  });

  it('native verification: createNativeVerificationFlow → updateVerificationFlow (email, then code) → passed_challenge', async () => {
    const { email } = await browserRegister(server, browserClient(server));
    await server.outbox.next(email, 'verification_code_valid'); // the sign-up's, not used here
    const { api } = nativeClient(server);
    const flow = await api.createNativeVerificationFlow();
    assert.ok(instanceOfVerificationFlow(flow));
    assert.equal(flow.type, 'api');
    assertChooseMethod(flow.ui, false);
    const sent = await api.updateVerificationFlow({
      flow: flow.id,
      updateVerificationFlowBody: { method: 'code', email },
    });
    assertSentEmail(sent.ui, 'verification', email, false);
    const code = codeOf(await server.outbox.next(email, 'verification_code_valid'));
    const done = await api.updateVerificationFlow({
      flow: flow.id,
      updateVerificationFlowBody: { method: 'code', code },
    });
    assert.equal(done.state, VerificationFlowState.PassedChallenge);
    assert.deepEqual(messageIds(done.ui), [1080002]);
  });

  it('errors through the SDK: no CSRF token (isCsrfError), the 6th submission (details.continue_with show_recovery_ui)', async () => {
    const { email } = await browserRegister(server, browserClient(server));
    const client = browserClient(server);
    const flow = await client.api.createBrowserRecoveryFlow();
    const csrf = await rejection(
      client.api.updateRecoveryFlow({ flow: flow.id, updateRecoveryFlowBody: { method: 'code', email } }),
    );
    assert.equal(csrf.status, 403);
    assert.ok(isCsrfError(csrf.body), JSON.stringify(csrf.body));
    assert.deepEqual(
      server.outbox.to(email).filter((m) => m.template.startsWith('recovery')),
      [],
    );

    const sent = await client.api.updateRecoveryFlow({
      flow: flow.id,
      updateRecoveryFlowBody: { method: 'code', email, csrf_token: csrfOf(flow.ui) },
    });
    const code = codeOf(await server.outbox.next(email, 'recovery_code_valid'));
    for (let i = 0; i < 5; i++) {
      const wrong = await client.api.updateRecoveryFlow({
        flow: flow.id,
        updateRecoveryFlowBody: { method: 'code', code: otherCode(code), csrf_token: csrfOf(sent.ui) },
      });
      assert.deepEqual(messageIds(wrong.ui), [4060006], `submission ${i + 1}`);
    }
    // The 6th, even with the right code: refused, and pointed to a new flow.
    const sixth = await rejection(
      client.api.updateRecoveryFlow({
        flow: flow.id,
        updateRecoveryFlowBody: { method: 'code', code, csrf_token: csrfOf(sent.ui) },
      }),
    );
    assert.equal(sixth.status, 400);
    const details = (sixth.body as { error: { details?: { continue_with?: unknown[] } } }).error.details;
    const [item] = (details?.continue_with ?? []).map(ContinueWithFromJSON);
    assert.ok(item && isShowRecoveryUi(item), JSON.stringify(details));
    assert.notEqual(item.flow.id, flow.id);
    const fresh = await client.api.getRecoveryFlow({ id: item.flow.id });
    assert.equal(fresh.state, RecoveryFlowState.ChooseMethod);
    assert.equal(fresh.ui.messages?.[0]?.id, 4000001);
    await assert.rejects(client.api.toSession(), 'still signed out');
  });

  it('the SDK models read the raw JSON as the generated client does (RecoveryFlowFromJSON, VerificationFlowFromJSON)', async () => {
    const response = await fetch(`${server.base}/self-service/recovery/api`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(response.status, 200);
    const raw = await response.json();
    const parsed = RecoveryFlowFromJSON(raw);
    assert.ok(instanceOfRecoveryFlow(parsed));
    assert.ok(parsed.expires_at instanceof Date && !Number.isNaN(parsed.expires_at.getTime()));
    assert.deepEqual(uiProblems(parsed.ui), []);
    const verification = await fetch(`${server.base}/self-service/verification/api`, {
      headers: { accept: 'application/json' },
    });
    const parsedVerification = VerificationFlowFromJSON(await verification.json());
    assert.ok(instanceOfVerificationFlow(parsedVerification));
    assert.equal(parsedVerification.state, VerificationFlowState.ChooseMethod);
  });
});
