// Ory's SDK (`@ory/client-fetch`, unchanged) against flows a before-hook refuses (SPEC §9): the refusal is a 400
// whose body the SDK parses as the flow, with the hook's message on the node; a failed hook a 502 error; and a
// sign-in without a verified address a 403 whose `continue_with` the SDK reads.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Configuration,
  FrontendApi,
  instanceOfUiNodeInputAttributes,
  instanceOfUiText,
  isAddressNotVerified,
  isResponseError,
  RegistrationFlowFromJSON,
  type UiContainer,
  type UiNodeInputAttributes,
} from '@ory/client-fetch';
import express from 'express';
import session from 'express-session';
import { FlowRejection, MemoryStore, passkeys } from '../src/index.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { RecordingCourier } from './helpers/codes.js';
import { cookieFetch } from './helpers/cookie-fetch.js';

let origin: string;
let base: string;
let close: () => Promise<void>;
let failNext = false;
const store = new MemoryStore();
const courier = new RecordingCourier();

before(async () => {
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  base = `${origin}/auth`;
  const app = express();
  app.use(session({ secret: 'sdk hooks secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({
      rp: { id: 'localhost', displayName: 'SDK', origins: [origin] },
      store,
      courier,
      verification: { afterRegistration: false },
      login: { requireVerifiedAddress: true },
      hooks: {
        beforeRegistration({ traits }) {
          if (failNext) throw new Error('the invite service is down');
          if (!String(traits.email).endsWith('@example.com')) {
            throw new FlowRejection([
              {
                instancePtr: '#/traits/email',
                id: 4000100,
                text: 'Only @example.com addresses may sign up.',
                context: { domain: 'example.com' },
              },
            ]);
          }
        },
      },
    }),
  );
  server.on('request', app);
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
after(async () => {
  await close();
});

function client() {
  const jar = cookieFetch();
  return new FrontendApi(
    new Configuration({
      basePath: base,
      fetchApi: jar.fetch,
      credentials: 'include',
      headers: { Accept: 'application/json' },
    }),
  );
}

function input(ui: UiContainer, name: string) {
  const found = ui.nodes.find((n) => instanceOfUiNodeInputAttributes(n.attributes) && n.attributes.name === name);
  assert.ok(found, `node ${name}`);
  return found;
}
const value = (ui: UiContainer, name: string) => String((input(ui, name).attributes as UiNodeInputAttributes).value);

type ContinueItem = { action: string; flow: { id: string } };

async function rejection(promise: Promise<unknown>) {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(isResponseError(caught), `expected a ResponseError, got ${String(caught)}`);
  // biome-ignore lint/suspicious/noExplicitAny: the error body is read as the JSON it is.
  return { status: caught.response.status, body: (await caught.response.clone().json()) as any };
}

async function submitRegistration(api: FrontendApi, email: string, flowId?: string) {
  const flow = flowId ? await api.getRegistrationFlow({ id: flowId }) : await api.createBrowserRegistrationFlow();
  const data = JSON.parse(value(flow.ui, 'passkey_create_data'));
  const authenticator = new SoftwareAuthenticator();
  const credential = authenticator.create(data.credentialOptions.publicKey, { origin });
  const submit = api.updateRegistrationFlow({
    flow: flow.id,
    updateRegistrationFlowBody: {
      method: 'passkey',
      csrf_token: value(flow.ui, 'csrf_token'),
      traits: { email },
      passkey_register: JSON.stringify(credential),
    },
  });
  return { flow, submit, authenticator };
}

describe("Ory's SDK and the before-hooks", () => {
  it('updateRegistrationFlow refused by beforeRegistration: the message on the traits.email node, nothing saved', async () => {
    const api = client();
    const { flow, submit } = await submitRegistration(api, 'ann@other.org');
    const { status, body } = await rejection(submit);
    assert.equal(status, 400);
    const refused = RegistrationFlowFromJSON(body);
    const [message, ...more] = input(refused.ui, 'traits.email').messages;
    assert.deepEqual(more, []);
    assert.ok(message && instanceOfUiText(message));
    assert.equal(message.id, 4000100);
    assert.equal(message.text, 'Only @example.com addresses may sign up.');
    assert.equal(message.type, 'error');
    assert.deepEqual(message.context, { domain: 'example.com' });
    assert.equal(await store.findIdentityByIdentifier('ann@other.org'), null);

    // The same flow, fetched again through the SDK, shows the message and takes a corrected sign-up.
    const again = await api.getRegistrationFlow({ id: flow.id });
    assert.equal(input(again.ui, 'traits.email').messages[0]?.id, 4000100);
    const retry = await submitRegistration(api, 'ann@example.com', flow.id);
    const done = await retry.submit;
    assert.equal((done.identity?.traits as { email?: string } | undefined)?.email, 'ann@example.com');
  });

  it('a hook that throws: the SDK sees a 502 hook_failed error, never the thrown text', async () => {
    failNext = true;
    try {
      const { submit } = await submitRegistration(client(), 'bob@example.com');
      const { status, body } = await rejection(submit);
      assert.equal(status, 502);
      assert.equal(body.error.id, 'hook_failed');
      assert.ok(!JSON.stringify(body).includes('invite service'));
      assert.equal(await store.findIdentityByIdentifier('bob@example.com'), null);
    } finally {
      failNext = false;
    }
  });

  it('updateLoginFlow without a verified address: isAddressNotVerified, continue_with show_verification_ui', async () => {
    const { submit, authenticator } = await submitRegistration(client(), 'cat@example.com');
    await submit;
    const api = client();
    const flow = await api.createBrowserLoginFlow();
    const challenge = JSON.parse(value(flow.ui, 'passkey_challenge'));
    const assertion = authenticator.get(challenge.publicKey, { origin });
    const { status, body } = await rejection(
      api.updateLoginFlow({
        flow: flow.id,
        updateLoginFlowBody: {
          method: 'passkey',
          csrf_token: value(flow.ui, 'csrf_token'),
          passkey_login: JSON.stringify(assertion),
        },
      }),
    );
    assert.equal(status, 403);
    assert.ok(isAddressNotVerified(body));
    const details = (body as unknown as { error: { details: { continue_with: ContinueItem[] } } }).error.details;
    const [item] = details.continue_with;
    assert.ok(item);
    assert.equal(item.action, 'show_verification_ui');
    const verification = await api.getVerificationFlow({ id: item.flow.id });
    assert.equal(verification.state, 'sent_email');
    assert.equal(courier.messages.at(-1)?.to, 'cat@example.com');
  });
});
