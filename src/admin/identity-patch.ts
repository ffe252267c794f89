// PATCH /admin/identities/{id}: which changes of the identity JSON a JSON Patch may make. What the API cannot apply
// is refused with a reason, never dropped in silence (a 200 that changed nothing reads as done).

import { isDeepStrictEqual } from 'node:util';

/** Top-level fields a patch may change, applied by the router (`schema_id` only to the schema's own id). */
const EDITABLE = new Set(['traits', 'state', 'metadata_public', 'metadata_admin', 'schema_id']);
/** What a patch may change in one of `verifiable_addresses`: whether it is verified (and its status to match). */
const ADDRESS_EDITABLE = new Set(['verified', 'status']);

/** A patch that asks for a change this API does not make; `message` says which. */
export class UnsupportedPatchError extends Error {}

/**
 * Compare the identity JSON before and after a patch: every change outside the editable fields is refused
 * (`UnsupportedPatchError`); changes of `verifiable_addresses[i].verified` come back as `{ address: verified }`.
 */
export function addressVerificationPatched(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, boolean> {
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (EDITABLE.has(key) || key === 'verifiable_addresses') continue;
    if (!isDeepStrictEqual(before[key], after[key])) {
      throw new UnsupportedPatchError(
        key === 'recovery_addresses'
          ? 'recovery_addresses follow the traits: change the trait instead.'
          : `The field ${key} cannot be patched.`,
      );
    }
  }
  const was = before.verifiable_addresses as Record<string, unknown>[];
  const now = after.verifiable_addresses;
  if (!Array.isArray(now) || now.length !== was.length) {
    throw new UnsupportedPatchError('verifiable_addresses follow the traits: change the trait instead.');
  }
  const changes: Record<string, boolean> = {};
  now.forEach((address: unknown, i) => {
    const old = was[i] as Record<string, unknown>;
    if (!address || typeof address !== 'object' || Array.isArray(address)) {
      throw new UnsupportedPatchError(`verifiable_addresses/${i} must stay an address object.`);
    }
    const patched = address as Record<string, unknown>;
    for (const key of new Set([...Object.keys(old), ...Object.keys(patched)])) {
      if (!ADDRESS_EDITABLE.has(key) && !isDeepStrictEqual(old[key], patched[key])) {
        throw new UnsupportedPatchError(
          `verifiable_addresses/${i}/${key} cannot be patched: only verified (and status) can.`,
        );
      }
    }
    if (typeof patched.verified !== 'boolean') {
      throw new UnsupportedPatchError(`verifiable_addresses/${i}/verified must be true or false.`);
    }
    // The status follows `verified` (the server sets it): patched along with it to a value that fits, or left.
    const statusFits = patched.verified ? patched.status === 'completed' : patched.status !== 'completed';
    if (patched.status !== old.status && (patched.verified === old.verified || !statusFits)) {
      throw new UnsupportedPatchError(
        `verifiable_addresses/${i}/status follows verified: "completed" when it turns true, another status when false.`,
      );
    }
    if (patched.verified !== old.verified) changes[String(old.value)] = patched.verified;
  });
  return changes;
}
