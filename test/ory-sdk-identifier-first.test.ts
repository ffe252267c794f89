// Ory's SDK (`@ory/client-fetch`, unchanged) on an identifier-first login (SPEC §9): `updateLoginFlow` with
// `method: 'identifier_first'` rejects with the step-two flow in a 400 (as Kratos answers), which the SDK's own
// `handleFlowError` hands to `onValidationError`, as Ory Elements uses it; then the passkey step signs in.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Configuration,
  FrontendApi,
  getNodeLabel,
  handleFlowError,
  instanceOfLoginFlow,
  isResponseError,
  isUiNodeInputAttributes,
  type LoginFlow,
  LoginFlowActiveEnum,
  LoginFlowFromJSON,
  type UiContainer,
  UiNodeGroupEnum,
  type UiNodeInputAttributes,
  UiNodeInputAttributesTypeEnum,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import { MemoryStore, passkeys } from '../src/index.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { type CookieFetch, cookieFetch } from './helpers/cookie-fetch.js';

let origin = '';
let close: () => Promise<void>;

before(async () => {
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const app = express();
  app.use(session({ secret: 'sdk test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({
      rp: { id: 'localhost', displayName: 'SDK', origins: [origin] },
      store: new MemoryStore(),
      login: { style: 'identifier_first' },
    }),
  );
  server.on('request', app);
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
after(() => close());

function client(): { api: FrontendApi; jar: CookieFetch } {
  const jar = cookieFetch();
  const api = new FrontendApi(
    new Configuration({
      basePath: `${origin}/auth`,
      fetchApi: jar.fetch,
      credentials: 'include',
      headers: { Accept: 'application/json' },
    }),
  );
  return { api, jar };
}

function input(ui: UiContainer, name: string): { group: string; attributes: UiNodeInputAttributes } {
  const found = ui.nodes.filter((n) => isUiNodeInputAttributes(n.attributes) && n.attributes.name === name);
  assert.equal(found.length, 1, `one ${name} node expected`);
  const node = found[0]!;
  return { group: node.group, attributes: node.attributes as UiNodeInputAttributes };
}

const value = (ui: UiContainer, name: string) => String(input(ui, name).attributes.value);
const requestOptions = (flow: LoginFlow) => JSON.parse(value(flow.ui, 'passkey_challenge')).publicKey;

/** `updateLoginFlow({ method: 'identifier_first' })`: the ResponseError's status and its body, parsed by the SDK. */
async function stepOne(api: FrontendApi, flow: LoginFlow, identifier: string) {
  let caught: unknown;
  try {
    await api.updateLoginFlow({
      flow: flow.id,
      updateLoginFlowBody: { method: 'identifier_first', identifier, csrf_token: value(flow.ui, 'csrf_token') },
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(isResponseError(caught), `expected a ResponseError, got ${String(caught)}`);
  // What Ory Elements does with it: the SDK's handleFlowError hands a 400's body to onValidationError.
  let validation: unknown;
  await handleFlowError({
    onRestartFlow: () => assert.fail('no restart expected'),
    onRedirect: () => assert.fail('no redirect expected'),
    onValidationError: (body: unknown) => {
      validation = body;
    },
  })(caught);
  assert.ok(instanceOfLoginFlow(validation as object), 'onValidationError got a LoginFlow');
  return { status: caught.response.status, flow: LoginFlowFromJSON(validation) };
}

async function register(api: FrontendApi, email: string) {
  const authenticator = new SoftwareAuthenticator();
  const flow = await api.createBrowserRegistrationFlow();
  const options = JSON.parse(value(flow.ui, 'passkey_create_data')).credentialOptions.publicKey;
  const result = await api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: {
      method: 'passkey',
      csrf_token: value(flow.ui, 'csrf_token'),
      traits: { email },
      passkey_register: JSON.stringify(authenticator.create(options, { origin })),
    },
  });
  return { authenticator, identityId: result.identity.id };
}

describe("Ory's SDK on an identifier-first login", () => {
  it('step one, a 400 carrying step two, then the passkey step (a non-discoverable assertion)', async () => {
    const { authenticator, identityId } = await register(client().api, 'sdk-first@example.com');
    const { api, jar } = client();
    const flow = await api.createBrowserLoginFlow();
    const identifier = input(flow.ui, 'identifier');
    assert.equal(identifier.group, UiNodeGroupEnum.IdentifierFirst);
    assert.equal(identifier.attributes.type, UiNodeInputAttributesTypeEnum.Text);
    const submit = flow.ui.nodes.find((n) => isUiNodeInputAttributes(n.attributes) && n.attributes.name === 'method');
    assert.equal(submit?.group, UiNodeGroupEnum.IdentifierFirst);
    assert.equal(submit && getNodeLabel(submit)?.id, 1070009);

    const { status, flow: stepTwo } = await stepOne(api, flow, 'sdk-first@example.com');
    assert.equal(status, 400);
    assert.equal(stepTwo.id, flow.id);
    assert.equal(stepTwo.active, LoginFlowActiveEnum.IdentifierFirst);
    assert.equal(input(stepTwo.ui, 'identifier').attributes.type, UiNodeInputAttributesTypeEnum.Hidden);
    assert.equal(input(stepTwo.ui, 'identifier').group, UiNodeGroupEnum.IdentifierFirst);
    input(stepTwo.ui, 'passkey_login_trigger');
    const options = requestOptions(stepTwo);
    assert.deepEqual(
      options.allowCredentials.map((c: { id: string }) => c.id),
      [authenticator.credentials[0]?.idB64u],
    );

    const assertion = authenticator.get(options, { origin, userHandle: null });
    const result = await api.updateLoginFlow({
      flow: stepTwo.id,
      updateLoginFlowBody: {
        method: 'passkey',
        csrf_token: value(stepTwo.ui, 'csrf_token'),
        passkey_login: JSON.stringify(assertion),
      },
    });
    assert.equal(result.session.identity?.id, identityId);
    assert.equal((await api.toSession()).identity?.id, identityId);
    assert.deepEqual(jar.redirects, []);
  });

  it('an unknown identifier gets the same step two (decoys), and the sign-in then fails with 4000015', async () => {
    const { api } = client();
    const flow = await api.createBrowserLoginFlow();
    const { status, flow: stepTwo } = await stepOne(api, flow, 'sdk-nobody@example.com');
    assert.equal(status, 400);
    assert.equal(stepTwo.active, LoginFlowActiveEnum.IdentifierFirst);
    const ids = requestOptions(stepTwo).allowCredentials.map((c: { id: string }) => c.id);
    assert.ok(ids.length === 1 || ids.length === 2);
    const stranger = new SoftwareAuthenticator();
    const registration = await client().api.createBrowserRegistrationFlow();
    stranger.create(JSON.parse(value(registration.ui, 'passkey_create_data')).credentialOptions.publicKey, {
      origin,
    });
    const assertion = stranger.get(requestOptions(stepTwo), {
      origin,
      credentialId: stranger.credentials[0]?.idB64u,
    });
    let caught: unknown;
    try {
      await api.updateLoginFlow({
        flow: stepTwo.id,
        updateLoginFlowBody: {
          method: 'passkey',
          csrf_token: value(stepTwo.ui, 'csrf_token'),
          passkey_login: JSON.stringify(assertion),
        },
      });
    } catch (error) {
      caught = error;
    }
    assert.ok(isResponseError(caught));
    const body = LoginFlowFromJSON(await caught.response.json());
    assert.deepEqual(
      body.ui.messages?.map((m) => m.id),
      [4000015],
    );
  });
});
