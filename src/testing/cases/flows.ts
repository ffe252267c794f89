// Conformance cases. Flows: save (versioned), load, consume a challenge exactly once, expiry.

import assert from 'node:assert/strict';
import { FlowVersionConflictError } from '../../store/errors.js';
import type { FlowRecord, Store } from '../../store/types.js';
import { makeFlow, randomBase64url } from '../fixtures.js';
import { assertFlow, type ConformanceCase, MINUTE, rejectsWith, settled, withClockAhead } from './support.js';

export const flowCases = {
  async 'saveFlow / getFlow round-trip; saveFlow replaces'(store: Store) {
    const flow = makeFlow({
      anonymous: false,
      data: {
        type: 'api',
        nested: { list: [1, -2.5, 0, 9007199254740991, true, false, null, 'x'], empty: {}, none: [] },
        text: 'Zoë 山田 🦄 مرحبا "quoted" \\ back\nslash\t',
      },
    });
    await store.saveFlow(flow);
    const stored = await store.getFlow(flow.id);
    assertFlow(stored, flow);
    // A replacement is a save of the version read (see the versioning case).
    const replaced: FlowRecord = {
      ...flow,
      version: stored!.version,
      expiresAt: new Date(flow.expiresAt.getTime() + 5 * MINUTE),
      challenge: null,
      anonymous: true,
      data: { state: 'sent_email' },
    };
    await store.saveFlow(replaced);
    const storedReplaced = await store.getFlow(flow.id);
    assertFlow(storedReplaced, replaced, 'the replaced flow');
    const again = {
      ...replaced,
      version: storedReplaced!.version,
      challenge: randomBase64url(),
      data: { state: 'passkey', step: 2 },
    };
    await store.saveFlow(again);
    assertFlow(await store.getFlow(flow.id), again, 'replaced again');
  },

  async 'consumeChallenge: of 50 concurrent calls exactly one wins; a wrong challenge is false; a new one can be consumed'(
    store: Store,
  ) {
    const flow = makeFlow();
    await store.saveFlow(flow);
    const challenge = flow.challenge!;
    assert.equal(await store.consumeChallenge(flow.id, challenge.slice(1)), false, 'a wrong challenge');
    assert.equal(await store.consumeChallenge(flow.id, challenge.toUpperCase()), false, 'case matters');
    assert.equal(await store.consumeChallenge(flow.id, ''), false, 'empty');
    assert.equal((await store.getFlow(flow.id))?.challenge, challenge, 'a failed consume changes nothing');
    const version = (await store.getFlow(flow.id))!.version;
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consumeChallenge(flow.id, challenge)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one consume wins (${results.filter(Boolean).length} did)`);
    const after = await store.getFlow(flow.id);
    assertFlow(after, { ...flow, challenge: null }, 'after consumption the challenge is null, the rest unchanged');
    assert.equal(after!.version, version + 1, 'only the winning consume moved the version, by one');
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'consumed: gone at once');
    // A new ceremony on the same flow.
    const next = randomBase64url();
    await store.saveFlow({ ...after!, challenge: next });
    assert.equal(await store.consumeChallenge(flow.id, challenge), false, 'the old challenge stays dead');
    const again = await Promise.all(Array.from({ length: 10 }, () => store.consumeChallenge(flow.id, next)));
    assert.equal(again.filter(Boolean).length, 1, 'the new challenge is consumed exactly once');
    assert.equal((await store.getFlow(flow.id))!.version, version + 3, 'consume, save, consume: three versions on');
  },

  async 'saveFlow is versioned: getFlow returns the version; a save of the version read bumps it; a stale or clashing save is refused and changes nothing'(
    store: Store,
  ) {
    const flow = makeFlow({ data: { state: 'choose_method', n: 0 } });
    assert.equal(flow.version, 0, 'a new flow has version 0');
    await store.saveFlow(flow);
    const v1 = await store.getFlow(flow.id);
    assertFlow(v1, flow, 'the inserted flow');
    assert.equal(v1!.version, 1, 'inserting a new flow (version 0) stores version 1');
    assert.equal((await store.getFlow(flow.id))!.version, 1, 'reading does not move the version');
    // A save of the version read.
    const second: FlowRecord = { ...v1!, challenge: randomBase64url(), data: { state: 'sent_email', n: 1 } };
    await store.saveFlow(second);
    const v2 = await store.getFlow(flow.id);
    assertFlow(v2, second, 'the replaced flow');
    assert.equal(v2!.version, 2, 'saving version 1 stores version 2');
    // Stale writes: the version read before the last save, a new flow with this id, a version never stored.
    const refused: [string, FlowRecord][] = [
      ['a stale version (1)', { ...v1!, data: { state: 'stale', n: 99 } }],
      ['a new flow (version 0) whose id exists', { ...makeFlow({ id: flow.id }), data: { state: 'clash' } }],
      ['a version ahead of the stored one (3)', { ...v2!, version: 3, challenge: null, data: { state: 'ahead' } }],
      ['a version far ahead (1000)', { ...v2!, version: 1000, data: { state: 'far' } }],
    ];
    for (const [what, attempt] of refused) {
      const error = await rejectsWith(store.saveFlow(attempt), FlowVersionConflictError, `saveFlow with ${what}`);
      assert.equal(error.code, 'ERR_PASSKEYS_FLOW_VERSION_CONFLICT', `${what}: the code`);
      assert.equal(error.flowId, flow.id, `${what}: the error names the flow`);
      const after = await store.getFlow(flow.id);
      assertFlow(after, second, `${what}: the stored flow is unchanged`);
      assert.equal(after!.version, 2, `${what}: the version is unchanged`);
    }
    // The version moves by one with every save, and each save must be of the version just read.
    let current = v2!;
    for (let n = 3; n <= 6; n++) {
      const next: FlowRecord = { ...current, expiresAt: new Date(current.expiresAt.getTime() + 1), data: { n } };
      await store.saveFlow(next);
      current = (await store.getFlow(flow.id))!;
      assertFlow(current, next, `save #${n}`);
      assert.equal(current.version, n, `save #${n}: version ${n}`);
    }
    // A version other than 0 for an id that does not exist inserts nothing.
    const absent = makeFlow({ version: 1 });
    await rejectsWith(store.saveFlow(absent), FlowVersionConflictError, 'saveFlow of version 1 for an absent id');
    assert.equal(await store.getFlow(absent.id), null, 'nothing was inserted');
    await store.saveFlow({ ...absent, version: 0 });
    assert.equal((await store.getFlow(absent.id))?.version, 1, 'the same id at version 0 inserts');
  },

  async 'saveFlow: of 20 concurrent saves of one version exactly one succeeds, the others get FlowVersionConflictError'(
    store: Store,
  ) {
    // Inserts of one new id.
    const id = makeFlow().id;
    const inserts = Array.from({ length: 20 }, (_, i) => makeFlow({ id, data: { writer: i } }));
    const inserted = await Promise.allSettled(inserts.map((f) => store.saveFlow(f)));
    const first = settled(inserted);
    assert.equal(first.fulfilled.length, 1, `exactly one insert of a new id wins (${first.fulfilled.length} did)`);
    for (const r of first.rejected) {
      assert.ok(r.reason instanceof FlowVersionConflictError, `losers get FlowVersionConflictError: ${r.reason}`);
    }
    const insertWinner = inserts[inserted.findIndex((r) => r.status === 'fulfilled')]!;
    let current = await store.getFlow(id);
    assertFlow(current, insertWinner, 'the stored flow is the winning insert');
    assert.equal(current!.version, 1);
    // Replacements of one version read, round after round.
    for (let round = 0; round < 5; round++) {
      const read = current!;
      const attempts = Array.from(
        { length: 20 },
        (_, i): FlowRecord => ({ ...read, challenge: randomBase64url(), data: { round, writer: i } }),
      );
      const results = await Promise.allSettled(attempts.map((f) => store.saveFlow(f)));
      const { fulfilled, rejected } = settled(results);
      assert.equal(fulfilled.length, 1, `round ${round}: exactly one save of version ${read.version} wins`);
      for (const r of rejected) {
        assert.ok(r.reason instanceof FlowVersionConflictError, `round ${round}: losers get the conflict: ${r.reason}`);
      }
      const won = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
      current = await store.getFlow(id);
      assertFlow(current, won, `round ${round}: the stored flow is the winner's (no lost or mixed update)`);
      assert.equal(current!.version, read.version + 1, `round ${round}: the version moved by one`);
    }
  },

  async 'consumeChallenge bumps the version: a save from before the consume is refused, so a consumed challenge is never written back'(
    store: Store,
  ) {
    const flow = makeFlow({ data: { state: 'sent_email', submissions: 0 } });
    await store.saveFlow(flow);
    const read = (await store.getFlow(flow.id))!;
    assert.equal(read.version, 1);
    assert.equal(await store.consumeChallenge(flow.id, 'not-' + flow.challenge!), false, 'a wrong challenge');
    assert.equal((await store.getFlow(flow.id))!.version, 1, 'a failed consume does not move the version');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), true, 'consumed');
    const consumed = (await store.getFlow(flow.id))!;
    assertFlow(consumed, { ...flow, challenge: null }, 'after the consume');
    assert.equal(consumed.version, 2, 'a successful consume moves the version by one');
    // A request that read the flow before the consume writes it back, challenge and all: refused.
    await rejectsWith(
      store.saveFlow({ ...read, data: { state: 'sent_email', submissions: 1 } }),
      FlowVersionConflictError,
      'a save of the version read before the consume',
    );
    assert.equal((await store.getFlow(flow.id))!.challenge, null, 'the consumed challenge stays consumed');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false, 'and cannot be consumed again');
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false, 'a consume of nothing is false');
    assert.equal((await store.getFlow(flow.id))!.version, 2, 'failed consumes moved nothing');
    // A save of the version after the consume goes through.
    const renewed = { ...consumed, challenge: randomBase64url(), data: { state: 'sent_email', submissions: 1 } };
    await store.saveFlow(renewed);
    assert.equal((await store.getFlow(flow.id))!.version, 3);
    // Racing: a consume and a save of the version read before it. Whatever the order, a consume that won leaves the
    // challenge consumed.
    for (let round = 0; round < 20; round++) {
      const racing = makeFlow();
      await store.saveFlow(racing);
      const before = (await store.getFlow(racing.id))!;
      const [consume, save] = await Promise.allSettled([
        store.consumeChallenge(racing.id, racing.challenge!),
        store.saveFlow({ ...before, data: { round } }),
      ]);
      // The save keeps the challenge it read: if it goes first, the consume still finds it.
      assert.ok(consume.status === 'fulfilled' && consume.value === true, `round ${round}: the consume wins`);
      assert.ok(
        save.status === 'fulfilled' || save.reason instanceof FlowVersionConflictError,
        `round ${round}: the save succeeds (before the consume) or gets FlowVersionConflictError (after it)`,
      );
      const after = (await store.getFlow(racing.id))!;
      assert.equal(after.challenge, null, `round ${round}: the consumed challenge must not be written back`);
      assert.equal(after.version, save.status === 'fulfilled' ? 3 : 2, `round ${round}: one version per write`);
      assert.equal(await store.consumeChallenge(racing.id, racing.challenge!), false, `round ${round}: single use`);
    }
  },

  async 'expired flows are still returned 59 minutes after they expired'(store: Store) {
    const justExpired = makeFlow({ expiresAt: new Date(Date.now() - 1000) });
    const expiredLong = makeFlow({ expiresAt: new Date(Date.now() - 59 * MINUTE), anonymous: false });
    await store.saveFlow(justExpired);
    await store.saveFlow(expiredLong);
    // Other traffic, which may drive an adapter's sweeping.
    for (let i = 0; i < 20; i++) {
      const other = makeFlow();
      await store.saveFlow(other);
      await store.consumeChallenge(other.id, other.challenge!);
      await store.getFlow(other.id);
    }
    assertFlow(await store.getFlow(justExpired.id), justExpired, 'expired a second ago');
    assertFlow(await store.getFlow(expiredLong.id), expiredLong, 'expired 59 minutes ago');
  },

  async 'expired flows are still returned when Date.now() is 59 minutes past their expiry'(store: Store) {
    const lifetime = 10 * MINUTE;
    const flow = makeFlow({ expiresAt: new Date(Date.now() + lifetime) });
    await store.saveFlow(flow);
    await withClockAhead(lifetime + 59 * MINUTE, async () => {
      for (let i = 0; i < 20; i++) await store.saveFlow(makeFlow());
      assertFlow(await store.getFlow(flow.id), flow, 'an hour later');
    });
    await withClockAhead(lifetime + 2 * MINUTE, async () => {
      assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), true, 'the store does not judge expiry');
    });
  },

  async 'deleteFlow (optional) deletes a flow; deleting an absent flow is a no-op'(store: Store) {
    if (!store.deleteFlow) return;
    const flow = makeFlow();
    const other = makeFlow();
    await store.saveFlow(flow);
    await store.saveFlow(other);
    await store.deleteFlow(flow.id);
    assert.equal(await store.getFlow(flow.id), null);
    assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), false);
    await store.deleteFlow(flow.id);
    await store.deleteFlow(randomBase64url());
    assertFlow(await store.getFlow(other.id), other, 'other flows stay');
  },
} satisfies Record<string, ConformanceCase>;
