// Fixtures for store tests: valid, unique identities, passkeys and flows, with overrides.

import { randomBytes, randomUUID } from 'node:crypto';
import type {
  FlowRecord,
  Identity,
  Passkey,
  RecoveryAddress,
  SessionRecord,
  VerifiableAddress,
} from '../store/types.js';

// Random bytes come from a pool refilled 64 KiB at a time: one `randomBytes` call per value is slow on some hosts,
// and the scale cases need hundreds of thousands of values.
const POOL_SIZE = 64 * 1024;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

/** `length` fresh random bytes, in a buffer of their own. */
function random(length: number): Uint8Array {
  if (length > POOL_SIZE) return new Uint8Array(randomBytes(length));
  if (poolOffset + length > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const bytes = new Uint8Array(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return bytes;
}

/** A random base64url string (no padding) of `bytes` random bytes. */
export function randomBase64url(bytes = 32): string {
  return Buffer.from(random(bytes)).toString('base64url');
}

/**
 * A valid identity with a random id, a unique identifier and a unique user handle; no recovery or verifiable
 * addresses unless given; `active`, no metadata.
 *
 * @example
 * const identity = makeIdentity({ identifier: 'ada' });
 * await store.createIdentity(identity, makePasskey(identity.id));
 */
export function makeIdentity(overrides: Partial<Identity> = {}): Identity {
  const id = overrides.id ?? randomUUID();
  const now = new Date();
  const identifier = overrides.identifier ?? `user-${randomBase64url(9).toLowerCase()}`;
  return {
    id,
    schemaId: 'default',
    traits: { username: identifier, email: `${identifier}@example.com`, newsletter: false },
    identifier,
    userHandle: randomBase64url(32),
    recoveryAddresses: [],
    verifiableAddresses: [],
    state: 'active',
    stateChangedAt: null,
    metadataPublic: null,
    metadataAdmin: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/**
 * A recovery address with a random id and a unique value (`recover-<random>@example.com`), created a minute ago.
 *
 * @example
 * const identity = makeIdentity({ recoveryAddresses: [makeRecoveryAddress({ value: 'ada@example.com' })] });
 */
export function makeRecoveryAddress(overrides: Partial<RecoveryAddress> = {}): RecoveryAddress {
  const at = new Date(Date.now() - 60_000);
  return {
    id: randomUUID(),
    value: `recover-${randomBase64url(9).toLowerCase()}@example.com`,
    via: 'email',
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/**
 * A pending (not yet verified) verifiable address with a random id and a unique value
 * (`verify-<random>@example.com`), created a minute ago.
 *
 * @example
 * const verified = makeVerifiableAddress({ verified: true, status: 'completed', verifiedAt: new Date() });
 */
export function makeVerifiableAddress(overrides: Partial<VerifiableAddress> = {}): VerifiableAddress {
  const at = new Date(Date.now() - 60_000);
  return {
    id: randomUUID(),
    value: `verify-${randomBase64url(9).toLowerCase()}@example.com`,
    via: 'email',
    verified: false,
    status: 'pending',
    verifiedAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/**
 * A valid passkey of `identityId` with a random credential id and a random 77-byte "COSE key", counter 0.
 *
 * @example
 * await store.addPasskey(makePasskey(identity.id, { name: 'YubiKey', signCount: 12 }));
 */
export function makePasskey(identityId: string, overrides: Partial<Passkey> = {}): Passkey {
  return {
    id: randomBase64url(32),
    identityId,
    publicKey: random(77),
    signCount: 0,
    transports: ['internal', 'hybrid'],
    aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd',
    name: 'Passkey',
    backupEligible: true,
    backedUp: true,
    createdAt: new Date(),
    lastUsedAt: null,
    ...overrides,
  };
}

/** A pending, anonymous flow that expires in 10 minutes, with a random id and challenge; `version` 0 (never saved). */
export function makeFlow(overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: randomUUID(),
    version: 0,
    expiresAt: new Date(Date.now() + 10 * 60 * 1000),
    challenge: randomBase64url(32),
    anonymous: true,
    data: {
      type: 'browser',
      kind: 'login',
      state: 'choose_method',
      return_to: 'https://app.example.com/',
      nodes: [{ group: 'passkey', name: 'passkey_login' }],
    },
    ...overrides,
  };
}

/**
 * An active session record of `identityId`, issued now, expiring in an hour, with one passkey sign-in and its device.
 *
 * @example
 * await store.createSession(makeSession(identity.id, { issuedAt: new Date(Date.now() - 1000) }));
 */
export function makeSession(identityId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = new Date();
  return {
    id: randomUUID(),
    identityId,
    active: true,
    issuedAt: now,
    authenticatedAt: now,
    expiresAt: new Date(now.getTime() + 60 * 60 * 1000),
    aal: 'aal1',
    methods: [{ method: 'passkey', aal: 'aal1', completedAt: now, credentialId: randomBase64url(32) }],
    devices: [
      { id: randomUUID(), ipAddress: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64)', location: '' },
    ],
    ...overrides,
  };
}
