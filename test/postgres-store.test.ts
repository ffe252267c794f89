// The PostgreSQL example adapter against a real server: the conformance kit at full scale, plus what is specific to
// it (migrations, sweeping, a custom schema name, and the naive single-statement removal the README warns about).
// Connection: PGHOST / PGPORT / PGUSER / PGDATABASE / PGPASSWORD, default 127.0.0.1:5432, user postgres, database test.
// When the server is down every case fails: nothing is skipped.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import type { RemovePasskeyResult, Store } from '../src/store/types.js';
import { cases, makeFlow, runStoreConformance } from '../src/testing/index.js';

const env = process.env;
const pool = new pg.Pool({
  host: env.PGHOST || '127.0.0.1',
  port: Number(env.PGPORT || 5432),
  user: env.PGUSER || 'postgres',
  database: env.PGDATABASE || 'test',
  password: env.PGPASSWORD,
  max: 20,
  connectionTimeoutMillis: 10_000,
  // Test speed only: commits do not wait for the WAL flush (100,000 sign-ups: ~13 s instead of ~41 s here). Atomicity
  // and isolation, which the cases check, are unaffected; only durability across a server crash is.
  options: env.PGOPTIONS ?? '-c synchronous_commit=off',
});
pool.on('error', () => {}); // an idle client's connection dropped: the next query reports it
after(() => pool.end());

/** The identities the scale case creates; PASSKEYS_PG_IDENTITIES lowers it on a slow machine. */
const identities = Number(env.PASSKEYS_PG_IDENTITIES || 100_000);

const schemas = new Set<string>();

/** A store over a fresh schema `passkeys_test_<random>`, dropped by `dropStore`. */
async function makeStore(options: ConstructorParameters<typeof PostgresStore>[1] = {}): Promise<PostgresStore> {
  const schema = `passkeys_test_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  await migrate(pool, schema);
  return new PostgresStore(pool, { ...options, schema });
}

async function dropStore(store: Store): Promise<void> {
  const { schema } = store as PostgresStore;
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
  schemas.delete(schema);
}

runStoreConformance({
  name: 'PostgresStore',
  makeStore: () => makeStore(),
  cleanup: dropStore,
  // The tables vanish under the store (as after a failed migration or a wrong search_path): every call must reject.
  breakStore: (store) => dropStore(store).then(() => undefined),
  scale: { identities },
});

describe('PostgresStore specifics', () => {
  it('migrate is idempotent and works for a schema name that needs quoting', async () => {
    const schema = `Passkeys "Test" ${randomBytes(4).toString('hex')}`;
    schemas.add(schema);
    try {
      await migrate(pool, schema);
      await Promise.all([migrate(pool, schema), migrate(pool, schema)]); // concurrent start-ups
      const store = new PostgresStore(pool, { schema });
      await cases['createIdentity stores the identity and its passkey; every lookup finds them'](store);
      await cases['saveFlow / getFlow round-trip; saveFlow replaces'](store);
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename IN ('identities', 'passkeys', 'flows')`,
        [schema],
      );
      assert.equal(rows[0].n, 3);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
      schemas.delete(schema);
    }
  });

  it('sweeps flows past retention (sweep(), and saveFlow at most once a minute); getFlow hides them before', async () => {
    const store = await makeStore({ flowRetentionSeconds: 3600 });
    try {
      const hour = 60 * 60 * 1000;
      const old = makeFlow({ expiresAt: new Date(Date.now() - hour - 60_000) });
      const recent = makeFlow({ expiresAt: new Date(Date.now() - hour + 60_000) });
      const live = makeFlow();
      // Insert directly, so that no sweep runs in between.
      for (const f of [old, recent, live]) {
        await pool.query(`INSERT INTO ${quoteIdentifier(store.schema)}.flows VALUES ($1, $2, $3, $4, $5)`, [
          f.id,
          f.expiresAt,
          f.challenge,
          f.anonymous,
          JSON.stringify(f.data),
        ]);
      }
      assert.equal(await store.getFlow(old.id), null, 'past retention: hidden even before a sweep');
      assert.equal(await store.consumeChallenge(old.id, old.challenge!), false);
      assert.ok(await store.getFlow(recent.id));
      assert.equal(await store.sweep(), 1);
      assert.equal(await store.sweep(), 0);
      // saveFlow sweeps (first call), then not again within the minute.
      const old2 = makeFlow({ expiresAt: new Date(Date.now() - 2 * hour) });
      await pool.query(`INSERT INTO ${quoteIdentifier(store.schema)}.flows VALUES ($1, $2, $3, $4, $5)`, [
        old2.id,
        old2.expiresAt,
        old2.challenge,
        old2.anonymous,
        '{}',
      ]);
      await store.saveFlow(makeFlow());
      const count = async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM ${quoteIdentifier(store.schema)}.flows`)).rows[0].n;
      assert.equal(await count(), 3, 'the first saveFlow swept old2');
      await pool.query(`INSERT INTO ${quoteIdentifier(store.schema)}.flows VALUES ($1, $2, NULL, true, '{}')`, [
        'stale',
        new Date(Date.now() - 2 * hour),
      ]);
      await store.saveFlow(makeFlow());
      assert.equal(await count(), 5, 'no second sweep within the minute');
      assert.throws(() => new PostgresStore(pool, { flowRetentionSeconds: 60 }), RangeError);
    } finally {
      await dropStore(store);
    }
  });

  it('the kit catches the naive single-statement removal the README warns about', async () => {
    /** `DELETE ... WHERE (SELECT count(*) ...) > 1` alone, without the lock; pg_sleep widens the race window. */
    class NaiveRemovalStore extends PostgresStore {
      override async removePasskey(identityId: string, credentialId: string): Promise<RemovePasskeyResult> {
        const t = quoteIdentifier(this.schema);
        const { rowCount } = await this.pool.query(
          `DELETE FROM ${t}.passkeys WHERE id = $2 AND identity_id = $1
             AND (SELECT count(*) FROM ${t}.passkeys WHERE identity_id = $1 AND pg_sleep(0.01) IS NOT NULL) > 1`,
          [identityId, credentialId],
        );
        if (rowCount === 1) return 'removed';
        const exists = await this.pool.query(`SELECT 1 FROM ${t}.passkeys WHERE id = $2 AND identity_id = $1`, [
          identityId,
          credentialId,
        ]);
        return exists.rowCount === 0 ? 'not_found' : 'last_credential';
      }
    }
    const base = await makeStore();
    const naive = new NaiveRemovalStore(pool, { schema: base.schema });
    try {
      await assert.rejects(
        cases['removePasskey: concurrent removal of an identity’s last two passkeys leaves exactly one (20 times)'](
          naive,
        ),
        assert.AssertionError,
      );
    } finally {
      await dropStore(base);
    }
  });
});

after(async () => {
  // Leave nothing behind, even when a case failed half-way.
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
});
