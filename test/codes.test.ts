// One-time codes and the development courier: format, keyed hashes with rotation, long codes, consoleCourier.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codeHash, codeMatches, newCode } from '../src/codes.js';
import { consoleCourier } from '../src/index.js';

const key = (text: string) => Buffer.from(text.padEnd(32, '.'));

describe('codes', () => {
  it('are 6 decimal digits, spread over the whole range', () => {
    const seen = new Set<string>();
    let low = 0;
    for (let i = 0; i < 5000; i++) {
      const code = newCode();
      assert.match(code, /^[0-9]{6}$/);
      seen.add(code);
      if (code.startsWith('0')) low++;
    }
    assert.ok(seen.size > 4950, `only ${seen.size} distinct codes in 5000`);
    assert.ok(low > 350 && low < 650, `${low} codes start with 0 (expected about 500): leading zeros are kept`);
  });

  it('are stored as a keyed hash bound to the flow, verified under any current key', () => {
    const [a, b] = [key('first'), key('second')];
    const stored = codeHash([a], 'flow-1', '123456');
    assert.doesNotMatch(stored, /123456/);
    assert.equal(codeMatches([a], 'flow-1', '123456', stored), true);
    assert.equal(codeMatches([a], 'flow-2', '123456', stored), false, 'bound to its flow');
    assert.equal(codeMatches([a], 'flow-1', '123457', stored), false);
    assert.equal(codeMatches([b, a], 'flow-1', '123456', stored), true, 'an older key still verifies');
    assert.equal(codeMatches([b], 'flow-1', '123456', stored), false, 'a dropped key no longer does');
    assert.equal(codeMatches([a], 'flow-1', '123456', 'short'), false);
  });

  it('long codes: 12 decimal digits, each position spread over 0-9', () => {
    const seen = Array.from({ length: 12 }, () => new Set<string>());
    for (let i = 0; i < 400; i++) {
      const code = newCode(12);
      assert.match(code, /^[0-9]{12}$/);
      for (const [position, digit] of [...code].entries()) seen[position]!.add(digit);
    }
    for (const digits of seen) assert.equal(digits.size, 10, 'every digit appears at every position');
  });

  it('consoleCourier prints the code and link, and nothing under NODE_ENV=production', async (t) => {
    const lines: string[] = [];
    const courier = consoleCourier({ write: (line) => lines.push(line) });
    const model = {
      to: 'a@example.com',
      verificationCode: '042042',
      verificationUrl: 'http://localhost/v?code=042042',
      requestUrl: 'http://localhost/',
      expiresInMinutes: 60,
    };
    await courier.send({ template: 'verification_code_valid', to: 'a@example.com', model });
    assert.match(lines.join('\n'), /042042/);
    assert.match(lines.join('\n'), /http:\/\/localhost\/v\?code=042042/);
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    t.mock.method(console, 'warn', () => {});
    try {
      await courier.send({ template: 'verification_code_valid', to: 'a@example.com', model });
    } finally {
      if (env === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = env;
    }
    assert.equal(lines.length, 1, 'nothing printed in production');
  });
});
