// Login styles (SPEC §9): the `login.style` option, and identifier-first's decoy credential ids for unknown accounts.

import { createHmac } from 'node:crypto';
import { processKey } from './codes.js';
import { MemoryStore } from './store/memory.js';
import type { PasskeysOptions } from './types.js';

/**
 * The login style after resolution; identifier-first carries the HMAC key of its decoy credential ids (the first of
 * `secrets`, or a per-process key).
 */
export type ResolvedLoginStyle = { style: 'unified' } | { style: 'identifier_first'; decoyKey: Buffer };

/**
 * Resolve `login`: the style, and for identifier-first the decoy key. `secretKeys` are the validated `secrets`
 * (undefined when none are given). Throws a `TypeError` when identifier-first has no key it can share across
 * instances: a store other than `MemoryStore` needs `secrets`.
 */
export function resolveLoginStyle(opts: PasskeysOptions, secretKeys: Buffer[] | undefined): ResolvedLoginStyle {
  const style = opts.login?.style ?? 'unified';
  if (style === 'unified') return { style };
  const key = secretKeys?.[0];
  if (key) return { style, decoyKey: key };
  if (!(opts.store instanceof MemoryStore)) {
    throw new TypeError(
      "express-passkeys: `login.style: 'identifier_first'` needs `secrets` (an array of random strings of at least 32 characters, the same on every instance): they key the decoy credential ids shown for unknown identifiers, which must not change from one instance to the next. Only the built-in MemoryStore may do without, with a key per process.",
    );
  }
  return { style, decoyKey: processKey() };
}

/** Bytes of a decoy credential id (a plausible length: many authenticators make 32-byte ids). */
export const DECOY_ID_BYTES = 32;

/**
 * The decoy credential ids for an identifier with no passkey to list (unknown, without passkeys, or inactive): one or
 * two (the count also comes from the hash), each 32 bytes of HMAC-SHA256 under `key` over the normalised identifier,
 * base64url. The same identifier always gets the same ids, so asking twice tells nothing.
 */
export function decoyCredentialIds(key: Buffer, identifier: string): string[] {
  const mac = (label: string) => createHmac('sha256', key).update(`identifier-first:${label}:`).update(identifier);
  const count = 1 + ((mac('count').digest()[0] ?? 0) & 1);
  return Array.from({ length: count }, (_, index) => mac(`decoy-${index}`).digest('base64url'));
}
