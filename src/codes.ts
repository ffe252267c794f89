// One-time codes for recovery and verification: made, kept only as a keyed hash, compared in constant time, sent.

import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import createDebug from 'debug';
import type { Courier, CourierMessage } from './courier.js';

const log = createDebug('express-passkeys:codes');

/** Digits of a code. */
export const CODE_LENGTH = 6;

/** A fresh code: 6 decimal digits from the CSPRNG. */
export function newCode(): string {
  return String(randomInt(0, 10 ** CODE_LENGTH)).padStart(CODE_LENGTH, '0');
}

/**
 * What is stored for a code: HMAC-SHA256 keyed by the first secret, bound to the flow (a code of one flow is worth
 * nothing in another), base64url.
 */
export function codeHash(keys: readonly Buffer[], flowId: string, code: string): string {
  return hmac(keys[0] as Buffer, flowId, code);
}

/**
 * Does `code` match the stored hash under any of the keys (the first signs; older ones still verify until they are
 * dropped)? Every key is tried, each compare in constant time.
 */
export function codeMatches(keys: readonly Buffer[], flowId: string, code: string, stored: string): boolean {
  const expected = Buffer.from(stored);
  let match = false;
  for (const key of keys) {
    const actual = Buffer.from(hmac(key, flowId, code));
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) match = true;
  }
  return match;
}

function hmac(key: Buffer, flowId: string, code: string): string {
  return createHmac('sha256', key).update(`code:${flowId}:${code}`).digest('base64url');
}

/** A per-process key for `MemoryStore` users without `secrets` (codes die with the process, as the store does). */
export function processKey(): Buffer {
  return randomBytes(32);
}

/**
 * Events per address within a window, in this process (codes sent, wrong codes tried): beyond the limit the event is
 * refused. Addresses are held only as keyed hashes; the table is bounded (oldest entries go first).
 */
export class SendLimiter {
  readonly #sends = new Map<string, number[]>();
  readonly #key = randomBytes(32);

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly maxEntries = 100_000,
  ) {}

  /** Whether `address` is still under the limit (nothing counted). */
  remaining(address: string, now = Date.now()): boolean {
    const id = createHmac('sha256', this.#key).update(address).digest('base64url');
    return (this.#sends.get(id) ?? []).filter((at) => now - at < this.windowMs).length < this.limit;
  }

  /** Count a send to `address`; false when it is over the limit (nothing counted). */
  allow(address: string, now = Date.now()): boolean {
    const id = createHmac('sha256', this.#key).update(address).digest('base64url');
    const recent = (this.#sends.get(id) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length >= this.limit) {
      this.#sends.set(id, recent);
      return false;
    }
    recent.push(now);
    this.#sends.delete(id); // re-insert: the Map's order is the eviction order
    this.#sends.set(id, recent);
    while (this.#sends.size > this.maxEntries) {
      const oldest = this.#sends.keys().next().value;
      if (oldest === undefined) break;
      this.#sends.delete(oldest);
    }
    return true;
  }
}

/**
 * Hand a message to the courier without waiting for it: the answer must not depend on whether (or how slowly) a
 * message goes out, or it would tell known addresses from unknown ones. A failure is logged without the code or the
 * address.
 */
export function dispatch(courier: Courier, message: CourierMessage): void {
  setImmediate(() => {
    Promise.resolve()
      .then(() => courier.send(message))
      .then(
        () => log('courier accepted a %s message', message.template),
        (error: unknown) => {
          const reason = error instanceof Error ? error.name : typeof error;
          log('courier failed to send a %s message (%s)', message.template, reason);
          console.error(
            `express-passkeys: the courier failed to send a ${message.template} message (${reason}); the user was answered as if it had been sent.`,
          );
        },
      );
  });
}
