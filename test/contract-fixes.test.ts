// Two contract fixes: (1) a browser-flow POST whose csrf_token is present but not a string is a malformed token, 403
// security_csrf_violation (SPEC §2 Outcomes), in every flow; (2) scripts/check-engines.mjs (run by check-pack.mjs)
// fails when a runtime dependency, as installed, declares engines.node that exclude part of ours.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { actionPath, csrfOf, type FlowJson, initFlow, makeApp, register } from './helpers/app.js';

describe('a csrf_token that is not a string is a CSRF violation (403), in every browser flow', () => {
  const kinds = ['registration', 'login', 'settings'] as const;
  const malformed: [string, (flow: FlowJson) => unknown][] = [
    ['an array of the right token (JSON: an array is not a token)', (flow) => [csrfOf(flow), csrfOf(flow)]],
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

    it(`${kind}: a form post repeating csrf_token: one value is that token (SPEC §9), two values a violation`, async () => {
      const { agent } = makeApp();
      const a = agent();
      if (kind === 'settings') await register(a);
      const flow = await initFlow(a, kind);
      const token = encodeURIComponent(csrfOf(flow));
      // Ory Elements' method chooser posts hidden fields twice: the same token twice gets past the CSRF check.
      const same = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .type('form')
        .send(`csrf_token=${token}&csrf_token=${token}&method=passkey`);
      assert.equal(same.status, 400, JSON.stringify(same.body));
      assert.ok(same.body.ui, 'a flow with a validation message, not an error');
      const other = encodeURIComponent(`${csrfOf(flow).slice(0, -2)}AA`);
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .type('form')
        .send(`csrf_token=${token}&csrf_token=${other}&method=passkey`);
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

describe('scripts/check-engines.mjs: runtime dependencies must accept every Node our engines.node accepts', () => {
  const script = resolve('scripts/check-engines.mjs');
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  type Pkg = { name?: string; version?: string; engines?: { node: string }; dependencies?: Record<string, string> };
  /** A fake project: `tree` maps paths under node_modules (`a`, `@s/p`, `a/node_modules/c`) to package.json contents. */
  function project(root: Pkg, tree: Record<string, Pkg>) {
    const dir = mkdtempSync(join(tmpdir(), 'engines-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'me', version: '1.0.0', ...root }));
    for (const [path, pkg] of Object.entries(tree)) {
      const where = join(dir, 'node_modules', path);
      mkdirSync(where, { recursive: true });
      const name = path.split('/node_modules/').pop() ?? path;
      writeFileSync(join(where, 'package.json'), JSON.stringify({ name, version: '1.0.0', ...pkg }));
    }
    const run = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    return { status: run.status, out: run.stdout, err: run.stderr };
  }

  const ours = { engines: { node: '>=20' } };

  it('passes a tree whose ranges all cover >=20 (>=X, ^X || >=Y, unions, >= 0.8, none declared)', () => {
    const result = project(
      { ...ours, dependencies: { a: '1', '@s/p': '1', b: '1' } },
      {
        a: { engines: { node: '>= 0.8' }, dependencies: { c: '1' } },
        c: { engines: { node: '^14.17.0 || ^16.13.0 || >=18.0.0' } },
        '@s/p': { engines: { node: '>=20.0.0' } },
        b: {},
      },
    );
    assert.equal(result.status, 0, result.err);
    assert.match(result.out, /engines ok: 4 runtime packages accept node >=20/);
  });

  it('fails for a direct dependency needing Node 22 (the @simplewebauthn/server 14.1 case)', () => {
    const result = project(
      { ...ours, dependencies: { '@simplewebauthn/server': '^14.0.3' } },
      { '@simplewebauthn/server': { version: '14.1.0', engines: { node: '>=22.0.0' } } },
    );
    assert.equal(result.status, 1);
    assert.match(
      result.err,
      /@simplewebauthn\/server@14\.1\.0: engines\.node ">=22\.0\.0" excludes part of ours \(">=20"\)/,
    );
  });

  it('fails for a transitive dependency, resolved as Node resolves it (a nested copy wins over the hoisted one)', () => {
    const result = project(
      { ...ours, dependencies: { a: '1' } },
      {
        a: { dependencies: { c: '2' } },
        c: { engines: { node: '>=18' } },
        'a/node_modules/c': { version: '2.0.0', engines: { node: '^20.19 || >=22.12' } },
      },
    );
    assert.equal(result.status, 1);
    assert.match(result.err, /c@2\.0\.0: engines\.node "\^20\.19 \|\| >=22\.12" excludes part of ours/);
    assert.doesNotMatch(result.err, /c@1\.0\.0/);
  });

  it('fails for ranges that leave a gap or an upper bound, and for one it cannot read', () => {
    for (const range of ['^20 || >=22', '20.x', '>=20 <26', '~20.1', '>20', 'node 20']) {
      const result = project({ ...ours, dependencies: { a: '1' } }, { a: { engines: { node: range } } });
      assert.equal(result.status, 1, range);
      assert.match(result.err, /a@1\.0\.0/, range);
    }
  });

  it('fails for a dependency that is not installed', () => {
    const result = project({ ...ours, dependencies: { missing: '1' } }, {});
    assert.equal(result.status, 1);
    assert.match(result.err, /missing \(needed by me\) is not installed/);
  });

  it('this project passes', () => {
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  });
});
