// Kratos's admin JSON: identities with `credentials.passkey` (no key material) and `metadata_admin`; session records.

import { identityJson } from '../session.js';
import type { Identity, Passkey, SessionRecord } from '../store/types.js';

/** Identity JSON of the admin API: the public one plus `metadata_admin` and `credentials.passkey`. */
export function adminIdentityJson(identity: Identity, passkeys: Passkey[], base: string) {
  const credentials =
    passkeys.length === 0
      ? {}
      : {
          passkey: {
            type: 'passkey',
            identifiers: [identity.identifier],
            config: {
              credentials: passkeys.map((p) => ({
                id: p.id,
                display_name: p.name,
                added_at: p.createdAt.toISOString(),
                last_used_at: p.lastUsedAt ? p.lastUsedAt.toISOString() : null,
                aaguid: p.aaguid,
                transports: p.transports,
                is_passwordless: true,
                flags: { backup_eligible: p.backupEligible, backup_state: p.backedUp },
              })),
            },
            version: 1,
            created_at: (passkeys[0] as Passkey).createdAt.toISOString(),
            updated_at: identity.updatedAt.toISOString(),
          },
        };
  return {
    ...identityJson(identity, base),
    credentials,
    metadata_admin: identity.metadataAdmin ?? null,
  };
}

/** Session JSON of a session record (Kratos's shape, `devices` included; credential ids stay server-side). */
export function sessionRecordJson(session: SessionRecord, identity: Identity | null, base: string) {
  return {
    id: session.id,
    active: session.active && session.expiresAt.getTime() > Date.now(),
    expires_at: session.expiresAt.toISOString(),
    authenticated_at: session.authenticatedAt.toISOString(),
    issued_at: session.issuedAt.toISOString(),
    authenticator_assurance_level: session.aal,
    authentication_methods: session.methods.map((m) => ({
      method: m.method,
      aal: m.aal,
      completed_at: m.completedAt.toISOString(),
    })),
    devices: session.devices.map((d) => ({
      id: d.id,
      ip_address: d.ipAddress,
      user_agent: d.userAgent,
      location: d.location,
    })),
    ...(identity ? { identity: identityJson(identity, base) } : {}),
  };
}
