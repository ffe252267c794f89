// Response parsing: the JSON a client posts (`PublicKeyCredential.toJSON()`), schema-checked and normalised.

import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Ajv } from 'ajv';
import { CeremonyError } from './checks.js';

const BINARY_FIELDS = ['clientDataJSON', 'attestationObject', 'authenticatorData', 'signature', 'userHandle'] as const;

/** base64url, or standard base64 (`btoa`, with `+/=`) as some clients send it. */
const binary = { type: 'string', minLength: 1, maxLength: 16_384, pattern: '^[A-Za-z0-9_+/-]+={0,2}$' } as const;

/** JSON Schema of `PublicKeyCredential.toJSON()` for a registration or an assertion. */
function credentialSchema(required: string[]) {
  return {
    type: 'object',
    required: ['response'],
    anyOf: [{ required: ['id'] }, { required: ['rawId'] }],
    properties: {
      id: binary,
      rawId: binary,
      type: { const: 'public-key' },
      response: {
        type: 'object',
        required,
        properties: {
          clientDataJSON: binary,
          attestationObject: binary,
          authenticatorData: binary,
          signature: binary,
          userHandle: { anyOf: [binary, { type: 'null' }, { const: '' }] },
          transports: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 32 } },
          publicKey: { type: 'string' },
          publicKeyAlgorithm: { type: 'number' },
        },
      },
      clientExtensionResults: { type: 'object' },
      authenticatorAttachment: { type: ['string', 'null'] },
    },
  };
}

const ajv = new Ajv({ strict: false });
const validators = {
  registration: ajv.compile(credentialSchema(['clientDataJSON', 'attestationObject'])),
  authentication: ajv.compile(credentialSchema(['clientDataJSON', 'authenticatorData', 'signature'])),
};

/** base64 → base64url; base64url passes through. */
function toBase64Url(value: string): string {
  return value.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Parse the JSON string a client posts in `passkey_register` / `passkey_login` (the output of
 * `PublicKeyCredential.toJSON()`), schema-checked, accepting standard base64 in binary fields. Throws `CeremonyError`.
 */
export function parseCredential<T extends RegistrationResponseJSON | AuthenticationResponseJSON>(
  raw: unknown,
  kind: 'registration' | 'authentication',
): T {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new CeremonyError('The passkey response is not valid JSON.');
    }
  }
  if (!validators[kind](value)) {
    throw new CeremonyError('The passkey response is missing fields or has malformed ones.');
  }
  const credential = value as {
    id?: string;
    rawId?: string;
    response: Record<string, unknown>;
    clientExtensionResults?: object;
    authenticatorAttachment?: string | null;
  };
  const response: Record<string, unknown> = { ...credential.response };
  for (const field of BINARY_FIELDS) {
    const bytes = response[field];
    if (typeof bytes === 'string' && bytes !== '') response[field] = toBase64Url(bytes);
    else delete response[field];
  }
  const id = credentialIdOf(credential.id ?? credential.rawId ?? '');
  return {
    id,
    rawId: credential.rawId === undefined ? id : credentialIdOf(credential.rawId),
    type: 'public-key',
    response,
    clientExtensionResults: credential.clientExtensionResults ?? {},
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  } as unknown as T;
}

/** The longest credential id WebAuthn allows, in bytes (https://www.w3.org/TR/webauthn-3/#credential-id). */
export const MAX_CREDENTIAL_ID_BYTES = 1023;

/**
 * The canonical spelling of a credential id sent as base64url (or standard base64, padded or not): unpadded base64url.
 * Undefined when the text is not the one encoding of its bytes (unused low bits set, a stray character or length),
 * names no bytes, or names more than {@link MAX_CREDENTIAL_ID_BYTES}: two spellings of one id must never be two ids.
 */
export function canonicalCredentialId(value: string): string | undefined {
  const id = toBase64Url(value);
  const bytes = Buffer.from(id, 'base64url');
  if (bytes.length === 0 || bytes.length > MAX_CREDENTIAL_ID_BYTES) return undefined;
  return bytes.toString('base64url') === id ? id : undefined;
}

/**
 * The credential id a settings form names (`passkey_remove`, `passkey_rename`): base64url as `credential.id`, or hex
 * as Kratos emits it. The canonical base64url ids it may mean (a string of hex digits may be both); none when it is
 * neither.
 */
export function credentialIdsNamedBy(value: string): string[] {
  const ids = new Set<string>();
  const direct = canonicalCredentialId(value);
  if (direct !== undefined) ids.add(direct);
  if (/^([0-9a-f]{2})+$/i.test(value) && value.length <= 2 * MAX_CREDENTIAL_ID_BYTES) {
    ids.add(Buffer.from(value, 'hex').toString('base64url'));
  }
  return [...ids];
}

/** {@link canonicalCredentialId}, or a refusal that says why. */
function credentialIdOf(value: string): string {
  const id = canonicalCredentialId(value);
  if (id !== undefined) return id;
  if (Buffer.from(toBase64Url(value), 'base64url').length > MAX_CREDENTIAL_ID_BYTES) {
    throw new CeremonyError(`The credential id is longer than ${MAX_CREDENTIAL_ID_BYTES} bytes.`);
  }
  throw new CeremonyError('The credential id is not canonical base64url (the one encoding of its bytes).');
}
