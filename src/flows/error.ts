// Self-service errors shown to browsers: kept briefly so the error UI can fetch them (`GET /self-service/errors?id=`).

import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { type HttpError, notFound } from '../errors.js';
import { queryParam } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { randomId } from '../webauthn/index.js';

/** How long an error stays fetchable. */
const ERROR_LIFESPAN = 10 * 60 * 1000;

/** Store an error for the error UI and return its id. */
export async function saveError(config: ResolvedOptions, error: HttpError): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await config.store.saveFlow({
    id,
    version: 0,
    expiresAt: new Date(now + ERROR_LIFESPAN),
    // A never-consumed "challenge" marks the record as evictable under memory pressure, like an abandoned flow:
    // anyone can cause errors, so they must not pile up.
    challenge: randomId(16),
    anonymous: true,
    data: { kind: 'error', error: error.toJSON().error as never, createdAt: now },
  });
  return id;
}

/** `GET /self-service/errors?id=`: the error as Kratos's `FlowError` (404 when unknown or gone). */
export async function getError(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const id = queryParam(req, 'id') ?? '';
  const record = /^[0-9a-f-]{36}$/.test(id) ? await config.store.getFlow(id) : null;
  const data = record?.data as { kind?: string; error?: unknown; createdAt?: number } | undefined;
  if (!record || data?.kind !== 'error' || record.expiresAt.getTime() <= Date.now()) {
    throw notFound('Unable to locate the error.');
  }
  const at = new Date(data.createdAt ?? Date.now()).toISOString();
  res.status(200).json({ id: record.id, error: data.error, created_at: at, updated_at: at });
}
