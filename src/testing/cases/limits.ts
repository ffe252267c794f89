// Conformance cases. Limit counters: atomic increments in a fixed window, expiry, independent keys, reads.

import assert from 'node:assert/strict';
import type { CounterState, Store } from '../../store/types.js';
import { randomBase64url } from '../fixtures.js';
import { MINUTE, withClockAhead } from './support.js';

type CounterStore = Store & Required<Pick<Store, 'incrementCounter' | 'getCounter'>>;

/** The store, if it has the counter methods; otherwise a failed assertion that says when they are needed. */
function counters(store: Store): CounterStore {
  assert.equal(
    typeof store.incrementCounter,
    'function',
    'incrementCounter is missing: it is required when a `courier` is set (recovery and verification keep their limits in the store). Without recovery, skip the limit cases.',
  );
  assert.equal(typeof store.getCounter, 'function', 'getCounter is missing (required with incrementCounter)');
  return store as CounterStore;
}

function assertState(state: CounterState | null, count: number, resetAt: number, what: string): void {
  assert.ok(state, `${what}: expected a counter, got ${String(state)}`);
  assert.equal(state.count, count, `${what}: count`);
  assert.ok(state.resetAt instanceof Date, `${what}: resetAt must be a Date`);
  assert.ok(
    Math.abs(state.resetAt.getTime() - resetAt) <= 1000,
    `${what}: resetAt ${state.resetAt.toISOString()} should be about ${new Date(resetAt).toISOString()}`,
  );
}

const key = (what: string) => `kit:${what}:${randomBase64url(12)}`;

export const limitCases = {
  async 'incrementCounter: 50 concurrent increments of one key count 1 to 50, each exactly once, in one window'(
    store: Store,
  ) {
    const s = counters(store);
    const k = key('race');
    const before = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, () => s.incrementCounter(k, 10 * MINUTE)));
    for (const r of results) {
      assert.equal(typeof r.count, 'number', `count must be a number, got ${typeof r.count}`);
      assert.ok(r.resetAt instanceof Date, `resetAt must be a Date, got ${Object.prototype.toString.call(r.resetAt)}`);
    }
    const counts = results.map((r) => r.count).sort((a, b) => a - b);
    assert.deepEqual(
      counts,
      Array.from({ length: 50 }, (_, i) => i + 1),
      'every count from 1 to 50 exactly once (a lost update repeats one)',
    );
    const resets = new Set(results.map((r) => r.resetAt.getTime()));
    assert.equal(resets.size, 1, 'one window: every increment returns the same resetAt');
    const resetAt = results[0]!.resetAt.getTime();
    assert.ok(
      resetAt >= before + 10 * MINUTE - 1000 && resetAt <= Date.now() + 10 * MINUTE + 1000,
      'resetAt is one window after the first increment',
    );
    assertState(await s.getCounter(k), 50, resetAt, 'getCounter after the race');
    // And a second burst on the same key goes on from 50.
    const more = await Promise.all(Array.from({ length: 10 }, () => s.incrementCounter(k, 10 * MINUTE)));
    assert.deepEqual(
      more.map((r) => r.count).sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 51),
    );
  },

  async 'incrementCounter: the window is fixed; once it has passed the count starts again at 1'(store: Store) {
    const s = counters(store);
    const k = key('expiry');
    const first = await s.incrementCounter(k, 5 * MINUTE);
    assertState(first, 1, Date.now() + 5 * MINUTE, 'a new key starts at 1');
    const second = await withClockAhead(2 * MINUTE, () => s.incrementCounter(k, 5 * MINUTE));
    assertState(second, 2, first.resetAt.getTime(), 'within the window the count goes on');
    assert.equal(second.resetAt.getTime(), first.resetAt.getTime(), 'within the window resetAt stays put (fixed)');
    assertState(
      await withClockAhead(4 * MINUTE, () => s.getCounter(k)),
      2,
      first.resetAt.getTime(),
      'read before the end',
    );
    assert.equal(
      await withClockAhead(5 * MINUTE + 1000, () => s.getCounter(k)),
      null,
      'getCounter: null once the window has passed',
    );
    const third = await withClockAhead(5 * MINUTE + 1000, () => s.incrementCounter(k, 5 * MINUTE));
    assert.equal(third.count, 1, 'after the window a new one starts at 1');
    assert.ok(
      third.resetAt.getTime() >= first.resetAt.getTime() + 5 * MINUTE,
      'the new window ends one window after its first event',
    );
    // A short window passes in real time too.
    const quick = key('quick');
    await s.incrementCounter(quick, 50);
    await s.incrementCounter(quick, 50);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(await s.getCounter(quick), null, 'a 50 ms window has passed after 120 ms');
    assert.equal((await s.incrementCounter(quick, 50)).count, 1, 'and counting starts again');
  },

  async 'incrementCounter: keys are independent and compared exactly; getCounter does not count'(store: Store) {
    const s = counters(store);
    const a = key('a');
    const b = `${a}:b`;
    const upper = a.toUpperCase();
    assert.equal(await s.getCounter(a), null, 'an unknown key reads null');
    await Promise.all([
      ...Array.from({ length: 5 }, () => s.incrementCounter(a, MINUTE)),
      ...Array.from({ length: 3 }, () => s.incrementCounter(b, MINUTE)),
    ]);
    assert.equal((await s.getCounter(a))?.count, 5, 'key a');
    assert.equal((await s.getCounter(a))?.count, 5, 'reading twice does not count');
    assert.equal((await s.getCounter(b))?.count, 3, 'a key with a as prefix is another key');
    assert.equal(await s.getCounter(upper), null, 'case matters');
    assert.equal((await s.incrementCounter(upper, MINUTE)).count, 1, 'the upper-case key counts on its own');
    // Each key keeps its own window.
    const long = key('long');
    await s.incrementCounter(long, 60 * MINUTE);
    await s.incrementCounter(a, MINUTE);
    assert.equal(
      await withClockAhead(2 * MINUTE, () => s.getCounter(a)),
      null,
      'the one-minute key has expired after two minutes',
    );
    assert.equal((await withClockAhead(2 * MINUTE, () => s.getCounter(long)))?.count, 1, 'the one-hour key lives on');
  },
};

/** Calls of the counter methods a store has, for `checkFailuresReject` (a broken store must reject them too). */
export function counterCalls(store: Store): [string, () => Promise<unknown>][] {
  const calls: [string, () => Promise<unknown>][] = [];
  if (store.incrementCounter) calls.push(['incrementCounter', () => store.incrementCounter!(key('broken'), MINUTE)]);
  if (store.getCounter) calls.push(['getCounter', () => store.getCounter!(key('broken'))]);
  return calls;
}
