// Identifier-first login (SPEC §9) over HTTP, and the unified login's identifier-only submit (issue 14, finding 8):
// both steps (JSON, form, API flows), non-discoverable credentials, the identifier bound to the assertion, decoys for
// unknown identifiers, and the options. Every ceremony is signed by the software authenticator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  type NodeJson,
  node,
  ORIGIN,
  RP,
  register,
  requestOptionsOf,
  submitAssertion,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

const IDENTIFIER_FIRST: Partial<PasskeysOptions> = { login: { style: 'identifier_first' } };

/** What a client can tell about an answer, without the values that differ on every call (ids, tokens, challenges). */
function shape(status: number, flow: FlowJson) {
  const options = requestOptionsOf(flow);
  return {
    status,
    state: flow.state,
    active: flow.active,
    messages: (flow.ui.messages ?? []).map((m) => m.id),
    nodes: flow.ui.nodes.map((n: NodeJson) => ({
      type: n.type,
      group: n.group,
      name: n.attributes.name ?? n.attributes.id,
      inputType: n.attributes.type,
      value: ['csrf_token', 'passkey_challenge', 'identifier'].includes(String(n.attributes.name))
        ? typeof n.attributes.value
        : n.attributes.value,
      messages: n.messages.map((m) => m.id),
      label: n.meta.label?.id,
    })),
    challenge: Object.keys(options).sort(),
    allow: ((options.allowCredentials ?? []) as Record<string, unknown>[]).map((c) => ({
      keys: Object.keys(c).sort(),
      bytes: Buffer.from(String(c.id), 'base64url').length,
    })),
  };
}

/** Post `method=identifier_first` as JSON. */
function submitIdentifier(agent: Agent, flow: FlowJson, identifier: string) {
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'identifier_first', identifier });
}

const allowed = (flow: FlowJson): string[] =>
  (requestOptionsOf(flow).allowCredentials ?? []).map((c: { id: string }) => c.id);

/** Path and query of a `Location` header (absolute or not). */
const where = (location: string | undefined) => {
  const url = new URL(String(location), 'http://x');
  return url.pathname + url.search;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Median time (ms) of `rounds` known and `rounds` unknown submits, interleaved so that load hits both alike. */
async function timeKnownVsUnknown(
  rounds: number,
  submit: (identifier: string) => Promise<unknown>,
  known: string,
  unknown: (i: number) => string,
) {
  const times = { known: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const [kind, identifier] of i % 2
      ? ([
          ['unknown', unknown(i)],
          ['known', known],
        ] as const)
      : ([
          ['known', known],
          ['unknown', unknown(i)],
        ] as const)) {
      const t0 = process.hrtime.bigint();
      await submit(identifier);
      times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return { known: median(times.known), unknown: median(times.unknown) };
}

describe('unified login: an identifier alone tells nothing (issue 14, finding 8)', () => {
  it('answers a known account exactly as an unknown one (state, nodes, message ids)', async () => {
    const { agent } = makeApp();
    const { email } = await register(agent());
    const answer = async (identifier: string) => {
      const a = agent();
      const flow = await initFlow(a, 'login');
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), method: 'passkey', identifier });
      return shape(res.status, res.body);
    };
    // The attack: submit an address with no assertion and compare the answers. Before the fix, a known account got
    // 4000002 on `passkey_login`, an unknown one 4000015 in `ui.messages`.
    const known = await answer(email);
    const unknown = await answer('nobody@example.com');
    assert.deepEqual(known, unknown);
    assert.equal(known.status, 400);
    assert.deepEqual(known.messages, [4000015]);
    assert.ok(known.nodes.every((n) => n.messages.length === 0));
    // A form post (no UI page configured: the flow JSON) and the same address in another spelling: alike too.
    assert.deepEqual(await answer(` ${email.toUpperCase()} `), unknown);
  });

  it('times known and unknown identifier-only submits alike (median of 50 each, interleaved)', async () => {
    const { agent } = makeApp();
    const { email } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const submit = (identifier: string) =>
      a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), method: 'passkey', identifier })
        .expect(400);
    await submit(email); // warm-up
    const { known, unknown } = await timeKnownVsUnknown(50, submit, email, (i) => `nobody${i}@example.com`);
    console.log(
      `unified identifier-only submit: median known ${known.toFixed(3)} ms, unknown ${unknown.toFixed(3)} ms (50 each)`,
    );
    assert.ok(known > 0 && unknown > 0);
  });
});

describe('identifier-first login: step one', () => {
  it('shows the identifier in group identifier_first, conditional UI, the passkey button and Continue', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const flow = await initFlow(agent(), 'login');
    assert.deepEqual(
      flow.ui.nodes.map((n) => [n.group, n.attributes.name ?? n.attributes.id]),
      [
        ['default', 'csrf_token'],
        ['identifier_first', 'identifier'],
        ['identifier_first', 'method'],
        ['webauthn', 'webauthn_script'],
        ['passkey', 'passkey_login_trigger'],
        ['passkey', 'passkey_login'],
        ['passkey', 'passkey_challenge'],
      ],
    );
    const identifier = node(flow, 'identifier');
    assert.equal(identifier.attributes.type, 'text');
    assert.equal(identifier.attributes.required, true);
    assert.equal(identifier.attributes.autocomplete, 'username webauthn');
    assert.deepEqual(identifier.meta.label, { id: 1070004, text: 'E-Mail', type: 'info' });
    const submit = node(flow, 'method');
    assert.deepEqual(
      [submit.group, submit.attributes.type, submit.attributes.value, submit.meta.label?.id],
      ['identifier_first', 'submit', 'identifier_first', 1070009],
    );
    assert.equal(node(flow, 'passkey_login').attributes.onloadTrigger, 'oryPasskeyLoginAutocompleteInit');
    assert.equal(requestOptionsOf(flow).allowCredentials, undefined);
    assert.equal(flow.active, undefined);
    assert.equal(flow.state, 'choose_method');
  });

  it('still signs in a discoverable passkey at step one (autofill or the button)', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const { authenticator, body } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await submitAssertion(a, flow, authenticator.get(requestOptionsOf(flow), { origin: ORIGIN }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.session.identity.id, body.identity.id);
  });

  it('refuses an empty identifier on its node and stays at step one', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await submitIdentifier(a, flow, '  ');
    assert.equal(res.status, 400);
    assert.deepEqual(
      node(res.body, 'identifier').messages.map((m) => m.id),
      [4000002],
    );
    assert.equal(node(res.body, 'identifier').attributes.type, 'text');
    assert.equal(node(res.body, 'method').attributes.value, 'identifier_first');
  });

  it('the unified style refuses method=identifier_first (4010002)', async () => {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'login');
    const res = await submitIdentifier(a, flow, 'someone@example.com');
    assert.equal(res.status, 400);
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4010002],
    );
  });
});

describe('identifier-first login: step two', () => {
  it('JSON: a 400 with step two (hidden identifier, active, a new challenge allowing the passkeys), then signs in', async () => {
    const { agent, store } = makeApp(IDENTIFIER_FIRST);
    const owner = agent();
    const { authenticator, email, body } = await register(owner);
    // A second passkey for the same identity (added in settings), so that the list has two.
    const settings = await initFlow(owner, 'settings');
    const second = new SoftwareAuthenticator();
    await owner
      .post(actionPath(settings))
      .set('Accept', 'application/json')
      .send({
        csrf_token: csrfOf(settings),
        passkey_settings_register: JSON.stringify(second.create(creationOptionsOf(settings), { origin: ORIGIN })),
      })
      .expect(200);
    const a = agent();
    const stepOne = await initFlow(a, 'login');
    const res = await submitIdentifier(a, stepOne, ` ${email} `);
    assert.equal(res.status, 400);
    const stepTwo = res.body as FlowJson;
    assert.equal(stepTwo.id, stepOne.id);
    assert.equal(stepTwo.active, 'identifier_first');
    assert.equal(stepTwo.state, 'choose_method');
    const identifier = node(stepTwo, 'identifier');
    assert.deepEqual(
      [identifier.group, identifier.attributes.type, identifier.attributes.value],
      ['identifier_first', 'hidden', email],
    );
    assert.equal(
      stepTwo.ui.nodes.find((n) => n.attributes.name === 'method'),
      undefined,
      'the Continue submit is gone',
    );
    assert.equal(node(stepTwo, 'passkey_login_trigger').attributes.onclickTrigger, 'oryPasskeyLogin');
    assert.equal(node(stepTwo, 'passkey_login').attributes.onloadTrigger, undefined);
    assert.notEqual(requestOptionsOf(stepTwo).challenge, requestOptionsOf(stepOne).challenge);
    const passkeys = await store.listPasskeys(body.identity.id);
    assert.deepEqual(
      requestOptionsOf(stepTwo).allowCredentials,
      passkeys.map((p) => ({ id: p.id, type: 'public-key' })),
    );
    // Fetching the flow again shows step two as well.
    const fetched = await a.get(`/auth/self-service/login/flows?id=${stepTwo.id}`).expect(200);
    assert.equal(fetched.body.active, 'identifier_first');

    assert.equal(passkeys.length, 2);
    const assertion = authenticator.get(requestOptionsOf(stepTwo), { origin: ORIGIN });
    const done = await submitAssertion(a, stepTwo, assertion);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.session.identity.id, body.identity.id);
  });

  it('form posts: 303 to the login page at each step, then to defaultReturnTo; without a UI page, the flow JSON', async () => {
    const { agent } = makeApp({ ...IDENTIFIER_FIRST, urls: { ui: { login: '/login' } } });
    const { authenticator, email, body } = await register(agent());
    const a = agent();
    const stepOne = await initFlow(a, 'login');
    const res = await a
      .post(actionPath(stepOne))
      .type('form')
      .send({ csrf_token: csrfOf(stepOne), identifier: email, method: 'identifier_first' });
    assert.equal(res.status, 303);
    assert.equal(where(res.headers.location), `/login?flow=${stepOne.id}`);
    const stepTwo = (await a.get(`/auth/self-service/login/flows?id=${stepOne.id}`).expect(200)).body as FlowJson;
    assert.equal(node(stepTwo, 'identifier').attributes.type, 'hidden');
    const assertion = authenticator.get(requestOptionsOf(stepTwo), { origin: ORIGIN, userHandle: null });
    const done = await a
      .post(actionPath(stepTwo))
      .type('form')
      .send({
        csrf_token: csrfOf(stepTwo),
        identifier: email,
        passkey_login: JSON.stringify(assertion),
      });
    assert.equal(done.status, 303);
    assert.equal(where(done.headers.location), '/');
    assert.equal((await a.get('/auth/sessions/whoami').expect(200)).body.identity.id, body.identity.id);

    const plain = makeApp(IDENTIFIER_FIRST);
    const b = plain.agent();
    const flow = await initFlow(b, 'login');
    const json = await b
      .post(actionPath(flow))
      .type('form')
      .send({ csrf_token: csrfOf(flow), identifier: 'someone@example.com', method: 'identifier_first' });
    assert.equal(json.status, 400);
    assert.equal(json.body.active, 'identifier_first');
  });

  it('API flows: the same two steps, then a session token', async () => {
    const { app, agent } = makeApp(IDENTIFIER_FIRST);
    const { authenticator, email, body } = await register(agent());
    const native = request(app);
    const stepOne = (await native.get('/auth/self-service/login/api').expect(200)).body as FlowJson;
    assert.equal(node(stepOne, 'identifier').group, 'identifier_first');
    const res = await native
      .post(actionPath(stepOne))
      .send({ method: 'identifier_first', identifier: email })
      .expect(400);
    assert.equal(res.body.active, 'identifier_first');
    const assertion = authenticator.get(requestOptionsOf(res.body), { origin: ORIGIN, userHandle: null });
    const done = await native
      .post(actionPath(stepOne))
      .send({ method: 'passkey', passkey_login: JSON.stringify(assertion) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.session.identity.id, body.identity.id);
    assert.ok(done.body.session_token);
  });

  it('signs in with a non-discoverable credential (no user handle), which the unified style cannot', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const { authenticator, email, body } = await register(agent());
    const a = agent();
    const stepOne = await initFlow(a, 'login');
    // Step one is a discoverable sign-in: an assertion without a user handle names nobody.
    const discoverable = authenticator.get(requestOptionsOf(stepOne), { origin: ORIGIN, userHandle: null });
    const refused = await submitAssertion(a, stepOne, discoverable);
    assert.equal(refused.status, 400);
    assert.deepEqual(
      refused.body.ui.messages.map((m: { id: number }) => m.id),
      [4000043],
    );
    const stepTwo = (await submitIdentifier(a, refused.body, email).expect(400)).body as FlowJson;
    const assertion = authenticator.get(requestOptionsOf(stepTwo), { origin: ORIGIN, userHandle: null });
    assert.equal(assertion.response.userHandle, undefined);
    const res = await submitAssertion(a, stepTwo, assertion);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.session.identity.id, body.identity.id);
  });

  it("refuses another identity's passkey (4000043) and an unknown credential (4000015), with no signal", async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const alice = await register(agent());
    const bob = await register(agent());
    const a = agent();
    const stepOne = await initFlow(a, 'login');
    const stepTwo = (await submitIdentifier(a, stepOne, alice.email).expect(400)).body as FlowJson;
    const bobs = bob.authenticator.get(requestOptionsOf(stepTwo), {
      origin: ORIGIN,
      credentialId: bob.authenticator.credentials[0]?.idB64u,
    });
    const refused = await submitAssertion(a, stepTwo, bobs);
    assert.equal(refused.status, 400);
    assert.deepEqual(
      refused.body.ui.messages.map((m: { id: number }) => m.id),
      [4000043],
    );
    assert.equal(refused.body.active, 'identifier_first', 'still at step two, with a new challenge');
    assert.notEqual(requestOptionsOf(refused.body).challenge, requestOptionsOf(stepTwo).challenge);

    // A credential this server has never seen (created for a registration that was never submitted).
    const stranger = new SoftwareAuthenticator();
    const registration = await initFlow(agent(), 'registration');
    stranger.create(creationOptionsOf(registration), { origin: ORIGIN });
    const unknown = stranger.get(requestOptionsOf(refused.body), {
      origin: ORIGIN,
      credentialId: stranger.credentials[0]?.idB64u,
    });
    const unknownRes = await submitAssertion(a, refused.body, unknown);
    assert.equal(unknownRes.status, 400);
    assert.deepEqual(
      unknownRes.body.ui.messages.map((m: { id: number }) => m.id),
      [4000015],
    );
    assert.equal(
      unknownRes.body.ui.nodes.find((n: NodeJson) => n.attributes.name === 'passkey_signal'),
      undefined,
      'no unknownCredential signal on step two',
    );
    assert.equal((await a.get('/auth/sessions/whoami')).status, 401);

    // Alice's own passkey still works on the same flow.
    const own = alice.authenticator.get(requestOptionsOf(unknownRes.body), { origin: ORIGIN });
    assert.equal((await submitAssertion(a, unknownRes.body, own)).status, 200);
  });

  it('binds the identifier at step one: one posted with the assertion is ignored; a new step one replaces it', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const alice = await register(agent());
    const bob = await register(agent());
    const a = agent();
    const stepOne = await initFlow(a, 'login');
    const stepTwo = (await submitIdentifier(a, stepOne, alice.email).expect(400)).body as FlowJson;
    const post = (flow: FlowJson, assertion: unknown, identifier: string) =>
      a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), identifier, passkey_login: JSON.stringify(assertion) });
    // Bob's passkey with Bob's identifier posted back: still Alice's flow.
    const bobs = bob.authenticator.get(requestOptionsOf(stepTwo), {
      origin: ORIGIN,
      credentialId: bob.authenticator.credentials[0]?.idB64u,
      userHandle: null,
    });
    const refused = await post(stepTwo, bobs, bob.email);
    assert.equal(refused.status, 400);
    assert.equal(node(refused.body, 'identifier').attributes.value, alice.email);
    // A new identifier_first submit rebinds the flow to Bob.
    const rebound = (await submitIdentifier(a, refused.body, bob.email).expect(400)).body as FlowJson;
    assert.equal(node(rebound, 'identifier').attributes.value, bob.email);
    assert.deepEqual(allowed(rebound), [bob.authenticator.credentials[0]?.idB64u]);
    const alices = alice.authenticator.get(requestOptionsOf(rebound), {
      origin: ORIGIN,
      credentialId: alice.authenticator.credentials[0]?.idB64u,
    });
    assert.equal((await post(rebound, alices, alice.email)).status, 400);
    const fresh = (await a.get(`/auth/self-service/login/flows?id=${rebound.id}`).expect(200)).body as FlowJson;
    const ok = await post(
      fresh,
      bob.authenticator.get(requestOptionsOf(fresh), { origin: ORIGIN, userHandle: null }),
      alice.email,
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.session.identity.id, bob.body.identity.id);
  });

  it('refresh logins keep the unified nodes (the identity is known), with allowCredentials', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const a = agent();
    const { authenticator } = await register(a);
    const refresh = await initFlow(a, 'login', '?refresh=true');
    assert.equal(node(refresh, 'identifier').group, 'default');
    assert.equal(
      refresh.ui.nodes.find((n) => n.attributes.name === 'method'),
      undefined,
    );
    assert.deepEqual(allowed(refresh), [authenticator.credentials[0]?.idB64u]);
  });
});

describe('identifier-first login: unknown identifiers look like known ones', () => {
  it('the same step two, with 1 or 2 decoy ids of 32 bytes, stable across calls and spellings', async () => {
    // A store in which one identity has lost its passkeys (the flows never leave one without; an admin might).
    const bareIds = new Set<string>();
    const store = new (class extends MemoryStore {
      override async listPasskeys(identityId: string) {
        return bareIds.has(identityId) ? [] : super.listPasskeys(identityId);
      }
    })();
    const { agent } = makeApp({ ...IDENTIFIER_FIRST, store });
    const { email } = await register(agent());
    const bare = await register(agent(), 'bare@example.com');
    bareIds.add(bare.body.identity.id);
    const stepTwo = async (identifier: string) => {
      const a = agent();
      const res = await submitIdentifier(a, await initFlow(a, 'login'), identifier);
      return { status: res.status, flow: res.body as FlowJson };
    };
    const known = await stepTwo(email);
    const unknown = await stepTwo('nobody@example.com');
    const knownShape = shape(known.status, known.flow);
    const unknownShape = shape(unknown.status, unknown.flow);
    // The software authenticator makes 32-byte ids, as many authenticators do: the one passkey looks like a decoy.
    assert.deepEqual({ ...unknownShape, allow: unknownShape.allow.slice(0, 1) }, knownShape);
    assert.ok(unknownShape.allow.every((c) => c.bytes === 32 && c.keys.join() === 'id,type'));

    const decoys = allowed(unknown.flow);
    assert.deepEqual(allowed((await stepTwo('nobody@example.com')).flow), decoys, 'stable across calls');
    assert.deepEqual(allowed((await stepTwo('  NoBody@Example.COM ')).flow), decoys, 'over the normalised identifier');
    assert.notDeepEqual(allowed((await stepTwo('somebody@example.com')).flow), decoys);
    // An inactive identity (SPEC §8): decoys too, not its passkeys.
    const inactive = await register(agent(), 'inactive@example.com');
    const record = await store.getIdentity(inactive.body.identity.id);
    assert.ok(record);
    assert.ok(await store.updateIdentity({ ...record, state: 'inactive', updatedAt: new Date() }, record.updatedAt));
    const inactiveDecoys = allowed((await stepTwo(inactive.email)).flow);
    assert.ok(inactiveDecoys.length === 1 || inactiveDecoys.length === 2);
    assert.ok(!inactiveDecoys.includes(String(inactive.authenticator.credentials[0]?.idB64u)));
    assert.deepEqual(allowed((await stepTwo(inactive.email)).flow), inactiveDecoys, 'stable');

    const bareDecoys = allowed((await stepTwo(bare.email)).flow);
    assert.ok(bareDecoys.length === 1 || bareDecoys.length === 2, 'an identity without passkeys gets decoys');
    assert.ok(!bareDecoys.includes(String(bare.authenticator.credentials[0]?.idB64u)));

    // The count comes from the hash: among 24 identifiers both counts appear (a chance of 2^-23 that they would not).
    const counts = new Set<number>();
    for (let i = 0; i < 24; i++) counts.add(allowed((await stepTwo(`person${i}@example.org`)).flow).length);
    assert.deepEqual([...counts].sort(), [1, 2]);

    // Signing in then fails as for any credential the account does not have.
    const a = agent();
    const flow = (await submitIdentifier(a, await initFlow(a, 'login'), 'nobody@example.com')).body as FlowJson;
    const stranger = new SoftwareAuthenticator();
    stranger.create(creationOptionsOf(await initFlow(agent(), 'registration')), { origin: ORIGIN });
    const res = await submitAssertion(
      a,
      flow,
      stranger.get(requestOptionsOf(flow), { origin: ORIGIN, credentialId: stranger.credentials[0]?.idB64u }),
    );
    assert.deepEqual(
      res.body.ui.messages.map((m: { id: number }) => m.id),
      [4000015],
    );
  });

  it('decoys are keyed by `secrets`: the same on every instance sharing them, others elsewhere', async () => {
    const secrets = ['a'.repeat(32)];
    const decoysOf = async (options: Partial<PasskeysOptions>) => {
      const { agent } = makeApp({ ...IDENTIFIER_FIRST, ...options });
      const a = agent();
      return allowed((await submitIdentifier(a, await initFlow(a, 'login'), 'nobody@example.com')).body);
    };
    const one = await decoysOf({ secrets });
    assert.deepEqual(await decoysOf({ secrets }), one);
    assert.deepEqual(await decoysOf({ secrets: [...secrets, 'b'.repeat(32)] }), one, 'the first secret keys them');
    assert.notDeepEqual(await decoysOf({ secrets: ['c'.repeat(32)] }), one);
    // MemoryStore without secrets: a random key per instance.
    assert.notDeepEqual(await decoysOf({}), await decoysOf({}));
  });

  it('times known and unknown step-one submits alike (median of 50 each, interleaved)', async () => {
    const { agent } = makeApp(IDENTIFIER_FIRST);
    const { email } = await register(agent());
    const a = agent();
    const flow = await initFlow(a, 'login');
    const submit = (identifier: string) => submitIdentifier(a, flow, identifier).expect(400);
    await submit(email); // warm-up
    const { known, unknown } = await timeKnownVsUnknown(50, submit, email, (i) => `nobody${i}@example.com`);
    console.log(
      `identifier-first step-one submit: median known ${known.toFixed(3)} ms, unknown ${unknown.toFixed(3)} ms (50 each)`,
    );
    assert.ok(known > 0 && unknown > 0);
  });
});

describe('login.style option', () => {
  const base = { rp: RP, store: new MemoryStore() };
  it('accepts unified and identifier_first, refuses anything else', () => {
    passkeys({ ...base, login: { style: 'unified' } });
    passkeys({ ...base, login: { style: 'identifier_first' } });
    assert.throws(
      () => passkeys({ ...base, login: { style: 'identifier-first' as 'identifier_first' } }),
      /`login.style` must be one of 'unified', 'identifier_first'/,
    );
    assert.throws(
      () => passkeys({ ...base, login: { styl: 'unified' } as never }),
      /unknown option `login.styl`. Did you mean `style`\?/,
    );
  });

  it('identifier_first needs `secrets` with a store other than MemoryStore; secrets need no courier then', () => {
    // An adapter of the app's own (here: one delegating to a MemoryStore, which it is not).
    const memory = new MemoryStore() as unknown as Record<string, (...args: unknown[]) => unknown>;
    const other = Object.fromEntries(
      Object.getOwnPropertyNames(MemoryStore.prototype)
        .filter((name) => name !== 'constructor' && typeof memory[name] === 'function')
        .map((name) => [name, (memory[name] as (...args: unknown[]) => unknown).bind(memory)]),
    );
    assert.throws(
      () => passkeys({ rp: RP, store: other as never, login: { style: 'identifier_first' } }),
      /`login.style: 'identifier_first'` needs `secrets`/,
    );
    passkeys({ rp: RP, store: other as never, login: { style: 'identifier_first' }, secrets: ['x'.repeat(32)] });
    assert.throws(
      () => passkeys({ ...base, login: { style: 'identifier_first' }, secrets: ['short'] }),
      /`secrets\[0\]` is 5 characters long/,
    );
    assert.throws(() => passkeys({ ...base, secrets: ['x'.repeat(32)] }), /`secrets` is for recovery/);
  });
});
