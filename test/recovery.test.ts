// Account recovery by code over HTTP (SPEC §6): every outcome, races, enumeration, CSRF, API flows.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore, passkeys } from '../src/index.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  login,
  makeApp,
  node,
  ORIGIN,
  RP,
  register,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';
import { initCodeFlow, makeCodeApp, messageIds, postCode, requestCode, SECRET } from './helpers/codes.js';

/** Nodes as a comparable shape: names, types, groups, values and labels, with the CSRF token's value left out. */
const shape = (flow: FlowJson) =>
  flow.ui.nodes.map((n) => ({
    ...n,
    attributes: { ...n.attributes, value: n.attributes.name === 'csrf_token' ? '<csrf>' : n.attributes.value },
  }));

describe('recovery flow', () => {
  it('is off without a courier: 404', async () => {
    const { agent } = makeApp();
    const res = await agent().get('/auth/self-service/recovery/browser').set('Accept', 'application/json');
    assert.equal(res.status, 404);
  });

  it('starts in choose_method with Kratos nodes: csrf_token, email, method=code', async () => {
    const { agent } = makeCodeApp();
    const flow = await initCodeFlow(agent(), 'recovery');
    assert.equal(flow.state, 'choose_method');
    assert.equal(flow.active, 'code');
    assert.deepEqual(
      flow.ui.nodes.map((n) => [n.group, n.attributes.name, n.attributes.type, n.meta.label?.id]),
      [
        ['default', 'csrf_token', 'hidden', undefined],
        ['code', 'email', 'email', 1070007],
        ['code', 'method', 'submit', 1070009],
      ],
    );
    assert.equal(node(flow, 'email').attributes.required, true);
    assert.equal(node(flow, 'method').attributes.value, 'code');
  });

  it('recovers an account: code by courier, session code_recovery, privileged settings flow with 1060001, a new passkey', async () => {
    const { agent, courier } = makeCodeApp();
    const first = agent();
    const { authenticator, body } = await register(first, 'lost@example.com');
    assert.equal(body.identity.recovery_addresses[0].value, 'lost@example.com');

    const a = agent(); // a new device: no session, no passkey
    const sent = await requestCode(a, 'recovery', 'Lost@Example.com ');
    assert.deepEqual(messageIds(sent), [1060003]);
    assert.deepEqual(
      sent.ui.nodes.map((n) => [n.attributes.name, n.attributes.type]),
      [
        ['csrf_token', 'hidden'],
        ['code', 'text'],
        ['method', 'hidden'],
        ['method', 'submit'],
        ['email', 'submit'],
      ],
    );
    const codeNode = node(sent, 'code');
    assert.equal(codeNode.attributes.pattern, '[0-9]+');
    assert.equal(codeNode.attributes.maxlength, 6);
    assert.equal(codeNode.attributes.autocomplete, 'one-time-code');
    assert.equal(codeNode.meta.label?.id, 1070010);
    const resend = sent.ui.nodes.find((n) => n.attributes.name === 'email');
    assert.equal(resend?.attributes.value, 'Lost@Example.com');
    assert.equal(resend?.meta.label?.id, 1070008);

    const [mail] = await courier.to('lost@example.com');
    assert.ok(mail);
    assert.equal(mail.template, 'recovery_code_valid');
    assert.equal((mail.model.identity as { id: string }).id, body.identity.id);
    assert.equal(mail.model.expiresInMinutes, 60);
    assert.match(String(mail.model.requestUrl), /\/self-service\/recovery\/browser$/);

    const res = await postCode(a, sent, { method: 'code', code: mail.model.recoveryCode });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'passed_challenge');
    const [next] = res.body.continue_with;
    assert.equal(next.action, 'show_settings_ui');

    const whoami = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(whoami.body.identity.id, body.identity.id);
    assert.equal(whoami.body.authentication_methods[0].method, 'code_recovery');
    assert.equal(whoami.body.identity.verifiable_addresses[0].verified, true);

    const settings = await a.get(`/auth/self-service/settings/flows?id=${next.flow.id}`).expect(200);
    assert.deepEqual(messageIds(settings.body), [1060001]);
    // Passkey wording, whole minutes (Kratos's text asks for a password "within the next 60.00 minutes").
    assert.equal(
      settings.body.ui.messages[0].text,
      'You successfully recovered your account. Please add a new passkey within the next 60 minutes.',
    );
    assert.deepEqual(Object.keys(settings.body.ui.messages[0].context).sort(), [
      'privilegedSessionExpiresAt',
      'privileged_session_expires_at',
      'privileged_session_expires_at_unix',
    ]);
    // The privileged window starts now: a passkey can be added at once.
    const fresh = new SoftwareAuthenticator();
    const credential = fresh.create(creationOptionsOf(settings.body), { origin: ORIGIN });
    const added = await a
      .post(actionPath(settings.body))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(settings.body),
        method: 'passkey',
        passkey_settings_register: JSON.stringify(credential),
      });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(
      added.body.ui.nodes.filter((n: { attributes: { name?: string } }) => n.attributes.name === 'passkey_remove')
        .length,
      2,
    );

    // The new passkey signs in, and so does the old one (nothing was removed).
    assert.equal((await login(agent(), fresh)).status, 200);
    assert.equal((await login(agent(), authenticator)).status, 200);
  });

  it('browser form posts: 303 to the UI after sending, then 303 to the settings UI with the session', async () => {
    const { agent, courier } = makeCodeApp({
      urls: { ui: { recovery: '/recovery', settings: '/settings' } },
    });
    await register(agent(), 'form@example.com');
    const a = agent();
    const init = await a.get('/auth/self-service/recovery/browser').expect(303);
    const flowId = new URL(String(init.headers.location)).searchParams.get('flow') ?? '';
    assert.match(String(init.headers.location), /\/recovery\?flow=/);
    const flow = (await a.get(`/auth/self-service/recovery/flows?id=${flowId}`).expect(200)).body as FlowJson;
    const sent = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), method: 'code', email: 'form@example.com' })
      .expect(303);
    assert.equal(new URL(String(sent.headers.location)).pathname, '/recovery');
    const code = await courier.lastCode('form@example.com');
    const done = await a
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), method: 'code', code })
      .expect(303);
    const target = new URL(String(done.headers.location));
    assert.equal(target.pathname, '/settings');
    const settings = await a.get(`/auth/self-service/settings/flows?id=${target.searchParams.get('flow')}`).expect(200);
    assert.deepEqual(messageIds(settings.body), [1060001]);
  });

  it('a wrong code: 200 with 4060006, state stays sent_email; the right one still works after', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'wrong@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'wrong@example.com');
    const code = await courier.lastCode('wrong@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    const res = await postCode(a, sent, { method: 'code', code: wrong });
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'sent_email');
    assert.deepEqual(messageIds(res.body), [4060006]);
    assert.equal((await postCode(a, sent, { method: 'code', code: 'abc' })).body.ui.messages[0].id, 4060006);
    const ok = await postCode(a, sent, { method: 'code', code });
    assert.equal(ok.body.state, 'passed_challenge');
    // Used: the flow is done and refuses more.
    const again = await postCode(a, sent, { method: 'code', code });
    assert.equal(again.status, 400);
    assert.deepEqual(messageIds(again.body), [4060001]);
  });

  it('an expired code: 4060006', async (t) => {
    const { agent, courier } = makeCodeApp({ lifespans: { code: '1m' } });
    await register(agent(), 'late@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'late@example.com');
    const code = await courier.lastCode('late@example.com');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 61_000 });
    const res = await postCode(a, sent, { method: 'code', code });
    t.mock.timers.reset();
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'sent_email');
    assert.deepEqual(messageIds(res.body), [4060006]);
  });

  it('a resend kills the old code; the new one works', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'resend@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'resend@example.com');
    const old = await courier.lastCode('resend@example.com');
    const again = await postCode(a, sent, { method: 'code', email: 'resend@example.com' });
    assert.equal(again.status, 200);
    assert.deepEqual(messageIds(again.body), [1060003]);
    const fresh = await courier.lastCode('resend@example.com');
    assert.equal((await courier.to('resend@example.com')).length, 2);
    if (old !== fresh) {
      const res = await postCode(a, sent, { method: 'code', code: old });
      assert.deepEqual(messageIds(res.body), [4060006]);
    }
    assert.equal((await postCode(a, sent, { method: 'code', code: fresh })).body.state, 'passed_challenge');
  });

  it('the 6th submission gets a new flow with 4000001 (JSON: 400 with details.continue_with); the old code is dead', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'often@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'often@example.com');
    const code = await courier.lastCode('often@example.com');
    const wrong = code === '111111' ? '222222' : '111111';
    for (let i = 0; i < 4; i++) assert.equal((await postCode(a, sent, { code: wrong })).status, 200);
    // A resend does not reset the counter.
    await postCode(a, sent, { email: 'often@example.com' });
    const fifth = await postCode(a, sent, { code: wrong });
    assert.equal(fifth.status, 200);
    const sixth = await postCode(a, sent, { code: await courier.lastCode('often@example.com') });
    assert.equal(sixth.status, 400);
    assert.equal(sixth.body.error.reason, 'The request was submitted too often. Please request another code.');
    const [next] = sixth.body.error.details.continue_with;
    assert.equal(next.action, 'show_recovery_ui');
    assert.notEqual(next.flow.id, sent.id);
    const successor = await a.get(`/auth/self-service/recovery/flows?id=${next.flow.id}`).expect(200);
    assert.equal(successor.body.state, 'choose_method');
    assert.equal(successor.body.ui.messages[0].id, 4000001);
    assert.equal(
      successor.body.ui.messages[0].text,
      'The request was submitted too often. Please request another code.',
    );
    const whoami = await a.get('/auth/sessions/whoami');
    assert.equal(whoami.status, 401);
  });

  it('an expired flow: 410 with use_flow_id, whose flow carries 4060005', async (t) => {
    const { agent } = makeCodeApp({ lifespans: { flow: '10m', code: '5m' } });
    const a = agent();
    const flow = await initCodeFlow(a, 'recovery');
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 11 * 60_000 });
    const res = await postCode(a, flow, { email: 'x@example.com' });
    const fetched = await a.get(`/auth/self-service/recovery/flows?id=${res.body.use_flow_id}`);
    t.mock.timers.reset();
    assert.equal(res.status, 410);
    assert.equal(res.body.error.id, 'self_service_flow_expired');
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.ui.messages[0].id, 4060005);
  });

  it('an unknown address: the same answer, nothing sent (and with notifyUnknownRecipients, recovery_code_invalid)', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'known@example.com');
    const a = agent();
    const known = await requestCode(a, 'recovery', 'known@example.com');
    const unknown = await requestCode(a, 'recovery', 'nobody@example.com');
    // Ids, timestamps, the CSRF token, the typed address and the test server's port aside.
    const strip = (f: FlowJson) => {
      const { id, expires_at, issued_at, request_url, ui, ...rest } = f;
      const nodes = shape(f).map((n) =>
        n.attributes.name === 'email' ? { ...n, attributes: { ...n.attributes, value: '<email>' } } : n,
      );
      const action = new URL(ui.action);
      return { ...rest, request_url: new URL(request_url).pathname, ui: { ...ui, action: action.pathname, nodes } };
    };
    assert.deepEqual(strip(unknown), strip(known));
    assert.deepEqual(Object.keys(unknown), Object.keys(known));
    assert.equal((await courier.to('nobody@example.com')).length, 0);
    assert.equal((await courier.to('known@example.com')).length, 1);
    // A guessed code for the unknown address never signs anyone in.
    for (const code of ['123456', '000000']) {
      const res = await postCode(a, unknown, { code });
      assert.deepEqual(messageIds(res.body), [4060006]);
    }
    assert.equal((await a.get('/auth/sessions/whoami')).status, 401);

    const notify = makeCodeApp({ recovery: { notifyUnknownRecipients: true } });
    await requestCode(notify.agent(), 'recovery', 'stranger@example.com');
    const [mail] = await notify.courier.to('stranger@example.com');
    assert.equal(mail?.template, 'recovery_code_invalid');
    assert.equal(mail?.model.recoveryCode, undefined);
  });

  it('answers known and unknown addresses in the same time (median of 50 each, interleaved)', async () => {
    // A courier as slow as a real SMTP hand-off: were the send awaited, known addresses would answer 25 ms later.
    const slow = { send: () => new Promise((resolve) => setTimeout(resolve, 25)) };
    const { agent } = makeCodeApp({ courier: slow, code: { maxSendsPerAddress: 1000, maxSendsPerClient: 1000 } });
    await register(agent(), 'timing@example.com');
    const a = agent();
    const times: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    for (let i = 0; i < 50; i++) {
      for (const [kind, email] of [
        ['known', 'timing@example.com'],
        ['unknown', `nobody${i}@example.com`],
      ] as const) {
        const flow = await initCodeFlow(a, 'recovery');
        const start = process.hrtime.bigint();
        const res = await postCode(a, flow, { email });
        times[kind].push(Number(process.hrtime.bigint() - start) / 1e6);
        assert.equal(res.status, 200);
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    const known = median(times.known);
    const unknown = median(times.unknown);
    console.log(`recovery send, median of 50: known ${known.toFixed(3)} ms, unknown ${unknown.toFixed(3)} ms`);
    // Within noise: the two do the same work; an awaited send would put 25 ms between them.
    assert.ok(Math.abs(known - unknown) < 8, `known ${known} ms vs unknown ${unknown} ms`);
  });

  it('missing and malformed addresses: 400 with 4000002 / 4000001 on the email node', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    const flow = await initCodeFlow(a, 'recovery');
    const missing = await postCode(a, flow, { method: 'code' });
    assert.equal(missing.status, 400);
    assert.deepEqual(
      node(missing.body, 'email').messages.map((m) => m.id),
      [4000002],
    );
    const malformed = await postCode(a, flow, { method: 'code', email: 'not an address' });
    assert.equal(malformed.status, 400);
    const [message] = node(malformed.body, 'email').messages;
    assert.equal(message?.id, 4000001);
    assert.equal(message?.text, '"not an address" is not valid "email"');
    assert.equal(malformed.body.state, 'choose_method');
  });

  it('a courier that throws: the same 200 answer, logged without the code or address', async (t) => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'down@example.com');
    courier.fail = true;
    const logged: string[] = [];
    t.mock.method(console, 'error', (...args: unknown[]) => logged.push(args.map(String).join(' ')));
    const sent = await requestCode(agent(), 'recovery', 'down@example.com');
    await courier.to('down@example.com');
    assert.deepEqual(messageIds(sent), [1060003]);
    assert.equal(logged.length, 1);
    assert.doesNotMatch(logged[0] ?? '', /down@example\.com|[0-9]{6}/);
  });

  it('refuses recovery with a session: 400 session_already_available (browsers: 303 to defaultReturnTo)', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    await register(a, 'signed-in@example.com');
    const json = await a.get('/auth/self-service/recovery/browser').set('Accept', 'application/json');
    assert.equal(json.status, 400);
    assert.equal(json.body.error.id, 'session_already_available');
    const browser = await a.get('/auth/self-service/recovery/browser');
    assert.equal(browser.status, 303);
    assert.equal(new URL(String(browser.headers.location)).pathname, '/');
  });

  it('API flows: no cookies or Origin; success sets an ory session token usable on whoami and settings', async () => {
    const { agent, courier, server } = makeCodeApp();
    await register(agent(), 'native@example.com');
    const { default: request } = await import('supertest');
    const refused = await request(server).get('/auth/self-service/recovery/api').set('Cookie', 'x=1');
    assert.equal(refused.status, 400);
    const init = await request(server).get('/auth/self-service/recovery/api').expect(200);
    assert.equal(init.body.type, 'api');
    assert.equal(
      init.body.ui.nodes.some((n: { attributes: { name?: string } }) => n.attributes.name === 'csrf_token'),
      false,
    );
    const path = actionPath(init.body);
    await request(server).post(path).send({ method: 'code', email: 'native@example.com' }).expect(200);
    const code = await courier.lastCode('native@example.com');
    const done = await request(server).post(path).send({ method: 'code', code }).expect(200);
    const [token, settings] = done.body.continue_with;
    assert.equal(token.action, 'set_ory_session_token');
    assert.match(token.ory_session_token, /^ory_st_/);
    assert.equal(settings.action, 'show_settings_ui');
    const whoami = await request(server).get('/auth/sessions/whoami').set('X-Session-Token', token.ory_session_token);
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.authentication_methods[0].method, 'code_recovery');
    const flow = await request(server)
      .get(`/auth/self-service/settings/flows?id=${settings.flow.id}`)
      .set('X-Session-Token', token.ory_session_token)
      .expect(200);
    assert.deepEqual(messageIds(flow.body), [1060001]);
  });

  it('CSRF: a missing or forged token is 403 security_csrf_violation', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    const flow = await initCodeFlow(a, 'recovery');
    const missing = await a.post(actionPath(flow)).set('Accept', 'application/json').send({ email: 'a@example.com' });
    assert.equal(missing.status, 403);
    assert.equal(missing.body.error.id, 'security_csrf_violation');
    const forged = await postCode(a, flow, { csrf_token: 'x'.repeat(43), email: 'a@example.com' });
    assert.equal(forged.status, 403);
    // A token that is not a string is a malformed token (403), in JSON and as a repeated form field.
    for (const csrf_token of [[csrfOf(flow)], { a: 1 }, 7, null]) {
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token, email: 'a@example.com' });
      assert.equal(res.status, 403, JSON.stringify(csrf_token));
    }
    // A form field repeated with one value is that value (SPEC §9); with two values, a malformed token.
    const repeated = await a
      .post(actionPath(flow))
      .type('form')
      .send(`csrf_token=${csrfOf(flow)}&csrf_token=${csrfOf(flow)}&email=a%40example.com`);
    assert.notEqual(repeated.status, 403);
    const two = await a
      .post(actionPath(flow))
      .type('form')
      .send(`csrf_token=${csrfOf(flow)}&csrf_token=${'x'.repeat(43)}&email=a%40example.com`);
    assert.equal(two.status, 403);
    // Another browser (no CSRF cookie) posting this flow's real token.
    const other = await agent()
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(flow), email: 'a@example.com' });
    assert.equal(other.status, 403);
  });

  it('oversized and wrong-typed fields are 4xx, never 5xx', async () => {
    const { agent } = makeCodeApp();
    const a = agent();
    const flow = await initCodeFlow(a, 'recovery');
    for (const body of [
      { email: 'a'.repeat(400) + '@example.com' },
      { email: ['a@example.com'] },
      { email: { $ne: '' } },
      { email: 12 },
      { code: 'x'.repeat(100) },
      { code: 123456 },
      { code: ['123456'] },
      { method: 7 },
    ]) {
      const res = await postCode(a, flow, body);
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
    }
    const sent = await requestCode(a, 'recovery', 'someone@example.com');
    for (const code of ['１２３４５６', '12 34 56', '-123456', '1e5']) {
      const res = await postCode(a, sent, { code });
      assert.equal(res.status, 200);
      assert.deepEqual(messageIds(res.body), [4060006]);
    }
  });

  it('a code sent before the address left the account no longer recovers it', async () => {
    const { agent, courier } = makeCodeApp();
    const owner = agent();
    await register(owner, 'moving@example.com');
    const attacker = agent();
    const sent = await requestCode(attacker, 'recovery', 'moving@example.com');
    const code = await courier.lastCode('moving@example.com');
    const settings = await initFlow(owner, 'settings');
    const changed = await owner
      .post(actionPath(settings))
      .set('Accept', 'application/json')
      .send({ csrf_token: csrfOf(settings), method: 'profile', traits: { email: 'moved@example.com' } });
    assert.equal(changed.status, 200);
    const res = await postCode(attacker, sent, { code });
    assert.equal(res.status, 200);
    assert.equal(res.body.state, 'sent_email');
    assert.deepEqual(messageIds(res.body), [4060006]);
    assert.equal((await attacker.get('/auth/sessions/whoami')).status, 401);
  });

  it('a flow past its submissions has one successor, however often it is posted to', async () => {
    const { agent, courier } = makeCodeApp({ code: { maxSubmissions: 1 } });
    await register(agent(), 'spam@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'spam@example.com');
    const code = await courier.lastCode('spam@example.com');
    const wrong = code === '000000' ? '000001' : '000000';
    await postCode(a, sent, { code: wrong });
    const ids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await postCode(a, sent, { code: wrong });
      assert.equal(res.status, 400);
      ids.add(res.body.error.details.continue_with[0].flow.id);
    }
    assert.equal(ids.size, 1);
  });

  it('20 concurrent submits of one correct code: exactly one session', async () => {
    const { agent, courier } = makeCodeApp({ code: { maxSubmissions: 25 } });
    await register(agent(), 'race@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'race@example.com');
    const code = await courier.lastCode('race@example.com');
    const results = await Promise.all(Array.from({ length: 20 }, () => postCode(a, sent, { code })));
    const won = results.filter((r) => r.status === 200 && r.body.state === 'passed_challenge');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => [r.status, r.body.state, messageIds(r.body)])));
    for (const r of results) assert.ok(r.status < 500, String(r.status));
    const lost = results.filter((r) => r !== won[0]);
    // Losers that compared before the winner finished see a used code (4060006); later ones a finished flow (4060001).
    assert.ok(
      lost.every(
        (r) =>
          (r.status === 200 && messageIds(r.body).includes(4060006)) ||
          (r.status === 400 && messageIds(r.body).includes(4060001)),
      ),
      JSON.stringify(lost.map((r) => [r.status, r.body.state, messageIds(r.body), r.body.error?.id])),
    );
    const used = lost.filter((r) => r.status === 200).length;
    console.log(
      `20 racing submits of one code: 1 session; ${used} saw a used code, ${lost.length - used} a finished flow`,
    );
  });

  it('secrets: required with a courier and another store; at least 32 characters; rotation keeps old codes valid', async () => {
    const store = new MemoryStore();
    const courier = { send: async () => {} };
    const notMemory = {
      ...Object.fromEntries(Object.getOwnPropertyNames(MemoryStore.prototype).map((k) => [k, () => null])),
    };
    assert.throws(() => passkeys({ rp: RP, store: notMemory as never, courier }), /`secrets` is required/);
    assert.throws(() => passkeys({ rp: RP, store, courier, secrets: ['short'] }), /at least 32/);
    assert.throws(() => passkeys({ rp: RP, store, courier: {} as never }), /courier/);
    assert.throws(() => passkeys({ rp: RP, store, secrets: [SECRET] }), /need a `courier`/);
    assert.doesNotThrow(() => passkeys({ rp: RP, store, courier, secrets: { default: [SECRET] } as never }));

    // A code sent under the old key still matches once a new key is prepended (two routers, one store; API flows).
    const { default: request } = await import('supertest');
    const shared = new MemoryStore();
    const before = makeCodeApp({ store: shared, secrets: [SECRET] });
    await register(before.agent(), 'rotate@example.com');
    const init = await request(before.server).get('/auth/self-service/recovery/api').expect(200);
    await request(before.server).post(actionPath(init.body)).send({ email: 'rotate@example.com' }).expect(200);
    const code = await before.courier.lastCode('rotate@example.com');
    const after = makeCodeApp({ store: shared, secrets: ['a brand new secret, also long enough for it', SECRET] });
    const res = await request(after.server).post(actionPath(init.body)).send({ code });
    assert.equal(res.body.state, 'passed_challenge', JSON.stringify(res.body));
    // Without the old key the code is worthless.
    const init2 = await request(before.server).get('/auth/self-service/recovery/api').expect(200);
    await request(before.server).post(actionPath(init2.body)).send({ email: 'rotate@example.com' }).expect(200);
    const code2 = await before.courier.lastCode('rotate@example.com');
    const dropped = makeCodeApp({ store: shared, secrets: ['a brand new secret, also long enough for it'] });
    const refused = await request(dropped.server).post(actionPath(init2.body)).send({ code: code2 });
    assert.deepEqual(messageIds(refused.body), [4060006]);
  });
});
