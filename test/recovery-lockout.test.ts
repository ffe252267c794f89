// Recovery limits as an attacker meets them (issue 14, finding 2): a stranger's wrong codes and resends never keep the
// owner from recovering, even from the same IP address; guessing stays bounded (codes get long under attack); a limit
// answers honestly, alike for addresses with and without an account.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import { type Agent, type FlowJson, node, RP, register } from './helpers/app.js';
import { initCodeFlow, makeCodeApp, messageIds, postCode, type RecordingCourier, SECRET } from './helpers/codes.js';

/** The code of the last recovery mail to `to` (6 or 12 digits), after the courier has run. */
async function mailedCode(courier: RecordingCourier, to: string): Promise<string> {
  const list = await courier.to(to);
  const code = list[list.length - 1]?.model.recoveryCode;
  assert.ok(code, `no recovery mail to ${to}`);
  assert.match(code, /^([0-9]{6}|[0-9]{12})$/);
  return code;
}

/** A code that is not `code` (same length). */
const wrongFor = (code: string) => (code[0] === '0' ? `1${code.slice(1)}` : `0${code.slice(1)}`);

/** Start a flow and ask for a code; returns the answer (status and flow), asserting nothing. */
async function ask(agent: Agent, email: string, headers: Record<string, string> = {}) {
  const flow = await initCodeFlow(agent, 'recovery');
  let req = postCode(agent, flow, { method: 'code', email });
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  const res = await req;
  return { status: res.status, flow: res.body as FlowJson };
}

/** Nodes and messages as a comparable shape (CSRF token and typed address left out). */
const shape = (flow: FlowJson) => ({
  state: flow.state,
  messages: messageIds(flow),
  nodes: flow.ui.nodes.map((n) => ({
    name: n.attributes.name,
    type: n.attributes.type,
    maxlength: n.attributes.maxlength,
    label: n.meta.label?.id,
  })),
});

function lockoutApp(code: PasskeysOptions['code'] = {}) {
  return makeCodeApp({ code });
}

describe('recovery under attack', () => {
  it('a modest attacker on the same IP (3 flows, 10 wrong codes, 4 resends) does not stop the owner: a fresh request from another browser delivers a code that works', async () => {
    const { agent, courier } = lockoutApp();
    await register(agent(), 'victim@example.com');
    const attacker = agent(); // one browser; every agent here comes from 127.0.0.1: one IP for both
    const flows: FlowJson[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, flow } = await ask(attacker, 'victim@example.com');
      assert.equal(status, 200);
      flows.push(flow);
    }
    // Five wrong codes in each of two flows: before the fix this spent the address's failure budget (10), and then
    // even the right code was refused.
    for (const flow of flows.slice(0, 2)) {
      for (let i = 0; i < 5; i++) {
        const res = await postCode(attacker, flow, { code: String(100000 + i * 7) });
        assert.equal(res.status, 200);
        assert.deepEqual(messageIds(res.body), [4060006]);
      }
    }
    // Four resends in the third flow: before the fix (5 sends per address) the owner's request was then answered
    // "sent" while nothing was sent.
    for (let i = 0; i < 4; i++) {
      const res = await postCode(attacker, flows[2]!, { email: 'victim@example.com' });
      assert.equal(res.status, 200, JSON.stringify(res.body.ui?.messages));
    }
    const mailsBefore = (await courier.to('victim@example.com')).length;
    assert.equal(mailsBefore, 7, 'every one of the attacker’s sends was a real mail');

    const owner = agent(); // another browser, same IP
    const { status, flow } = await ask(owner, 'victim@example.com');
    assert.equal(status, 200);
    assert.deepEqual(messageIds(flow), [1060003]);
    assert.equal((await courier.to('victim@example.com')).length, mailsBefore + 1, 'a mail went out');
    const code = await mailedCode(courier, 'victim@example.com');
    assert.equal(code.length, 12, 'the address is under attack: its new code is long');
    assert.equal(node(flow, 'code').attributes.maxlength, 12, 'and the form lets the owner type it');
    const res = await postCode(owner, flow, { code });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.state, 'passed_challenge');
    assert.equal((await owner.get('/auth/sessions/whoami')).status, 200, 'the owner is signed in');
  });

  it('a correct code is never refused for another party’s failures: a code sent before the attack still works after it', async () => {
    const { agent, courier } = lockoutApp({ maxFailuresPerAddress: 3 });
    await register(agent(), 'early@example.com');
    const owner = agent();
    const { flow: ownerFlow } = await ask(owner, 'early@example.com');
    const ownerCode = await mailedCode(courier, 'early@example.com');
    assert.equal(ownerCode.length, 6, 'a calm address gets a 6-digit code');
    const attacker = agent();
    for (let i = 0; i < 4; i++) {
      const { flow } = await ask(attacker, 'early@example.com');
      for (let j = 0; j < 5; j++) await postCode(attacker, flow, { code: String(200000 + i * 10 + j) });
    }
    const res = await postCode(owner, ownerFlow, { code: ownerCode });
    assert.equal(res.body.state, 'passed_challenge', JSON.stringify(messageIds(res.body)));
  });

  it('brute force stays bounded: after maxFailuresPerAddress wrong codes, or maxShortCodesPerAddress codes, new codes have 12 digits; alike for unknown addresses', async () => {
    const { agent, courier } = lockoutApp({ maxFailuresPerAddress: 2, maxShortCodesPerAddress: 3 });
    await register(agent(), 'known@example.com');
    const a = agent();
    // Short codes run out after three, without any failure.
    const lengths: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { flow } = await ask(a, 'known@example.com');
      lengths.push((await mailedCode(courier, 'known@example.com')).length);
      assert.equal(node(flow, 'code').attributes.maxlength, lengths[i]);
    }
    assert.deepEqual(lengths, [6, 6, 6, 12]);
    // Two wrong codes on a fresh address: the next code is long at once.
    await register(agent(), 'second@example.com');
    const { flow } = await ask(a, 'second@example.com');
    const first = await mailedCode(courier, 'second@example.com');
    assert.equal(first.length, 6);
    await postCode(a, flow, { code: wrongFor(first) });
    await postCode(a, flow, { code: wrongFor(wrongFor(first)) === first ? '999999' : wrongFor(wrongFor(first)) });
    await ask(a, 'second@example.com');
    assert.equal((await mailedCode(courier, 'second@example.com')).length, 12);
    // An unknown address under the same attack answers the same way (a 12-digit form), so nothing tells them apart.
    const { flow: unknownFlow } = await ask(a, 'nobody@example.com');
    for (let i = 0; i < 2; i++) await postCode(a, unknownFlow, { code: String(300000 + i) });
    const known = await ask(a, 'second@example.com');
    const unknown = await ask(a, 'nobody@example.com');
    assert.deepEqual(shape(unknown.flow), shape(known.flow));
    assert.equal(node(unknown.flow, 'code').attributes.maxlength, 12);
  });

  it('never answers "sent" when nothing was sent: over the per-address send limit, 400 with 4000505 and the minutes to wait, alike for unknown addresses', async () => {
    const { agent, courier } = lockoutApp({ maxSendsPerAddress: 2, maxSendsPerClient: 100 });
    await register(agent(), 'quota@example.com');
    const answers: Record<'known' | 'unknown', { status: number; flow: FlowJson }[]> = { known: [], unknown: [] };
    for (let i = 0; i < 3; i++) {
      answers.known.push(await ask(agent(), 'quota@example.com'));
      answers.unknown.push(await ask(agent(), 'nobody-quota@example.com'));
    }
    assert.deepEqual(
      answers.known.map((a) => a.status),
      [200, 200, 400],
    );
    assert.equal((await courier.to('quota@example.com')).length, 2, 'the third request sent nothing');
    const refused = answers.known[2]!.flow;
    assert.equal(refused.state, 'choose_method', 'no code, so no code form');
    assert.deepEqual(messageIds(refused), [4000505]);
    const message = refused.ui.messages![0]!;
    assert.equal(message.type, 'error');
    assert.match(message.text, /^Too many requests\. Please try again in (60|59) minutes\.$/);
    assert.ok(Number(message.context?.retry_after_minutes) >= 59);
    assert.equal(node(refused, 'email').attributes.value, 'quota@example.com', 'the address stays filled in');
    // The same answers, in the same order, for an address without an account.
    assert.deepEqual(
      answers.unknown.map((a) => [a.status, shape(a.flow)]),
      answers.known.map((a) => [a.status, shape(a.flow)]),
    );
    // A resend over the limit keeps the flow's live code: the owner's earlier mail still works.
    const first = answers.known[0]!.flow;
    const res = await postCode(agent(), first, { email: 'quota@example.com' });
    assert.equal(res.status, 403, 'another browser cannot post to this flow (CSRF)');
  });

  it('a resend over the limit changes nothing but the message: the code already mailed still works', async () => {
    const { agent, courier } = lockoutApp({ maxSendsPerAddress: 1 });
    await register(agent(), 'resend@example.com');
    const owner = agent();
    const { flow } = await ask(owner, 'resend@example.com');
    const code = await mailedCode(courier, 'resend@example.com');
    const again = await postCode(owner, flow, { email: 'resend@example.com' });
    assert.equal(again.status, 400);
    assert.deepEqual(messageIds(again.body), [4000505]);
    assert.equal(again.body.state, 'sent_email', 'still waiting for the code already sent');
    assert.equal((await courier.to('resend@example.com')).length, 1);
    const ok = await postCode(owner, flow, { code });
    assert.equal(ok.body.state, 'passed_challenge');
  });

  it('sends per client IP: one IP over its share does not stop another IP (behind a trusted proxy)', async () => {
    const { app, agent, courier } = lockoutApp({ maxSendsPerClient: 2, maxSendsPerAddress: 10 });
    app.set('trust proxy', 'loopback');
    await register(agent(), 'shared@example.com');
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    assert.equal((await ask(agent(), 'shared@example.com', from('203.0.113.7'))).status, 200);
    assert.equal((await ask(agent(), 'shared@example.com', from('203.0.113.7'))).status, 200);
    const third = await ask(agent(), 'shared@example.com', from('203.0.113.7'));
    assert.equal(third.status, 400);
    assert.deepEqual(messageIds(third.flow), [4000505]);
    const owner = agent();
    const { status, flow } = await ask(owner, 'shared@example.com', from('198.51.100.20'));
    assert.equal(status, 200);
    const res = await postCode(owner, flow, { code: await mailedCode(courier, 'shared@example.com') }).set(
      'X-Forwarded-For',
      '198.51.100.20',
    );
    assert.equal(res.body.state, 'passed_challenge');
  });

  it('failures per client: a browser past maxFailuresPerClient is told to wait (even its right code is not compared); another browser on the same IP is not', async () => {
    const { agent, courier } = lockoutApp({ maxFailuresPerClient: 3 });
    await register(agent(), 'client@example.com');
    const guesser = agent();
    const { flow } = await ask(guesser, 'client@example.com');
    const code = await mailedCode(courier, 'client@example.com');
    for (let i = 0; i < 3; i++) {
      const res = await postCode(guesser, flow, { code: String(400000 + i) === code ? '499999' : String(400000 + i) });
      assert.deepEqual(messageIds(res.body), [4060006]);
    }
    const blocked = await postCode(guesser, flow, { code });
    assert.equal(blocked.status, 400);
    assert.deepEqual(messageIds(blocked.body), [4000505]);
    assert.equal(blocked.body.state, 'sent_email');
    assert.equal((await guesser.get('/auth/sessions/whoami')).status, 401);
    // The owner, in another browser behind the same IP address, recovers.
    const owner = agent();
    const { flow: ownerFlow } = await ask(owner, 'client@example.com');
    const ok = await postCode(owner, ownerFlow, { code: await mailedCode(courier, 'client@example.com') });
    assert.equal(ok.body.state, 'passed_challenge');
  });

  it('a stranger cannot spend a browser’s failure budget through verification links (a cross-site GET carries the browser’s cookies): its own right code still works', async () => {
    const { agent, server, courier } = lockoutApp({ maxFailuresPerClient: 3 });
    await register(agent(), 'owner-link@example.com');
    // The attacker's own flows, each waiting for a code sent to the attacker's address (API flows: no browser needed).
    const attacker = request(server);
    const links: string[] = [];
    for (let i = 0; i < 2; i++) {
      const flow = (await attacker.get('/auth/self-service/verification/api').expect(200)).body as FlowJson;
      await attacker
        .post(`/auth/self-service/verification?flow=${flow.id}`)
        .send({ method: 'code', email: 'attacker@example.com' })
        .expect(200);
      for (let j = 0; j < 3; j++) links.push(`/auth/self-service/verification?flow=${flow.id}&code=00000${j}`);
    }
    // The owner's browser is made to open the links (top-level navigations, e.g. from a window the attacker's page
    // opened): they carry its CSRF cookie.
    const owner = agent();
    const flow = await initCodeFlow(owner, 'verification');
    for (const link of links) await owner.get(link);
    const sent = await postCode(owner, flow, { method: 'code', email: 'owner-link@example.com' });
    const list = await courier.to('owner-link@example.com', 'verification');
    const code = String(list[list.length - 1]?.model.verificationCode);
    const res = await postCode(owner, sent.body, { code });
    assert.equal(res.status, 200, JSON.stringify(messageIds(res.body)));
    assert.equal(res.body.state, 'passed_challenge');
  });

  it('the limits hold per flow kind: a recovery attack leaves verification codes short', async () => {
    const { agent, courier } = lockoutApp({ maxFailuresPerAddress: 1 });
    await register(agent(), 'kinds@example.com');
    await courier.to('kinds@example.com', 'verification');
    const a = agent();
    const { flow } = await ask(a, 'kinds@example.com');
    await postCode(a, flow, { code: wrongFor(await mailedCode(courier, 'kinds@example.com')) });
    await ask(a, 'kinds@example.com');
    assert.equal((await mailedCode(courier, 'kinds@example.com')).length, 12);
    const verify = await initCodeFlow(a, 'verification');
    await postCode(a, verify, { method: 'code', email: 'kinds@example.com' });
    const list = await courier.to('kinds@example.com', 'verification');
    assert.equal(String(list[list.length - 1]?.model.verificationCode).length, 6);
  });

  it('config: with a courier the store must count (limits live in the store); without one it need not', () => {
    const methods = Object.getOwnPropertyNames(MemoryStore.prototype).filter(
      (name) =>
        name !== 'incrementCounter' &&
        name !== 'getCounter' &&
        name !== 'constructor' &&
        typeof Object.getOwnPropertyDescriptor(MemoryStore.prototype, name)?.value === 'function',
    );
    const store = new MemoryStore();
    const counterless = Object.fromEntries(
      methods.map((name) => [
        name,
        (store as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(store),
      ]),
    );
    const courier = { send: async () => {} };
    assert.throws(
      () => passkeys({ rp: RP, store: counterless as never, courier, secrets: [SECRET] }),
      (error: unknown) =>
        error instanceof TypeError &&
        /`incrementCounter\(\)`, `getCounter\(\)`, required with `courier`/.test(error.message),
    );
    assert.doesNotThrow(() => passkeys({ rp: RP, store: counterless as never }));
  });
});
