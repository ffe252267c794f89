// The PostgreSQL store's session records: one row per session, methods and devices as JSON, keyset pages by issue time.

import type { Pool } from 'pg';
import type { ListSessionsOptions, SessionDevice, SessionMethod, SessionRecord } from '../../src/store/types.js';

type Row = Record<string, unknown>;

const SESSION_COLUMNS = 'id, identity_id, active, issued_at, authenticated_at, expires_at, aal, methods, devices';

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}

function toSession(row: Row): SessionRecord {
  const methods = (row['methods'] ?? []) as Row[];
  const devices = (row['devices'] ?? []) as Row[];
  return {
    id: String(row['id']),
    identityId: String(row['identity_id']),
    active: Boolean(row['active']),
    issuedAt: toDate(row['issued_at']),
    authenticatedAt: toDate(row['authenticated_at']),
    expiresAt: toDate(row['expires_at']),
    aal: 'aal1',
    methods: methods.map(
      (m): SessionMethod => ({
        method: m['method'] as SessionMethod['method'],
        aal: 'aal1',
        completedAt: toDate(m['completed_at']),
        ...(typeof m['credential_id'] === 'string' ? { credentialId: m['credential_id'] } : {}),
      }),
    ),
    devices: devices.map(
      (d): SessionDevice => ({
        id: String(d['id']),
        ipAddress: String(d['ip_address']),
        userAgent: String(d['user_agent']),
        location: String(d['location']),
      }),
    ),
  };
}

function methodsJson(methods: SessionMethod[]): string {
  return JSON.stringify(
    methods.map((m) => ({
      method: m.method,
      aal: m.aal,
      completed_at: m.completedAt.toISOString(),
      ...(m.credentialId !== undefined ? { credential_id: m.credentialId } : {}),
    })),
  );
}

function devicesJson(devices: SessionDevice[]): string {
  return JSON.stringify(
    devices.map((d) => ({ id: d.id, ip_address: d.ipAddress, user_agent: d.userAgent, location: d.location })),
  );
}

/**
 * The session methods of {@link PostgresStore}, on the `sessions` table of `schema.sql`. Each write is one statement
 * (atomic on its own); "now" is the app's clock (`Date.now()`), as the library's, passed as a parameter.
 */
export class PostgresSessions {
  constructor(
    readonly pool: Pool,
    /** The quoted, schema-qualified table name. */
    readonly table: string,
  ) {}

  async createSession(session: SessionRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)`,
      [
        session.id,
        session.identityId,
        session.active,
        session.issuedAt,
        session.authenticatedAt,
        session.expiresAt,
        session.aal,
        methodsJson(session.methods),
        devicesJson(session.devices),
      ],
    );
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const { rows } = await this.pool.query(`SELECT ${SESSION_COLUMNS} FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0] ? toSession(rows[0]) : null;
  }

  async updateSession(session: SessionRecord): Promise<boolean> {
    // `active AND $2`: a revoked record stays revoked, whatever the caller read before.
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.table} SET active = active AND $2, authenticated_at = $3, expires_at = $4, methods = $5::jsonb,
         devices = $6::jsonb
       WHERE id = $1`,
      [
        session.id,
        session.active,
        session.authenticatedAt,
        session.expiresAt,
        methodsJson(session.methods),
        devicesJson(session.devices),
      ],
    );
    return rowCount === 1;
  }

  async listSessions(identityId: string, options: ListSessionsOptions): Promise<SessionRecord[]> {
    const params: unknown[] = [identityId, Math.max(0, options.limit)];
    let where = 'identity_id = $1';
    if (options.active) {
      params.push(new Date());
      where += ` AND active AND expires_at > $${params.length}`;
    }
    if (options.after) {
      params.push(options.after.issuedAt, options.after.id);
      where += ` AND (issued_at, id) < ($${params.length - 1}, $${params.length})`;
    }
    const { rows } = await this.pool.query(
      `SELECT ${SESSION_COLUMNS} FROM ${this.table} WHERE ${where} ORDER BY issued_at DESC, id DESC LIMIT $2`,
      params,
    );
    return rows.map(toSession);
  }

  async revokeSession(identityId: string, sessionId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.table} SET active = false WHERE id = $2 AND identity_id = $1 AND active`,
      [identityId, sessionId],
    );
    return rowCount === 1;
  }

  async revokeSessions(identityId: string, exceptId?: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.table} SET active = false
       WHERE identity_id = $1 AND active AND expires_at > $2 AND id IS DISTINCT FROM $3`,
      [identityId, new Date(), exceptId ?? null],
    );
    return rowCount ?? 0;
  }

  async deleteSessions(identityId: string): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM ${this.table} WHERE identity_id = $1`, [identityId]);
    return rowCount ?? 0;
  }

  async extendSession(id: string, expiresAt: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE ${this.table} SET expires_at = $2 WHERE id = $1 AND active`, [
      id,
      expiresAt,
    ]);
    return rowCount === 1;
  }

  /** Deletes the records that expired more than `retentionSeconds` ago. Resolves to how many. */
  async sweep(retentionSeconds: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM ${this.table} WHERE expires_at < now() - make_interval(secs => $1)`,
      [retentionSeconds],
    );
    return rowCount ?? 0;
  }
}
