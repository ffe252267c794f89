// New passkeys: built from a verified registration, named after their authenticator model.

import { AAGUID_NAMES } from './data/aaguids.js';
import type { Passkey } from './store/types.js';
import type { VerifiedRegistration } from './webauthn/index.js';

/** A readable default name for a passkey created now by the authenticator model `aaguid`. */
export function passkeyName(aaguid: string, createdAt: Date): string {
  const model = AAGUID_NAMES[aaguid.toLowerCase()];
  if (model) return model;
  return `Passkey ${createdAt.toISOString().slice(0, 10)}`;
}

/** The passkey to store for a verified registration. */
export function newPasskey(identityId: string, verified: VerifiedRegistration): Passkey {
  const now = new Date();
  return {
    id: verified.credentialId,
    identityId,
    publicKey: verified.publicKey,
    signCount: verified.signCount,
    transports: verified.transports,
    aaguid: verified.aaguid,
    name: passkeyName(verified.aaguid, now),
    backupEligible: verified.backupEligible,
    backedUp: verified.backedUp,
    createdAt: now,
    lastUsedAt: null,
  };
}
