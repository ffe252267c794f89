// Page sizes and opaque page tokens of the admin lists (Kratos's `page_size` / `page_token`).

import { ValidationError } from './errors.js';

/** Default and largest page size (Kratos's). */
export const DEFAULT_PAGE_SIZE = 250;
export const MAX_PAGE_SIZE = 500;

/** A page size from 1 to 500 (never clamped); absent: 250. */
export function pageSizeOf(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
    throw ValidationError.reason('pageSize', `The page size is an integer from 1 to ${MAX_PAGE_SIZE}.`);
  }
  return value;
}

/** An opaque token for the page after the item with these keys, for the list named `list`. */
export function encodePageToken(list: string, keys: string[]): string {
  return Buffer.from(JSON.stringify([list, ...keys])).toString('base64url');
}

/** The keys of a token this list issued; `ValidationError` for any other string. */
export function decodePageToken(list: string, token: unknown, count = 1): string[] {
  const refuse = () => ValidationError.reason('pageToken', 'The page token is not one this list issued.');
  if (typeof token !== 'string' || token.length === 0 || token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw refuse();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(parsed) || parsed.length !== count + 1 || parsed[0] !== list) throw refuse();
  const keys = parsed.slice(1);
  if (!keys.every((k) => typeof k === 'string' && k.length > 0 && k.length <= 128)) throw refuse();
  if (encodePageToken(list, keys) !== token) throw refuse(); // one spelling per token
  return keys;
}
