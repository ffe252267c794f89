// Edges of the `code` method (SPEC §6) found by an adversarial audit: codes bound to their flow, the link counted as
// a submission, resends to another address, already verified addresses, nothing secret in logs or answers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import createDebug from 'debug';
import { MemoryStore } from '../src/index.js';
import { type FlowJson, register } from './helpers/app.js';
import { initCodeFlow, makeCodeApp, messageIds, postCode, requestCode, SECRET } from './helpers/codes.js';

/** A wrong code that is surely not `code`. */
const other = (code: string) => (code === '000000' ? '000001' : '000000');

describe('code method edges', () => {
  it('a code is bound to its flow: flow A’s code does not open flow B for the same address; B’s own code does', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'bound@example.com');
    const a = agent();
    const flowA = await requestCode(a, 'recovery', 'bound@example.com');
    const codeA = await courier.lastCode('bound@example.com');
    const flowB = await requestCode(a, 'recovery', 'bound@example.com');
    const codeB = await courier.lastCode('bound@example.com');
    assert.notEqual(flowA.id, flowB.id);
    if (codeA !== codeB) {
      const cross = await postCode(a, flowB, { method: 'code', code: codeA });
      assert.equal(cross.status, 200);
      assert.deepEqual(messageIds(cross.body), [4060006]);
    }
    const own = await postCode(a, flowB, { method: 'code', code: codeB });
    assert.equal(own.body.state, 'passed_challenge');
    // A code used once is used up: the same code again answers 4060001 and no second session is made.
    const again = await postCode(a, flowB, { method: 'code', code: codeB });
    assert.equal(again.status, 400);
  });

  it('the verification link counts as a submission: after 5 wrong posts, the right code by link verifies nothing', async () => {
    const { agent, courier } = makeCodeApp({ urls: { ui: { verification: '/verify' } } });
    const a = agent();
    await register(a, 'linkcount@example.com');
    const code = await courier.lastCode('linkcount@example.com', 'verification');
    const [mail] = await courier.to('linkcount@example.com', 'verification');
    const url = new URL(String(mail?.model.verificationUrl));
    const flowId = String(url.searchParams.get('flow'));
    const flow = (await a.get(`/auth/self-service/verification/flows?id=${flowId}`).expect(200)).body as FlowJson;
    for (let i = 0; i < 5; i++) {
      const wrong = await postCode(a, flow, { method: 'code', code: other(code) });
      assert.deepEqual(messageIds(wrong.body), [4070006]);
    }
    const visit = await agent()
      .get(url.pathname + url.search)
      .expect(303);
    const next = new URL(String(visit.headers.location), 'http://x');
    assert.equal(next.pathname, '/verify');
    assert.notEqual(next.searchParams.get('flow'), flowId, 'a new flow');
    const me = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(me.body.identity.verifiable_addresses[0].verified, false);
  });

  it('a resend to another address: the first address’s code dies, the second gets its own', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'first@example.com');
    await register(agent(), 'second@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'first@example.com');
    const first = await courier.lastCode('first@example.com');
    const resent = await postCode(a, sent, { method: 'code', email: 'second@example.com' });
    assert.equal(resent.status, 200);
    assert.equal(
      resent.body.ui.nodes.find((n: { attributes: { name: string } }) => n.attributes.name === 'email')?.attributes
        .value,
      'second@example.com',
    );
    const second = await courier.lastCode('second@example.com');
    if (first !== second) {
      assert.deepEqual(messageIds((await postCode(a, sent, { method: 'code', code: first })).body), [4060006]);
    }
    const ok = await postCode(a, sent, { method: 'code', code: second });
    assert.equal(ok.body.state, 'passed_challenge');
    const me = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(me.body.identity.traits.email, 'second@example.com');
  });

  it('verifying an address verified already succeeds and keeps its verified_at', async () => {
    const { agent, courier } = makeCodeApp({ verification: { afterRegistration: false } });
    const a = agent();
    await register(a, 'twice@example.com');
    const s1 = await requestCode(a, 'verification', 'twice@example.com');
    const ok1 = await postCode(a, s1, { code: await courier.lastCode('twice@example.com', 'verification') });
    assert.equal(ok1.body.state, 'passed_challenge');
    const at = (await a.get('/auth/sessions/whoami').expect(200)).body.identity.verifiable_addresses[0].verified_at;
    assert.ok(at);
    const s2 = await requestCode(a, 'verification', 'twice@example.com');
    const ok2 = await postCode(a, s2, { code: await courier.lastCode('twice@example.com', 'verification') });
    assert.equal(ok2.body.state, 'passed_challenge');
    assert.deepEqual(messageIds(ok2.body), [1080002]);
    const after = (await a.get('/auth/sessions/whoami').expect(200)).body.identity.verifiable_addresses[0];
    assert.equal(after.verified_at, at);
    assert.equal(after.status, 'completed');
  });

  it('return_to: an off-site one is refused at init; an allowed one carries to the settings flow after recovery', async () => {
    const { agent, courier } = makeCodeApp();
    await register(agent(), 'back@example.com');
    const a = agent();
    for (const bad of ['https://evil.example/x', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
      const res = await a
        .get(`/auth/self-service/recovery/browser?return_to=${encodeURIComponent(bad)}`)
        .set('Accept', 'application/json');
      assert.equal(res.status, 400, bad);
    }
    const flow = await initCodeFlow(a, 'recovery', '?return_to=/account');
    const sent = await postCode(a, flow, { method: 'code', email: 'back@example.com' });
    const ok = await postCode(a, sent.body, { method: 'code', code: await courier.lastCode('back@example.com') });
    const settingsId = ok.body.continue_with.find((c: { action: string }) => c.action === 'show_settings_ui').flow.id;
    const settings = await a.get(`/auth/self-service/settings/flows?id=${settingsId}`).expect(200);
    assert.equal(settings.body.return_to, '/account');
  });

  it('nothing secret in debug logs or answers: no code, address, code hash or secret', async () => {
    const lines: string[] = [];
    const previous = createDebug.log;
    const enabled = createDebug.disable();
    createDebug.enable('express-passkeys*');
    createDebug.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    const bodies: string[] = [];
    try {
      const { agent, courier, store } = makeCodeApp({ secrets: [SECRET] });
      const a = agent();
      await register(a, 'secret-log@example.com');
      const vcode = await courier.lastCode('secret-log@example.com', 'verification');
      const [vmail] = await courier.to('secret-log@example.com', 'verification');
      const url = new URL(String(vmail?.model.verificationUrl));
      await agent().get(url.pathname + url.search);
      const b = agent();
      const sent = await requestCode(b, 'recovery', 'Secret-Log@example.com');
      bodies.push(JSON.stringify(sent));
      const code = await courier.lastCode('secret-log@example.com');
      const stored = await store.getFlow(sent.id);
      const hash = String(stored?.challenge);
      bodies.push(JSON.stringify((await postCode(b, sent, { method: 'code', code: other(code) })).body));
      bodies.push(JSON.stringify((await b.get(`/auth/self-service/recovery/flows?id=${sent.id}`)).body));
      const ok = await postCode(b, sent, { method: 'code', code });
      bodies.push(JSON.stringify(ok.body));
      await requestCode(agent(), 'recovery', 'nobody-here@example.com');
      await new Promise((resolve) => setImmediate(resolve));
      const log = lines.join('\n');
      assert.ok(lines.length > 5, 'debug output was captured');
      for (const secret of [code, vcode, hash, SECRET, 'secret-log@example.com', 'nobody-here@example.com']) {
        assert.ok(!log.toLowerCase().includes(secret.toLowerCase()), `log shows ${secret}`);
      }
      for (const body of bodies) {
        for (const secret of [code, hash, SECRET]) assert.ok(!body.includes(secret), `answer shows ${secret}`);
      }
    } finally {
      createDebug.log = previous;
      createDebug.disable();
      if (enabled) createDebug.enable(enabled);
    }
  });
});

describe('the verification link after its flow expired', () => {
  it('goes to one successor flow with 4070005, however often it is opened, and verifies nothing', async (t) => {
    const { agent, courier, store } = makeCodeApp({ urls: { ui: { verification: '/verify' } } });
    const a = agent();
    await register(a, 'late-link@example.com');
    const [mail] = await courier.to('late-link@example.com', 'verification');
    const url = new URL(String(mail?.model.verificationUrl));
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 61 * 60_000 });
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const visit = await agent()
        .get(url.pathname + url.search)
        .expect(303);
      const next = new URL(String(visit.headers.location), 'http://x');
      assert.equal(next.pathname, '/verify');
      seen.add(String(next.searchParams.get('flow')));
    }
    assert.equal(seen.size, 1, 'one successor, not one per visit');
    const [id] = seen;
    assert.notEqual(id, url.searchParams.get('flow'));
    const successor = await a.get(`/auth/self-service/verification/flows?id=${id}`).expect(200);
    assert.equal(successor.body.state, 'choose_method');
    assert.deepEqual(messageIds(successor.body), [4070005]);
    const identity = await store.findIdentityByAddress('verification', 'late-link@example.com');
    assert.equal(identity?.verifiableAddresses[0]?.verified, false);
  });
});

describe('a resend racing the right code', () => {
  it('once the flow has passed, the resend mails nothing and answers 4060001', async () => {
    /** A store that runs `before` at the next counter increment (the resend's send limit), once. */
    class PausingStore extends MemoryStore {
      before?: () => Promise<void>;
      override async incrementCounter(key: string, windowMs: number) {
        const run = this.before;
        this.before = undefined;
        if (run) await run();
        return super.incrementCounter(key, windowMs);
      }
    }
    const store = new PausingStore();
    const { agent, courier } = makeCodeApp({ store, secrets: [SECRET] });
    await register(agent(), 'race-resend@example.com');
    const a = agent();
    const sent = await requestCode(a, 'recovery', 'race-resend@example.com');
    const code = await courier.lastCode('race-resend@example.com');
    store.before = async () => {
      const ok = await postCode(a, sent, { method: 'code', code });
      assert.equal(ok.body.state, 'passed_challenge');
    };
    const resend = await postCode(a, sent, { method: 'code', email: 'race-resend@example.com' });
    assert.equal(resend.status, 400, JSON.stringify(resend.body));
    assert.deepEqual(messageIds(resend.body), [4060001]);
    assert.equal((await courier.to('race-resend@example.com')).length, 1, 'no mail with a code that was never stored');
  });
});
