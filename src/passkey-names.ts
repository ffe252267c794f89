// Default names for new passkeys: the authenticator model from its AAGUID, else "Passkey" and the date.

import { AAGUID_NAMES } from './data/aaguids.js';

/** A readable default name for a passkey created now by the authenticator model `aaguid`. */
export function passkeyName(aaguid: string, createdAt: Date): string {
  const model = AAGUID_NAMES[aaguid.toLowerCase()];
  if (model) return model;
  return `Passkey ${createdAt.toISOString().slice(0, 10)}`;
}
