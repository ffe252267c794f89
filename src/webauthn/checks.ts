// What both ceremonies check alike: the error and its reasons, client data, allowed origins, the RP ID hash.

import { createHash } from 'node:crypto';
import type { ResolvedOptions } from '../options.js';

/** A ceremony failed. `reason` is safe to show to the client; the library's own wording, never a stack. */
export class CeremonyError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CeremonyError';
  }
}

/** Refuse with the reason describe() gives SimpleWebAuthn's error of the same check. */
export function refuse(message: string): never {
  throw new CeremonyError(describe(new Error(message)));
}

const rpIdHashes = new Map<string, Buffer>();

/** SHA-256 of an RP ID, computed once per RP ID. */
export function rpIdHashOf(rpId: string): Buffer {
  let hash = rpIdHashes.get(rpId);
  if (!hash) {
    hash = createHash('sha256').update(rpId, 'ascii').digest();
    rpIdHashes.set(rpId, hash);
  }
  return hash;
}

/** The origins a ceremony may come from: `rp.origins` and `rp.relatedOrigins` (the RP ID hash stays `rp.id`'s). */
export function allowedOrigins(config: ResolvedOptions): string[] {
  return config.rp.allowedOrigins;
}

/** Map SimpleWebAuthn's error texts onto reasons of our own; never forward library text verbatim. */
export function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : '';
  if (/origin/i.test(text)) return 'The passkey response comes from an origin that is not allowed.';
  if (/challenge/i.test(text)) return "The passkey response does not answer this flow's challenge.";
  if (/RP ID|rpIdHash|rpID/i.test(text)) return 'The passkey was created for another relying party.';
  if (/user verif/i.test(text)) return 'The passkey response lacks user verification, which is required.';
  if (/not present|presence/i.test(text)) return 'The passkey response lacks user presence.';
  if (/type/i.test(text) && /webauthn\./i.test(text)) return 'The passkey response is of the wrong type.';
  if (/signature/i.test(text)) return 'The passkey signature could not be verified.';
  if (/algorithm/i.test(text)) return 'The passkey uses an unsupported algorithm.';
  return 'The passkey response could not be verified.';
}

/** {@link describe}, for the differential tests' reference verifiers. */
export const describeError = describe;

/**
 * Ceremonies run in the app's own pages, never in a cross-origin iframe (clientData `crossOrigin`, WebAuthn §5.8.1):
 * the library offers no way to embed them, so a cross-origin one, or one naming a `topOrigin` (the page framing it,
 * whatever `crossOrigin` says), is someone else's page.
 */
export function checkSameOriginCeremony(clientDataJSON: string): { bytes: Buffer; value: unknown } {
  let bytes: Buffer;
  let clientData: { crossOrigin?: unknown };
  try {
    bytes = Buffer.from(clientDataJSON, 'base64url');
    clientData = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CeremonyError('The passkey response has malformed client data.');
  }
  // A `topOrigin` (WebAuthn L3 §7.1 step 11, §7.2 step 13) must be a page the RP expects to frame it: there is none.
  if (clientData?.crossOrigin === true || (clientData as { topOrigin?: unknown } | null)?.topOrigin !== undefined) {
    throw new CeremonyError('The passkey ceremony ran in a cross-origin frame.');
  }
  return { bytes, value: clientData };
}

/** Client data as JSON.parse gives it; every field is checked before it is trusted. */
export type ClientData = { [key: string]: unknown };

/** Bytes as base64url (a view of them, no copy). */
export const b64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
