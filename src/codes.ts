// One-time codes for recovery and verification: made, kept only as a keyed hash, compared in constant time, sent.

import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import createDebug from 'debug';
import type { Courier, CourierMessage } from './courier.js';

const log = createDebug('express-passkeys:codes');

/** Digits of a code. */
export const CODE_LENGTH = 6;
/** Digits of a code sent while an address is under attack (see `needsLongCode` in limits.ts): 10^12 to guess from. */
export const LONG_CODE_LENGTH = 12;

/** A fresh code: `length` (6 or 12) decimal digits from the CSPRNG, each drawn uniformly. */
export function newCode(length = CODE_LENGTH): string {
  let code = '';
  // randomInt takes ranges below 2^48: 6 digits at a time.
  for (let left = length; left > 0; left -= 6) {
    const digits = Math.min(6, left);
    code += String(randomInt(0, 10 ** digits)).padStart(digits, '0');
  }
  return code;
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
