// Flow records: create, load, expire (with a successor), renew the ceremony, and render the Kratos flow JSON.

import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { HttpError, notFound } from '../errors.js';
import { baseUrl, csrfToken } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { FlowVersionConflictError } from '../store/errors.js';
import type { FlowRecord, JsonValue } from '../store/types.js';
import type { UiText } from '../ui/messages.js';
import { inputNode, type UiNode, withNodeMessages } from '../ui/nodes.js';
import { CeremonyError, randomId } from '../webauthn/index.js';

export type FlowKind = 'registration' | 'login' | 'settings' | 'recovery' | 'verification';
export type FlowState = 'choose_method' | 'show_form' | 'success' | 'sent_email' | 'passed_challenge';

/** Flows run by one-time codes (Kratos's `code` method) rather than passkey ceremonies. */
export const isCodeFlow = (kind: FlowKind) => kind === 'recovery' || kind === 'verification';
/** `browser` flows use cookies and CSRF tokens; `api` flows serve native apps (no cookies, session tokens). */
export type FlowType = 'browser' | 'api';

/** The library's state of a flow, kept in `FlowRecord.data`. Small on purpose: nodes are rebuilt on each render. */
export interface FlowData {
  kind: FlowKind;
  type: FlowType;
  issuedAt: number;
  updatedAt: number;
  requestUrl: string;
  returnTo?: string;
  state: FlowState;
  /** When the pending challenge stops being accepted (epoch ms). */
  ceremonyExpiresAt: number;
  /** Registration: the WebAuthn user handle offered to the authenticator. */
  userHandle?: string;
  /** Registration: traits from the profile step or a failed submit, to fill the form again. */
  traits?: Record<string, JsonValue>;
  messages?: UiText[];
  nodeMessages?: Record<string, UiText[]>;
  /** Login: re-authenticate the session's identity. */
  refresh?: boolean;
  /** Settings, refresh login: the identity the flow belongs to. */
  identityId?: string;
  /**
   * Login, registration, settings: the credential id of the last submit, which no passkey has (a sign-in with an
   * unknown credential, a new passkey that was refused), signalled back to the browser.
   */
  unknownCredential?: string;
  /** Login, identifier-first: the identifier typed at step one (trimmed); step two signs in only its identity. */
  identifier?: string;
  /** An expired flow: the flow that replaced it. */
  successor?: string;
  /** Code flows: the address as the user typed it (trimmed), shown on the resend button. */
  email?: string;
  /** Code flows: the normalised address the live code was sent to. */
  address?: string;
  /** Code flows: the identity the live code is for (absent when the address has no account). */
  recipient?: string;
  /** Code flows: when the live code stops being accepted (epoch ms). */
  codeExpiresAt?: number;
  /** Code flows: digits of the live code (6, or 12 when it was sent while the address was under attack). */
  codeLength?: number;
  /** Code flows: code submissions so far (raised before each compare). */
  submissions?: number;
  /** Made for someone else (`auth.admin.createRecoveryCode`): the first browser that opens it keeps it. */
  bindToBrowser?: boolean;
  /** The browser a `bindToBrowser` flow is bound to (a keyed hash of its CSRF cookie); see `claimFlow`. */
  browser?: string;
}

/** A loaded flow. */
export interface Flow {
  id: string;
  /** The stored version this copy was read at (0: never saved); see `Store.saveFlow`. */
  version: number;
  /** What this copy was read as (JSON text per field), to tell this request's changes from a racing one's. */
  base?: Snapshot;
  expiresAt: Date;
  challenge: string | null;
  anonymous: boolean;
  data: FlowData;
}

/** What each flow kind adds when its flow is rendered. */
export interface FlowRenderer {
  /** The flow's own nodes; the CSRF token node of browser flows is added in front of them. */
  nodes(req: Request, flow: Flow, base: string): Promise<UiNode[]>;
  extra?(req: Request, flow: Flow, base: string): Promise<Record<string, unknown>>;
  /** Where and how the form goes (default: POST to the flow's action). */
  form?(req: Request, flow: Flow, base: string): { action: string; method: 'GET' | 'POST' } | undefined;
}

/** A flow's fields as JSON text, for a three-way merge when a save loses a race. */
type Snapshot = Record<string, string | undefined>;

function snapshotOf(flow: Pick<Flow, 'expiresAt' | 'challenge' | 'data'>): Snapshot {
  const snapshot: Snapshot = {
    '@challenge': JSON.stringify(flow.challenge),
    '@expiresAt': String(flow.expiresAt.getTime()),
  };
  for (const [key, value] of Object.entries(flow.data)) {
    if (value !== undefined) snapshot[key] = JSON.stringify(value);
  }
  return snapshot;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Create and save a new flow with a fresh challenge. */
export async function createFlow(
  config: ResolvedOptions,
  init: Pick<FlowData, 'kind' | 'type' | 'requestUrl'> & Partial<FlowData>,
  anonymous: boolean,
): Promise<Flow> {
  const now = Date.now();
  const flow: Flow = {
    id: randomUUID(),
    version: 0,
    expiresAt: new Date(now + config.lifespans.flow),
    // A code flow's "challenge" is the keyed hash of its live code, set when a code is sent.
    challenge: isCodeFlow(init.kind) ? null : randomId(),
    anonymous,
    data: {
      // Kratos's settings flows have no method to choose: they start by showing the form.
      state: init.kind === 'settings' ? 'show_form' : 'choose_method',
      ...init,
      issuedAt: now,
      updatedAt: now,
      ceremonyExpiresAt: now + config.lifespans.ceremony,
    },
  };
  await saveFlow(config, flow);
  return flow;
}

/**
 * Persist a flow (drops undefined fields so records stay small), if it is still at the version it was read at; its
 * version moves on with the write.
 *
 * When a racing request wrote first (`FlowVersionConflictError`), the default is a three-way merge: the stored flow is
 * read again and the fields this request changed (since it read the flow) are applied on top, so both requests'
 * changes survive. With `strict`, the conflict is thrown instead: for read-modify-write values such as counters,
 * whose callers redo their change on the fresh copy ({@link updateFlow}).
 */
export async function saveFlow(config: ResolvedOptions, flow: Flow, options: { strict?: boolean } = {}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await config.store.saveFlow(recordOf(flow));
      flow.version++;
      flow.base = snapshotOf(flow);
      return;
    } catch (error) {
      if (!(error instanceof FlowVersionConflictError) || options.strict || attempt >= MAX_RETRIES) throw error;
      const fresh = await config.store.getFlow(flow.id);
      if (!fresh) throw error;
      mergeInto(flow, fresh);
    }
  }
}

const MAX_RETRIES = 32;

function recordOf(flow: Flow): FlowRecord {
  const data = Object.fromEntries(Object.entries(flow.data).filter(([, v]) => v !== undefined));
  return {
    id: flow.id,
    version: flow.version,
    expiresAt: flow.expiresAt,
    challenge: flow.challenge,
    anonymous: flow.anonymous,
    data: data as FlowRecord['data'],
    // The identity the flow acts on, so that deleting the identity deletes its flows.
    identityId: flow.data.identityId ?? flow.data.recipient ?? null,
  };
}

/** Rebase this request's changes (against `flow.base`) onto the freshly read record; `flow` becomes the result. */
function mergeInto(flow: Flow, fresh: FlowRecord): void {
  const base = flow.base ?? {};
  const mine = snapshotOf(flow);
  const data = { ...(fresh.data as unknown as Record<string, unknown>) };
  for (const key of new Set([...Object.keys(base), ...Object.keys(mine)])) {
    if (key.startsWith('@') || base[key] === mine[key]) continue;
    if (mine[key] === undefined) delete data[key];
    else data[key] = (flow.data as unknown as Record<string, unknown>)[key];
  }
  const merged = {
    challenge: base['@challenge'] === mine['@challenge'] ? fresh.challenge : flow.challenge,
    expiresAt: base['@expiresAt'] === mine['@expiresAt'] ? new Date(fresh.expiresAt) : flow.expiresAt,
    data: data as unknown as FlowData,
  };
  Object.assign(flow, merged, { version: fresh.version });
  // The base is now the fresh record: only this request's own changes differ from it.
  flow.base = snapshotOf({
    challenge: fresh.challenge,
    expiresAt: new Date(fresh.expiresAt),
    data: fresh.data as unknown as FlowData,
  });
}

/**
 * Read-modify-write a flow without losing a racing update: load it, apply `change`, save strictly; on a conflict,
 * load it again and redo `change`. `change` returns false to leave the flow as it is (nothing is written).
 */
export async function updateFlow(
  config: ResolvedOptions,
  flow: Flow,
  change: (flow: Flow) => boolean | undefined,
): Promise<Flow> {
  let current = flow;
  for (let attempt = 0; ; attempt++) {
    if (change(current) === false) return current;
    try {
      await saveFlow(config, current, { strict: true });
      return current;
    } catch (error) {
      if (!(error instanceof FlowVersionConflictError) || attempt >= MAX_RETRIES) throw error;
      current = await loadFlow(config, flow.data.kind, flow.id);
    }
  }
}

/** Load a flow of this kind by id. Unknown id, malformed id or another kind: 404. */
export async function loadFlow(config: ResolvedOptions, kind: FlowKind, id: string | undefined): Promise<Flow> {
  if (!id || !UUID.test(id)) throw notFound('The flow query parameter is missing or malformed.');
  const record = await config.store.getFlow(id.toLowerCase());
  const data = record?.data as unknown as FlowData | undefined;
  if (!record || !data || data.kind !== kind) throw notFound(`Unable to locate the ${kind} flow.`);
  const flow: Flow = {
    id: record.id,
    version: record.version ?? 0,
    expiresAt: new Date(record.expiresAt),
    challenge: record.challenge,
    anonymous: record.anonymous,
    data,
  };
  flow.base = snapshotOf(flow);
  return flow;
}

export const isExpired = (flow: Flow) => flow.expiresAt.getTime() <= Date.now();

/**
 * The flow replacing an expired one (created once, then reused: same kind, type, `return_to` and identity), and
 * the 410 error that points to it.
 */
export async function expiredFlowError(
  config: ResolvedOptions,
  flow: Flow,
): Promise<{ error: HttpError; successor: Flow }> {
  let successor: Flow | undefined;
  if (flow.data.successor) {
    successor = await loadFlow(config, flow.data.kind, flow.data.successor).catch(() => undefined);
    if (successor && isExpired(successor)) successor = undefined;
  }
  if (!successor) {
    const { kind, type, requestUrl, returnTo, refresh, identityId } = flow.data;
    // A code flow's successor starts over (a new code must be asked for).
    successor = await createFlow(
      config,
      {
        kind,
        type,
        requestUrl,
        returnTo,
        refresh,
        identityId,
        userHandle: kind === 'registration' ? randomId() : undefined,
      },
      flow.anonymous,
    );
    flow.data.successor = successor.id;
    await saveFlow(config, flow);
  }
  const minutes = ((Date.now() - flow.expiresAt.getTime()) / 60_000).toFixed(2);
  const error = new HttpError(
    410,
    'self_service_flow_expired',
    `The self-service flow expired ${minutes} minutes ago, initialize a new one.`,
    {
      use_flow_id: successor.id,
      since: (Date.now() - flow.expiresAt.getTime()) * 1e6, // a Go time.Duration, as Kratos sends it: nanoseconds
      expired_at: flow.expiresAt.toISOString(),
    },
  );
  return { error, successor };
}

/** A new challenge for the flow (after a failure, or when the pending one is older than `lifespans.ceremony`). */
export function renewCeremony(config: ResolvedOptions, flow: Flow): void {
  flow.challenge = randomId();
  flow.data.ceremonyExpiresAt = Date.now() + config.lifespans.ceremony;
}

/**
 * Take the flow's challenge for the ceremony being submitted: it must be pending and younger than
 * `lifespans.ceremony`, and it is consumed exactly once (of two concurrent submits, one gets it). Throws
 * `CeremonyError` otherwise.
 */
export async function takeChallenge(config: ResolvedOptions, flow: Flow): Promise<string> {
  const challenge = flow.challenge;
  const used = 'The passkey ceremony was used already. Please try again.';
  if (!challenge) throw new CeremonyError(used);
  if (Date.now() > flow.data.ceremonyExpiresAt)
    throw new CeremonyError('The passkey ceremony timed out. Please try again.');
  if (!(await config.store.consumeChallenge(flow.id, challenge))) throw new CeremonyError(used);
  flow.challenge = null;
  flow.version++; // consuming is a write of its own
  return challenge;
}

/** Replace the flow's messages (ui-level and per node) before it is saved and rendered. */
export function setMessages(flow: Flow, messages: UiText[] = [], nodeMessages?: Record<string, UiText[]>): void {
  flow.data.messages = messages.length > 0 ? messages : undefined;
  flow.data.nodeMessages = nodeMessages && Object.keys(nodeMessages).length > 0 ? nodeMessages : undefined;
  flow.data.updatedAt = Date.now();
}

const ACTIONS: Record<FlowKind, string> = {
  registration: '/self-service/registration',
  login: '/self-service/login',
  settings: '/self-service/settings',
  recovery: '/self-service/recovery',
  verification: '/self-service/verification',
};

/** The flow JSON clients see. Server-only state (challenge bookkeeping, user handle) stays out. */
export async function renderFlow(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  renderer: FlowRenderer,
): Promise<Record<string, unknown>> {
  const base = baseUrl(req, config);
  const own = await renderer.nodes(req, flow, base);
  const nodes = withNodeMessages(
    flow.data.type === 'browser'
      ? [inputNode('default', 'csrf_token', 'hidden', { value: csrfToken(req, res, flow.id), required: true }), ...own]
      : own,
    flow.data.nodeMessages,
  );
  const form = renderer.form?.(req, flow, base);
  const ui: Record<string, unknown> = {
    action: form?.action ?? `${base}${ACTIONS[flow.data.kind]}?flow=${flow.id}`,
    method: form?.method ?? 'POST',
    nodes,
  };
  if (flow.data.messages?.length) ui.messages = flow.data.messages;
  return {
    id: flow.id,
    type: flow.data.type,
    expires_at: flow.expiresAt.toISOString(),
    issued_at: new Date(flow.data.issuedAt).toISOString(),
    request_url: flow.data.requestUrl,
    ...(flow.data.returnTo ? { return_to: flow.data.returnTo } : {}),
    ...(renderer.extra ? await renderer.extra(req, flow, base) : {}),
    state: flow.data.state,
    ui,
  };
}
