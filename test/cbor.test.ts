// The strict CBOR checks that stand between a lax decoder and "an attestation object must decode completely".

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticatorDataWellFormed, cborItemEnd } from '../src/cbor.js';
import { encodeCbor } from './helpers/cbor.js';

describe('cborItemEnd', () => {
  it('finds the end of well-formed items', () => {
    for (const value of [0, 23, 24, 65_535, -1, 'text', new Uint8Array(300), [1, [2, [3]]], new Map([[1, 'a']])]) {
      const bytes = encodeCbor(value as never);
      assert.equal(cborItemEnd(bytes), bytes.length, String(value));
    }
    const two = new Uint8Array([...encodeCbor(1), ...encodeCbor('x')]);
    assert.equal(cborItemEnd(two), 1);
  });

  it('refuses truncated strings, arguments, containers, indefinite lengths and deep nesting', () => {
    const bytes = encodeCbor(new Map([['authData', new Uint8Array(40)]]));
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.throws(() => cborItemEnd(bytes.subarray(0, bytes.length - cut)), RangeError, `cut ${cut}`);
    }
    assert.throws(() => cborItemEnd(Uint8Array.of(0x5f, 0x41, 0x00, 0xff)), RangeError); // indefinite byte string
    assert.throws(() => cborItemEnd(Uint8Array.of(0x19, 0x01)), RangeError); // 2-byte argument, 1 present
    assert.throws(() => cborItemEnd(new Uint8Array(40).fill(0x81)), RangeError); // 40 nested arrays
  });
});

describe('authenticatorDataWellFormed', () => {
  const header = (flags: number) => new Uint8Array([...new Uint8Array(32), flags, 0, 0, 0, 1]);
  const attested = (key: Uint8Array) => new Uint8Array([...new Uint8Array(16), 0, 2, 7, 7, ...key]);
  const key = encodeCbor(
    new Map<number, unknown>([
      [1, 2],
      [3, -7],
    ]) as never,
  );
  const extensions = encodeCbor(new Map([['x', new Uint8Array(4)]]));

  it('accepts exactly its parts', () => {
    assert.equal(authenticatorDataWellFormed(header(0x01)), true);
    assert.equal(authenticatorDataWellFormed(new Uint8Array([...header(0x41), ...attested(key)])), true);
    assert.equal(authenticatorDataWellFormed(new Uint8Array([...header(0xc1), ...attested(key), ...extensions])), true);
  });

  it('refuses leftovers, missing parts and truncation', () => {
    assert.equal(authenticatorDataWellFormed(new Uint8Array(36)), false);
    assert.equal(authenticatorDataWellFormed(new Uint8Array([...header(0x01), 0])), false);
    assert.equal(authenticatorDataWellFormed(header(0x41)), false);
    const full = new Uint8Array([...header(0xc1), ...attested(key), ...extensions]);
    assert.equal(authenticatorDataWellFormed(full.subarray(0, full.length - 2)), false);
    assert.equal(
      authenticatorDataWellFormed(new Uint8Array([...header(0x41), ...attested(key), ...extensions])),
      false,
    );
  });
});
