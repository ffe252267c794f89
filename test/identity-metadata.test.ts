// Identity metadata (`metadataPublic` / `metadataAdmin`, set by before-hooks) kept by MemoryStore and the PostgreSQL
// example: written by createIdentity and updateIdentity, read back as given, absent when never set.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import { MemoryStore } from '../src/index.js';
import type { Store } from '../src/store/types.js';
import { makeIdentity, makePasskey } from '../src/testing/index.js';

const env = process.env;
const pool = new pg.Pool({
  host: env.PGHOST || '127.0.0.1',
  port: Number(env.PGPORT || 5432),
  user: env.PGUSER || 'postgres',
  database: env.PGDATABASE || 'test',
  password: env.PGPASSWORD,
  max: 4,
});
pool.on('error', () => {});
const schema = `passkeys_test_${randomBytes(6).toString('hex')}`;
after(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
  await pool.end();
});

const stores: [string, () => Promise<Store>][] = [
  ['MemoryStore', async () => new MemoryStore()],
  [
    'PostgresStore (example)',
    async () => {
      await migrate(pool, schema);
      return new PostgresStore(pool, { schema });
    },
  ],
];

for (const [name, make] of stores) {
  describe(`${name}: identity metadata`, () => {
    it('is written by createIdentity and updateIdentity, and null when never set', async () => {
      const store = await make();
      const plain = makeIdentity();
      await store.createIdentity(plain, makePasskey(plain.id));
      const read = await store.getIdentity(plain.id);
      assert.equal(read?.metadataPublic, null);
      assert.equal(read?.metadataAdmin, null);

      const identity = makeIdentity({
        metadataPublic: { plan: 'free', seats: [1, 2] },
        metadataAdmin: { note: 'vip' },
      });
      await store.createIdentity(identity, makePasskey(identity.id));
      const created = await store.getIdentity(identity.id);
      assert.deepEqual(created?.metadataPublic, { plan: 'free', seats: [1, 2] });
      assert.deepEqual(created?.metadataAdmin, { note: 'vip' });

      assert.ok(created);
      const updatedAt = new Date(created.updatedAt.getTime() + 1);
      const next = { ...created, metadataPublic: { plan: 'team' }, updatedAt };
      assert.equal(await store.updateIdentity(next, created.updatedAt), true);
      const updated = await store.getIdentity(identity.id);
      assert.deepEqual(updated?.metadataPublic, { plan: 'team' });
      assert.deepEqual(updated?.metadataAdmin, { note: 'vip' }, 'kept when passed through unchanged');
      // A stale compare-and-set changes nothing, metadata included.
      assert.equal(await store.updateIdentity({ ...next, metadataPublic: { plan: 'x' } }, created.updatedAt), false);
      assert.deepEqual((await store.getIdentity(identity.id))?.metadataPublic, { plan: 'team' });
    });
  });
}
