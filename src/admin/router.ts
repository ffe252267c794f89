// `auth.adminRouter()`: Kratos's admin routes and JSON over `auth.admin`, for the app to mount behind its own guard.

import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { HttpError } from '../errors.js';
import { queryParams, requestOrigin } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { DuplicateAddressError, DuplicateCredentialError, DuplicateIdentifierError } from '../store/errors.js';
import type { JsonValue, SessionRecord } from '../store/types.js';
import { AdminError, IdentityNotFoundError, SessionNotFoundError, ValidationError } from './errors.js';
import { addressVerificationPatched, UnsupportedPatchError } from './identity-patch.js';
import type { PasskeyImport } from './import.js';
import { type AdminIdentity, invalidState, type PasskeysAdmin } from './index.js';
import { adminIdentityJson, sessionRecordJson } from './json.js';
import { applyJsonPatch, JsonPatchError, pointerTokens } from './patch.js';

type Handler = (req: Request, res: Response) => Promise<void>;

/** An identity or session id from the path: UUIDs, which the library writes in lower case (Kratos ignores case). */
const idParam = (req: Request) => String(req.params.id).toLowerCase();

/**
 * The admin router. It has no authentication of its own: mount it only behind the app's guard.
 *
 * @example
 * app.use('/admin-api', requireStaff, auth.adminRouter());
 */
export function createAdminRouter(config: ResolvedOptions, admin: PasskeysAdmin): Router {
  const router = express.Router();
  const json = express.json({ limit: config.maxBodySize, type: ['application/json', 'application/*+json'] });
  const route = (handler: Handler) =>
    async function passkeysAdminRoute(req: Request, res: Response, next: NextFunction) {
      try {
        await handler(req, res);
      } catch (error) {
        next(error);
      }
    };

  router.use(function noStore(_req: Request, res: Response, next: NextFunction) {
    res.set('Cache-Control', 'private, no-store');
    next();
  });

  /** Base URL of this router's mount, for `schema_url` and `Link`: `urls.publicBase`'s origin, else the request's. */
  const baseOf = (req: Request) => {
    const origin = config.urls.publicBase ? new URL(config.urls.publicBase).origin : requestOrigin(req);
    return `${origin}${req.baseUrl}`;
  };
  /** Where `schema_url` points: the passkeys router's mount when known (`urls.publicBase`), else this one's. */
  const schemaBase = (req: Request) => config.urls.publicBase ?? baseOf(req);

  // The identity schema here too, so that `schema_url` resolves whichever mount it names.
  router.get('/schemas/:id', (req, res) => {
    if (req.params.id !== Buffer.from(config.schema.id).toString('base64url')) {
      throw new HttpError(404, 'not_found', 'Unknown identity schema.');
    }
    res.status(200).json(config.schema.raw);
  });

  const identityOut = async (req: Request, identity: AdminIdentity) => {
    const stored = await config.store.getIdentity(identity.id);
    const passkeys = await config.store.listPasskeys(identity.id);
    return adminIdentityJson(stored ?? (identity as never), passkeys, schemaBase(req));
  };

  router.get(
    '/admin/identities',
    route(async (req, res) => {
      const query = queryParams(req);
      refuseUnsupported(query, ['preview_credentials_identifier_similar', 'organization_id', 'page', 'per_page']);
      const pageSize = pageSizeParam(query.page_size);
      const pageToken = stringParam(query.page_token, 'page_token');
      const identifier = stringParam(query.credentials_identifier, 'credentials_identifier');
      const ids = idsParam(query.ids);
      if (ids) {
        // Kratos's `ids`: those identities (unknown ids and duplicates ignored), one page, no other filter.
        if (pageToken !== undefined || identifier !== undefined) {
          throw badRequest('ids cannot be combined with page_token or credentials_identifier.');
        }
        const found = await Promise.all([...new Set(ids)].map((id) => admin.getIdentity(id)));
        const identities = found.filter((i) => i !== null).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        setLink(req, res, baseOf(req), undefined, pageSize);
        res.status(200).json(await Promise.all(identities.map((i) => identityOut(req, i))));
        return;
      }
      const page = await admin.listIdentities({
        ...(pageSize !== undefined ? { pageSize } : {}),
        ...(pageToken !== undefined ? { pageToken } : {}),
        ...(identifier !== undefined ? { identifier } : {}),
      });
      setLink(req, res, baseOf(req), page.nextPageToken, pageSize);
      res.status(200).json(await Promise.all(page.identities.map((i) => identityOut(req, i))));
    }),
  );

  router.post(
    '/admin/identities',
    json,
    route(async (req, res) => {
      const body = objectBody(req);
      checkSchemaId(config, body.schema_id);
      const passkeyConfig = passkeyCredentials(body.credentials);
      const verified = Array.isArray(body.verifiable_addresses)
        ? (body.verifiable_addresses as { value?: unknown; verified?: unknown }[])
            .filter((a) => a && a.verified === true && typeof a.value === 'string')
            .map((a) => a.value as string)
        : [];
      const identity = await admin.createIdentity({
        traits: body.traits as Record<string, JsonValue>,
        ...(body.state !== undefined ? { state: body.state as never } : {}),
        ...(body.metadata_public !== undefined ? { metadataPublic: body.metadata_public as JsonValue } : {}),
        ...(body.metadata_admin !== undefined ? { metadataAdmin: body.metadata_admin as JsonValue } : {}),
        ...(verified.length ? { verifiedAddresses: verified } : {}),
        ...passkeyConfig,
      });
      res.status(201).json(await identityOut(req, identity));
    }),
  );

  router.get(
    '/admin/identities/:id',
    route(async (req, res) => {
      const identity = await admin.getIdentity(idParam(req));
      if (!identity) throw new IdentityNotFoundError(idParam(req));
      res.status(200).json(await identityOut(req, identity));
    }),
  );

  router.patch(
    '/admin/identities/:id',
    json,
    route(async (req, res) => {
      const id = idParam(req);
      const current = await admin.getIdentity(id);
      if (!current) throw new IdentityNotFoundError(id);
      const document = await identityOut(req, current);
      if (!Array.isArray(req.body)) throw badRequest('A JSON Patch is an array of operations.');
      for (const operation of req.body as { path?: unknown; from?: unknown }[]) {
        for (const pointer of [operation?.path, operation?.from]) {
          if (pointer === undefined) continue;
          const [first] = safeTokens(pointer);
          if (first === 'id' || first === 'credentials' || first === 'state_changed_at') {
            throw badRequest(`The path ${String(pointer)} is protected and cannot be patched.`);
          }
        }
      }
      let patched: Record<string, unknown>;
      try {
        patched = applyJsonPatch(document, req.body) as Record<string, unknown>;
      } catch (error) {
        if (error instanceof JsonPatchError) throw badRequest(`failed to apply JSON patch: ${error.message}`);
        throw error;
      }
      if (patched === null || typeof patched !== 'object') throw badRequest('The patched identity is not an object.');
      checkSchemaId(config, patched.schema_id);
      const state = patched.state;
      if (state !== 'active' && state !== 'inactive') throw http(invalidState(state ?? ''));
      let verifiedAddresses: Record<string, boolean>;
      try {
        verifiedAddresses = addressVerificationPatched(document as Record<string, unknown>, patched);
      } catch (error) {
        if (error instanceof UnsupportedPatchError) throw badRequest(error.message);
        throw error;
      }
      const updated = await admin.updateIdentity(id, {
        // Removed traits are validated as such (null), not kept.
        traits: (patched.traits ?? null) as Record<string, JsonValue>,
        state,
        metadataPublic: (patched.metadata_public ?? null) as JsonValue,
        metadataAdmin: (patched.metadata_admin ?? null) as JsonValue,
        verifiedAddresses,
      });
      res.status(200).json(await identityOut(req, updated));
    }),
  );

  router.put(
    '/admin/identities/:id',
    json,
    route(async (req, res) => {
      const id = idParam(req);
      const body = objectBody(req);
      checkSchemaId(config, body.schema_id);
      if (body.credentials !== undefined && body.credentials !== null) {
        throw badRequest('Passkeys are imported when the identity is created (POST /admin/identities).');
      }
      if (body.traits === undefined) throw badRequest('traits are required.');
      const state = body.state === undefined || body.state === '' ? undefined : body.state;
      if (state !== undefined && state !== 'active' && state !== 'inactive') throw http(invalidState(state));
      // A PUT replaces: absent metadata becomes null, as in Kratos.
      const updated = await admin.updateIdentity(id, {
        traits: body.traits as Record<string, JsonValue>,
        ...(state !== undefined ? { state } : {}),
        metadataPublic: (body.metadata_public ?? null) as JsonValue,
        metadataAdmin: (body.metadata_admin ?? null) as JsonValue,
      });
      res.status(200).json(await identityOut(req, updated));
    }),
  );

  router.delete(
    '/admin/identities/:id',
    route(async (req, res) => {
      await admin.deleteIdentity(idParam(req));
      res.status(204).end();
    }),
  );

  router.get(
    '/admin/identities/:id/sessions',
    route(async (req, res) => {
      const id = idParam(req);
      const query = queryParams(req);
      const pageSize = pageSizeParam(query.page_size);
      const pageToken = stringParam(query.page_token, 'page_token');
      refuseUnsupported(query, ['page', 'per_page']);
      const active = stringParam(query.active, 'active');
      if (active !== undefined && active !== 'true' && active !== 'false') throw badRequest('active is true or false.');
      const page = await admin.listSessions(id, {
        ...(pageSize !== undefined ? { pageSize } : {}),
        ...(pageToken !== undefined ? { pageToken } : {}),
        ...(active !== undefined ? { active: active === 'true' } : {}),
      });
      const identity = await config.store.getIdentity(id);
      setLink(req, res, baseOf(req), page.nextPageToken, pageSize);
      res.status(200).json(page.sessions.map((s) => sessionRecordJson(s, identity, schemaBase(req))));
    }),
  );

  router.delete(
    '/admin/identities/:id/sessions',
    route(async (req, res) => {
      await admin.revokeSessions(idParam(req));
      res.status(204).end();
    }),
  );

  const sessionOut = async (req: Request, session: SessionRecord) =>
    sessionRecordJson(session, await config.store.getIdentity(session.identityId), schemaBase(req));

  router.get(
    '/admin/sessions/:id',
    route(async (req, res) => {
      const session = await admin.getSession(idParam(req));
      if (!session) throw new SessionNotFoundError(idParam(req));
      res.status(200).json(await sessionOut(req, session));
    }),
  );

  router.delete(
    '/admin/sessions/:id',
    route(async (req, res) => {
      await admin.revokeSession(idParam(req));
      res.status(204).end();
    }),
  );

  router.patch(
    '/admin/sessions/:id/extend',
    route(async (req, res) => {
      const session = await admin.extendSession(idParam(req));
      res.status(200).json(await sessionOut(req, session));
    }),
  );

  router.post(
    '/admin/recovery/code',
    json,
    route(async (req, res) => {
      const body = objectBody(req);
      if (typeof body.identity_id !== 'string') throw badRequest('identity_id is required.');
      const flowType = body.flow_type ?? 'browser';
      if (flowType !== 'browser' && flowType !== 'api') throw badRequest("flow_type is 'browser' or 'api'.");
      if (body.expires_in !== undefined && typeof body.expires_in !== 'string') {
        throw badRequest('expires_in is a duration such as "1h" or "15m".');
      }
      const code = await admin.createRecoveryCode(body.identity_id, {
        flowType,
        ...(body.expires_in !== undefined && body.expires_in !== '' ? { expiresIn: body.expires_in } : {}),
      });
      res.status(201).json({
        recovery_link: code.recoveryLink,
        recovery_code: code.recoveryCode,
        expires_at: code.expiresAt.toISOString(),
      });
    }),
  );

  router.use(function passkeysAdminErrors(error: unknown, _req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) {
      next(error);
      return;
    }
    const answer = toHttp(error);
    res.status(answer.code).json(answer.toJSON());
  });

  return router;
}

const badRequest = (reason: string) => new HttpError(400, 'bad_request', reason);

/** An admin error as the HTTP error Kratos answers with. */
function http(error: AdminError): HttpError {
  if (error instanceof IdentityNotFoundError || error instanceof SessionNotFoundError) {
    return new HttpError(404, 'not_found', 'Unable to locate the resource');
  }
  if (error instanceof ValidationError) {
    return new HttpError(
      400,
      'bad_request',
      error.messages.map((m) => m.text).join(' '),
      {},
      {
        messages: error.messages,
      },
    );
  }
  return badRequest(error.message);
}

function toHttp(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof AdminError) return http(error);
  if (
    error instanceof DuplicateIdentifierError ||
    error instanceof DuplicateAddressError ||
    error instanceof DuplicateCredentialError
  ) {
    return new HttpError(409, 'conflict', 'This identity conflicts with another identity that already exists.');
  }
  const status = (error as { status?: unknown })?.status;
  const type = (error as { type?: unknown })?.type;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'The request body is too large.');
    return badRequest('The request body is not valid JSON.');
  }
  console.error('express-passkeys: admin route failed', error);
  return new HttpError(500, 'internal_server_error', 'An unexpected error occurred.');
}

function objectBody(req: Request): Record<string, unknown> {
  const body = req.body as unknown;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function stringParam(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be given once.`);
  return value;
}

/** `page_size`: an integer from 1 to 500 written as digits; anything else is a 400 (never clamped). */
function pageSizeParam(value: unknown): number | undefined {
  const text = stringParam(value, 'page_size');
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 500) {
    throw badRequest('page_size must be an integer from 1 to 500.');
  }
  return Number(text);
}

/**
 * Kratos filters and paging parameters these lists do not implement: a 400 rather than a list that silently ignores
 * them (a superset of what was asked, or the first page again and again).
 */
function refuseUnsupported(query: Record<string, unknown>, names: string[]): void {
  for (const name of names) {
    if (query[name] === undefined) continue;
    const hint = name === 'page' || name === 'per_page' ? ' Page with page_size and page_token (Link).' : '';
    throw badRequest(`The ${name} parameter is not supported here.${hint}`);
  }
}

/** Kratos's `ids` filter: one or more ids, at most 500. */
function idsParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const ids = Array.isArray(value) ? value : [value];
  if (ids.length === 0 || ids.length > 500 || !ids.every((id) => typeof id === 'string' && id.length <= 256)) {
    throw badRequest('ids is a list of at most 500 identity ids.');
  }
  return ids as string[];
}

function safeTokens(pointer: unknown): string[] {
  try {
    return pointerTokens(pointer);
  } catch (error) {
    if (error instanceof JsonPatchError) throw badRequest(error.message);
    throw error;
  }
}

/** `Link` with `rel="first"` and, while more remain, `rel="next"`, keeping `page_size` and the filters. */
function setLink(req: Request, res: Response, base: string, next: string | undefined, pageSize: number | undefined) {
  const url = (token?: string) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(queryParams(req))) {
      if (key !== 'page_token' && key !== 'page_size' && typeof value === 'string') params.set(key, value);
    }
    params.set('page_size', String(pageSize ?? 250));
    if (token) params.set('page_token', token);
    return `${base}${req.path}?${params}`;
  };
  const links = [`<${url()}>; rel="first"`];
  if (next) links.push(`<${url(next)}>; rel="next"`);
  res.set('Link', links.join(','));
}

/** The schema of a create or update: absent, or this configuration's (only one schema is configured). */
function checkSchemaId(config: ResolvedOptions, schemaId: unknown): void {
  if (schemaId === undefined || schemaId === null || schemaId === '' || schemaId === config.schema.id) return;
  throw badRequest(`Unknown identity schema ${JSON.stringify(schemaId)}; this app has "${config.schema.id}".`);
}

/** Bytes in Kratos's JSON: a base64 string (Go's `[]byte`) or an array of numbers (Ory's SDK types). */
function bytesText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length <= 4096 && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return Buffer.from(value as number[]).toString('base64url');
  }
  return undefined;
}

/** UUID text of an AAGUID given as 16 bytes or a UUID string. */
function aaguidText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value.includes('-')) return value;
  const text = bytesText(value);
  const hex =
    text === undefined ? '' : Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url').toString('hex');
  if (hex.length !== 32) return typeof value === 'string' ? value : 'invalid';
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `credentials.passkey.config` of a create body → `passkeys` and `userHandle` of `createIdentity`. */
function passkeyCredentials(credentials: unknown): { passkeys?: PasskeyImport[]; userHandle?: string } {
  if (credentials === undefined || credentials === null) return {};
  if (typeof credentials !== 'object') throw badRequest('credentials must be an object.');
  const others = Object.keys(credentials).filter((k) => k !== 'passkey');
  if (others.length > 0) throw badRequest(`Only passkey credentials can be imported (got ${others.join(', ')}).`);
  const config = (credentials as { passkey?: { config?: { credentials?: unknown; user_handle?: unknown } } }).passkey
    ?.config;
  if (!config) return {};
  const list = config.credentials ?? [];
  if (!Array.isArray(list)) throw badRequest('credentials.passkey.config.credentials must be a list.');
  const userHandle = config.user_handle === undefined ? undefined : bytesText(config.user_handle);
  const passkeys = list.map((raw: Record<string, unknown>): PasskeyImport => {
    const authenticator = (raw?.authenticator ?? {}) as { aaguid?: unknown; sign_count?: unknown };
    const flags = raw?.flags as { backup_eligible?: unknown; backup_state?: unknown } | undefined;
    const addedAt = typeof raw?.added_at === 'string' ? new Date(raw.added_at) : undefined;
    const aaguid = aaguidText(authenticator.aaguid);
    return {
      id: bytesText(raw?.id) ?? '',
      publicKey: bytesText(raw?.public_key) ?? '',
      ...(typeof authenticator.sign_count === 'number' ? { counter: authenticator.sign_count } : {}),
      ...(Array.isArray(raw?.transport) ? { transports: raw.transport as string[] } : {}),
      ...(typeof raw?.display_name === 'string' && raw.display_name !== '' ? { name: raw.display_name } : {}),
      ...(aaguid ? { aaguid } : {}),
      ...(addedAt ? { createdAt: addedAt } : {}),
      ...(flags && typeof flags.backup_eligible === 'boolean' ? { backupEligible: flags.backup_eligible } : {}),
      ...(flags && typeof flags.backup_state === 'boolean' ? { backedUp: flags.backup_state } : {}),
    };
  });
  return { passkeys, ...(userHandle !== undefined ? { userHandle } : {}) };
}
