// Before-hooks (Kratos's `web_hook` with `response.parse`): FlowRejection, and running a hook under a timeout.

import createDebug from 'debug';
import { HttpError } from './errors.js';
import { findNul } from './schema.js';
import type { JsonValue } from './store/types.js';
import type { BeforeHookContext, BeforeRegistrationResult } from './types.js';
import type { UiText } from './ui/messages.js';

const log = createDebug('express-passkeys:hooks');

/** A message a before-hook refuses a flow with. */
export interface FlowRejectionMessage {
  /**
   * JSON pointer to the node the message belongs on: `#/traits/email` is the `traits.email` node. `#/`, a pointer to
   * no node of the flow, or none at all puts it in `ui.messages`.
   */
  instancePtr?: string;
  /** Message id, shown to UIs that translate (use one of your own above 4000000, or Kratos's where it has one). */
  id: number;
  text: string;
  /** Defaults to `"error"`. */
  type?: 'error' | 'info' | 'success';
  /** Copied as given (UIs such as Ory Elements render from it). Defaults to `{}`. */
  context?: { [key: string]: JsonValue };
}

const BRAND = Symbol.for('express-passkeys.FlowRejection');

/**
 * Thrown by a before-hook to refuse the flow: each message lands on the node its `instancePtr` names (or in
 * `ui.messages`), the flow answers 400 (JSON) or 303 back to its UI page (form posts), and nothing is written.
 *
 * @example
 * hooks: {
 *   beforeRegistration({ traits }) {
 *     if (!String(traits.email).endsWith('@example.com')) {
 *       throw new FlowRejection([
 *         { instancePtr: '#/traits/email', id: 4000100, text: 'Sign up with your @example.com address.' },
 *       ]);
 *     }
 *   },
 * }
 */
export class FlowRejection extends Error {
  /** The messages, with `type` and `context` defaulted. */
  readonly messages: ReadonlyArray<Required<Omit<FlowRejectionMessage, 'instancePtr'>> & { instancePtr?: string }>;

  /** @throws TypeError when there is no message, or one lacks a numeric `id` or a string `text`. */
  constructor(messages: FlowRejectionMessage | FlowRejectionMessage[]) {
    const list = Array.isArray(messages) ? messages : [messages];
    if (list.length === 0) throw new TypeError('FlowRejection: give at least one message { id, text, instancePtr? }.');
    const checked = list.map((message, index) => {
      if (!message || typeof message !== 'object') {
        throw new TypeError(`FlowRejection: message ${index} must be an object { id, text, instancePtr? }.`);
      }
      if (typeof message.id !== 'number' || !Number.isInteger(message.id)) {
        throw new TypeError(`FlowRejection: message ${index} needs a numeric \`id\`.`);
      }
      if (typeof message.text !== 'string') {
        throw new TypeError(`FlowRejection: message ${index} needs a string \`text\`.`);
      }
      if (message.instancePtr !== undefined && typeof message.instancePtr !== 'string') {
        throw new TypeError(
          `FlowRejection: message ${index}'s \`instancePtr\` must be a string like "#/traits/email".`,
        );
      }
      const type = message.type ?? 'error';
      if (type !== 'error' && type !== 'info' && type !== 'success') {
        throw new TypeError(`FlowRejection: message ${index}'s \`type\` must be "error", "info" or "success".`);
      }
      return {
        ...(message.instancePtr !== undefined ? { instancePtr: message.instancePtr } : {}),
        id: message.id,
        text: message.text,
        type,
        context: message.context ?? {},
      };
    });
    super(checked.map((m) => m.text).join(' '));
    this.name = 'FlowRejection';
    this.messages = checked;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Also true for a FlowRejection of another copy of the library (ESM and CommonJS loaded side by side). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** Messages of a rejection placed on the flow: on the nodes named (`traits.email`), the rest in `ui.messages`. */
export function placeRejection(
  rejection: FlowRejection,
  nodeNames: ReadonlySet<string>,
): { ui: UiText[]; nodes: Record<string, UiText[]> } {
  const ui: UiText[] = [];
  const nodes: Record<string, UiText[]> = {};
  for (const message of rejection.messages) {
    const text: UiText = { id: message.id, text: message.text, type: message.type, context: message.context };
    const name = nodeNameOf(message.instancePtr);
    if (name && nodeNames.has(name)) nodes[name] = [...(nodes[name] ?? []), text];
    else ui.push(text);
  }
  return { ui, nodes };
}

/** `#/traits/email` → `traits.email` (JSON pointer segments joined with `.`); `#/` and non-pointers → undefined. */
function nodeNameOf(pointer: string | undefined): string | undefined {
  if (!pointer) return undefined;
  const path = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (!path.startsWith('/')) return undefined;
  const segments = path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const name = segments.join('.');
  return name === '' ? undefined : name;
}

/** Kratos's answer to a web hook that failed: the hook's own error text never reaches the client. */
export const hookFailed = () =>
  new HttpError(502, 'hook_failed', 'A third-party upstream service responded improperly.');
/** Kratos's answer to a web hook that did not answer in time. */
export const hookTimedOut = () =>
  new HttpError(504, 'hook_timeout', 'A third-party upstream service did not respond in time.');

type AnyHook<C> = (context: C) => unknown;

/**
 * Run a before-hook with `context.signal`, under `timeoutMs`. Resolves with what it returned (checked: an object
 * or nothing), rethrows a {@link FlowRejection} (thrown or returned), and turns anything else into a 502
 * `hook_failed` (504 `hook_timeout` past the timeout), logged with `console.error` as an unexpected error is (the
 * client never sees the hook's text). A late result is ignored.
 */
export async function runBeforeHook<C extends BeforeHookContext>(
  name: string,
  hook: AnyHook<C> | undefined,
  context: Omit<C, 'signal'>,
  timeoutMs: number,
): Promise<BeforeRegistrationResult | undefined> {
  if (!hook) return undefined;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    // setTimeout fires at once beyond 2^31-1 ms.
    const delay = Math.min(timeoutMs, 2_147_483_647);
    timer = setTimeout(() => {
      controller.abort(hookTimedOut());
      resolve('timeout');
    }, delay);
  });
  const running = Promise.resolve().then(() => hook({ ...context, signal: controller.signal } as C));
  // A late result or error is ignored (logged), never an unhandled rejection.
  running.catch(() => {});
  let outcome: unknown;
  try {
    outcome = await Promise.race([running, timedOut]);
  } catch (error) {
    if (error instanceof FlowRejection) {
      log('hook %s refused the flow (%d messages)', name, error.messages.length);
      throw error;
    }
    // The app's own code failed: logged as an unexpected error is (the client only gets Kratos's generic 502).
    console.error(`express-passkeys: hook ${name} failed; answered 502 hook_failed:`, error);
    throw hookFailed();
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'timeout' && controller.signal.aborted) {
    console.error(`express-passkeys: hook ${name} did not answer within ${timeoutMs} ms; answered 504 hook_timeout`);
    running.then(
      () => log('hook %s answered late; ignored', name),
      (error: unknown) => log('hook %s failed late: %s', name, error instanceof Error ? error.message : String(error)),
    );
    throw hookTimedOut();
  }
  return checkResult(name, outcome);
}

/**
 * What a hook returned, as plain JSON data: nothing, or an object with metadata (and `traits`, read from
 * `beforeRegistration` only: any other hook's `traits`, like anything else it returns, is ignored).
 */
function checkResult(name: string, outcome: unknown): BeforeRegistrationResult | undefined {
  if (outcome === undefined || outcome === null) return undefined;
  // A rejection returned instead of thrown still refuses: a slip in the hook must not let the flow through.
  if (outcome instanceof FlowRejection) {
    log('hook %s returned (did not throw) a FlowRejection: refused all the same', name);
    throw outcome;
  }
  if (typeof outcome !== 'object' || Array.isArray(outcome) || outcome instanceof Error) {
    const what = Array.isArray(outcome) ? 'an array' : outcome instanceof Error ? 'an Error' : `a ${typeof outcome}`;
    console.error(`express-passkeys: hook ${name} returned ${what}, not an object; answered 502 hook_failed`);
    throw hookFailed();
  }
  const returned = outcome as Record<string, unknown>;
  const { metadataPublic, metadataAdmin } = returned;
  const traits = name === 'beforeRegistration' ? returned.traits : undefined;
  if (traits !== undefined && (traits === null || typeof traits !== 'object' || Array.isArray(traits))) {
    console.error(
      `express-passkeys: hook ${name} returned \`traits\` that are not an object; answered 502 hook_failed`,
    );
    throw hookFailed();
  }
  const result: BeforeRegistrationResult = {};
  try {
    if (traits !== undefined) result.traits = asJson(traits) as Record<string, JsonValue>;
    if (metadataPublic !== undefined) result.metadataPublic = storableJson(metadataPublic);
    if (metadataAdmin !== undefined) result.metadataAdmin = storableJson(metadataAdmin);
  } catch (error) {
    console.error(`express-passkeys: hook ${name} returned values that are not JSON; answered 502 hook_failed:`, error);
    throw hookFailed();
  }
  return result;
}

/** {@link asJson}, refusing U+0000 and lone surrogates (PostgreSQL's jsonb cannot keep them), as admin metadata does. */
function storableJson(value: unknown): JsonValue {
  const json = asJson(value);
  if (findNul(json, 'metadata')) throw new Error('metadata must not contain NUL characters or unpaired surrogates');
  return json;
}

/** A plain-JSON copy (what the store can keep); throws on cycles and BigInts. */
function asJson(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error('not a JSON value');
  return JSON.parse(text) as JsonValue;
}
