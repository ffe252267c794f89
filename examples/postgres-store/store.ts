// A PostgreSQL store adapter for express-passkeys, on `pg`. See README.md beside this file.
//
// In your app, import the types and errors from the package instead:
//   import { DuplicateAddressError, DuplicateCredentialError, type Store, ... } from 'express-passkeys';

import { readFile } from 'node:fs/promises';
import type { Pool, PoolClient } from 'pg';
import {
  DuplicateAddressError,
  DuplicateCredentialError,
  DuplicateIdentifierError,
  FlowVersionConflictError,
} from '../../src/store/errors.js';
import type {
  CounterState,
  FlowRecord,
  Identity,
  JsonValue,
  ListIdentitiesOptions,
  ListSessionsOptions,
  Passkey,
  PasskeyUsage,
  RecoveryAddress,
  RemovePasskeyResult,
  SessionRecord,
  Store,
  VerifiableAddress,
} from '../../src/store/types.js';
import { PostgresSessions } from './sessions.js';

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
 * Creates the schema (if needed) and the tables and indexes of `schema.sql` in it. Idempotent, safe when several
 * instances start at once (it holds an advisory lock while it runs), and it upgrades a schema made by an earlier
 * version of `schema.sql` (adds the flow `version` column and the address tables).
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
function mapUniqueViolation(error: unknown, identity: Identity | null, passkey: Passkey | null): unknown {
  const { code, constraint } = (error ?? {}) as PgError;
  if (code !== '23505') return error;
  if (constraint === 'identities_identifier_key' && identity) return new DuplicateIdentifierError(identity.identifier);
  if (constraint === 'passkeys_pkey' && passkey) return new DuplicateCredentialError(passkey.id);
  return error; // identities_pkey, identities_user_handle_key: not conflicts the library expects
}

/** The address kind whose unique index (`<table>_value_key`) an error violated, if any. */
function violatedAddressKind(error: unknown): AddressKind | null {
  const { code, constraint } = (error ?? {}) as PgError;
  if (code !== '23505') return null;
  if (constraint === 'recovery_addresses_value_key') return 'recovery';
  if (constraint === 'verifiable_addresses_value_key') return 'verification';
  return null;
}

type AddressKind = 'recovery' | 'verification';
const ADDRESS_TABLES: Record<AddressKind, string> = {
  recovery: 'recovery_addresses',
  verification: 'verifiable_addresses',
};

// Rows as `pg` returns them with its default type parsers; the mappers also accept strings, in case an app changed
// the parsers globally (timestamps and JSON as text).
type Row = Record<string, unknown>;

function toDate(value: unknown): Date {
  return value instanceof Date ? new Date(value.getTime()) : new Date(String(value));
}

function toJson(value: unknown): { [key: string]: JsonValue } {
  return (typeof value === 'string' ? JSON.parse(value) : value) as { [key: string]: JsonValue };
}

/** The address lists arrive as JSON arrays (built by `jsonb_agg`), with snake_case keys and ISO 8601 dates. */
function toJsonList(value: unknown): Row[] {
  return (typeof value === 'string' ? JSON.parse(value) : value) as Row[];
}

function toRecoveryAddress(row: Row): RecoveryAddress {
  return {
    id: String(row['id']),
    value: String(row['value']),
    via: String(row['via']) as RecoveryAddress['via'],
    createdAt: toDate(row['created_at']),
    updatedAt: toDate(row['updated_at']),
  };
}

function toVerifiableAddress(row: Row): VerifiableAddress {
  return {
    id: String(row['id']),
    value: String(row['value']),
    via: String(row['via']) as VerifiableAddress['via'],
    verified: row['verified'] === true,
    status: String(row['status']) as VerifiableAddress['status'],
    verifiedAt: row['verified_at'] === null || row['verified_at'] === undefined ? null : toDate(row['verified_at']),
    createdAt: toDate(row['created_at']),
    updatedAt: toDate(row['updated_at']),
  };
}

function toIdentity(row: Row): Identity {
  return {
    id: String(row['id']),
    schemaId: String(row['schema_id']),
    traits: toJson(row['traits']),
    identifier: String(row['identifier']),
    userHandle: String(row['user_handle']),
    recoveryAddresses: toJsonList(row['recovery_addresses']).map(toRecoveryAddress),
    verifiableAddresses: toJsonList(row['verifiable_addresses']).map(toVerifiableAddress),
    state: row['state'] === 'inactive' ? 'inactive' : 'active',
    stateChangedAt:
      row['state_changed_at'] === null || row['state_changed_at'] === undefined
        ? null
        : toDate(row['state_changed_at']),
    metadataPublic: toNullableJson(row['metadata_public']),
    metadataAdmin: toNullableJson(row['metadata_admin']),
    createdAt: toDate(row['created_at']),
    updatedAt: toDate(row['updated_at']),
  };
}

/**
 * A nullable `jsonb` column selected as text (a JSON string value would be ambiguous as parsed JSON): `null` for SQL
 * NULL, else the parsed value.
 */
function toNullableJson(value: unknown): JsonValue | null {
  if (value === null || value === undefined) return null;
  return JSON.parse(String(value)) as JsonValue;
}

/** A JSON value for a nullable `jsonb` parameter: SQL NULL for `null`/absent. */
function jsonParam(value: JsonValue | null | undefined): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/**
 * An identity's addresses of each kind as the JSON `jsonb_to_recordset` reads (dates as ISO 8601, to the millisecond),
 * or `null` for a kind it has none of.
 */
function addressesJson(identity: Identity): Record<AddressKind, string | null> {
  const iso = (date: Date) => date.toISOString();
  const recovery = (identity.recoveryAddresses ?? []).map((a) => ({
    id: a.id,
    value: a.value,
    via: a.via,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
  }));
  const verifiable = (identity.verifiableAddresses ?? []).map((a) => ({
    id: a.id,
    value: a.value,
    via: a.via,
    verified: a.verified,
    status: a.status,
    verified_at: a.verifiedAt === null ? null : iso(a.verifiedAt),
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
  }));
  return {
    recovery: recovery.length > 0 ? JSON.stringify(recovery) : null,
    verification: verifiable.length > 0 ? JSON.stringify(verifiable) : null,
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
    ...(row['backup_flags_unknown'] === true ? { backupFlagsUnknown: true } : {}),
    createdAt: toDate(row['created_at']),
    lastUsedAt: row['last_used_at'] === null ? null : toDate(row['last_used_at']),
  };
}

function toFlow(row: Row): FlowRecord {
  return {
    id: String(row['id']),
    version: Number(row['version']), // bigint arrives as a string
    expiresAt: toDate(row['expires_at']),
    challenge: row['challenge'] === null ? null : String(row['challenge']),
    anonymous: row['anonymous'] === true,
    data: toJson(row['data']),
    identityId: row['identity_id'] === null || row['identity_id'] === undefined ? null : String(row['identity_id']),
  };
}

function bytes(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const IDENTITY_COLUMNS =
  'id, schema_id, traits, identifier, user_handle, created_at, updated_at, state, state_changed_at, metadata_public, metadata_admin';
const PASSKEY_COLUMNS =
  'id, identity_id, public_key, sign_count, transports, aaguid, name, backup_eligible, backed_up, created_at, last_used_at, backup_flags_unknown';
const FLOW_COLUMNS = 'id, expires_at, challenge, anonymous, data, version, identity_id';

/**
 * A {@link Store} on PostgreSQL. Give it a `pg` Pool; run {@link migrate} once before (at start-up is fine).
 *
 * Atomicity: `createIdentity` is one statement (data-modifying CTEs inserting the identity, its passkey and its
 * addresses); `updatePasskeyUsage`, `consumeChallenge` and `saveFlow` are conditional writes (`WHERE sign_count =
 * $expected`, `WHERE challenge = $challenge`, `WHERE version = $read`, or `INSERT ... ON CONFLICT DO NOTHING` for a new
 * flow), which PostgreSQL re-checks after waiting on a concurrent writer's row lock; `updateIdentity` is a transaction
 * whose first statement is the compare-and-set on `updated_at` (the row lock it takes queues concurrent updates);
 * `removePasskey` locks the identity row (`FOR NO KEY UPDATE`) before counting, in a transaction, so two removals of the
 * last two passkeys run one after the other. Expired flows are kept `flowRetentionSeconds` (2 h), then swept by
 * `saveFlow` at most once a minute.
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
  readonly #counters: string;
  readonly #addresses: Record<AddressKind, string>;
  /** `SELECT` of an identity with its addresses (as JSON arrays, in order); append a `WHERE` on `i`. */
  readonly #selectIdentity: string;
  /** The session records (sessions.ts). */
  readonly #sessions: PostgresSessions;

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
    this.#sessions = new PostgresSessions(pool, `${schema}.sessions`);
    this.#counters = `${schema}.limit_counters`;
    this.#addresses = {
      recovery: `${schema}.${ADDRESS_TABLES.recovery}`,
      verification: `${schema}.${ADDRESS_TABLES.verification}`,
    };
    // One statement, hence one snapshot: the identity and its addresses as they were at one moment.
    this.#selectIdentity = `
      SELECT i.id, i.schema_id, i.traits, i.identifier, i.user_handle, i.created_at, i.updated_at, i.state,
        i.state_changed_at, i.metadata_public::text AS metadata_public, i.metadata_admin::text AS metadata_admin,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'value', r.value, 'via', r.via,
                    'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.ord)
                  FROM ${this.#addresses.recovery} r WHERE r.identity_id = i.id), '[]'::jsonb) AS recovery_addresses,
        COALESCE((SELECT jsonb_agg(jsonb_build_object('id', v.id, 'value', v.value, 'via', v.via,
                    'verified', v.verified, 'status', v.status, 'verified_at', v.verified_at,
                    'created_at', v.created_at, 'updated_at', v.updated_at) ORDER BY v.ord)
                  FROM ${this.#addresses.verification} v WHERE v.identity_id = i.id), '[]'::jsonb)
          AS verifiable_addresses
      FROM ${this.#identities} i`;
  }

  async createIdentity(identity: Identity, passkey?: Passkey): Promise<void> {
    if (passkey && passkey.identityId !== identity.id) {
      throw new Error('PostgresStore.createIdentity: passkey.identityId differs from identity.id.');
    }
    // One statement, hence atomic: a unique violation on any insert undoes them all. The passkey's and the addresses'
    // identity_id come from the inserted identity row. Without a passkey ($12 false) its insert selects no row.
    const addresses = this.#insertAddresses(identity, 24, 'identity.id', 'identity,');
    const sql = `
      WITH identity AS (
        INSERT INTO ${this.#identities} (${IDENTITY_COLUMNS})
        VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9::timestamptz, $10::jsonb, $11::jsonb)
        RETURNING id
      ),
      passkey AS (
        INSERT INTO ${this.#passkeys} (${PASSKEY_COLUMNS})
        SELECT $13::text, identity.id, $14::bytea, $15::bigint, $16::text[], $17::text, $18::text, $19::boolean,
               $20::boolean, $21::timestamptz, $22::timestamptz, $23::boolean
        FROM identity WHERE $12::boolean
        RETURNING 1
      )${addresses.ctes.map((cte) => `,\n      ${cte}`).join('')}
      SELECT 1`;
    const [credentialId, , ...passkeyRest] = passkey ? this.#passkeyValues(passkey) : Array(12).fill(null);
    try {
      await this.pool.query(sql, [
        identity.id,
        identity.schemaId,
        JSON.stringify(identity.traits),
        identity.identifier,
        identity.userHandle,
        identity.createdAt,
        identity.updatedAt,
        identity.state === 'inactive' ? 'inactive' : 'active',
        identity.stateChangedAt ?? null,
        jsonParam(identity.metadataPublic),
        jsonParam(identity.metadataAdmin),
        passkey !== undefined,
        credentialId,
        ...passkeyRest,
        ...addresses.values,
      ]);
    } catch (error) {
      throw await this.#mapIdentityError(error, identity, passkey ?? null);
    }
  }

  async deleteIdentity(id: string): Promise<boolean> {
    return transaction(this.pool, async (client) => {
      // Passkeys and addresses go with the row (ON DELETE CASCADE); flows are deleted by their identity_id.
      const deleted = await client.query(`DELETE FROM ${this.#identities} WHERE id = $1`, [id]);
      if (deleted.rowCount !== 1) return false;
      await client.query(`DELETE FROM ${this.#flows} WHERE identity_id = $1`, [id]);
      return true;
    });
  }

  async listIdentities(options: ListIdentitiesOptions): Promise<Identity[]> {
    const conditions: string[] = [];
    const values: unknown[] = [Math.max(0, Math.floor(options.limit))];
    if (options.after !== undefined) {
      values.push(options.after);
      // COLLATE "C": byte order, the order JavaScript's string comparison gives for these ASCII ids.
      conditions.push(`i.id COLLATE "C" > $${values.length}`);
    }
    if (options.identifier !== undefined) {
      values.push(options.identifier);
      conditions.push(`i.identifier = $${values.length}`);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query(
      `${this.#selectIdentity} ${where} ORDER BY i.id COLLATE "C" LIMIT $1`,
      values,
    );
    return rows.map(toIdentity);
  }

  async getIdentity(id: string): Promise<Identity | null> {
    return this.#identity('i.id = $1', id);
  }

  async findIdentityByUserHandle(userHandle: string): Promise<Identity | null> {
    return this.#identity('i.user_handle = $1', userHandle);
  }

  async findIdentityByIdentifier(identifier: string): Promise<Identity | null> {
    return this.#identity('i.identifier = $1', identifier);
  }

  async findIdentityByAddress(kind: 'recovery' | 'verification', value: string): Promise<Identity | null> {
    if (!Object.hasOwn(this.#addresses, kind)) return null; // not a kind: nothing has such an address
    // The unique index on `value` makes the subquery return one row at most.
    return this.#identity(`i.id = (SELECT identity_id FROM ${this.#addresses[kind]} WHERE value = $1)`, value);
  }

  async updateIdentity(identity: Identity, expectedUpdatedAt: Date): Promise<boolean> {
    try {
      return await transaction(this.pool, async (client) => {
        // The compare-and-set, to the millisecond (a timestamptz keeps microseconds; a row written by other code may
        // have them). The row lock it takes makes a concurrent update of this identity wait, then re-check the WHERE
        // on the row it committed: of concurrent updates from one updatedAt, one applies. The old addresses go in the
        // same statement, only if the update applied.
        const updated = await client.query(
          `WITH updated AS (
             UPDATE ${this.#identities} SET traits = $2::jsonb, identifier = $3, updated_at = $4, state = $6,
               state_changed_at = $7::timestamptz, metadata_public = $8::jsonb, metadata_admin = $9::jsonb
             WHERE id = $1 AND date_trunc('milliseconds', updated_at) = date_trunc('milliseconds', $5::timestamptz)
             RETURNING id
           ),
           old_recovery AS (
             DELETE FROM ${this.#addresses.recovery} WHERE identity_id IN (SELECT id FROM updated)
           ),
           old_verifiable AS (
             DELETE FROM ${this.#addresses.verification} WHERE identity_id IN (SELECT id FROM updated)
           )
           SELECT id FROM updated`,
          [
            identity.id,
            JSON.stringify(identity.traits),
            identity.identifier,
            identity.updatedAt,
            expectedUpdatedAt,
            identity.state === 'inactive' ? 'inactive' : 'active',
            identity.stateChangedAt ?? null,
            jsonParam(identity.metadataPublic),
            jsonParam(identity.metadataAdmin),
          ],
        );
        if (updated.rowCount !== 1) return false;
        // A second statement: in one statement, the new rows could be checked against the old ones still there.
        const addresses = this.#insertAddresses(identity, 2, '$1::text', '');
        if (addresses.ctes.length > 0) {
          await client.query(`WITH ${addresses.ctes.join(',\n')} SELECT 1`, [identity.id, ...addresses.values]);
        }
        return true;
      });
    } catch (error) {
      throw await this.#mapIdentityError(error, identity, null);
    }
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

  async listPasskeyIds(identityId: string): Promise<string[]> {
    const { rows } = await this.pool.query(`SELECT id FROM ${this.#passkeys} WHERE identity_id = $1`, [identityId]);
    return rows.map((row: { id: string }) => row.id);
  }

  async addPasskey(passkey: Passkey): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO ${this.#passkeys} (${PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        this.#passkeyValues(passkey),
      );
    } catch (error) {
      throw mapUniqueViolation(error, null, passkey); // no such identity: a foreign-key violation, rejected as is
    }
  }

  async updatePasskeyUsage(credentialId: string, usage: PasskeyUsage): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.#passkeys} SET sign_count = $2, backed_up = $3, last_used_at = $4,
         backup_eligible = CASE WHEN backup_flags_unknown AND $6::boolean IS NOT NULL THEN $6 ELSE backup_eligible END,
         backup_flags_unknown = backup_flags_unknown AND $6::boolean IS NULL
       WHERE id = $1 AND sign_count = $5`,
      [
        credentialId,
        usage.signCount,
        usage.backedUp,
        usage.lastUsedAt,
        usage.expectedSignCount,
        usage.backupEligible ?? null,
      ],
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
    const version = flow.version ?? 0;
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new TypeError('PostgresStore.saveFlow: version must be a non-negative integer.');
    }
    const values = [
      flow.id,
      flow.expiresAt,
      flow.challenge,
      flow.anonymous,
      JSON.stringify(flow.data),
      flow.identityId ?? null,
    ];
    // Either write is one conditional statement: a concurrent insert of the same id waits for the first one and then
    // does nothing; a concurrent update of the same version waits for the row lock, re-checks `version` on the row
    // the first one committed, and matches nothing.
    const { rowCount } =
      version === 0
        ? await this.pool.query(
            `INSERT INTO ${this.#flows} (${FLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5::jsonb, 1, $6)
             ON CONFLICT (id) DO NOTHING`,
            values,
          )
        : await this.pool.query(
            `UPDATE ${this.#flows}
             SET expires_at = $2, challenge = $3, anonymous = $4, data = $5::jsonb, identity_id = $6,
               version = version + 1
             WHERE id = $1 AND version = $7`,
            [...values, version],
          );
    if (rowCount !== 1) throw new FlowVersionConflictError(flow.id);
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
      `UPDATE ${this.#flows} SET challenge = NULL, version = version + 1
       WHERE id = $1 AND challenge = $2 AND expires_at >= now() - make_interval(secs => $3)`,
      [flowId, challenge, this.#retentionSeconds],
    );
    return rowCount === 1;
  }

  async deleteFlow(id: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.#flows} WHERE id = $1`, [id]);
  }

  /**
   * One statement, hence atomic: the first event of a key (or the first after its window ended) writes count 1 and a
   * new `reset_at`; any other adds 1 under the row lock. Concurrent first events: one inserts, the others wait for it
   * and update. Times come from `Date.now()` (the contract's clock), not the database's `now()`.
   */
  async incrementCounter(key: string, windowMs: number): Promise<CounterState> {
    if (!(windowMs > 0)) throw new TypeError('PostgresStore.incrementCounter: windowMs must be a positive number.');
    const now = Date.now();
    const { rows } = await this.pool.query(
      `INSERT INTO ${this.#counters} AS c (key, count, reset_at) VALUES ($1, 1, $2)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN c.reset_at <= $3 THEN 1 ELSE c.count + 1 END,
         reset_at = CASE WHEN c.reset_at <= $3 THEN EXCLUDED.reset_at ELSE c.reset_at END
       RETURNING count, reset_at`,
      [key, new Date(now + windowMs), new Date(now)],
    );
    const row = rows[0] as { count: string | number; reset_at: Date };
    return { count: Number(row.count), resetAt: row.reset_at };
  }

  async getCounter(key: string): Promise<CounterState | null> {
    const { rows } = await this.pool.query(
      `SELECT count, reset_at FROM ${this.#counters} WHERE key = $1 AND reset_at > $2`,
      [key, new Date(Date.now())],
    );
    const row = rows[0] as { count: string | number; reset_at: Date } | undefined;
    return row ? { count: Number(row.count), resetAt: row.reset_at } : null;
  }

  /**
   * Deletes the flows that expired more than `flowRetentionSeconds` ago (the `flows_expires_at_idx` index makes it a
   * range scan), and the limit counters whose window has ended. `saveFlow` calls it at most once per `sweepIntervalMs`; call it from a timer or a cron job if you
   * set that to 0. Resolves to the number of flows deleted.
   */
  async sweep(): Promise<number> {
    await this.pool.query(`DELETE FROM ${this.#counters} WHERE reset_at <= $1`, [new Date(Date.now())]);
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${this.#flows} WHERE expires_at < now() - make_interval(secs => $1)`,
      [this.#retentionSeconds],
    );
    // Session records go an hour after they expired (an admin listing all sessions still sees recent ones).
    await this.#sessions.sweep(3600);
    return rowCount ?? 0;
  }

  // Session records: see sessions.ts.
  createSession(session: SessionRecord): Promise<void> {
    return this.#sessions.createSession(session);
  }
  getSession(id: string): Promise<SessionRecord | null> {
    return this.#sessions.getSession(id);
  }
  updateSession(session: SessionRecord): Promise<boolean> {
    return this.#sessions.updateSession(session);
  }
  listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    return this.#sessions.listSessions(identityId, options);
  }
  revokeSession(identityId: string, sessionId: string): Promise<boolean> {
    return this.#sessions.revokeSession(identityId, sessionId);
  }
  revokeSessions(identityId: string, exceptId?: string): Promise<number> {
    return this.#sessions.revokeSessions(identityId, exceptId);
  }
  deleteSessions(identityId: string): Promise<number> {
    return this.#sessions.deleteSessions(identityId);
  }
  extendSession(id: string, expiresAt: Date): Promise<boolean> {
    return this.#sessions.extendSession(id, expiresAt);
  }

  /** The identity matching `where` (a condition on `i` with one parameter, `$1`), with its addresses, or `null`. */
  async #identity(where: string, value: string): Promise<Identity | null> {
    const { rows } = await this.pool.query(`${this.#selectIdentity} WHERE ${where}`, [value]);
    return rows[0] ? toIdentity(rows[0]) : null;
  }

  /**
   * The data-modifying CTEs (to put after `WITH`) inserting an identity's addresses, one per kind it has addresses
   * of, and their parameters, numbered from `firstParam`. `identityId` is the SQL expression of the identity's id,
   * `from` what to join the rows with (`'identity,'` or `''`).
   */
  #insertAddresses(
    identity: Identity,
    firstParam: number,
    identityId: string,
    from: string,
  ): { ctes: string[]; values: string[] } {
    const json = addressesJson(identity);
    const ctes: string[] = [];
    const values: string[] = [];
    if (json.recovery !== null) {
      values.push(json.recovery);
      ctes.push(`recovery_rows AS (
        INSERT INTO ${this.#addresses.recovery} (identity_id, id, ord, value, via, created_at, updated_at)
        SELECT ${identityId}, a.id, a.ord, a.value, a.via, a.created_at, a.updated_at
        FROM ${from} ROWS FROM (jsonb_to_recordset($${firstParam + values.length - 1}::jsonb) AS (id text,
          value text, via text, created_at timestamptz, updated_at timestamptz))
          WITH ORDINALITY AS a(id, value, via, created_at, updated_at, ord)
        RETURNING 1
      )`);
    }
    if (json.verification !== null) {
      values.push(json.verification);
      ctes.push(`verifiable_rows AS (
        INSERT INTO ${this.#addresses.verification}
          (identity_id, id, ord, value, via, verified, status, verified_at, created_at, updated_at)
        SELECT ${identityId}, a.id, a.ord, a.value, a.via, a.verified, a.status, a.verified_at, a.created_at,
          a.updated_at
        FROM ${from} ROWS FROM (jsonb_to_recordset($${firstParam + values.length - 1}::jsonb) AS (id text,
          value text, via text, verified boolean, status text, verified_at timestamptz, created_at timestamptz,
          updated_at timestamptz))
          WITH ORDINALITY AS a(id, value, via, verified, status, verified_at, created_at, updated_at, ord)
        RETURNING 1
      )`);
    }
    return { ctes, values };
  }

  /**
   * The contract's error for a failed write of `identity` (a unique violation of the identifier, the credential id or
   * an address), or the error itself. For an address, the value is looked up: which of the identity's addresses of
   * that kind another identity holds (the statement has rolled back; the holder has committed).
   */
  async #mapIdentityError(error: unknown, identity: Identity, passkey: Passkey | null): Promise<unknown> {
    const kind = violatedAddressKind(error);
    if (kind === null) return mapUniqueViolation(error, identity, passkey);
    const values = (kind === 'recovery' ? identity.recoveryAddresses : identity.verifiableAddresses).map(
      (a) => a.value,
    );
    const { rows } = await this.pool.query(
      `SELECT value FROM ${this.#addresses[kind]} WHERE value = ANY($1::text[]) AND identity_id <> $2 LIMIT 1`,
      [values, identity.id],
    );
    // None: the identity lists one value twice (its own rows collided), which is not a conflict with another one.
    return rows[0] ? new DuplicateAddressError(kind, String(rows[0]['value'])) : error;
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
      passkey.backupFlagsUnknown === true,
    ];
  }
}
