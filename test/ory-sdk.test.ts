// Ory's own SDK (`@ory/client-fetch`, unchanged) against the router on a real port: every flow the SDK has for the
// passkey method, asserting on the objects the SDK parses (its models, its type guards, its error helpers), since
// that is all a UI written for Kratos ever sees.

import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticatorAssuranceLevel,
  Configuration,
  FrontendApi,
  getNodeId,
  getNodeLabel,
  handleContinueWith,
  handleFlowError,
  IdentityStateEnum,
  instanceOfIdentity,
  instanceOfLoginFlow,
  instanceOfLogoutFlow,
  instanceOfRegistrationFlow,
  instanceOfSession,
  instanceOfSettingsFlow,
  instanceOfUiNode,
  instanceOfUiNodeInputAttributes,
  instanceOfUiNodeScriptAttributes,
  instanceOfUiNodeTextAttributes,
  instanceOfUiText,
  isCsrfError,
  isNeedsPrivilegedSessionError,
  isNoActiveSession,
  isResponseError,
  isSelfServiceFlowExpiredError,
  isSessionAlreadyAvailable,
  isUiNodeInputAttributes,
  isUiNodeScriptAttributes,
  isUiNodeTextAttributes,
  LoginFlowFromJSON,
  loginUrl,
  type ResponseError,
  registrationUrl,
  SelfServiceFlowExpiredErrorFromJSON,
  type Session,
  SessionAuthenticationMethodMethodEnum,
  SettingsFlowFromJSON,
  SettingsFlowState,
  settingsUrl,
  type UiContainer,
  type UiNode,
  UiNodeGroupEnum,
  type UiNodeInputAttributes,
  UiNodeInputAttributesAutocompleteEnum,
  UiNodeInputAttributesOnclickTriggerEnum,
  UiNodeInputAttributesOnloadTriggerEnum,
  UiNodeInputAttributesTypeEnum,
  UiNodeTypeEnum,
  type UiText,
  UiTextTypeEnum,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CookieFetch, cookieFetch } from './helpers/cookie-fetch.js';

// ---------------------------------------------------------------------------------------------------------------
// A real server on localhost, and SDK clients for it
// ---------------------------------------------------------------------------------------------------------------

interface Server {
  /** The SDK's basePath: origin + mount path. */
  base: string;
  origin: string;
  close(): Promise<void>;
}

async function startServer(overrides: Partial<PasskeysOptions> = {}): Promise<Server> {
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  const app = express();
  app.use(session({ secret: 'sdk test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({
      rp: { id: 'localhost', displayName: 'SDK', origins: [origin] },
      store: new MemoryStore(),
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

/**
 * A browser-like client: cookies kept and sent back, redirects followed. `Accept: application/json` is set as Ory
 * Elements' and most apps' `Configuration` set it (`accept: false` gives the SDK's bare defaults).
 */
function browserClient(server: Server, { accept = true } = {}): BrowserClient {
  const jar = cookieFetch();
  const api = new FrontendApi(
    new Configuration({
      basePath: server.base,
      fetchApi: jar.fetch,
      credentials: 'include',
      ...(accept ? { headers: { Accept: 'application/json' } } : {}),
    }),
  );
  return { api, jar };
}

/** A native-app client: Node's fetch, no cookie jar. Records the headers of every request it sends. */
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

/** The SDK call must reject with a `ResponseError`; its status and JSON body (read from a clone). */
async function rejection(promise: Promise<unknown>): Promise<{ status: number; body: unknown; error: ResponseError }> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, 'expected the SDK call to reject');
  assert.ok(isResponseError(caught), `expected a ResponseError, got ${String(caught)}`);
  const body = await caught.response.clone().json();
  return { status: caught.response.status, body, error: caught };
}

/** What handleFlowError (the SDK's own catch handler, used by Ory Elements) decides for an error. */
async function flowErrorDecision(error: unknown) {
  const decision: { restart?: { useFlowId: string | undefined }; validation?: unknown; redirect?: string } = {};
  await handleFlowError({
    onRestartFlow: (useFlowId?: string) => {
      decision.restart = { useFlowId };
    },
    onValidationError: (body: unknown) => {
      decision.validation = body;
    },
    onRedirect: (url: string) => {
      decision.redirect = url;
    },
  })(error);
  return decision;
}

// ---------------------------------------------------------------------------------------------------------------
// Looking at flows through the SDK's types
// ---------------------------------------------------------------------------------------------------------------

const enumValues = (e: Record<string, string>) => Object.values(e).filter((v) => v !== '11184809');

/** Everything in a parsed `ui` that the SDK's models would not recognise; [] when the UI is renderable. */
function uiProblems(ui: UiContainer): string[] {
  const problems: string[] = [];
  const text = (where: string, t: UiText | undefined) => {
    if (t === undefined) return;
    if (!instanceOfUiText(t)) problems.push(`${where}: not a UiText ${JSON.stringify(t)}`);
    if (typeof t.id !== 'number') problems.push(`${where}: id ${JSON.stringify(t.id)} is not a number`);
    if (!enumValues(UiTextTypeEnum).includes(t.type)) problems.push(`${where}: UiText type ${t.type}`);
  };
  const inEnum = (where: string, e: Record<string, string>, value: string | undefined, optional = false) => {
    if (value === undefined && optional) return;
    if (value === undefined || !enumValues(e).includes(value)) problems.push(`${where}: ${JSON.stringify(value)}`);
  };
  if (ui.method !== 'POST') problems.push(`ui.method ${ui.method}`);
  if (!URL.canParse(ui.action)) problems.push(`ui.action not absolute: ${ui.action}`);
  for (const [i, message] of (ui.messages ?? []).entries()) text(`ui.messages[${i}]`, message);
  for (const node of ui.nodes) {
    const id = getNodeId(node);
    const where = `node ${id}`;
    if (typeof id !== 'string' || id === '') problems.push(`node without id/name: ${JSON.stringify(node)}`);
    if (!instanceOfUiNode(node)) problems.push(`${where}: not a UiNode`);
    inEnum(`${where} group`, UiNodeGroupEnum, node.group);
    inEnum(`${where} type`, UiNodeTypeEnum, node.type);
    if (node.attributes.node_type !== node.type) {
      problems.push(`${where}: attributes.node_type ${node.attributes.node_type} != type ${node.type}`);
    }
    const a = node.attributes;
    if (isUiNodeInputAttributes(a)) {
      if (!instanceOfUiNodeInputAttributes(a)) problems.push(`${where}: not UiNodeInputAttributes`);
      if (typeof a.disabled !== 'boolean') problems.push(`${where}: disabled ${JSON.stringify(a.disabled)}`);
      inEnum(`${where} input type`, UiNodeInputAttributesTypeEnum, a.type);
      inEnum(`${where} onclickTrigger`, UiNodeInputAttributesOnclickTriggerEnum, a.onclickTrigger, true);
      inEnum(`${where} onloadTrigger`, UiNodeInputAttributesOnloadTriggerEnum, a.onloadTrigger, true);
      inEnum(`${where} autocomplete`, UiNodeInputAttributesAutocompleteEnum, a.autocomplete, true);
      text(`${where} attributes.label`, a.label);
    } else if (isUiNodeScriptAttributes(a)) {
      if (!instanceOfUiNodeScriptAttributes(a)) problems.push(`${where}: not UiNodeScriptAttributes`);
      if (typeof a.async !== 'boolean') problems.push(`${where}: async ${JSON.stringify(a.async)}`);
    } else if (isUiNodeTextAttributes(a)) {
      if (!instanceOfUiNodeTextAttributes(a)) problems.push(`${where}: not UiNodeTextAttributes`);
      text(`${where} text`, a.text);
    } else {
      problems.push(`${where}: node_type ${JSON.stringify(node.attributes.node_type)} not handled here`);
    }
    if (!Array.isArray(node.messages)) problems.push(`${where}: messages not an array`);
    for (const [i, message] of (node.messages ?? []).entries()) text(`${where} messages[${i}]`, message);
    text(`${where} meta.label`, node.meta?.label);
  }
  return problems;
}

/** The input nodes with this name (`passkey_remove` repeats). */
function inputNodes(ui: UiContainer, name: string): { node: UiNode; attributes: UiNodeInputAttributes }[] {
  return ui.nodes.flatMap((node) =>
    isUiNodeInputAttributes(node.attributes) && node.attributes.name === name
      ? [{ node, attributes: node.attributes }]
      : [],
  );
}

function inputNode(ui: UiContainer, name: string) {
  const [found, ...more] = inputNodes(ui, name);
  assert.ok(found, `input node ${name} missing; nodes: ${ui.nodes.map(getNodeId).join(', ')}`);
  assert.equal(more.length, 0, `one ${name} node expected`);
  return found;
}

function stringValue(ui: UiContainer, name: string): string {
  const { attributes } = inputNode(ui, name);
  assert.equal(typeof attributes.value, 'string', `${name} value should be a string`);
  assert.ok(attributes.value, `${name} value is empty`);
  return attributes.value as string;
}

function validDate(value: Date | undefined, what: string): Date {
  assert.ok(value instanceof Date && !Number.isNaN(value.getTime()), `${what}: ${String(value)} is not a valid Date`);
  return value;
}

function assertSession(s: Session | undefined, email: string): Session {
  assert.ok(s, 'session missing');
  assert.ok(instanceOfSession(s), 'not a Session');
  assert.equal(typeof s.id, 'string');
  assert.equal(s.active, true);
  assert.equal(s.authenticator_assurance_level, AuthenticatorAssuranceLevel.Aal1);
  const authenticatedAt = validDate(s.authenticated_at, 'authenticated_at');
  const expiresAt = validDate(s.expires_at, 'expires_at');
  validDate(s.issued_at, 'issued_at');
  assert.ok(expiresAt > authenticatedAt, 'expires_at after authenticated_at');
  assert.equal(s.authentication_methods?.length, 1, JSON.stringify(s.authentication_methods));
  const [method] = s.authentication_methods ?? [];
  assert.equal(method?.method, SessionAuthenticationMethodMethodEnum.Passkey);
  assert.equal(method?.aal, AuthenticatorAssuranceLevel.Aal1);
  validDate(method?.completed_at, 'authentication_methods[0].completed_at');
  assert.ok(s.identity && instanceOfIdentity(s.identity), 'session.identity is an Identity');
  assert.equal((s.identity.traits as { email?: string }).email, email);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Flows driven through the SDK
// ---------------------------------------------------------------------------------------------------------------

const newEmail = () => `sdk-${randomUUID().slice(0, 8)}@example.com`;

async function browserRegister(server: Server, client: BrowserClient, email = newEmail()) {
  const flow = await client.api.createBrowserRegistrationFlow();
  const data = JSON.parse(stringValue(flow.ui, 'passkey_create_data'));
  const authenticator = new SoftwareAuthenticator();
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin: server.origin });
  const result = await client.api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: {
      method: 'passkey',
      csrf_token: stringValue(flow.ui, 'csrf_token'),
      traits: { email },
      passkey_register: JSON.stringify(credential),
    },
  });
  return { flow, result, authenticator, credential, email };
}

async function browserLogin(server: Server, client: BrowserClient, authenticator: SoftwareAuthenticator) {
  const flow = await client.api.createBrowserLoginFlow();
  const challenge = JSON.parse(stringValue(flow.ui, 'passkey_challenge'));
  const assertion = authenticator.get(challenge.publicKey, { origin: server.origin });
  return client.api.updateLoginFlow({
    flow: flow.id,
    updateLoginFlowBody: {
      method: 'passkey',
      csrf_token: stringValue(flow.ui, 'csrf_token'),
      passkey_login: JSON.stringify(assertion),
    },
  });
}

describe("Ory's SDK (@ory/client-fetch) against the router", () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('browser registration: createBrowserRegistrationFlow, then updateRegistrationFlow → SuccessfulNativeRegistration', async () => {
    const client = browserClient(server);
    const flow = await client.api.createBrowserRegistrationFlow();
    assert.ok(instanceOfRegistrationFlow(flow), 'a RegistrationFlow');
    assert.equal(flow.type, 'browser');
    assert.equal(flow.state, 'choose_method');
    assert.ok(validDate(flow.expires_at, 'expires_at') > validDate(flow.issued_at, 'issued_at'));
    assert.ok(URL.canParse(flow.request_url), `request_url ${flow.request_url}`);
    assert.equal(flow.ui.action, `${server.base}/self-service/registration?flow=${flow.id}`);
    assert.deepEqual(uiProblems(flow.ui), []);

    // What a UI renders: the nodes, found through the SDK's types.
    const csrf = inputNode(flow.ui, 'csrf_token');
    assert.equal(csrf.attributes.type, UiNodeInputAttributesTypeEnum.Hidden);
    assert.equal(csrf.attributes.required, true);
    assert.equal(csrf.node.group, UiNodeGroupEnum.Default);
    const email = inputNode(flow.ui, 'traits.email');
    assert.equal(email.node.group, UiNodeGroupEnum.Default);
    assert.equal(getNodeLabel(email.node)?.id, 1070002);
    const trigger = inputNode(flow.ui, 'passkey_register_trigger');
    assert.equal(trigger.attributes.type, UiNodeInputAttributesTypeEnum.Button);
    assert.equal(trigger.attributes.onclickTrigger, UiNodeInputAttributesOnclickTriggerEnum.OryPasskeyRegistration);
    assert.equal(trigger.node.group, UiNodeGroupEnum.Passkey);
    assert.equal(getNodeLabel(trigger.node)?.id, 1040007);
    assert.equal(inputNode(flow.ui, 'passkey_register').attributes.type, UiNodeInputAttributesTypeEnum.Hidden);
    const data = JSON.parse(stringValue(flow.ui, 'passkey_create_data'));
    assert.equal(data.displayNameFieldName, 'traits.email');
    assert.equal(data.credentialOptions.publicKey.rp.id, 'localhost');

    // The helper script node: a browser loads it from `src` and checks `integrity`.
    const script = flow.ui.nodes.find((n) => isUiNodeScriptAttributes(n.attributes));
    assert.ok(script && isUiNodeScriptAttributes(script.attributes), 'webauthn_script node');
    assert.equal(script.attributes.id, 'webauthn_script');
    assert.equal(script.group, UiNodeGroupEnum.Webauthn);
    const js = await fetch(script.attributes.src);
    assert.equal(js.status, 200);
    const digest = createHash('sha512')
      .update(Buffer.from(await js.arrayBuffer()))
      .digest('base64');
    assert.equal(script.attributes.integrity, `sha512-${digest}`);

    // The ceremony, then the SDK's submit.
    const authenticator = new SoftwareAuthenticator();
    const credential = authenticator.create(data.credentialOptions.publicKey, { origin: server.origin });
    const address = newEmail();
    const result = await client.api.updateRegistrationFlow({
      flow: flow.id,
      updateRegistrationFlowBody: {
        method: 'passkey',
        csrf_token: String(csrf.attributes.value),
        traits: { email: address },
        passkey_register: JSON.stringify(credential),
      },
    });
    assert.ok(instanceOfIdentity(result.identity), 'identity is an Identity');
    assert.equal((result.identity.traits as { email?: string }).email, address);
    assert.equal(result.identity.state, IdentityStateEnum.Active);
    assert.ok(URL.canParse(result.identity.schema_url), `schema_url ${result.identity.schema_url}`);
    validDate(result.identity.created_at, 'identity.created_at');
    const s = assertSession(result.session, address);
    assert.equal(s.identity?.id, result.identity.id);
    assert.equal(result.session_token, undefined, 'no session token for browser flows');
    assert.deepEqual(result.continue_with, []);
    assert.ok(client.jar.cookies.has('sid'), `a session cookie was set: ${[...client.jar.cookies.keys()]}`);
    assert.deepEqual(client.jar.redirects, [], 'no redirects for an SDK (JSON) client');
  });

  it('toSession: the session with identity, AAL and authentication methods', async () => {
    const client = browserClient(server);
    const { result, email } = await browserRegister(server, client);
    const s = assertSession(await client.api.toSession(), email);
    assert.equal(s.id, result.session?.id);
    assert.equal(s.identity?.id, result.identity.id);

    const { status, body } = await rejection(browserClient(server).api.toSession());
    assert.equal(status, 401);
    assert.ok(isNoActiveSession(body), JSON.stringify(body));
  });

  it('logout: createBrowserLogoutFlow, updateLogoutFlow, then toSession is 401 session_inactive', async () => {
    const client = browserClient(server);
    await browserRegister(server, client);
    const logout = await client.api.createBrowserLogoutFlow();
    assert.ok(instanceOfLogoutFlow(logout));
    assert.equal(logout.logout_url, `${server.base}/self-service/logout?token=${logout.logout_token}`);
    await client.api.updateLogoutFlow({ token: logout.logout_token });

    const { status, body } = await rejection(client.api.toSession());
    assert.equal(status, 401);
    assert.ok(isNoActiveSession(body), JSON.stringify(body));
    assert.equal((body as { error: { id: string } }).error.id, 'session_inactive');
    assert.equal((await rejection(client.api.createBrowserLogoutFlow())).status, 401);
    assert.deepEqual(client.jar.redirects, []);
  });

  it('logout with the SDK bare defaults (no Accept header): the 303 is followed, as a browser does', async () => {
    const client = browserClient(server, { accept: false });
    const { email } = await browserRegister(server, client);
    assertSession(await client.api.toSession(), email);
    const logout = await client.api.createBrowserLogoutFlow();
    await client.api.updateLogoutFlow({ token: logout.logout_token });
    assert.deepEqual(client.jar.redirects, [{ status: 303, location: `${server.origin}/` }]);
    assert.equal((await rejection(client.api.toSession())).status, 401);
  });

  it('browser login: createBrowserLoginFlow, getLoginFlow, updateLoginFlow → SuccessfulNativeLogin', async () => {
    const { authenticator, result: registered, email } = await browserRegister(server, browserClient(server));
    const client = browserClient(server);
    const flow = await client.api.createBrowserLoginFlow();
    assert.ok(instanceOfLoginFlow(flow), 'a LoginFlow');
    assert.equal(flow.type, 'browser');
    assert.equal(flow.refresh, false);
    assert.equal(flow.requested_aal, AuthenticatorAssuranceLevel.Aal1);
    assert.equal(flow.state, 'choose_method');
    validDate(flow.created_at, 'created_at');
    validDate(flow.updated_at, 'updated_at');
    assert.ok(validDate(flow.expires_at, 'expires_at') > validDate(flow.issued_at, 'issued_at'));
    assert.equal(flow.ui.action, `${server.base}/self-service/login?flow=${flow.id}`);
    assert.deepEqual(uiProblems(flow.ui), []);
    assert.equal(
      inputNode(flow.ui, 'identifier').attributes.autocomplete,
      UiNodeInputAttributesAutocompleteEnum.UsernameWebauthn,
    );
    const trigger = inputNode(flow.ui, 'passkey_login_trigger');
    assert.equal(trigger.attributes.onclickTrigger, UiNodeInputAttributesOnclickTriggerEnum.OryPasskeyLogin);
    assert.equal(getNodeLabel(trigger.node)?.id, 1010021);
    assert.equal(
      inputNode(flow.ui, 'passkey_login').attributes.onloadTrigger,
      UiNodeInputAttributesOnloadTriggerEnum.OryPasskeyLoginAutocompleteInit,
    );

    const fetched = await client.api.getLoginFlow({ id: flow.id });
    assert.ok(instanceOfLoginFlow(fetched));
    assert.equal(fetched.id, flow.id);
    assert.deepEqual(fetched.ui.nodes.map(getNodeId), flow.ui.nodes.map(getNodeId));
    const challenge = JSON.parse(stringValue(fetched.ui, 'passkey_challenge'));
    assert.equal(challenge.publicKey.rpId, 'localhost');

    const assertion = authenticator.get(challenge.publicKey, { origin: server.origin });
    const result = await client.api.updateLoginFlow({
      flow: fetched.id,
      updateLoginFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(fetched.ui, 'csrf_token'),
        passkey_login: JSON.stringify(assertion),
      },
    });
    const s = assertSession(result.session, email);
    assert.equal(s.identity?.id, registered.identity.id);
    assert.equal(result.session_token, undefined);
    assert.deepEqual(result.continue_with, []);
    assert.equal((await client.api.toSession()).id, s.id);

    // Signed in: another login is refused the Kratos way, and a refresh login is offered.
    const again = await rejection(client.api.createBrowserLoginFlow());
    assert.equal(again.status, 400);
    assert.ok(isSessionAlreadyAvailable(again.body), JSON.stringify(again.body));
    const refresh = await client.api.createBrowserLoginFlow({ refresh: true });
    assert.equal(refresh.refresh, true);
    assert.deepEqual(client.jar.redirects, []);
  });

  it('errors: a wrong assertion is 400 with the flow (4000043); handleFlowError calls onValidationError', async () => {
    const { authenticator } = await browserRegister(server, browserClient(server));
    const client = browserClient(server);
    const flow = await client.api.createBrowserLoginFlow();
    const challenge = JSON.parse(stringValue(flow.ui, 'passkey_challenge'));
    const wrong = authenticator.get(challenge.publicKey, {
      origin: server.origin,
      challenge: 'bm90LXRoZS1jaGFsbGVuZ2U',
    });
    const { status, body, error } = await rejection(
      client.api.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: {
          method: 'passkey',
          csrf_token: stringValue(flow.ui, 'csrf_token'),
          passkey_login: JSON.stringify(wrong),
        },
      }),
    );
    assert.equal(status, 400);
    const failed = LoginFlowFromJSON(body);
    assert.ok(instanceOfLoginFlow(failed), 'the 400 body is a LoginFlow');
    assert.equal(failed.id, flow.id);
    assert.deepEqual(uiProblems(failed.ui), []);
    assert.equal(failed.ui.messages?.[0]?.id, 4000043);
    assert.equal(failed.ui.messages?.[0]?.type, UiTextTypeEnum.Error);

    const decision = await flowErrorDecision(error);
    assert.ok(decision.validation, 'onValidationError was called with the flow');
    assert.equal((decision.validation as { id: string }).id, flow.id);
    assert.equal(decision.restart, undefined);

    // The flow came back usable: a fresh challenge, and a correct assertion now succeeds.
    const retry = JSON.parse(stringValue(failed.ui, 'passkey_challenge'));
    assert.notEqual(retry.publicKey.challenge, challenge.publicKey.challenge);
    const ok = await client.api.updateLoginFlow({
      flow: failed.id,
      updateLoginFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(failed.ui, 'csrf_token'),
        passkey_login: JSON.stringify(authenticator.get(retry.publicKey, { origin: server.origin })),
      },
    });
    assert.ok(instanceOfSession(ok.session));
  });

  it('errors: a bad CSRF token is 403 security_csrf_violation; handleFlowError restarts the flow', async () => {
    const { authenticator } = await browserRegister(server, browserClient(server));
    const client = browserClient(server);
    const flow = await client.api.createBrowserLoginFlow();
    const challenge = JSON.parse(stringValue(flow.ui, 'passkey_challenge'));
    const assertion = authenticator.get(challenge.publicKey, { origin: server.origin });
    const { status, body, error } = await rejection(
      client.api.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: {
          method: 'passkey',
          csrf_token: 'not-the-token',
          passkey_login: JSON.stringify(assertion),
        },
      }),
    );
    assert.equal(status, 403);
    assert.ok(isCsrfError(body), JSON.stringify(body));
    assert.deepEqual(await flowErrorDecision(error), { restart: { useFlowId: undefined } });

    // Registration too: a client whose cookie jar lost the CSRF cookie.
    const other = browserClient(server);
    const registration = await other.api.createBrowserRegistrationFlow();
    other.jar.cookies.clear();
    const csrf = await rejection(
      other.api.updateRegistrationFlow({
        flow: registration.id,
        updateRegistrationFlowBody: {
          method: 'passkey',
          csrf_token: stringValue(registration.ui, 'csrf_token'),
          traits: { email: newEmail() },
          passkey_register: '{}',
        },
      }),
    );
    assert.equal(csrf.status, 403);
    assert.ok(isCsrfError(csrf.body), JSON.stringify(csrf.body));
  });

  it('errors: an unknown flow id is 404 on every getter; handleFlowError restarts the flow', async () => {
    const client = browserClient(server);
    const id = randomUUID();
    const login = await rejection(client.api.getLoginFlow({ id }));
    assert.equal(login.status, 404);
    assert.equal((login.body as { error: { id: string } }).error.id, 'not_found');
    assert.deepEqual(await flowErrorDecision(login.error), { restart: { useFlowId: undefined } });
    assert.equal((await rejection(client.api.getRegistrationFlow({ id }))).status, 404);
    assert.equal((await rejection(client.api.getSettingsFlow({ id }))).status, 404);
    const submit = await rejection(
      client.api.updateLoginFlow({ flow: id, updateLoginFlowBody: { method: 'passkey', passkey_login: '{}' } }),
    );
    assert.equal(submit.status, 404);
  });

  it('settings: createBrowserSettingsFlow, add a passkey, remove one, refuse to remove the last', async () => {
    const client = browserClient(server);
    const { result, credential, email } = await browserRegister(server, client);
    const flow = await client.api.createBrowserSettingsFlow();
    assert.ok(instanceOfSettingsFlow(flow), 'a SettingsFlow');
    assert.equal(flow.type, 'browser');
    assert.equal(flow.state, SettingsFlowState.ShowForm);
    assert.ok(instanceOfIdentity(flow.identity));
    assert.equal(flow.identity.id, result.identity.id);
    assert.equal((flow.identity.traits as { email?: string }).email, email);
    assert.equal(flow.ui.action, `${server.base}/self-service/settings?flow=${flow.id}`);
    assert.deepEqual(uiProblems(flow.ui), []);
    const only = inputNode(flow.ui, 'passkey_remove');
    assert.equal(only.attributes.value, credential.id);
    assert.equal(only.attributes.type, UiNodeInputAttributesTypeEnum.Submit);
    assert.equal(only.attributes.disabled, true, 'removing the only passkey is disabled');
    assert.equal(getNodeLabel(only.node)?.id, 1050020);
    const trigger = inputNode(flow.ui, 'passkey_register_trigger');
    assert.equal(
      trigger.attributes.onclickTrigger,
      UiNodeInputAttributesOnclickTriggerEnum.OryPasskeySettingsRegistration,
    );
    assert.equal(getNodeLabel(trigger.node)?.id, 1050019);
    inputNode(flow.ui, 'passkey_settings_register');
    const create = JSON.parse(stringValue(flow.ui, 'passkey_create_data'));
    assert.deepEqual(
      create.publicKey.excludeCredentials.map((c: { id: string }) => c.id),
      [credential.id],
    );
    assert.equal((await client.api.getSettingsFlow({ id: flow.id })).id, flow.id);

    // Add a second passkey.
    const second = new SoftwareAuthenticator();
    const added = second.create(create.publicKey, { origin: server.origin });
    const afterAdd = await client.api.updateSettingsFlow({
      flow: flow.id,
      updateSettingsFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(flow.ui, 'csrf_token'),
        passkey_settings_register: JSON.stringify(added),
      },
    });
    assert.ok(instanceOfSettingsFlow(afterAdd));
    assert.equal(afterAdd.state, SettingsFlowState.Success);
    assert.equal(afterAdd.ui.messages?.[0]?.id, 1050001);
    assert.equal(afterAdd.ui.messages?.[0]?.type, UiTextTypeEnum.Success);
    assert.deepEqual(uiProblems(afterAdd.ui), []);
    const removable = inputNodes(afterAdd.ui, 'passkey_remove');
    assert.deepEqual(removable.map((r) => r.attributes.value).sort(), [credential.id, added.id].sort());
    assert.ok(
      removable.every((r) => r.attributes.disabled === false),
      'both removable now',
    );

    // Remove the first one, as Ory Elements does: a JSON post of { csrf_token, method, passkey_remove }.
    const afterRemove = await client.api.updateSettingsFlow({
      flow: afterAdd.id,
      updateSettingsFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(afterAdd.ui, 'csrf_token'),
        passkey_remove: credential.id,
      },
    });
    assert.equal(afterRemove.state, SettingsFlowState.Success);
    assert.deepEqual(
      inputNodes(afterRemove.ui, 'passkey_remove').map((r) => r.attributes.value),
      [added.id],
    );

    // The last one cannot go: 400 with the flow, the message on the node.
    const last = await rejection(
      client.api.updateSettingsFlow({
        flow: afterRemove.id,
        updateSettingsFlowBody: {
          method: 'passkey',
          csrf_token: stringValue(afterRemove.ui, 'csrf_token'),
          passkey_remove: added.id,
        },
      }),
    );
    assert.equal(last.status, 400);
    const refused = SettingsFlowFromJSON(last.body);
    assert.ok(instanceOfSettingsFlow(refused), 'the 400 body is a SettingsFlow');
    assert.deepEqual(uiProblems(refused.ui), []);
    const node = inputNode(refused.ui, 'passkey_remove');
    assert.equal(node.node.messages[0]?.type, UiTextTypeEnum.Error, JSON.stringify(node.node.messages));
    assert.ok(node.node.messages[0]?.id, 'an error message id');
    assert.ok((await flowErrorDecision(last.error)).validation, 'handleFlowError → onValidationError');

    // The passkey left still signs in.
    const login = await browserLogin(server, browserClient(server), second);
    assert.equal(login.session.identity?.id, result.identity.id);
  });

  it('native flows: registration, toSession with a token, login, settings, performNativeLogout', async () => {
    const { api, sent } = nativeClient(server);
    const email = newEmail();

    const registration = await api.createNativeRegistrationFlow();
    assert.ok(instanceOfRegistrationFlow(registration));
    assert.equal(registration.type, 'api');
    assert.deepEqual(uiProblems(registration.ui), []);
    assert.equal(inputNodes(registration.ui, 'csrf_token').length, 0, 'no CSRF token in API flows');
    const authenticator = new SoftwareAuthenticator();
    const data = JSON.parse(stringValue(registration.ui, 'passkey_create_data'));
    const credential = authenticator.create(data.credentialOptions.publicKey, { origin: server.origin });
    const registered = await api.updateRegistrationFlow({
      flow: registration.id,
      updateRegistrationFlowBody: {
        method: 'passkey',
        traits: { email },
        passkey_register: JSON.stringify(credential),
      },
    });
    assert.match(registered.session_token ?? '', /^ory_st_/);
    assertSession(registered.session, email);
    const who = assertSession(await api.toSession({ xSessionToken: registered.session_token }), email);
    assert.equal(who.identity?.id, registered.identity.id);

    const login = await api.createNativeLoginFlow();
    assert.ok(instanceOfLoginFlow(login));
    assert.equal(login.type, 'api');
    assert.deepEqual(uiProblems(login.ui), []);
    const challenge = JSON.parse(stringValue(login.ui, 'passkey_challenge'));
    const signedIn = await api.updateLoginFlow({
      flow: login.id,
      updateLoginFlowBody: {
        method: 'passkey',
        passkey_login: JSON.stringify(authenticator.get(challenge.publicKey, { origin: server.origin })),
      },
    });
    const token = signedIn.session_token;
    assert.match(token ?? '', /^ory_st_/);
    assert.notEqual(token, registered.session_token);
    assert.equal(assertSession(signedIn.session, email).identity?.id, registered.identity.id);

    const settings = await api.createNativeSettingsFlow({ xSessionToken: token });
    assert.ok(instanceOfSettingsFlow(settings));
    assert.equal(settings.type, 'api');
    assert.equal(settings.identity.id, registered.identity.id);
    assert.deepEqual(uiProblems(settings.ui), []);
    assert.equal((await api.getSettingsFlow({ id: settings.id, xSessionToken: token })).id, settings.id);
    const second = new SoftwareAuthenticator();
    const create = JSON.parse(stringValue(settings.ui, 'passkey_create_data'));
    const updated = await api.updateSettingsFlow({
      flow: settings.id,
      xSessionToken: token,
      updateSettingsFlowBody: {
        method: 'passkey',
        passkey_settings_register: JSON.stringify(second.create(create.publicKey, { origin: server.origin })),
      },
    });
    assert.equal(updated.state, SettingsFlowState.Success);
    assert.equal(inputNodes(updated.ui, 'passkey_remove').length, 2);

    await api.performNativeLogout({ performNativeLogoutBody: { session_token: token as string } });
    const dead = await rejection(api.toSession({ xSessionToken: token }));
    assert.equal(dead.status, 401);
    assert.ok(isNoActiveSession(dead.body), JSON.stringify(dead.body));
    assert.equal((await rejection(api.createNativeSettingsFlow({ xSessionToken: token }))).status, 401);
    // Another session of the identity (the registration's token) is untouched.
    assertSession(await api.toSession({ xSessionToken: registered.session_token }), email);
    // A dead or unknown token cannot log out.
    assert.equal(
      (await rejection(api.performNativeLogout({ performNativeLogoutBody: { session_token: 'ory_st_unknown' } })))
        .status,
      403,
    );

    assert.ok(sent.length > 10);
    assert.ok(
      sent.every((h) => !h.has('cookie') && !h.has('origin')),
      'native calls carry no Cookie or Origin',
    );
  });

  it("Ory Elements' success path: continue_with, or its init-URL fallback, lands the browser home", async () => {
    const client = browserClient(server);
    const config = { sdk: { url: server.base } };
    const { authenticator, result } = await browserRegister(server, client);
    // Elements: handleContinueWith(body.continue_with), and when it finds nothing to do, onRedirect(registrationUrl):
    // a browser navigation to the init URL, which sends a signed-in browser home. Either way the user lands home.
    const landsHome = async (jar: CookieFetch, continueWith: typeof result.continue_with, initUrl: string) => {
      const redirects: string[] = [];
      if (handleContinueWith(continueWith, { onRedirect: (url) => redirects.push(url) })) {
        assert.deepEqual(redirects, [`${server.origin}/`]);
        return;
      }
      const before = jar.redirects.length;
      const page = await jar.fetch(initUrl, { headers: { Accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.equal(await page.text(), 'home');
      assert.deepEqual(jar.redirects.slice(before), [{ status: 303, location: `${server.origin}/` }]);
    };
    await landsHome(client.jar, result.continue_with, registrationUrl(config));
    const other = browserClient(server);
    const login = await browserLogin(server, other, authenticator);
    await landsHome(other.jar, login.continue_with, loginUrl(config));

    // Settings without a session: 401, which Elements turns into a navigation to
    // loginUrl(config) + "?return_to=" + settingsUrl(config) (not URL-encoded).
    const anonymous = browserClient(server);
    const denied = await rejection(anonymous.api.createBrowserSettingsFlow());
    assert.equal(denied.status, 401);
    assert.ok(isNoActiveSession(denied.body), JSON.stringify(denied.body));
    const target = `${loginUrl(config)}?return_to=${settingsUrl(config)}`;
    const page = await anonymous.jar.fetch(target, { headers: { Accept: 'application/json' } });
    const relogin = LoginFlowFromJSON(await page.json());
    assert.ok(instanceOfLoginFlow(relogin), 'the return_to to our own settings URL is accepted');
    assert.equal(relogin.return_to, settingsUrl(config));
    // A browser navigating to the settings init URL without a session is sent to the login init, as Kratos does.
    const nav = await anonymous.jar.fetch(settingsUrl(config), {
      headers: { Accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(nav.status, 303);
    assert.equal(
      nav.headers.get('location'),
      // The library's own URL goes back relative, so it passes any `urls.allowedReturnTo`.
      `${loginUrl(config)}?return_to=${encodeURIComponent(new URL(settingsUrl(config)).pathname)}`,
    );
  });

  it('browser login/registration answer continue_with redirect_browser_to = return_to, as Kratos does', async () => {
    const returnTo = `${server.origin}/after-login`;
    const client = browserClient(server);
    const flow = await client.api.createBrowserRegistrationFlow({ returnTo });
    assert.equal(flow.return_to, returnTo);
    const data = JSON.parse(stringValue(flow.ui, 'passkey_create_data'));
    const authenticator = new SoftwareAuthenticator();
    const result = await client.api.updateRegistrationFlow({
      flow: flow.id,
      updateRegistrationFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(flow.ui, 'csrf_token'),
        traits: { email: newEmail() },
        passkey_register: JSON.stringify(
          authenticator.create(data.credentialOptions.publicKey, { origin: server.origin }),
        ),
      },
    });
    const redirects: string[] = [];
    assert.equal(handleContinueWith(result.continue_with, { onRedirect: (url) => redirects.push(url) }), true);
    assert.deepEqual(redirects, [returnTo]);
    const other = browserClient(server);
    const login = await other.api.createBrowserLoginFlow({ returnTo });
    const challenge = JSON.parse(stringValue(login.ui, 'passkey_challenge'));
    const done = await other.api.updateLoginFlow({
      flow: login.id,
      updateLoginFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(login.ui, 'csrf_token'),
        passkey_login: JSON.stringify(authenticator.get(challenge.publicKey, { origin: server.origin })),
      },
    });
    assert.deepEqual(done.continue_with, [{ action: 'redirect_browser_to', redirect_browser_to: returnTo }]);
  });

  it('Signal API: passkey_signal is a hidden input the SDK parses unchanged (settings, login after an unknown passkey)', async () => {
    const client = browserClient(server);
    const { credential, email } = await browserRegister(server, client);
    const flow = await client.api.createBrowserSettingsFlow();
    assert.deepEqual(uiProblems(flow.ui), []);
    const signal = inputNode(flow.ui, 'passkey_signal');
    assert.equal(signal.node.type, UiNodeTypeEnum.Input);
    assert.equal(signal.node.group, UiNodeGroupEnum.Passkey);
    assert.equal(signal.attributes.type, UiNodeInputAttributesTypeEnum.Hidden);
    assert.equal(signal.attributes.disabled, false);
    assert.equal(getNodeId(signal.node), 'passkey_signal');
    const value = JSON.parse(stringValue(flow.ui, 'passkey_signal'));
    assert.deepEqual(value.allAcceptedCredentials.allAcceptedCredentialIds, [credential.id]);
    assert.equal(value.currentUserDetails.name, email);

    // A passkey of this RP the server never registered: the refused login's flow carries unknownCredential.
    const visitor = browserClient(server);
    const registration = await visitor.api.createBrowserRegistrationFlow();
    const stray = new SoftwareAuthenticator();
    const strayCredential = stray.create(
      JSON.parse(stringValue(registration.ui, 'passkey_create_data')).credentialOptions.publicKey,
      { origin: server.origin },
    );
    const login = await visitor.api.createBrowserLoginFlow();
    assert.equal(inputNodes(login.ui, 'passkey_signal').length, 0);
    const challenge = JSON.parse(stringValue(login.ui, 'passkey_challenge'));
    const refused = await rejection(
      visitor.api.updateLoginFlow({
        flow: login.id,
        updateLoginFlowBody: {
          method: 'passkey',
          csrf_token: stringValue(login.ui, 'csrf_token'),
          passkey_login: JSON.stringify(stray.get(challenge.publicKey, { origin: server.origin })),
        },
      }),
    );
    assert.equal(refused.status, 400);
    const parsed = LoginFlowFromJSON(refused.body);
    assert.ok(instanceOfLoginFlow(parsed));
    assert.deepEqual(uiProblems(parsed.ui), []);
    assert.deepEqual(JSON.parse(stringValue(parsed.ui, 'passkey_signal')), {
      unknownCredential: { rpId: 'localhost', credentialId: strayCredential.id },
    });
    const fetched = await visitor.api.getLoginFlow({ id: login.id });
    assert.equal(inputNode(fetched.ui, 'passkey_signal').attributes.type, UiNodeInputAttributesTypeEnum.Hidden);
    assert.ok((await flowErrorDecision(refused.error)).validation, 'handleFlowError → onValidationError, as before');
  });

  it('uiProblems (the check used above) flags what the SDK cannot render', async () => {
    const flow = await browserClient(server).api.createBrowserLoginFlow();
    assert.deepEqual(uiProblems(flow.ui), []);
    const mutate = (change: (nodes: Record<string, unknown>[]) => void) => {
      const ui = structuredClone(flow.ui);
      change(ui.nodes as unknown as Record<string, unknown>[]);
      return uiProblems(ui);
    };
    type RawNode = { attributes: Record<string, unknown> } & Record<string, unknown>;
    const mutations: ((node: RawNode) => void)[] = [
      (node) => {
        node.group = 'passkeys';
      },
      (node) => {
        node.attributes.node_type = 'button';
      },
      (node) => {
        delete node.attributes.disabled;
      },
      (node) => {
        node.attributes.type = 'select';
      },
      (node) => {
        node.messages = [{ id: '4000001', text: 'x', type: 'error' }];
      },
      (node) => {
        node.meta = { label: { id: 1, text: 'x', type: 'warning' } };
      },
    ];
    for (const [i, change] of mutations.entries()) {
      assert.notDeepEqual(
        mutate((nodes) => change(nodes[0] as RawNode)),
        [],
        `mutation ${i} went unnoticed`,
      );
    }
  });
});

describe("Ory's SDK: lifespans (expired flows, privileged sessions)", () => {
  let flows: Server;
  let privileged: Server;
  let client: BrowserClient;
  let login: Awaited<ReturnType<FrontendApi['createBrowserLoginFlow']>>;
  let registration: Awaited<ReturnType<FrontendApi['createBrowserRegistrationFlow']>>;
  let sinceLogin: Awaited<ReturnType<FrontendApi['createBrowserLoginFlow']>>;
  let signedIn: BrowserClient;
  let registered: Awaited<ReturnType<typeof browserRegister>>;

  // Everything that must age is set up first, then one wait serves every test.
  before(async () => {
    flows = await startServer({ lifespans: { flow: '1s', ceremony: '1s' } });
    privileged = await startServer({ lifespans: { privilegedSession: '1s' } });
    client = browserClient(flows);
    login = await client.api.createBrowserLoginFlow();
    registration = await client.api.createBrowserRegistrationFlow();
    sinceLogin = await client.api.createBrowserLoginFlow();
    signedIn = browserClient(privileged);
    registered = await browserRegister(privileged, signedIn);
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  after(async () => {
    await flows.close();
    await privileged.close();
  });

  it('an expired flow is 410 with use_flow_id on get and submit; the successor carries the expiry message', async () => {
    // Fetching an expired flow.
    const get = await rejection(client.api.getLoginFlow({ id: login.id }));
    assert.equal(get.status, 410);
    assert.ok(isSelfServiceFlowExpiredError(get.body), JSON.stringify(get.body));
    const expired = SelfServiceFlowExpiredErrorFromJSON(get.body);
    assert.equal(typeof expired.use_flow_id, 'string');
    assert.notEqual(expired.use_flow_id, login.id);
    assert.equal(validDate(expired.expired_at, 'expired_at').getTime(), login.expires_at.getTime());
    assert.deepEqual(await flowErrorDecision(get.error), { restart: { useFlowId: expired.use_flow_id } });
    const successor = await client.api.getLoginFlow({ id: expired.use_flow_id as string });
    assert.ok(instanceOfLoginFlow(successor));
    assert.equal(successor.id, expired.use_flow_id);

    // Submitting an expired flow.
    const post = await rejection(
      client.api.updateRegistrationFlow({
        flow: registration.id,
        updateRegistrationFlowBody: {
          method: 'passkey',
          csrf_token: stringValue(registration.ui, 'csrf_token'),
          traits: { email: newEmail() },
          passkey_register: '{}',
        },
      }),
    );
    assert.equal(post.status, 410);
    assert.ok(isSelfServiceFlowExpiredError(post.body), JSON.stringify(post.body));
    const next = SelfServiceFlowExpiredErrorFromJSON(post.body).use_flow_id;
    assert.ok(next && next !== registration.id);
    assert.deepEqual(await flowErrorDecision(post.error), { restart: { useFlowId: next } });
    const renewed = await client.api.getRegistrationFlow({ id: next });
    assert.ok(instanceOfRegistrationFlow(renewed));
    assert.equal(renewed.ui.messages?.[0]?.id, 4040001, JSON.stringify(renewed.ui.messages));
    assert.deepEqual(uiProblems(renewed.ui), []);
  });

  it('410 `since` is a Go time.Duration (nanoseconds), as the SDK model documents it', async () => {
    const { body } = await rejection(client.api.getLoginFlow({ id: sinceLogin.id }));
    const expired = SelfServiceFlowExpiredErrorFromJSON(body);
    const elapsedMs = Date.now() - sinceLogin.expires_at.getTime();
    // At least 1 ms and at most the time elapsed since expiry, in nanoseconds.
    assert.ok(
      typeof expired.since === 'number' && expired.since >= 1e6 && expired.since <= elapsedMs * 1e6,
      `since ${expired.since}`,
    );
  });

  it('a stale session: settings submit is 403 session_refresh_required; handleFlowError redirects to a refresh login', async () => {
    const flow = await signedIn.api.createBrowserSettingsFlow();
    const second = new SoftwareAuthenticator();
    const create = JSON.parse(stringValue(flow.ui, 'passkey_create_data'));
    const body = {
      method: 'passkey' as const,
      csrf_token: stringValue(flow.ui, 'csrf_token'),
      passkey_settings_register: JSON.stringify(second.create(create.publicKey, { origin: privileged.origin })),
    };
    const stale = await rejection(signedIn.api.updateSettingsFlow({ flow: flow.id, updateSettingsFlowBody: body }));
    assert.equal(stale.status, 403);
    assert.ok(isNeedsPrivilegedSessionError(stale.body), JSON.stringify(stale.body));
    const decision = await flowErrorDecision(stale.error);
    assert.ok(decision.redirect, `handleFlowError → onRedirect: ${JSON.stringify(decision)}`);
    const target = new URL(decision.redirect);
    assert.equal(target.href.startsWith(`${privileged.base}/self-service/login/browser?`), true, target.href);
    assert.equal(target.searchParams.get('refresh'), 'true');

    // The UI follows it (as JSON here, no UI URL being configured), re-authenticates, and the settings submit passes.
    const refresh = LoginFlowFromJSON(
      await (await signedIn.jar.fetch(target.href, { headers: { Accept: 'application/json' } })).json(),
    );
    assert.ok(instanceOfLoginFlow(refresh));
    assert.equal(refresh.refresh, true);
    const challenge = JSON.parse(stringValue(refresh.ui, 'passkey_challenge'));
    const again = await signedIn.api.updateLoginFlow({
      flow: refresh.id,
      updateLoginFlowBody: {
        method: 'passkey',
        csrf_token: stringValue(refresh.ui, 'csrf_token'),
        passkey_login: JSON.stringify(registered.authenticator.get(challenge.publicKey, { origin: privileged.origin })),
      },
    });
    assert.equal(again.session.identity?.id, registered.result.identity.id);
    const done = await signedIn.api.updateSettingsFlow({ flow: flow.id, updateSettingsFlowBody: body });
    assert.equal(done.state, SettingsFlowState.Success);
    assert.equal(inputNodes(done.ui, 'passkey_remove').length, 2);
  });
});
