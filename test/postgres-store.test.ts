// The PostgreSQL example adapter against a real server: the conformance kit at full scale, plus what is specific to
// it (migrations, sweeping, a custom schema name, and the naive single-statement removal the README warns about).
// Connection: PGHOST / PGPORT / PGUSER / PGDATABASE / PGPASSWORD, default 127.0.0.1:5432, user postgres, database test.
// When the server is down every case fails: nothing is skipped.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { migrate, PostgresStore, quoteIdentifier } from '../examples/postgres-store/store.js';
import { FlowVersionConflictError } from '../src/store/errors.js';
import type { FlowRecord, RemovePasskeyResult, Store } from '../src/store/types.js';
import {
  type CaseName,
  cases,
  makeFlow,
  makeIdentity,
  makePasskey,
  makeRecoveryAddress,
  makeSession,
  makeVerifiableAddress,
  runStoreConformance,
} from '../src/testing/index.js';

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
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1
           AND tablename IN ('identities', 'passkeys', 'flows', 'recovery_addresses', 'verifiable_addresses')`,
        [schema],
      );
      assert.equal(rows[0].n, 5);
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

  it('migrate upgrades a schema made by the first schema.sql: its rows stay readable, and the whole kit passes', async () => {
    const schema = `passkeys_test_v1_${randomBytes(6).toString('hex')}`;
    schemas.add(schema);
    const t = quoteIdentifier(schema);
    try {
      // The first schema.sql, run the way its migrate() ran it, and rows written by the first adapter.
      const v1 = await readFile(new URL('./fixtures/postgres-schema-v1.sql', import.meta.url), 'utf8');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`CREATE SCHEMA ${t}`);
        await client.query(`SET LOCAL search_path TO ${t}`);
        await client.query(v1);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const identity = makeIdentity({ updatedAt: new Date(Date.now() - 60_000 + 321) });
      const passkey = makePasskey(identity.id);
      const flow = makeFlow();
      await pool.query(
        `INSERT INTO ${t}.identities (id, schema_id, traits, identifier, user_handle, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          identity.id,
          identity.schemaId,
          JSON.stringify(identity.traits),
          identity.identifier,
          identity.userHandle,
          identity.createdAt,
          identity.updatedAt,
        ],
      );
      await pool.query(
        `INSERT INTO ${t}.passkeys (id, identity_id, public_key, sign_count, transports, aaguid, name, backup_eligible,
           backed_up, created_at, last_used_at) VALUES ($1, $2, $3, 0, $4, $5, $6, true, true, $7, NULL)`,
        [
          passkey.id,
          identity.id,
          Buffer.from(passkey.publicKey),
          passkey.transports,
          passkey.aaguid,
          passkey.name,
          passkey.createdAt,
        ],
      );
      await pool.query(
        `INSERT INTO ${t}.flows (id, expires_at, challenge, anonymous, data) VALUES ($1, $2, $3, $4, $5)`,
        [flow.id, flow.expiresAt, flow.challenge, flow.anonymous, JSON.stringify(flow.data)],
      );
      await Promise.all([migrate(pool, schema), migrate(pool, schema)]);
      await migrate(pool, schema);
      const store = new PostgresStore(pool, { schema });
      // The old rows, through the new adapter.
      const got = await store.getIdentity(identity.id);
      assert.equal(got?.identifier, identity.identifier);
      assert.deepEqual(got?.recoveryAddresses, [], 'an identity from before addresses has none');
      assert.deepEqual(got?.verifiableAddresses, [], 'and no verifiable ones');
      assert.equal((await store.listPasskeys(identity.id)).length, 1);
      const oldFlow = await store.getFlow(flow.id);
      assert.equal(oldFlow?.version, 1, 'a flow from before versions is at version 1');
      await assert.rejects(store.saveFlow({ ...flow, version: 0 }), FlowVersionConflictError, 'its id exists');
      await store.saveFlow({ ...oldFlow!, data: { upgraded: true } });
      assert.equal((await store.getFlow(flow.id))?.version, 2);
      assert.equal(await store.consumeChallenge(flow.id, flow.challenge!), true);
      assert.equal((await store.getFlow(flow.id))?.version, 3);
      const withAddresses = {
        ...got!,
        recoveryAddresses: [makeRecoveryAddress()],
        verifiableAddresses: [makeVerifiableAddress()],
        updatedAt: new Date(),
      };
      assert.equal(
        await store.updateIdentity(withAddresses, identity.updatedAt),
        true,
        'an old identity gains addresses',
      );
      const recovery = withAddresses.recoveryAddresses[0]!.value;
      assert.equal((await store.findIdentityByAddress('recovery', recovery))?.id, identity.id);
      // And every case of the kit against the upgraded schema (cases only touch what they create).
      for (const name of Object.keys(cases) as CaseName[]) {
        await cases[name](store, { scale: { identities: 2_000, passkeysPerIdentity: 100 } });
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${t} CASCADE`);
      schemas.delete(schema);
    }
  });

  it('migrate upgrades the schema of before identity state: identities read active, flows and passkeys gain their columns', async () => {
    const schema = `passkeys_test_v2_${randomBytes(6).toString('hex')}`;
    schemas.add(schema);
    const t = quoteIdentifier(schema);
    try {
      const v2 = await readFile(new URL('./fixtures/postgres-schema-v2.sql', import.meta.url), 'utf8');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`CREATE SCHEMA ${t}`);
        await client.query(`SET LOCAL search_path TO ${t}`);
        await client.query(v2);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const identity = makeIdentity();
      const passkey = makePasskey(identity.id);
      await pool.query(
        `INSERT INTO ${t}.identities (id, schema_id, traits, identifier, user_handle, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          identity.id,
          'default',
          '{}',
          identity.identifier,
          identity.userHandle,
          identity.createdAt,
          identity.updatedAt,
        ],
      );
      await pool.query(
        `INSERT INTO ${t}.passkeys (id, identity_id, public_key, sign_count, transports, aaguid, name, backup_eligible,
           backed_up, created_at, last_used_at) VALUES ($1, $2, $3, 0, '{}', $4, 'old', true, true, now(), NULL)`,
        [passkey.id, identity.id, Buffer.from(passkey.publicKey), passkey.aaguid],
      );
      await migrate(pool, schema);
      const store = new PostgresStore(pool, { schema });
      const got = await store.getIdentity(identity.id);
      assert.equal(got?.state, 'active', 'an identity from before states is active');
      assert.equal(got?.stateChangedAt, null);
      assert.equal(got?.metadataPublic, null);
      assert.equal(got?.metadataAdmin, null);
      assert.equal((await store.getPasskey(passkey.id))?.backupFlagsUnknown, undefined, 'its flags are known');
      assert.equal(
        await store.updateIdentity({ ...got!, state: 'inactive', updatedAt: new Date() }, got!.updatedAt),
        true,
      );
      assert.equal((await store.getIdentity(identity.id))?.state, 'inactive');
      for (const name of Object.keys(cases).filter((n) => !n.startsWith('many identities')) as CaseName[]) {
        await cases[name](store, { scale: { identities: 2_000, passkeysPerIdentity: 100 } });
      }
      assert.equal(await store.deleteIdentity(identity.id), true);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${t} CASCADE`);
      schemas.delete(schema);
    }
  });

  it('migrate upgrades the schema from before session records (v2): sessions work for identities it holds', async () => {
    const schema = `passkeys_test_v2_${randomBytes(6).toString('hex')}`;
    schemas.add(schema);
    const t = quoteIdentifier(schema);
    try {
      // The schema.sql of before issue 15, run as its migrate() ran it, with an identity written through the store.
      const v2 = await readFile(new URL('./fixtures/postgres-schema-v2.sql', import.meta.url), 'utf8');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`CREATE SCHEMA ${t}`);
        await client.query(`SET LOCAL search_path TO ${t}`);
        await client.query(v2);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const before = await pool.query(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'sessions'`,
        [schema],
      );
      assert.equal(before.rows[0].n, 0, 'the v2 schema has no sessions table');
      await Promise.all([migrate(pool, schema), migrate(pool, schema)]);
      await migrate(pool, schema);
      const store = new PostgresStore(pool, { schema });
      const identity = makeIdentity({ recoveryAddresses: [makeRecoveryAddress()] });
      await store.createIdentity(identity, makePasskey(identity.id));
      const session = makeSession(identity.id);
      await store.createSession(session);
      assert.equal((await store.getSession(session.id))?.active, true);
      assert.equal(await store.revokeSessions(identity.id), 1);
      // Deleting an identity takes its session records with it (foreign key, ON DELETE CASCADE).
      await pool.query(`DELETE FROM ${t}.identities WHERE id = $1`, [identity.id]);
      assert.equal(await store.getSession(session.id), null);
      for (const name of Object.keys(cases).filter((n) => n.startsWith('sessions:')) as CaseName[]) {
        await cases[name](store);
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${t} CASCADE`);
      schemas.delete(schema);
    }
  });

  it('updateIdentity compares updatedAt to the millisecond when the column holds microseconds', async () => {
    const store = await makeStore();
    try {
      const identity = makeIdentity();
      await store.createIdentity(identity, makePasskey(identity.id));
      // Other code (a SQL console, a trigger, `now()`) wrote microseconds.
      await pool.query(
        `UPDATE ${quoteIdentifier(store.schema)}.identities SET updated_at = '2026-01-02T03:04:05.678901Z' WHERE id = $1`,
        [identity.id],
      );
      const read = (await store.getIdentity(identity.id))!;
      assert.equal(read.updatedAt.toISOString(), '2026-01-02T03:04:05.678Z');
      assert.equal(
        await store.updateIdentity({ ...read, updatedAt: new Date() }, new Date(read.updatedAt.getTime() + 1)),
        false,
      );
      assert.equal(await store.updateIdentity({ ...read, updatedAt: new Date() }, read.updatedAt), true);
    } finally {
      await dropStore(store);
    }
  });

  it('listIdentities pages come from an index in JavaScript string order, not from sorting the whole table', async () => {
    const store = await makeStore();
    try {
      const t = quoteIdentifier(store.schema);
      await pool.query(
        `INSERT INTO ${t}.identities (id, schema_id, traits, identifier, user_handle, created_at, updated_at)
         SELECT gen_random_uuid()::text, 'default', '{}', 'bulk-' || g, 'handle-' || g, now(), now()
         FROM generate_series(1, 5000) g`,
      );
      await pool.query(`ANALYZE ${t}.identities`);
      // The statements listIdentities sends, as the store builds them.
      const sent: { text: string; values: unknown[] }[] = [];
      const recording = {
        query: (text: string, values: unknown[]) => {
          sent.push({ text, values });
          return pool.query(text, values);
        },
      } as unknown as pg.Pool;
      const recorded = new PostgresStore(recording, { schema: store.schema });
      const first = await recorded.listIdentities({ limit: 250 });
      await recorded.listIdentities({ limit: 250, after: first[first.length - 1]!.id });
      assert.equal(sent.length, 2);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // With sorts priced out, a plan that still sorts has no index to read the order from.
        await client.query('SET LOCAL enable_sort = off');
        for (const { text, values } of sent) {
          const plan = (await client.query(`EXPLAIN ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.doesNotMatch(plan, /Sort Key/, `a page of listIdentities sorts the table:\n${plan}`);
        }
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    } finally {
      await dropStore(store);
    }
  });

  it('the kit catches the first adapter’s saveFlow (an upsert) and consumeChallenge (no version bump)', async () => {
    /** The first PostgresStore's saveFlow: `INSERT ... ON CONFLICT DO UPDATE`, whatever the version. */
    class UpsertFlowStore extends PostgresStore {
      override async saveFlow(flow: FlowRecord): Promise<void> {
        await this.pool.query(
          `INSERT INTO ${quoteIdentifier(this.schema)}.flows (id, expires_at, challenge, anonymous, data)
           VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, challenge = EXCLUDED.challenge,
             anonymous = EXCLUDED.anonymous, data = EXCLUDED.data, version = flows.version + 1`,
          [flow.id, flow.expiresAt, flow.challenge, flow.anonymous, JSON.stringify(flow.data)],
        );
      }
    }
    /** The first PostgresStore's consumeChallenge: `SET challenge = NULL`, the version left as it was. */
    class NoBumpConsumeStore extends PostgresStore {
      override async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
        const { rowCount } = await this.pool.query(
          `UPDATE ${quoteIdentifier(this.schema)}.flows SET challenge = NULL WHERE id = $1 AND challenge = $2`,
          [flowId, challenge],
        );
        return rowCount === 1;
      }
    }
    const base = await makeStore();
    try {
      for (const [store, names] of [
        [
          new UpsertFlowStore(pool, { schema: base.schema }),
          [
            'saveFlow is versioned: getFlow returns the version; a save of the version read bumps it; a stale or clashing save is refused and changes nothing',
            'saveFlow: of 20 concurrent saves of one version exactly one succeeds, the others get FlowVersionConflictError',
          ],
        ],
        [
          new NoBumpConsumeStore(pool, { schema: base.schema }),
          [
            'consumeChallenge bumps the version: a save from before the consume is refused, so a consumed challenge is never written back',
          ],
        ],
      ] as const) {
        for (const name of names) {
          await assert.rejects(cases[name](store), assert.AssertionError, `${store.constructor.name}: ${name}`);
        }
      }
    } finally {
      await dropStore(base);
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
