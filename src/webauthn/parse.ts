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
  const id = toBase64Url(credential.id ?? credential.rawId ?? '');
  return {
    id,
    rawId: toBase64Url(credential.rawId ?? id),
    type: 'public-key',
    response,
    clientExtensionResults: credential.clientExtensionResults ?? {},
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  } as unknown as T;
}
