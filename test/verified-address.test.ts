// login.requireVerifiedAddress (SPEC §9): a sign-in without a verified address issues no session; a code goes out
// (over real SMTP, through the example's nodemailer courier) into a new verification flow; verified, the user signs in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { nodemailerCourier } from '../examples/basic/mailer.js';
import { MemoryStore, type PasskeysOptions } from '../src/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { initCodeFlow, messageIds, postCode, requestCode } from './helpers/codes.js';
import { codeFrom, type Inbox, startSmtp } from './helpers/smtp.js';
import { watchStore } from './helpers/store-watch.js';

let inbox: Inbox;
before(async () => {
  inbox = await startSmtp();
});
after(async () => {
  await inbox.close();
});

function verifiedApp(overrides: Partial<PasskeysOptions> = {}) {
  const watched = watchStore(new MemoryStore());
  const app = makeApp({
    store: watched.store,
    courier: nodemailerCourier(inbox.url),
    login: { requireVerifiedAddress: true },
    verification: { afterRegistration: false },
    ...overrides,
  });
  return { ...app, watched };
}

async function signIn(agent: Agent, authenticator: SoftwareAuthenticator, query = '', form = false) {
  const flow = await initFlow(agent, 'login', query);
  const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
  const fields = { csrf_token: csrfOf(flow), method: 'passkey', passkey_login: JSON.stringify(assertion) };
  const res = form
    ? await agent.post(actionPath(flow)).type('form').send(new URLSearchParams(fields).toString())
    : await agent.post(actionPath(flow)).set('Accept', 'application/json').send(fields);
  return { flow, res };
}

const whoami = async (agent: Agent) =>
  (await agent.get('/auth/sessions/whoami').set('Accept', 'application/json')).status;

describe('login.requireVerifiedAddress', () => {
  it('JSON: 403 with show_verification_ui, a code by mail, nothing written; verified, the user signs in', async () => {
    const { agent, watched } = verifiedApp();
    const { authenticator } = await register(agent(), 'amy@example.com');
    const a = agent();
    const snapshot = await watched.snapshot();
    const { res } = await signIn(a, authenticator, '?return_to=/dashboard');
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.error.id, 'session_verified_address_required');
    assert.equal(res.body.error.code, 403);
    const [item, ...rest] = res.body.error.details.continue_with;
    assert.deepEqual(rest, []);
    assert.equal(item.action, 'show_verification_ui');
    assert.deepEqual(
      Object.keys(item.flow).sort(),
      ['id', 'verifiable_address'],
      'no url without urls.ui.verification',
    );
    assert.equal(item.flow.verifiable_address, 'amy@example.com');
    assert.equal(res.body.session, undefined);
    assert.equal(await whoami(a), 401, 'no session');
    // Nothing written but the sent status of the address (the verification mail's own bookkeeping): no usage.
    const after = JSON.parse((await watched.snapshot()).contents);
    const was = JSON.parse(snapshot.contents);
    assert.deepEqual(after[0].passkeys, was[0].passkeys, 'no usage recorded');

    // The mail went over SMTP to the address; the flow waits for its code, with the login flow's return_to.
    const mail = await inbox.waitForMail('amy@example.com');
    const code = codeFrom(mail);
    const flow = (await a.get(`/auth/self-service/verification/flows?id=${item.flow.id}`).expect(200)).body as FlowJson;
    assert.equal(flow.state, 'sent_email');
    assert.deepEqual(messageIds(flow), [1080003]);
    assert.equal(flow.return_to, '/dashboard');
    const verified = await postCode(a, flow, { method: 'code', code });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.state, 'passed_challenge');
    assert.match(verified.body.ui.action, /\/dashboard$/);

    const again = await signIn(a, authenticator);
    assert.equal(again.res.status, 200, JSON.stringify(again.res.body));
    assert.equal(await whoami(a), 200);
  });

  it('with urls.ui.verification: continue_with carries the url; a form post 303s to it', async () => {
    const { agent } = verifiedApp({ urls: { ui: { verification: '/verify', login: '/login' } } });
    const { authenticator } = await register(agent(), 'bea@example.com');
    const a = agent();
    const json = await signIn(a, authenticator);
    assert.equal(json.res.status, 403);
    const [item] = json.res.body.error.details.continue_with;
    assert.equal(new URL(item.flow.url).pathname, '/verify');
    assert.equal(new URL(item.flow.url).searchParams.get('flow'), item.flow.id);
    await inbox.waitForMail('bea@example.com');

    const form = await signIn(a, authenticator, '', true);
    assert.equal(form.res.status, 303);
    const location = new URL(String(form.res.headers.location));
    assert.equal(location.pathname, '/verify');
    const id = location.searchParams.get('flow');
    assert.ok(id && id !== item.flow.id, 'a new verification flow');
    const code = codeFrom(await inbox.waitForMail('bea@example.com'));
    const flow = (await a.get(`/auth/self-service/verification/flows?id=${id}`).expect(200)).body as FlowJson;
    const done = await a
      .post(actionPath(flow))
      .type('form')
      .send(new URLSearchParams({ csrf_token: csrfOf(flow), method: 'code', code }).toString());
    assert.equal(done.status, 303);
    const signedIn = await signIn(a, authenticator, '', true);
    assert.equal(signedIn.res.status, 303);
    assert.equal(await whoami(a), 200);
  });

  it('a form post without urls.ui.verification gets the 403 JSON', async () => {
    const { agent } = verifiedApp();
    const { authenticator } = await register(agent(), 'cal@example.com');
    const { res } = await signIn(agent(), authenticator, '', true);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.id, 'session_verified_address_required');
    assert.equal(res.body.error.details.continue_with[0].action, 'show_verification_ui');
    await inbox.waitForMail('cal@example.com');
  });

  it('API flows and refresh logins are refused too', async () => {
    const { agent, server } = verifiedApp();
    const a = agent();
    const { authenticator } = await register(a, 'dot@example.com'); // signed in by the sign-up
    const refresh = await signIn(a, authenticator, '?refresh=true');
    assert.equal(refresh.res.status, 403);
    await inbox.waitForMail('dot@example.com');

    const init = await request(server).get('/auth/self-service/login/api').expect(200);
    const assertion = authenticator.get(requestOptionsOf(init.body), { origin: ORIGIN });
    const res = await request(server)
      .post(actionPath(init.body))
      .send({ passkey_login: JSON.stringify(assertion) });
    assert.equal(res.status, 403);
    assert.equal(res.body.session_token, undefined);
    const id = res.body.error.details.continue_with[0].flow.id;
    const flow = await request(server).get(`/auth/self-service/verification/flows?id=${id}`).expect(200);
    assert.equal(flow.body.type, 'api');
    assert.equal(flow.body.state, 'sent_email');
    await inbox.waitForMail('dot@example.com');
  });

  it('one verified address of two is enough; before that, the code goes to the first', async () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            email: {
              type: 'string',
              format: 'email',
              'ory.sh/kratos': { credentials: { passkey: { display_name: true } }, verification: { via: 'email' } },
            },
            work: { type: 'string', format: 'email', 'ory.sh/kratos': { verification: { via: 'email' } } },
          },
          required: ['email'],
        },
      },
    };
    const { agent } = verifiedApp({ identitySchema: schema });
    const a = agent();
    const { authenticator } = await register(a, 'eve@example.com');
    // Add the second address in settings.
    const settings = await initFlow(a, 'settings');
    const saved = await a
      .post(actionPath(settings))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(settings),
        method: 'profile',
        traits: { email: 'eve@example.com', work: 'eve@work.example' },
      });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));

    const b = agent();
    const refused = await signIn(b, authenticator);
    assert.equal(refused.res.status, 403);
    assert.equal(refused.res.body.error.details.continue_with[0].flow.verifiable_address, 'eve@example.com');
    await inbox.waitForMail('eve@example.com');

    // Verify the second address only (in a verification flow anyone can start), then sign in.
    const flow = await requestCode(b, 'verification', 'eve@work.example');
    const code = codeFrom(await inbox.waitForMail('eve@work.example'));
    const done = await postCode(b, flow, { method: 'code', code });
    assert.equal(done.body.state, 'passed_challenge', JSON.stringify(done.body));
    const ok = await signIn(b, authenticator);
    assert.equal(ok.res.status, 200, JSON.stringify(ok.res.body));
    const addresses = ok.res.body.session.identity.verifiable_addresses;
    assert.deepEqual(
      addresses.map((v: { value: string; verified: boolean }) => [v.value, v.verified]),
      [
        ['eve@example.com', false],
        ['eve@work.example', true],
      ],
    );
  });

  it('an identity with no verifiable address at all: 403 without continue_with, nothing sent', async () => {
    const schema = {
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            username: {
              type: 'string',
              minLength: 3,
              'ory.sh/kratos': { credentials: { passkey: { display_name: true } } },
            },
            email: { type: 'string', format: 'email', 'ory.sh/kratos': { verification: { via: 'email' } } },
          },
          required: ['username'],
        },
      },
    };
    const { agent } = verifiedApp({ identitySchema: schema });
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const authenticator = new SoftwareAuthenticator();
    const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
    const signup = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(flow),
        method: 'passkey',
        traits: { username: 'fox' },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(signup.status, 200, JSON.stringify(signup.body));
    const { res } = await signIn(agent(), authenticator);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.id, 'session_verified_address_required');
    assert.equal(res.body.error.details, undefined);
  });

  it('repeated refused sign-ins fall under the send limit, which requests by anyone else cannot use up', async () => {
    const { agent } = verifiedApp({ code: { maxSendsPerAddress: 2 } });
    const { authenticator } = await register(agent(), 'gil@example.com');
    // A third party asks for verification codes to the address until its limit is reached: the last request is
    // refused, honestly.
    const stranger = agent();
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      const flow = await initCodeFlow(stranger, 'verification');
      const res = await postCode(stranger, flow, { method: 'code', email: 'gil@example.com' });
      answers.push(res.status);
      if (res.status === 400) assert.deepEqual(messageIds(res.body), [4000505]);
    }
    assert.deepEqual(answers, [200, 200, 400]);
    for (let i = 0; i < 2; i++) await inbox.waitForMail('gil@example.com');
    await inbox.expectNoMail('gil@example.com', 300);

    // The owner's sign-ins still send codes (a bucket of their own), up to the limit.
    const owner = agent();
    for (let i = 0; i < 2; i++) {
      const { res } = await signIn(owner, authenticator);
      assert.equal(res.status, 403);
      await inbox.waitForMail('gil@example.com');
    }
    const { res } = await signIn(owner, authenticator);
    assert.equal(res.status, 403, 'answered alike past the limit');
    assert.equal(res.body.error.details.continue_with[0].action, 'show_verification_ui');
    await inbox.expectNoMail('gil@example.com', 300);
  });

  it('is a TypeError at config time without a courier, or without a verifiable trait', () => {
    assert.throws(
      () => makeApp({ login: { requireVerifiedAddress: true } }),
      (error: unknown) => error instanceof TypeError && /requireVerifiedAddress.*courier/.test(error.message),
    );
    const noVerifiable = {
      type: 'object',
      properties: {
        traits: {
          type: 'object',
          properties: {
            email: { type: 'string', 'ory.sh/kratos': { credentials: { passkey: { display_name: true } } } },
          },
        },
      },
    };
    assert.throws(
      () =>
        makeApp({
          login: { requireVerifiedAddress: true },
          courier: nodemailerCourier(inbox.url),
          identitySchema: noVerifiable,
        }),
      (error: unknown) => error instanceof TypeError && /verifiable trait/.test(error.message),
    );
    assert.doesNotThrow(() => makeApp({ login: { requireVerifiedAddress: false } }));
  });
});
