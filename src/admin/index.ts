// `auth.admin`: what support staff and the app's own admin code do, typed and without HTTP (SPEC §8).

import { randomUUID } from 'node:crypto';
import { addressesFor, updateIdentityWith } from '../addresses.js';
import { codeHash, newCode } from '../codes.js';
import { createFlow, saveFlow } from '../flows/flow.js';
import { type PasskeyInfo, passkeyInfo } from '../flows/settings.js';
import { withFlow } from '../http.js';
import { isActive, stateOf } from '../identities.js';
import { parseDuration, type ResolvedOptions } from '../options.js';
import { findNul, normaliseIdentifier } from '../schema.js';
import type { Identity, IdentityState, JsonValue, Passkey, SessionRecord, Store } from '../store/types.js';
import type { Duration } from '../types.js';
import { messages } from '../ui/messages.js';
import { IdentityNotFoundError, SessionNotFoundError, ValidationError } from './errors.js';
import { importedPasskeys, importedUserHandle, type PasskeyImport } from './import.js';
import { decodePageToken, encodePageToken, pageSizeOf } from './pages.js';

/** An identity as `auth.admin` returns it: the store's record with defaults filled in, and its passkeys. */
export interface AdminIdentity {
  id: string;
  schemaId: string;
  state: IdentityState;
  /** When `state` last changed; `null` if it never did. */
  stateChangedAt: Date | null;
  traits: Record<string, JsonValue>;
  metadataPublic: JsonValue | null;
  metadataAdmin: JsonValue | null;
  /** The normalised display-name trait (what `listIdentities({ identifier })` matches). */
  identifier: string;
  recoveryAddresses: Identity['recoveryAddresses'];
  verifiableAddresses: Identity['verifiableAddresses'];
  /** Its passkeys, oldest first, without key material. */
  passkeys: PasskeyInfo[];
  createdAt: Date;
  updatedAt: Date;
}

/** What `createIdentity` takes. */
export interface CreateIdentityInput {
  /** Validated against the identity schema; the display-name trait must be free. */
  traits: Record<string, JsonValue>;
  /** Defaults to `active`. */
  state?: IdentityState;
  metadataPublic?: JsonValue | null;
  metadataAdmin?: JsonValue | null;
  /** Verifiable addresses (values of the traits) to mark verified at once, e.g. emails the old system verified. */
  verifiedAddresses?: string[];
  /** Existing passkeys to import. Without any, the identity signs in first through a recovery code. */
  passkeys?: PasskeyImport[];
  /**
   * The WebAuthn user handle of the imported passkeys (base64url), if not given on them. Without one a new handle is
   * minted: discoverable passkeys then cannot sign in usernameless (the authenticator returns the old handle).
   */
  userHandle?: string;
}

/** What `updateIdentity` changes; absent fields stay. */
export interface UpdateIdentityInput {
  traits?: Record<string, JsonValue>;
  /** `inactive` revokes every session of the identity at once; `active` again does not bring them back. */
  state?: IdentityState;
  metadataPublic?: JsonValue | null;
  metadataAdmin?: JsonValue | null;
  /**
   * Verifiable addresses (values of the traits, after any `traits` change) to mark verified (`true`: status
   * `completed`) or not (`false`: status `pending`), e.g. `{ 'ada@example.com': true }` for an address support
   * staff confirmed another way.
   */
  verifiedAddresses?: Record<string, boolean>;
}

/** A recovery code for support staff to hand to a locked-out user. */
export interface RecoveryCode {
  /** The recovery flow's page: `urls.ui.recovery?flow=<id>`, else `<urls.publicBase>/self-service/recovery/flows?id=<id>`. */
  recoveryLink: string;
  /** Six digits, usable once in that flow. */
  recoveryCode: string;
  expiresAt: Date;
}

/** A page of a list. */
export interface Page {
  /** At most 500; defaults to 250. */
  pageSize?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** `auth.admin`: identities and sessions, for the app's own admin code. No authentication of its own. */
export interface PasskeysAdmin {
  /** The identity, or `null`. */
  getIdentity(id: string): Promise<AdminIdentity | null>;
  /** Identities by ascending id, a page at a time; `identifier` finds the one with this display-name trait. */
  listIdentities(
    options?: Page & { identifier?: string },
  ): Promise<{ identities: AdminIdentity[]; nextPageToken?: string }>;
  /** Create an identity, optionally with passkeys imported from another system. */
  createIdentity(input: CreateIdentityInput): Promise<AdminIdentity>;
  /** Change traits, state or metadata. Disabling revokes every session of the identity. */
  updateIdentity(id: string, input: UpdateIdentityInput): Promise<AdminIdentity>;
  /** Delete the identity with its passkeys, addresses, sessions and flows. */
  deleteIdentity(id: string): Promise<void>;
  /**
   * The identity's sessions, newest first: all of them, or with `active: true` only those still valid, with `active:
   * false` only those revoked or expired (Kratos's `active` filter).
   */
  listSessions(
    identityId: string,
    options?: Page & { active?: boolean },
  ): Promise<{ sessions: SessionRecord[]; nextPageToken?: string }>;
  /** The session record, or `null`. */
  getSession(id: string): Promise<SessionRecord | null>;
  /** Revoke one session. */
  revokeSession(id: string): Promise<void>;
  /** Revoke every session of the identity; returns how many were valid and are now revoked. */
  revokeSessions(identityId: string): Promise<number>;
  /** Move a valid session's expiry to now + `lifespans.session`; returns the record. */
  extendSession(id: string): Promise<SessionRecord>;
  /** A recovery flow in `sent_email` holding a one-time code for the identity. */
  createRecoveryCode(
    identityId: string,
    options?: { expiresIn?: Duration; flowType?: 'browser' | 'api' },
  ): Promise<RecoveryCode>;
}

const STATES: readonly string[] = ['active', 'inactive'];

/** The invalid-state error, in Kratos's words. */
export function invalidState(state: unknown): ValidationError {
  return ValidationError.reason(
    'state',
    `The supplied state ('${String(state)}') was not valid. Valid states are ('active', 'inactive').`,
  );
}

/** The session methods of the store, or a clear error naming the missing one. */
function sessionStore(store: Store) {
  const need = <K extends keyof Store>(name: K): NonNullable<Store[K]> => {
    const method = store[name];
    if (typeof method !== 'function') {
      throw new TypeError(`express-passkeys: auth.admin needs \`store.${String(name)}()\`, which this store lacks.`);
    }
    return (method as (...args: never[]) => unknown).bind(store) as NonNullable<Store[K]>;
  };
  return need;
}

/** Build `auth.admin` for a resolved configuration. */
export function createAdmin(config: ResolvedOptions): PasskeysAdmin {
  const store = config.store;
  const need = sessionStore(store);

  async function record(identity: Identity): Promise<AdminIdentity> {
    const passkeys = await store.listPasskeys(identity.id);
    return adminIdentity(identity, passkeys);
  }

  async function mustGet(id: string): Promise<Identity> {
    const identity = typeof id === 'string' ? await store.getIdentity(id) : null;
    if (!identity) throw new IdentityNotFoundError(String(id));
    return identity;
  }

  /**
   * Up to `limit` of the identity's sessions that are no longer valid (revoked or expired), newest first, after
   * `after`: Kratos's `active=false`. The store lists all or the valid ones only, so this filters batches of all.
   */
  async function endedSessions(
    identityId: string,
    limit: number,
    after: { issuedAt: Date; id: string } | undefined,
  ): Promise<SessionRecord[]> {
    const ended: SessionRecord[] = [];
    const batch = Math.max(limit, 100);
    let cursor = after;
    for (;;) {
      const records = await need('listSessions')(identityId, { limit: batch, ...(cursor ? { after: cursor } : {}) });
      const now = Date.now();
      for (const r of records) {
        if (!r.active || r.expiresAt.getTime() <= now) ended.push(r);
        if (ended.length === limit) return ended;
      }
      const last = records[records.length - 1];
      if (records.length < batch || !last) return ended;
      cursor = { issuedAt: last.issuedAt, id: last.id };
    }
  }

  function checkTraits(traits: unknown): { traits: Record<string, JsonValue>; identifier: string } {
    const errors = config.schema.validate(traits, false);
    if (errors) {
      const list = [
        ...errors.general.map((m) => ({ ...m, path: 'traits' })),
        ...Object.entries(errors.nodes).flatMap(([path, ms]) => ms.map((m) => ({ ...m, path }))),
      ];
      throw new ValidationError(list);
    }
    const valid = traits as Record<string, JsonValue>;
    const displayName = config.schema.displayName(valid);
    const identifier = displayName ? normaliseIdentifier(displayName) : '';
    if (!identifier) {
      const field = config.schema.displayNameField;
      const property = field.split('.').pop() ?? 'identifier';
      throw new ValidationError([{ ...messages.required(property), path: field }]);
    }
    return { traits: valid, identifier };
  }

  function checkState(state: unknown): IdentityState | undefined {
    if (state === undefined) return undefined;
    if (typeof state !== 'string' || !STATES.includes(state)) throw invalidState(state);
    return state as IdentityState;
  }

  function checkMetadata(value: unknown, path: string): JsonValue | null | undefined {
    if (value === undefined) return undefined;
    try {
      const text = JSON.stringify(value);
      if (text === undefined) throw new Error('not JSON');
      if (text.length > 64 * 1024) throw ValidationError.reason(path, 'Metadata is at most 64 KiB of JSON.');
      const parsed = JSON.parse(text) as JsonValue;
      // As in traits: NUL and lone surrogates have no place here, and a store on PostgreSQL's jsonb would fail on them.
      if (findNul(parsed, path)) {
        throw ValidationError.reason(path, 'Metadata must not contain NUL characters or unpaired surrogates.');
      }
      return parsed;
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw ValidationError.reason(path, 'Metadata must be JSON.');
    }
  }

  const admin: PasskeysAdmin = {
    async getIdentity(id) {
      const identity = typeof id === 'string' ? await store.getIdentity(id) : null;
      return identity ? record(identity) : null;
    },

    async listIdentities(options = {}) {
      const limit = pageSizeOf(options.pageSize);
      const after = options.pageToken === undefined ? undefined : decodePageToken('identities', options.pageToken)[0];
      const identifier = options.identifier === undefined ? undefined : normaliseIdentifier(String(options.identifier));
      const found = await store.listIdentities({
        limit: limit + 1,
        ...(after !== undefined ? { after } : {}),
        ...(identifier !== undefined ? { identifier } : {}),
      });
      const page = found.slice(0, limit);
      const identities = await Promise.all(page.map(record));
      const last = page[page.length - 1];
      return found.length > limit && last
        ? { identities, nextPageToken: encodePageToken('identities', [last.id]) }
        : { identities };
    },

    async createIdentity(input) {
      if (!input || typeof input !== 'object') throw ValidationError.reason('', 'createIdentity takes an object.');
      const { traits, identifier } = checkTraits(input.traits);
      const state = checkState(input.state) ?? 'active';
      const metadataPublic = checkMetadata(input.metadataPublic, 'metadataPublic') ?? null;
      const metadataAdmin = checkMetadata(input.metadataAdmin, 'metadataAdmin') ?? null;
      const imports = input.passkeys ?? [];
      if (!Array.isArray(imports) || imports.length > 100) {
        throw ValidationError.reason('passkeys', 'passkeys is a list of at most 100 passkeys.');
      }
      const now = new Date();
      const id = randomUUID();
      const userHandle = importedUserHandle(input.userHandle, imports);
      const passkeys = importedPasskeys(id, imports);
      const addresses = addressesFor(config.schema, traits, undefined, now);
      for (const [i, value] of (input.verifiedAddresses ?? []).entries()) {
        const normalised = normaliseIdentifier(String(value));
        const address = addresses.verifiableAddresses.find((a) => a.value === normalised);
        if (!address) {
          throw ValidationError.reason(`verifiedAddresses[${i}]`, 'This is not a verifiable address of the traits.');
        }
        Object.assign(address, { verified: true, status: 'completed', verifiedAt: now });
      }
      if (await store.findIdentityByUserHandle(userHandle)) {
        throw ValidationError.reason('userHandle', 'Another identity has this user handle.');
      }
      for (const [i, passkey] of passkeys.entries()) {
        if (await store.getPasskey(passkey.id)) {
          throw ValidationError.reason(`passkeys[${i}].id`, 'A passkey with this credential id exists already.');
        }
      }
      const identity: Identity = {
        id,
        schemaId: config.schema.id,
        traits,
        identifier,
        userHandle,
        ...addresses,
        state,
        stateChangedAt: null,
        metadataPublic,
        metadataAdmin,
        createdAt: now,
        updatedAt: now,
      };
      const [first, ...rest] = passkeys;
      // Duplicate identifier, address or credential: the store's typed error, as at registration.
      await store.createIdentity(identity, first);
      try {
        for (const passkey of rest) await store.addPasskey(passkey);
      } catch (error) {
        // Never half an import: the identity goes again.
        await store.deleteIdentity(id);
        throw error;
      }
      return adminIdentity(identity, passkeys);
    },

    async updateIdentity(id, input) {
      if (!input || typeof input !== 'object') throw ValidationError.reason('', 'updateIdentity takes an object.');
      const state = checkState(input.state);
      const checked = input.traits === undefined ? undefined : checkTraits(input.traits);
      const metadataPublic = checkMetadata(input.metadataPublic, 'metadataPublic');
      const metadataAdmin = checkMetadata(input.metadataAdmin, 'metadataAdmin');
      const verification = checkVerification(input.verifiedAddresses);
      await mustGet(id);
      const updated = await updateIdentityWith(store, id, (current) => {
        const next: Identity = { ...current };
        if (checked) {
          Object.assign(next, checked, addressesFor(config.schema, checked.traits, current));
        }
        if (verification.length > 0) next.verifiableAddresses = markVerified(next.verifiableAddresses, verification);
        if (state !== undefined && state !== stateOf(current)) {
          next.state = state;
          next.stateChangedAt = new Date();
        }
        if (metadataPublic !== undefined) next.metadataPublic = metadataPublic;
        if (metadataAdmin !== undefined) next.metadataAdmin = metadataAdmin;
        return next;
      });
      if (!updated) throw new IdentityNotFoundError(id);
      if (!isActive(updated)) {
        await need('revokeSessions')(id);
        // Refuse to report success if the store did not keep the state: a disabled identity must stay disabled.
        const stored = await store.getIdentity(id);
        if (stored && isActive(stored)) {
          throw new Error('express-passkeys: the store did not persist the identity state (see Store.updateIdentity).');
        }
      }
      return record(updated);
    },

    async deleteIdentity(id) {
      await mustGet(id);
      // Revoked first, so that they answer inactive even if the delete fails half-way in an adapter without one
      // transaction for both; then the identity (with its passkeys, addresses and flows), then the records.
      await need('revokeSessions')(id);
      if (!(await store.deleteIdentity(id))) throw new IdentityNotFoundError(id);
      await need('deleteSessions')(id);
    },

    async listSessions(identityId, options = {}) {
      await mustGet(identityId);
      const limit = pageSizeOf(options.pageSize);
      const after = options.pageToken === undefined ? undefined : decodePageToken('sessions', options.pageToken, 2);
      const start = after ? { issuedAt: new Date(Number(after[0])), id: after[1] as string } : undefined;
      const found =
        options.active === false
          ? await endedSessions(identityId, limit + 1, start)
          : await need('listSessions')(identityId, {
              limit: limit + 1,
              ...(options.active ? { active: true } : {}),
              ...(start ? { after: start } : {}),
            });
      const sessions = found.slice(0, limit);
      const last = sessions[sessions.length - 1];
      return found.length > limit && last
        ? { sessions, nextPageToken: encodePageToken('sessions', [String(last.issuedAt.getTime()), last.id]) }
        : { sessions };
    },

    async getSession(id) {
      return typeof id === 'string' ? need('getSession')(id) : null;
    },

    async revokeSession(id) {
      const session = typeof id === 'string' ? await need('getSession')(id) : null;
      if (!session) throw new SessionNotFoundError(String(id));
      await need('revokeSession')(session.identityId, session.id);
    },

    async revokeSessions(identityId) {
      await mustGet(identityId);
      return need('revokeSessions')(identityId);
    },

    async extendSession(id) {
      const session = typeof id === 'string' ? await need('getSession')(id) : null;
      if (!session?.active || session.expiresAt.getTime() <= Date.now()) throw new SessionNotFoundError(id);
      const expiresAt = new Date(Date.now() + config.lifespans.session);
      if (!(await need('extendSession')(id, expiresAt))) throw new SessionNotFoundError(id);
      return (await need('getSession')(id)) ?? { ...session, expiresAt };
    },

    async createRecoveryCode(identityId, options = {}) {
      const codes = config.codes;
      if (!codes?.recovery.enabled) {
        throw new TypeError('express-passkeys: auth.admin.createRecoveryCode needs account recovery on (a `courier`).');
      }
      const flowType = options.flowType ?? 'browser';
      if (flowType !== 'browser' && flowType !== 'api') {
        throw ValidationError.reason('flowType', "flowType is 'browser' or 'api'.");
      }
      let expiresIn: number;
      try {
        expiresIn = options.expiresIn === undefined ? codes.lifespan : parseDuration(options.expiresIn, 'expiresIn');
      } catch (error) {
        throw ValidationError.reason('expiresIn', (error as Error).message.replace(/^express-passkeys: /, ''));
      }
      if (expiresIn < 1000) throw ValidationError.reason('expiresIn', 'expiresIn is at least one second.');
      const link = recoveryLinkOf(config); // a TypeError before anything is written
      const identity = await mustGet(identityId);
      const flow = await createFlow(config, { kind: 'recovery', type: flowType, requestUrl: link('') }, false);
      const code = newCode();
      const now = Date.now();
      flow.expiresAt = new Date(now + expiresIn);
      flow.challenge = codeHash(codes.keys, flow.id, code);
      flow.data.state = 'sent_email';
      flow.data.recipient = identity.id;
      if (flowType === 'browser') flow.data.bindToBrowser = true; // the first browser that opens the link keeps it
      flow.data.codeExpiresAt = now + expiresIn;
      flow.data.requestUrl = link(flow.id);
      await saveFlow(config, flow);
      return { recoveryLink: link(flow.id), recoveryCode: code, expiresAt: new Date(now + expiresIn) };
    },
  };
  return admin;
}

/**
 * Where a recovery flow made for support staff is opened: `urls.ui.recovery?flow=<id>` when set (made absolute with
 * `urls.publicBase`'s origin when it is a path), else `<urls.publicBase>/self-service/recovery/flows?id=<id>`. URLs
 * that leave the request come from configuration: without either, a `TypeError`.
 */
function recoveryLinkOf(config: ResolvedOptions): (flowId: string) => string {
  const ui = config.urls.ui.recovery;
  const base = config.urls.publicBase;
  if (ui) {
    const absolute = base && ui.startsWith('/') ? new URL(ui, base).href : ui;
    return (id) => withFlow(absolute, id);
  }
  if (base) return (id) => `${base}/self-service/recovery/flows?id=${encodeURIComponent(id)}`;
  throw new TypeError(
    'express-passkeys: auth.admin.createRecoveryCode needs `urls.ui.recovery` or `urls.publicBase` to build the recovery link (URLs that leave the request come from configuration).',
  );
}

/** The admin record of an identity with its passkeys (no key material). */
export function adminIdentity(identity: Identity, passkeys: Passkey[]): AdminIdentity {
  return {
    id: identity.id,
    schemaId: identity.schemaId,
    state: stateOf(identity),
    stateChangedAt: identity.stateChangedAt ?? null,
    traits: identity.traits,
    metadataPublic: identity.metadataPublic ?? null,
    metadataAdmin: identity.metadataAdmin ?? null,
    identifier: identity.identifier,
    recoveryAddresses: identity.recoveryAddresses,
    verifiableAddresses: identity.verifiableAddresses,
    passkeys: passkeys.map(passkeyInfo),
    createdAt: identity.createdAt,
    updatedAt: identity.updatedAt,
  };
}

export { IdentityNotFoundError, SessionNotFoundError, ValidationError } from './errors.js';
export type { PasskeyImport } from './import.js';

/** `verifiedAddresses` of an update, checked: `[normalised address, verified]` pairs. */
function checkVerification(input: unknown): [string, boolean][] {
  if (input === undefined) return [];
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw ValidationError.reason('verifiedAddresses', 'verifiedAddresses maps addresses to true or false.');
  }
  return Object.entries(input as Record<string, unknown>).map(([value, verified]) => {
    if (typeof verified !== 'boolean') {
      throw ValidationError.reason(`verifiedAddresses.${value}`, 'Each address maps to true or false.');
    }
    return [normaliseIdentifier(value), verified];
  });
}

/** The addresses with `verification` applied; an address the identity does not have is a `ValidationError`. */
function markVerified(
  addresses: Identity['verifiableAddresses'],
  verification: [string, boolean][],
): Identity['verifiableAddresses'] {
  const now = new Date();
  const next = addresses.map((a) => ({ ...a }));
  for (const [value, verified] of verification) {
    const address = next.find((a) => a.value === value);
    if (!address) {
      throw ValidationError.reason(`verifiedAddresses.${value}`, 'This is not a verifiable address of the traits.');
    }
    if (address.verified === verified) continue;
    Object.assign(
      address,
      verified
        ? { verified: true, status: 'completed', verifiedAt: now, updatedAt: now }
        : { verified: false, status: 'pending', verifiedAt: null, updatedAt: now },
    );
  }
  return next;
}
