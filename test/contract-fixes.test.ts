// Contract fix: a browser-flow POST whose csrf_token is present but not a string is a malformed token, 403
// security_csrf_violation (SPEC §2 Outcomes), in every flow.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actionPath, csrfOf, type FlowJson, initFlow, makeApp, register } from './helpers/app.js';

describe('a csrf_token that is not a string is a CSRF violation (403), in every browser flow', () => {
  const kinds = ['registration', 'login', 'settings'] as const;
  const malformed: [string, (flow: FlowJson) => unknown][] = [
    ['an array of the right token', (flow) => [csrfOf(flow), csrfOf(flow)]],
    ['an object', (flow) => ({ token: csrfOf(flow) })],
    ['a number', () => 12345],
    ['true', () => true],
    ['null', () => null],
    ['an over-long string', (flow) => csrfOf(flow).repeat(8)],
  ];

  for (const kind of kinds) {
    it(`${kind}: JSON bodies`, async () => {
      const { agent } = makeApp();
      const a = agent();
      if (kind === 'settings') await register(a);
      for (const [what, token] of malformed) {
        const flow = await initFlow(a, kind);
        const res = await a
          .post(actionPath(flow))
          .set('Accept', 'application/json')
          .send({ csrf_token: token(flow), method: 'passkey', identifier: 'x@example.com' });
        assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.id, 'security_csrf_violation', what);
      }
      // The control: the same post with the token as a string gets past the CSRF check.
      const flow = await initFlow(a, kind);
      const ok = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({ csrf_token: csrfOf(flow), method: 'passkey', identifier: 'x@example.com' });
      assert.equal(ok.status, 400, JSON.stringify(ok.body));
      assert.ok(ok.body.ui, 'a flow with a validation message, not an error');
    });

    it(`${kind}: a form post repeating csrf_token (an array)`, async () => {
      const { agent } = makeApp();
      const a = agent();
      if (kind === 'settings') await register(a);
      const flow = await initFlow(a, kind);
      const token = encodeURIComponent(csrfOf(flow));
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .type('form')
        .send(`csrf_token=${token}&csrf_token=${token}&method=passkey`);
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.id, 'security_csrf_violation');
    });
  }

  it('API flows ignore csrf_token whatever its type (no 400 bad_request, no 5xx)', async () => {
    const { agent } = makeApp();
    const init = await agent().get('/auth/self-service/login/api').set('Accept', 'application/json').expect(200);
    const res = await agent()
      .post(actionPath(init.body))
      .set('Accept', 'application/json')
      .send({ csrf_token: { not: 'a string' }, method: 'passkey', identifier: 'nobody@example.com' });
    assert.equal(res.status, 400);
    assert.equal(res.body.ui.messages[0].id, 4000015);
  });
});
