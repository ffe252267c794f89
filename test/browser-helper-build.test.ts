// The browser helper's build: the committed compiled module is a fresh compile of src/browser/webauthn.ts, and the
// router serves exactly those bytes under the integrity hash its flows carry.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { WEBAUTHN_SCRIPT } from '../src/browser/webauthn.generated.js';
import { initFlow, makeApp } from './helpers/app.js';

describe('browser helper build', () => {
  it('src/browser/webauthn.generated.ts is what compiling src/browser/webauthn.ts gives (type-checked, ASCII)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-browser.mjs', '--check'], { encoding: 'utf8' });
    assert.match(out, /matches src\/browser\/webauthn\.ts/);
    assert.ok(
      [...WEBAUTHN_SCRIPT].every((ch) => ch === '\n' || (ch >= ' ' && ch <= '~')),
      'printable ASCII, so the served UTF-8 bytes are the characters hashed',
    );
    assert.ok(WEBAUTHN_SCRIPT.includes('window.PublicKeyCredential'), 'the compiled helper, not a stub');
  });

  for (const kind of ['registration', 'login'] as const) {
    it(`the ${kind} flow's webauthn_script node names the served bytes: src and sha512 integrity`, async () => {
      const { agent } = makeApp();
      const a = agent();
      const flow = await initFlow(a, kind);
      const script = flow.ui.nodes.find((n) => n.type === 'script');
      assert.ok(script, 'webauthn_script node');
      const src = new URL(String(script.attributes.src));
      const res = await a.get(src.pathname).buffer(true).expect(200);
      const bytes = Buffer.from(res.text, 'utf8');
      assert.deepEqual(bytes, Buffer.from(WEBAUTHN_SCRIPT, 'utf8'));
      assert.equal(script.attributes.integrity, `sha512-${createHash('sha512').update(bytes).digest('base64')}`);
    });
  }
});
