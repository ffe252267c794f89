// A PostgreSQL store adapter for express-passkeys, on `pg`. See README.md beside this file.
//
// In your app, import the types and errors from the package instead:
//   import { DuplicateCredentialError, DuplicateIdentifierError, type Store, ... } from 'express-passkeys';

import { readFile } from 'node:fs/promises';
import type { Pool, PoolClient } from 'pg';
import { DuplicateCredentialError, DuplicateIdentifierError } from '../../src/store/errors.js';
import type {
  FlowRecord,
  Identity,
  JsonValue,
  Passkey,
  PasskeyUsage,
  RemovePasskeyResult,
  Store,
} from '../../src/store/types.js';

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** The schema holding the tables (created by {@link migrate}). Default `public`. */
  schema?: string;
  /**
   * How long an expired flow is kept (and still returned by `getFlow`, for the library's 410 answer) before it is
   * swept, in seconds. The contract asks for at least 1 h and at most 24 h. Default 7200 (2 h).
   */
  flowRetentionSeconds?: number;
  /** `saveFlow` sweeps expired flows at most this often, in ms; 0 disables it (call `sweep()` yourself). Default 60 s. */
  sweepIntervalMs?: number;
}

/** Quotes an SQL identifier (`"my ""odd"" schema"`). */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new TypeError('Invalid SQL identifier.');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Creates the schema (if needed) and the tables and indexes of `schema.sql` in it. Idempotent, and safe when several
 * instances start at once (it holds an advisory lock while it runs).
 *
 * @example
 * await migrate(pool);               // tables in `public`
 * await migrate(pool, 'passkeys');   // tables in the schema `passkeys`
 */
export async function migrate(pool: Pool, schema = 'public'): Promise<void> {
  const sql = await readFile(new URL('./schema.sql', import.meta.url), 'utf8');
  const quoted = quoteIdentifier(schema);
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`express-passkeys:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(sql);
  });
}

/** Runs `fn` in a transaction on a client of the pool: COMMIT when it resolves, ROLLBACK when it throws. */
async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error; // the connection is unusable: do not give it back to the pool
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/** A `pg` error (`DatabaseError`) as far as this adapter reads it. */
interface PgError {
  code?: string;
  constraint?: string;
}

/** Maps a unique violation of our constraints to the contract's errors; anything else passes through. */
function mapUniqueViolation(error: unknown, identity: Identity | null, passkey: Passkey): unknown {
  const { code, constraint } = (error ?? {}) as PgError;
  if (code !== '23505') return error;
  if (constraint === 'identities_identifier_key' && identity) return new DuplicateIdentifierError(identity.identifier);
  if (constraint === 'passkeys_pkey') return new DuplicateCredentialError(passkey.id);
  return error; // identities_pkey, identities_user_handle_key: not conflicts the library expects
}

// Rows as `pg` returns them with its default type parsers; the mappers also accept strings, in case an app changed
// the parsers globally (timestamps and JSON as text).
type Row = Record<string, unknown>;

function toDate(value: unknown): Date {
  return value instanceof Date ? new Date(value.getTime()) : new Date(String(value));
}

function toJson(value: unknown): { [key: string]: JsonValue } {
  return (typeof value === 'string' ? JSON.parse(value) : value) as { [key: string]: JsonValue };
}

function toIdentity(row: Row): Identity {
  return {
    id: String(row['id']),
    schemaId: String(row['schema_id']),
    traits: toJson(row['traits']),
    identifier: String(row['identifier']),
    userHandle: String(row['user_handle']),
    createdAt: toDate(row['created_at']),
    updatedAt: toDate(row['updated_at']),
  };
}

function toPasskey(row: Row): Passkey {
  const publicKey = row['public_key'] as Uint8Array;
  return {
    id: String(row['id']),
    identityId: String(row['identity_id']),
    publicKey: new Uint8Array(publicKey), // a plain Uint8Array copy of pg's Buffer
    signCount: Number(row['sign_count']), // bigint arrives as a string
    transports: [...(row['transports'] as string[])],
    aaguid: String(row['aaguid']),
    name: String(row['name']),
    backupEligible: row['backup_eligible'] === true,
    backedUp: row['backed_up'] === true,
    createdAt: toDate(row['created_at']),
    lastUsedAt: row['last_used_at'] === null ? null : toDate(row['last_used_at']),
  };
}

function toFlow(row: Row): FlowRecord {
  return {
    id: String(row['id']),
    expiresAt: toDate(row['expires_at']),
    challenge: row['challenge'] === null ? null : String(row['challenge']),
    anonymous: row['anonymous'] === true,
    data: toJson(row['data']),
  };
}

function bytes(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const IDENTITY_COLUMNS = 'id, schema_id, traits, identifier, user_handle, created_at, updated_at';
const PASSKEY_COLUMNS =
  'id, identity_id, public_key, sign_count, transports, aaguid, name, backup_eligible, backed_up, created_at, last_used_at';
const FLOW_COLUMNS = 'id, expires_at, challenge, anonymous, data';

/**
 * A {@link Store} on PostgreSQL. Give it a `pg` Pool; run {@link migrate} once before (at start-up is fine).
 *
 * Atomicity: `createIdentity` is one statement (a data-modifying CTE inserting both rows); `updatePasskeyUsage` and
 * `consumeChallenge` are conditional UPDATEs (`WHERE sign_count = $expected`, `WHERE challenge = $challenge`), which
 * PostgreSQL re-checks after waiting on a concurrent writer's row lock; `removePasskey` locks the identity row
 * (`FOR NO KEY UPDATE`) before counting, in a transaction, so two removals of the last two passkeys run one after the
 * other. Expired flows are kept `flowRetentionSeconds` (2 h), then swept by `saveFlow` at most once a minute.
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, 'auth');
 * app.use('/auth', passkeys({ rp, store: new PostgresStore(pool, { schema: 'auth' }) }));
 */
export class PostgresStore implements Store {
  readonly pool: Pool;
  readonly schema: string;
  readonly #retentionSeconds: number;
  readonly #sweepIntervalMs: number;
  #lastSweep = 0;
  readonly #identities: string;
  readonly #passkeys: string;
  readonly #flows: string;

  constructor(pool: Pool, options: PostgresStoreOptions = {}) {
    this.pool = pool;
    this.schema = options.schema ?? 'public';
    this.#retentionSeconds = options.flowRetentionSeconds ?? 2 * 60 * 60;
    if (!(this.#retentionSeconds >= 3600 && this.#retentionSeconds <= 86_400)) {
      throw new RangeError('PostgresStore: flowRetentionSeconds must be between 3600 and 86400.');
    }
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    const schema = quoteIdentifier(this.schema);
    this.#identities = `${schema}.identities`;
    this.#passkeys = `${schema}.passkeys`;
    this.#flows = `${schema}.flows`;
  }

  async createIdentity(identity: Identity, passkey: Passkey): Promise<void> {
    if (passkey.identityId !== identity.id) {
      throw new Error('PostgresStore.createIdentity: passkey.identityId differs from identity.id.');
    }
    // One statement, hence atomic: a unique violation on either insert undoes both. The passkey's identity_id comes
    // from the inserted identity row.
    const sql = `
      WITH identity AS (
        INSERT INTO ${this.#identities} (${IDENTITY_COLUMNS})
        VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
        RETURNING id
      )
      INSERT INTO ${this.#passkeys} (${PASSKEY_COLUMNS})
      SELECT $8::text, identity.id, $9::bytea, $10::bigint, $11::text[], $12::text, $13::text, $14::boolean,
             $15::boolean, $16::timestamptz, $17::timestamptz
      FROM identity`;
    const [credentialId, , ...passkeyRest] = this.#passkeyValues(passkey);
    try {
      await this.pool.query(sql, [
        identity.id,
        identity.schemaId,
        JSON.stringify(identity.traits),
        identity.identifier,
        identity.userHandle,
        identity.createdAt,
        identity.updatedAt,
        credentialId,
        ...passkeyRest,
      ]);
    } catch (error) {
      throw mapUniqueViolation(error, identity, passkey);
    }
  }

  async getIdentity(id: string): Promise<Identity | null> {
    return this.#identity('id', id);
  }

  async findIdentityByUserHandle(userHandle: string): Promise<Identity | null> {
    return this.#identity('user_handle', userHandle);
  }

  async findIdentityByIdentifier(identifier: string): Promise<Identity | null> {
    return this.#identity('identifier', identifier);
  }

  async getPasskey(credentialId: string): Promise<Passkey | null> {
    const { rows } = await this.pool.query(`SELECT ${PASSKEY_COLUMNS} FROM ${this.#passkeys} WHERE id = $1`, [
      credentialId,
    ]);
    return rows[0] ? toPasskey(rows[0]) : null;
  }

  async listPasskeys(identityId: string): Promise<Passkey[]> {
    const { rows } = await this.pool.query(
      `SELECT ${PASSKEY_COLUMNS} FROM ${this.#passkeys} WHERE identity_id = $1 ORDER BY created_at, seq`,
      [identityId],
    );
    return rows.map(toPasskey);
  }

  async addPasskey(passkey: Passkey): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO ${this.#passkeys} (${PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        this.#passkeyValues(passkey),
      );
    } catch (error) {
      throw mapUniqueViolation(error, null, passkey); // no such identity: a foreign-key violation, rejected as is
    }
  }

  async updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.#passkeys} SET sign_count = $2, backed_up = $3, last_used_at = $4
       WHERE id = $1 AND sign_count = $5`,
      [credentialId, usage.signCount, usage.backedUp, usage.lastUsedAt, usage.expectedSignCount],
    );
    return rowCount === 1;
  }

  async renamePasskey(identityId: string, credentialId: string, name: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.#passkeys} SET name = $3 WHERE id = $2 AND identity_id = $1`,
      [identityId, credentialId, name],
    );
    return rowCount === 1;
  }

  async removePasskey(identityId: string, credentialId: string): Promise<RemovePasskeyResult> {
    return transaction(this.pool, async (client) => {
      // Lock the identity: concurrent removals for it queue here. Each later statement takes a fresh snapshot (READ
      // COMMITTED), so the count below sees what a removal that went first committed. A single
      // `DELETE ... WHERE (SELECT count(*) ...) > 1` is not enough: both statements would count 2.
      const owner = await client.query(`SELECT 1 FROM ${this.#identities} WHERE id = $1 FOR NO KEY UPDATE`, [
        identityId,
      ]);
      if (owner.rowCount === 0) return 'not_found';
      const deleted = await client.query(
        `DELETE FROM ${this.#passkeys}
         WHERE id = $2 AND identity_id = $1
           AND (SELECT count(*) FROM ${this.#passkeys} WHERE identity_id = $1) > 1`,
        [identityId, credentialId],
      );
      if (deleted.rowCount === 1) return 'removed';
      const exists = await client.query(`SELECT 1 FROM ${this.#passkeys} WHERE id = $2 AND identity_id = $1`, [
        identityId,
        credentialId,
      ]);
      return exists.rowCount === 0 ? 'not_found' : 'last_credential';
    });
  }

  async saveFlow(flow: FlowRecord): Promise<void> {
    const now = Date.now();
    // `now < #lastSweep`: the clock went back (or a test moved it): sweep rather than wait for it to catch up.
    if (this.#sweepIntervalMs > 0 && (now - this.#lastSweep >= this.#sweepIntervalMs || now < this.#lastSweep)) {
      this.#lastSweep = now;
      await this.sweep();
    }
    await this.pool.query(
      `INSERT INTO ${this.#flows} (${FLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (id) DO UPDATE SET
         expires_at = EXCLUDED.expires_at, challenge = EXCLUDED.challenge,
         anonymous = EXCLUDED.anonymous, data = EXCLUDED.data`,
      [flow.id, flow.expiresAt, flow.challenge, flow.anonymous, JSON.stringify(flow.data)],
    );
  }

  async getFlow(id: string): Promise<FlowRecord | null> {
    // A flow past retention is gone even if no sweep has run since (the app may have had no traffic).
    const { rows } = await this.pool.query(
      `SELECT ${FLOW_COLUMNS} FROM ${this.#flows}
       WHERE id = $1 AND expires_at >= now() - make_interval(secs => $2)`,
      [id, this.#retentionSeconds],
    );
    return rows[0] ? toFlow(rows[0]) : null;
  }

  async consumeChallenge(flowId: string, challenge: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.#flows} SET challenge = NULL
       WHERE id = $1 AND challenge = $2 AND expires_at >= now() - make_interval(secs => $3)`,
      [flowId, challenge, this.#retentionSeconds],
    );
    return rowCount === 1;
  }

  async deleteFlow(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.#flows} WHERE id = $1`, [id]);
  }

  /**
   * Deletes the flows that expired more than `flowRetentionSeconds` ago (the `flows_expires_at_idx` index makes it a
   * range scan). `saveFlow` calls it at most once per `sweepIntervalMs`; call it from a timer or a cron job if you
   * set that to 0. Resolves to the number of flows deleted.
   */
  async sweep(): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${this.#flows} WHERE expires_at < now() - make_interval(secs => $1)`,
      [this.#retentionSeconds],
    );
    return rowCount ?? 0;
  }

  async #identity(column: 'id' | 'user_handle' | 'identifier', value: string): Promise<Identity | null> {
    const { rows } = await this.pool.query(`SELECT ${IDENTITY_COLUMNS} FROM ${this.#identities} WHERE ${column} = $1`, [
      value,
    ]);
    return rows[0] ? toIdentity(rows[0]) : null;
  }

  /** The values of {@link PASSKEY_COLUMNS}, in order. */
  #passkeyValues(passkey: Passkey): unknown[] {
    return [
      passkey.id,
      passkey.identityId,
      bytes(passkey.publicKey),
      passkey.signCount,
      passkey.transports,
      passkey.aaguid,
      passkey.name,
      passkey.backupEligible,
      passkey.backedUp,
      passkey.createdAt,
      passkey.lastUsedAt,
    ];
  }
}
