// MemoryStore behaviour beyond the conformance kit: sweeping, the flow cap, the production warning, memory per flow.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from '../src/store/memory.js';
import type { FlowRecord } from '../src/store/types.js';
import { makeSession } from '../src/testing/fixtures.js';

const HOUR = 60 * 60 * 1000;

function flow(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: randomUUID(),
    version: 0,
    expiresAt: new Date(Date.now() + 10 * 60 * 1000),
    challenge: randomUUID(),
    anonymous: true,
    data: { type: 'browser', state: 'choose_method', return_to: 'https://example.com/after' },
    ...overrides,
  };
}

/** ~200 bytes of JSON, like a real pending flow's state. */
function realisticData(): FlowRecord['data'] {
  return {
    type: 'browser',
    kind: 'login',
    state: 'choose_method',
    requested_aal: 'aal1',
    return_to: 'https://app.example.com/dashboard?tab=keys',
    csrf: 'Yk3Qx9vJ0rT2mN8pL5sW7aE1dF4gH6jK',
    ui_nodes: 3,
  };
}

describe('MemoryStore flows', () => {
  it('keeps an expired flow readable for at least 1 h and drops it within 24 h (Date.now mocked)', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const store = new MemoryStore();
    return (async () => {
      const f = flow({ expiresAt: new Date(Date.now() + 10 * 60 * 1000) });
      await store.saveFlow(f);
      t.mock.timers.tick(10 * 60 * 1000 + HOUR); // exactly 1 h after expiry
      for (let i = 0; i < 5; i++) await store.saveFlow(flow()); // writes drive the lazy sweep
      assert.ok(await store.getFlow(f.id), 'still there 1 h after expiry');
      t.mock.timers.tick(23 * HOUR);
      assert.equal(await store.getFlow(f.id), null, 'gone 24 h after expiry');
      assert.equal(await store.consumeChallenge(f.id, f.challenge!), false);
    })();
  });

  it('sweeps expired flows from memory lazily, on writes, without being asked for them', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const store = new MemoryStore();
    return (async () => {
      for (let i = 0; i < 2000; i++) await store.saveFlow(flow({ expiresAt: new Date(Date.now() + 60_000) }));
      assert.equal(store.flowCount, 2000);
      t.mock.timers.tick(60_000 + 3 * HOUR);
      // A pass advances 256 flows per operation: 2000 flows need ~8 writes.
      for (let i = 0; i < 10; i++) await store.saveFlow(flow());
      assert.equal(store.flowCount, 10);
    })();
  });

  it('sweep() drops dead flows at once and reports how many', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const store = new MemoryStore();
    return (async () => {
      await store.saveFlow(flow({ expiresAt: new Date(Date.now() - 10 * 60 * 1000) }));
      await store.saveFlow(flow({ expiresAt: new Date(Date.now() - 10 * 60 * 1000) }));
      await store.saveFlow(flow({ expiresAt: new Date(Date.now() + HOUR) }));
      t.mock.timers.tick(2 * HOUR + 30_000); // two are now dead, but no sweep pass is due yet
      assert.equal(store.flowCount, 3);
      assert.equal(store.sweep(), 2);
      assert.equal(store.flowCount, 1);
    })();
  });

  it('frees flows past retention within 5 s with no request arriving (its own timer, in chunks)', async (t) => {
    const start = 1_700_000_000_000;
    t.mock.timers.enable({ apis: ['Date', 'setInterval', 'setImmediate'], now: start });
    const store = new MemoryStore({ maxFlows: 100_000 });
    const n = 20_000;
    // Flows whose 2 h retention ends now, and one still inside it.
    for (let i = 0; i < n; i++) await store.saveFlow(flow({ expiresAt: new Date(start - 2 * HOUR) }));
    const young = flow({ expiresAt: new Date(start + HOUR) });
    await store.saveFlow(young);
    assert.equal(store.flowCount, n + 1, 'nothing is swept before retention ends');
    // From now on no flow operation is made: only the clock moves.
    let elapsed = 0;
    while (store.flowCount > 1 && elapsed < 10_000) {
      t.mock.timers.tick(100);
      elapsed += 100;
    }
    assert.equal(store.flowCount, 1);
    assert.ok(elapsed <= 5000, `flows past retention were freed after ${elapsed} ms`);
    assert.ok(await store.getFlow(young.id), 'a flow inside its retention stays');
  });

  it("the sweep timer does not keep the process alive (unref'd)", async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      import { MemoryStore } from './src/store/memory.ts';
      const store = new MemoryStore();
      await store.saveFlow({ id: 'f', version: 0, expiresAt: new Date(Date.now() + 60_000), challenge: 'c', anonymous: true, data: {} });
      globalThis.store = store; // held: only unref() lets the process end
      console.log('saved', store.flowCount);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(child.signal, null, 'the process had to be killed: something kept it alive');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'saved 1');
  });

  it('caps flows: evicts the oldest anonymous flows with a pending challenge, never throws', async () => {
    const store = new MemoryStore({ maxFlows: 5 });
    const withSession = flow({ anonymous: false });
    const consumed = flow();
    await store.saveFlow(withSession);
    await store.saveFlow(consumed);
    assert.equal(await store.consumeChallenge(consumed.id, consumed.challenge!), true);
    const noChallenge = flow({ challenge: null });
    await store.saveFlow(noChallenge);
    const anon = [flow(), flow()];
    for (const f of anon) await store.saveFlow(f);
    assert.equal(store.flowCount, 5);
    const later = [flow(), flow(), flow()];
    for (const f of later) await store.saveFlow(f);
    assert.equal(store.flowCount, 5);
    // The two older anonymous pending flows went first, then the oldest of the later ones.
    for (const f of anon) assert.equal(await store.getFlow(f.id), null);
    assert.equal(await store.getFlow(later[0]!.id), null);
    for (const f of [withSession, consumed, noChallenge, later[1]!, later[2]!]) assert.ok(await store.getFlow(f.id));
    // No anonymous pending flow left (a flood of flows made with a session): the oldest flows of any kind go, so the
    // cap still bounds memory; the flow just saved is never the one evicted.
    const store2 = new MemoryStore({ maxFlows: 2 });
    const sessionFlows = Array.from({ length: 4 }, () => flow({ anonymous: false }));
    for (const f of sessionFlows) await store2.saveFlow(f);
    assert.equal(store2.flowCount, 2);
    for (const f of sessionFlows.slice(0, 2)) assert.equal(await store2.getFlow(f.id), null);
    for (const f of sessionFlows.slice(2)) assert.ok(await store2.getFlow(f.id));
    const last = flow();
    await store2.saveFlow(last);
    assert.equal(store2.flowCount, 2);
    assert.ok(await store2.getFlow(last.id), 'the flow just saved is never the one evicted');
  });

  it('re-saving a flow with a fresh challenge makes it the newest eviction candidate', async () => {
    const store = new MemoryStore({ maxFlows: 3 });
    const a = flow();
    const b = flow();
    const c = flow();
    for (const f of [a, b, c]) await store.saveFlow(f);
    await store.saveFlow({ ...a, version: 1, challenge: randomUUID() }); // a replacement of the version stored
    await store.saveFlow(flow());
    assert.equal(await store.getFlow(b.id), null);
    assert.ok(await store.getFlow(a.id));
  });

  it('rejects a maxFlows that is not a positive integer', () => {
    assert.throws(() => new MemoryStore({ maxFlows: 0 }), TypeError);
    assert.throws(() => new MemoryStore({ maxFlows: 1.5 }), TypeError);
  });

  it('stores a pending flow in well under 1 KiB (100,000 flows, ~200 bytes of data each)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 100_000;
    const data = realisticData();
    assert.ok(JSON.stringify(data).length >= 190 && JSON.stringify(data).length <= 230);
    gc();
    const before = process.memoryUsage().heapUsed;
    const store = new MemoryStore({ maxFlows: n });
    const expiresAt = new Date(Date.now() + 10 * 60 * 1000);
    for (let i = 0; i < n; i++) {
      await store.saveFlow({
        id: randomUUID(),
        version: 0,
        expiresAt,
        challenge: 'c' + randomUUID().replaceAll('-', ''),
        anonymous: true,
        data,
      });
    }
    gc();
    const perFlow = (process.memoryUsage().heapUsed - before) / n;
    assert.equal(store.flowCount, n);
    console.log(`MemoryStore: ${perFlow.toFixed(0)} bytes of heap per pending flow`);
    assert.ok(perFlow < 700, `${perFlow} bytes per flow`);
  });
});

describe('MemoryStore production warning', () => {
  it('warns once per process under NODE_ENV=production', (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      new MemoryStore();
      new MemoryStore();
    } finally {
      process.env.NODE_ENV = previous;
    }
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0]?.arguments[0]), /lost at restart.*not shared between instances/s);
  });
});

describe('MemoryStore sessions', () => {
  it('caps sessions per identity: ended records go first, then the oldest live ones; the new one stays', async () => {
    const store = new MemoryStore({ maxSessionsPerIdentity: 3 });
    const identity = randomUUID();
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    const oldest = makeSession(identity, { issuedAt: at(50) });
    const revoked = makeSession(identity, { issuedAt: at(10), active: false });
    const middle = makeSession(identity, { issuedAt: at(30) });
    for (const s of [oldest, revoked, middle]) await store.createSession(s);
    const other = makeSession(randomUUID(), { issuedAt: at(60) });
    await store.createSession(other);

    // A fourth: the revoked record goes, though it is newer than the live ones.
    const fourth = makeSession(identity, { issuedAt: at(20) });
    await store.createSession(fourth);
    assert.equal(await store.getSession(revoked.id), null);
    assert.ok(await store.getSession(oldest.id));

    // A fifth, issued in the past (an import): the oldest live record goes, never the one just created.
    const fifth = makeSession(identity, { issuedAt: at(90) });
    await store.createSession(fifth);
    assert.equal(await store.getSession(oldest.id), null);
    const left = (await store.listSessions(identity, { limit: 10 })).map((s) => s.id);
    assert.deepEqual(left.sort(), [middle.id, fourth.id, fifth.id].sort());
    assert.ok(await store.getSession(other.id), "another identity's records are untouched");
  });
});
