// JSON Schemas of the submit bodies, checked with ajv before any field is used.

import { Ajv, type ErrorObject } from 'ajv';
import type { Request } from 'express';
import { csrfViolation, HttpError } from '../errors.js';

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const credential = text(65_536);
const common = {
  // Any type: a token that is not a string (an array from a repeated form field, an object, a number) is a malformed
  // token, which the CSRF check answers with 403 `security_csrf_violation` (API flows ignore it), not a 400 here.
  csrf_token: {},
  method: text(64),
  transient_payload: { type: ['object', 'string'] },
} as const;

// Other fields (the flow's own nodes posted back by a generic UI, trigger buttons, `traits.*` form keys) are allowed
// and ignored.
const schemas = {
  registration: { type: 'object', properties: { ...common, passkey_register: credential } },
  login: { type: 'object', properties: { ...common, passkey_login: credential, identifier: text(1024) } },
  settings: {
    type: 'object',
    properties: {
      ...common,
      passkey_settings_register: credential,
      passkey_register: credential,
      passkey_remove: text(1024),
      passkey_rename: {
        type: 'object',
        required: ['id', 'name'],
        additionalProperties: false,
        properties: { id: text(1024), name: text(1024) },
      },
      passkey_rename_id: text(1024),
      passkey_rename_name: text(1024),
      traits: { type: 'object' },
    },
  },
  code: {
    type: 'object',
    properties: { ...common, email: text(320), code: text(64) },
  },
  logout: {
    type: 'object',
    required: ['session_token'],
    properties: { session_token: { type: 'string', minLength: 1, maxLength: 256 } },
  },
} as const;

const ajv = new Ajv({ strict: false, allErrors: false });
const validators = Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, ajv.compile(schema)])) as {
  [K in keyof typeof schemas]: ReturnType<typeof ajv.compile>;
};

/**
 * The submitted body, checked against the route's schema: a plain object (an absent body is empty), fields of the
 * right types and sizes. Throws a 400 `bad_request` naming the field otherwise.
 */
export function bodyOf(req: Request, kind: keyof typeof schemas): Record<string, unknown> {
  const body: unknown = req.body ?? {};
  if (depthOf(body) > MAX_DEPTH) {
    throw new HttpError(400, 'bad_request', `The request body is nested more than ${MAX_DEPTH} levels deep.`);
  }
  const bad = badStringIn(body);
  if (bad) throw new HttpError(400, 'bad_request', `The field \`${bad}\` contains characters that are not allowed.`);
  if (!req.is(['application/json', 'application/*+json'])) collapseRepeated(body as Record<string, unknown>);
  const validate = validators[kind];
  if (!validate(body)) throw new HttpError(400, 'bad_request', describe(validate.errors?.[0]));
  return body as Record<string, unknown>;
}

/**
 * A urlencoded field sent more than once (the parser gives an array): with one value throughout, it is that value, as
 * Kratos's form decoder reads it (Ory Elements' method chooser posts hidden fields twice; a page rendering every node
 * of a code flow posts `method=code` twice). With different values it is ambiguous and refused: 400, or 403 for
 * `csrf_token` (as any malformed token).
 */
function collapseRepeated(body: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(body)) {
    if (!Array.isArray(value)) continue;
    if (value.length > 0 && value.every((v) => typeof v === 'string' && v === value[0])) {
      body[field] = value[0];
      continue;
    }
    if (field === 'csrf_token') throw csrfViolation();
    throw new HttpError(400, 'bad_request', `The field \`${field}\` was sent more than once, with different values.`);
  }
}

/** Deeper bodies are refused before anything walks them (recursion, JSON.stringify in stores). */
const MAX_DEPTH = 32;

/** Nesting depth of a JSON value, counted without recursion; stops early past the limit. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

// Lone UTF-16 surrogates: not text, and refused by databases (PostgreSQL's json, for one).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The first top-level field holding a string (or key) that is not well-formed text, or that contains NUL outside the
 * traits (whose NULs the identity schema reports on the trait's node).
 */
function badStringIn(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  for (const [field, value] of Object.entries(body)) {
    const traits = field === 'traits' || field.startsWith('traits.');
    const stack: unknown[] = [field, value];
    while (stack.length > 0) {
      const node = stack.pop();
      if (typeof node === 'string') {
        if (LONE_SURROGATE.test(node) || (!traits && node.includes('\u0000'))) return field;
      } else if (node && typeof node === 'object') {
        for (const [key, child] of Object.entries(node)) stack.push(key, child);
      }
    }
  }
  return undefined;
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'The request body is invalid.';
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (error.keyword === 'required') return `The request body is missing \`${error.params.missingProperty}\`.`;
  return field
    ? `The field \`${field}\` ${error.message ?? 'is invalid'}.`
    : `The request body ${error.message ?? 'is invalid'}.`;
}
