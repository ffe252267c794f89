// Conformance cases. Session records: round trips, keyset pages, revocation scoped by identity, counts, races.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SessionRecord, Store } from '../../store/types.js';
import { makeSession } from '../fixtures.js';
import { assertDate, type ConformanceCase, MINUTE, seed, settled } from './support.js';

/** Asserts that `actual` is a faithful copy of `expected`: every field, dates to the millisecond, lists in order. */
export function assertSession(
  actual: SessionRecord | null | undefined,
  expected: SessionRecord,
  what = 'session',
): void {
  assert.ok(actual, `${what}: expected a session record, got ${String(actual)}`);
  assert.equal(actual.id, expected.id, `${what}.id`);
  assert.equal(actual.identityId, expected.identityId, `${what}.identityId`);
  assert.equal(actual.active, expected.active, `${what}.active`);
  assertDate(actual.issuedAt, expected.issuedAt, `${what}.issuedAt`);
  assertDate(actual.authenticatedAt, expected.authenticatedAt, `${what}.authenticatedAt`);
  assertDate(actual.expiresAt, expected.expiresAt, `${what}.expiresAt`);
  assert.equal(actual.aal, expected.aal, `${what}.aal`);
  assert.equal(actual.methods.length, expected.methods.length, `${what}.methods: how many`);
  expected.methods.forEach((method, i) => {
    const got = actual.methods[i];
    assert.ok(got, `${what}.methods[${i}]`);
    assert.equal(got.method, method.method, `${what}.methods[${i}].method`);
    assert.equal(got.aal, method.aal, `${what}.methods[${i}].aal`);
    assertDate(got.completedAt, method.completedAt, `${what}.methods[${i}].completedAt`);
    assert.equal(got.credentialId, method.credentialId, `${what}.methods[${i}].credentialId`);
  });
  assert.deepStrictEqual(
    actual.devices.map((d) => ({ ...d })),
    expected.devices.map((d) => ({ ...d })),
    `${what}.devices`,
  );
}

/** An identity (sessions belong to one) and `count` sessions of it, issued one second apart, newest last. */
async function seedSessions(store: Store, count: number, overrides: Partial<SessionRecord> = {}) {
  const { identity } = await seed(store, 1);
  const base = Date.now() - count * 1000;
  const sessions: SessionRecord[] = [];
  for (let i = 0; i < count; i++) {
    const session = makeSession(identity.id, { issuedAt: new Date(base + i * 1000), ...overrides });
    await store.createSession(session);
    sessions.push(session);
  }
  return { identity, sessions };
}

const ids = (list: SessionRecord[]) => list.map((s) => s.id);
const newestFirst = (list: SessionRecord[]) =>
  [...list].sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

/** Every page of an identity's sessions, `limit` at a time, following the keyset. */
async function allPages(store: Store, identityId: string, limit: number, active?: boolean) {
  const pages: SessionRecord[][] = [];
  let after: { issuedAt: Date; id: string } | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await store.listSessions(identityId, {
      limit,
      ...(after ? { after } : {}),
      ...(active ? { active } : {}),
    });
    if (page.length === 0) break;
    assert.ok(page.length <= limit, `listSessions returned ${page.length} records for limit ${limit}`);
    pages.push(page);
    const last = page[page.length - 1]!;
    after = { issuedAt: last.issuedAt, id: last.id };
  }
  // The library reads a page shorter than `limit` as the last one (a LIMIT applied before a filter breaks this).
  pages.slice(0, -1).forEach((page, i) => {
    assert.equal(
      page.length,
      limit,
      `page ${i + 1} holds ${page.length} records, fewer than limit (${limit}), yet more follow`,
    );
  });
  return pages;
}

export const sessionCases = {
  async 'sessions: createSession then getSession round-trips every field; an unknown id is null; results are copies'(
    store: Store,
  ) {
    const { identity } = await seed(store, 1);
    const at = new Date(Date.now() - 5 * MINUTE);
    const session = makeSession(identity.id, {
      issuedAt: at,
      authenticatedAt: new Date(at.getTime() + 1234),
      methods: [
        { method: 'code_recovery', aal: 'aal1', completedAt: at },
        { method: 'passkey', aal: 'aal1', completedAt: new Date(at.getTime() + 1234), credentialId: 'cred-Ab_9' },
      ],
      devices: [
        { id: randomUUID(), ipAddress: '2001:db8::1', userAgent: 'Zoë 🦄 "agent" \\ 1.0', location: 'Zürich, CH' },
        { id: randomUUID(), ipAddress: '198.51.100.2', userAgent: '', location: '' },
      ],
    });
    const expected = structuredClone(session);
    await store.createSession(session);
    session.methods.push({ method: 'passkey', aal: 'aal1', completedAt: new Date() });
    session.devices[0]!.ipAddress = 'mutated';
    session.expiresAt.setTime(0);
    const got = await store.getSession(expected.id);
    assertSession(got, expected);
    got!.devices.length = 0;
    got!.issuedAt.setTime(0);
    assertSession(await store.getSession(expected.id), expected, 'after mutating a result');
    assert.equal(await store.getSession(randomUUID()), null, 'an unknown id is null');
  },

  async 'sessions: updateSession replaces the mutable fields; a revoked record never becomes active again; unknown is false'(
    store: Store,
  ) {
    const { identity, sessions } = await seedSessions(store, 1);
    const session = sessions[0]!;
    const later = new Date(Date.now() + 1000);
    const updated: SessionRecord = {
      ...session,
      authenticatedAt: later,
      expiresAt: new Date(Date.now() + 2 * 60 * MINUTE),
      methods: [...session.methods, { method: 'passkey', aal: 'aal1', completedAt: later, credentialId: 'second' }],
      devices: [
        ...session.devices,
        { id: randomUUID(), ipAddress: '192.0.2.1', userAgent: 'Refresh', location: 'Oslo, NO' },
      ],
    };
    assert.equal(await store.updateSession(updated), true, 'updateSession of an existing record is true');
    assertSession(await store.getSession(session.id), updated, 'after updateSession');
    assert.equal(await store.revokeSession(identity.id, session.id), true, 'revokeSession of an active session');
    // A refresh that read the record before the revocation writes it back with `active: true`.
    assert.equal(await store.updateSession({ ...updated, active: true }), true);
    const after = await store.getSession(session.id);
    assert.equal(after?.active, false, 'updateSession must not bring a revoked session back');
    assert.equal(await store.updateSession(makeSession(identity.id)), false, 'updateSession of an unknown id is false');
  },

  async 'sessions: listSessions gives keyset pages, newest issuedAt first (ties by id descending), of that identity only'(
    store: Store,
  ) {
    const { identity, sessions } = await seedSessions(store, 7);
    // Three more issued in one millisecond: the id breaks the tie.
    const tie = new Date(Date.now() - 500);
    for (let i = 0; i < 3; i++) {
      const session = makeSession(identity.id, { issuedAt: tie });
      await store.createSession(session);
      sessions.push(session);
    }
    const other = await seedSessions(store, 2);
    const expected = newestFirst(sessions);
    for (const limit of [1, 3, 4, 10, 50]) {
      const pages = await allPages(store, identity.id, limit);
      assert.deepEqual(ids(pages.flat()), ids(expected), `limit ${limit}: every session once, newest first`);
      assert.equal(pages.length, Math.ceil(expected.length / limit), `limit ${limit}: number of pages`);
    }
    const first = await store.listSessions(identity.id, { limit: 3 });
    for (const [i, got] of first.entries()) assertSession(got, expected[i]!, `listSessions[${i}]`);
    assert.deepEqual(await store.listSessions(randomUUID(), { limit: 10 }), [], 'an unknown identity has none');
    assert.deepEqual(
      ids(await store.listSessions(other.identity.id, { limit: 10 })),
      ids(newestFirst(other.sessions)),
      "another identity's list holds its own only",
    );
  },

  async 'sessions: listSessions with active: true leaves out revoked and expired sessions, keyset pages included'(
    store: Store,
  ) {
    const { identity, sessions } = await seedSessions(store, 6);
    const expired = makeSession(identity.id, {
      issuedAt: new Date(Date.now() - 3 * 60 * MINUTE),
      expiresAt: new Date(Date.now() - MINUTE),
    });
    await store.createSession(expired);
    assert.equal(await store.revokeSession(identity.id, sessions[1]!.id), true);
    assert.equal(await store.revokeSession(identity.id, sessions[4]!.id), true);
    const live = newestFirst(sessions.filter((_, i) => i !== 1 && i !== 4));
    assert.deepEqual(ids((await allPages(store, identity.id, 2, true)).flat()), ids(live), 'active only, by pages');
    const all = await store.listSessions(identity.id, { limit: 100 });
    assert.equal(all.length, 7, 'without `active`, revoked and expired records are listed too');
    assert.equal(all.find((s) => s.id === sessions[1]!.id)?.active, false, 'a revoked record lists as inactive');
  },

  async 'sessions: revokeSession is scoped by identity: another identity, an unknown or a revoked id is false and untouched'(
    store: Store,
  ) {
    const mine = await seedSessions(store, 2);
    const theirs = await seedSessions(store, 1);
    const victim = theirs.sessions[0]!;
    assert.equal(
      await store.revokeSession(mine.identity.id, victim.id),
      false,
      "revoking another identity's session id must answer false",
    );
    assert.equal((await store.getSession(victim.id))?.active, true, "another identity's session must stay active");
    assert.equal(
      (await store.listSessions(theirs.identity.id, { limit: 10, active: true })).length,
      1,
      "another identity's session is still listed as active",
    );
    assert.equal(await store.revokeSession(mine.identity.id, randomUUID()), false, 'an unknown id is false');
    assert.equal(await store.revokeSession(mine.identity.id, mine.sessions[0]!.id), true, 'its own: true');
    assert.equal(await store.revokeSession(mine.identity.id, mine.sessions[0]!.id), false, 'revoked already: false');
    assert.equal((await store.getSession(mine.sessions[1]!.id))?.active, true, 'the other one of its sessions stays');
  },

  async 'sessions: a revoked session reads as revoked everywhere: getSession, listSessions, extendSession, revokeSessions'(
    store: Store,
  ) {
    const { identity, sessions } = await seedSessions(store, 3);
    const revoked = sessions[0]!;
    assert.equal(await store.revokeSession(identity.id, revoked.id), true);
    const got = await store.getSession(revoked.id);
    assert.ok(got, 'a revoked record is still returned (until swept)');
    assert.equal(got.active, false, 'getSession of a revoked session must say active: false');
    assert.equal(got.identityId, identity.id);
    const listed = await store.listSessions(identity.id, { limit: 10, active: true });
    assert.ok(!listed.some((s) => s.id === revoked.id), 'a revoked session is not listed as active');
    assert.equal(await store.extendSession(revoked.id, new Date(Date.now() + 60 * MINUTE)), false, 'extend: false');
    assert.equal((await store.getSession(revoked.id))?.active, false, 'still revoked after an extend');
    assert.equal(await store.revokeSessions(identity.id), 2, 'revokeSessions does not count it again');
    assert.equal((await store.getSession(revoked.id))?.active, false);
  },

  async 'sessions: revokeSessions revokes all but one and counts the sessions that were valid'(store: Store) {
    const { identity, sessions } = await seedSessions(store, 5);
    const expired = makeSession(identity.id, { expiresAt: new Date(Date.now() - MINUTE) });
    await store.createSession(expired);
    await store.revokeSession(identity.id, sessions[3]!.id);
    const other = await seedSessions(store, 2);
    const keep = sessions[2]!;
    assert.equal(await store.revokeSessions(identity.id, keep.id), 3, 'valid ones only, the kept one not counted');
    for (const session of sessions) {
      const got = await store.getSession(session.id);
      assert.equal(got?.active, session.id === keep.id, `session ${session.id === keep.id ? 'kept' : 'revoked'}`);
    }
    assert.equal(
      (await store.listSessions(other.identity.id, { limit: 10, active: true })).length,
      2,
      "another identity's sessions are untouched",
    );
    assert.equal(await store.revokeSessions(identity.id, keep.id), 0, 'nothing left to revoke: 0');
    assert.equal(await store.revokeSessions(identity.id), 1, 'without exceptId: every one, the kept one included');
    assert.equal((await store.getSession(keep.id))?.active, false);
    assert.equal(await store.revokeSessions(randomUUID()), 0, 'an unknown identity: 0');
  },

  async 'sessions: deleteSessions deletes every record of the identity (revoked and expired too), and no other'(
    store: Store,
  ) {
    const { identity, sessions } = await seedSessions(store, 3);
    await store.revokeSession(identity.id, sessions[0]!.id);
    await store.createSession(makeSession(identity.id, { expiresAt: new Date(Date.now() - MINUTE) }));
    const other = await seedSessions(store, 1);
    assert.equal(await store.deleteSessions(identity.id), 4, 'deleteSessions returns how many it deleted');
    for (const session of sessions) assert.equal(await store.getSession(session.id), null, 'deleted');
    assert.deepEqual(await store.listSessions(identity.id, { limit: 10 }), []);
    assertSession(await store.getSession(other.sessions[0]!.id), other.sessions[0]!, "another identity's session");
    assert.equal(await store.deleteSessions(identity.id), 0, 'again: 0');
  },

  async 'sessions: extendSession sets expiresAt of an active session; missing or revoked is false'(store: Store) {
    const { identity, sessions } = await seedSessions(store, 2);
    const until = new Date(Date.now() + 48 * 60 * MINUTE);
    assert.equal(await store.extendSession(sessions[0]!.id, until), true);
    assertSession(await store.getSession(sessions[0]!.id), { ...sessions[0]!, expiresAt: until }, 'extended');
    assertSession(await store.getSession(sessions[1]!.id), sessions[1]!, 'the other session is unchanged');
    assert.equal(await store.extendSession(randomUUID(), until), false, 'an unknown id is false');
    await store.revokeSession(identity.id, sessions[1]!.id);
    assert.equal(await store.extendSession(sessions[1]!.id, until), false, 'a revoked session is false');
    assertDate((await store.getSession(sessions[1]!.id))?.expiresAt, sessions[1]!.expiresAt, 'unchanged expiry');
  },

  async 'sessions: of 20 concurrent revokeSession calls on one session exactly one is true'(store: Store) {
    const { identity, sessions } = await seedSessions(store, 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.revokeSession(identity.id, sessions[0]!.id)),
    );
    assert.equal(
      results.filter(Boolean).length,
      1,
      `exactly one revocation applies, got ${results.filter(Boolean).length}`,
    );
    assert.equal((await store.getSession(sessions[0]!.id))?.active, false);
  },

  async 'sessions: concurrent revokeSessions count every valid session exactly once, across all of them'(store: Store) {
    const { identity } = await seedSessions(store, 12);
    const results = settled(
      await Promise.allSettled(Array.from({ length: 8 }, () => store.revokeSessions(identity.id))),
    );
    assert.equal(results.rejected.length, 0, 'no call fails');
    const total = results.fulfilled.reduce((sum, r) => sum + r.value, 0);
    assert.equal(total, 12, `the counts must add up to the 12 sessions revoked, got ${total}`);
    assert.deepEqual(await store.listSessions(identity.id, { limit: 50, active: true }), []);
  },

  async 'sessions: a refresh (updateSession) racing a revocation leaves the session revoked'(store: Store) {
    const { identity, sessions } = await seedSessions(store, 1);
    const session = sessions[0]!;
    for (let round = 0; round < 10; round++) {
      const read = await store.getSession(session.id);
      assert.ok(read);
      const refreshed = { ...read, authenticatedAt: new Date(), active: true };
      await Promise.all([
        store.updateSession(refreshed),
        round === 0 ? store.revokeSession(identity.id, session.id) : store.revokeSessions(identity.id),
      ]);
      assert.equal((await store.getSession(session.id))?.active, false, `round ${round}: stays revoked`);
    }
  },
} satisfies Record<string, ConformanceCase>;
