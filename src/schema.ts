// The identity schema: trait fields for the UI, trait validation with Kratos's message ids, the display name.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import type { JsonValue } from './store/types.js';
import { messages, type UiText } from './ui/messages.js';

// ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped.
type FormatsPlugin = (ajv: Ajv | Ajv2020) => unknown;
const addFormats = ((addFormatsImport as unknown as { default?: FormatsPlugin }).default ??
  addFormatsImport) as unknown as FormatsPlugin;

/** The schema that ships: an email (the passkey display name) and an optional first and last name. */
export const defaultIdentitySchema = {
  $id: 'https://schemas.ory.sh/presets/kratos/identity.email.schema.json',
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Person',
  type: 'object',
  properties: {
    traits: {
      type: 'object',
      properties: {
        email: {
          type: 'string',
          format: 'email',
          title: 'E-Mail',
          minLength: 3,
          maxLength: 320,
          'ory.sh/kratos': {
            credentials: { passkey: { display_name: true } },
            recovery: { via: 'email' },
            verification: { via: 'email' },
          },
        },
        name: {
          type: 'object',
          properties: {
            first: { type: 'string', title: 'First name', maxLength: 256 },
            last: { type: 'string', title: 'Last name', maxLength: 256 },
          },
        },
      },
      required: ['email'],
      additionalProperties: false,
    },
  },
} as const;

/** One input the UI renders for a trait. */
export interface TraitField {
  /** Node name, `traits.email`. */
  name: string;
  /** Path below `traits`. */
  path: string[];
  /** HTML input type. */
  type: 'text' | 'email' | 'number' | 'checkbox' | 'tel' | 'url' | 'date' | 'datetime-local';
  title: string;
  required: boolean;
}

/** Errors found in submitted traits: per node name, and those that belong to no node. */
export interface TraitErrors {
  nodes: Record<string, UiText[]>;
  general: UiText[];
}

/** A compiled identity schema. */
export interface IdentitySchema {
  id: string;
  /** The schema as given (served at `/schemas/<id>`). */
  raw: object;
  fields: TraitField[];
  /** Node name of the display-name trait (`traits.email`). */
  displayNameField: string;
  /** The display-name trait's `title` ("E-Mail"), when the schema gives it one: the login identifier's label. */
  displayNameTitle?: string;
  /** Validate traits (from a JSON body, or from a form body with type coercion). `null` when valid. */
  validate(traits: unknown, fromForm: boolean): TraitErrors | null;
  /** The display-name trait's value, if the traits have one. */
  displayName(traits: Record<string, JsonValue>): string | undefined;
  /**
   * The addresses the traits hold (normalised, deduplicated, in schema order): traits marked
   * `"ory.sh/kratos": { recovery: { via: "email" } }` / `{ verification: { via: "email" } }`.
   */
  addresses(traits: Record<string, JsonValue>): { recovery: string[]; verification: string[] };
  /** Whether any trait is a verifiable address (`"ory.sh/kratos": { verification: { via: "email" } }`). */
  hasVerifiableTrait: boolean;
}

type SchemaNode = {
  type?: string | string[];
  format?: string;
  title?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  'ory.sh/kratos'?: {
    credentials?: { passkey?: { display_name?: boolean } };
    recovery?: { via?: unknown };
    verification?: { via?: unknown };
  };
};

/** Compile a Kratos identity schema once, at factory time. Throws a `TypeError` if it cannot be used. */
export function compileIdentitySchema(raw: object, id = 'default'): IdentitySchema {
  const root = raw as SchemaNode & { $schema?: string };
  const traits = root.properties?.traits;
  if (!traits || typeof traits !== 'object' || !traits.properties) {
    throw new TypeError(
      'express-passkeys: `identitySchema` must describe traits under `properties.traits` (Kratos identity schema format), with `properties.traits.properties`.',
    );
  }
  const fields: TraitField[] = [];
  let displayNameField: string | undefined;
  let displayNameTitle: string | undefined;
  const recoveryPaths: string[][] = [];
  const verificationPaths: string[][] = [];
  const walk = (node: SchemaNode, path: string[], requiredHere: boolean) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const childPath = [...path, key];
      const required = requiredHere && (node.required ?? []).includes(key);
      if (child.properties) {
        walk(child, childPath, required);
        continue;
      }
      const name = `traits.${childPath.join('.')}`;
      const kratos = child['ory.sh/kratos'];
      if (kratos?.credentials?.passkey?.display_name === true && displayNameField === undefined) {
        displayNameField = name;
        if (typeof child.title === 'string' && child.title.trim() !== '') displayNameTitle = child.title.trim();
      }
      for (const [kind, paths] of [
        ['recovery', recoveryPaths],
        ['verification', verificationPaths],
      ] as const) {
        const via = kratos?.[kind]?.via;
        if (via === undefined) continue;
        if (via !== 'email') {
          throw new TypeError(
            `express-passkeys: \`identitySchema\` trait \`${name}\` has \`"ory.sh/kratos": { "${kind}": { "via": ${JSON.stringify(via)} } }\`; only "email" is supported.`,
          );
        }
        paths.push(childPath);
      }
      fields.push({ name, path: childPath, type: inputType(child), title: child.title ?? key, required });
    }
  };
  walk(traits, [], true);
  if (!displayNameField) {
    throw new TypeError(
      'express-passkeys: `identitySchema` marks no trait as the passkey display name. Add `"ory.sh/kratos": { "credentials": { "passkey": { "display_name": true } } }` to one string trait (usually the email).',
    );
  }
  const displayNamePath = displayNameField.split('.').slice(1);

  const strict = makeValidator(raw, false);
  const coercing = makeValidator(raw, true);
  const known = new Set(fields.map((field) => field.name));

  return {
    id,
    raw,
    fields,
    displayNameField,
    displayNameTitle,
    validate(value, fromForm) {
      const errors = validateTraits(value, fromForm);
      if (!errors) return null;
      // A message for a path no input renders (an object such as `traits.name`) goes to `ui.messages`.
      for (const [name, list] of Object.entries(errors.nodes)) {
        if (known.has(name)) continue;
        errors.general.push(...list);
        delete errors.nodes[name];
      }
      return errors;
    },
    displayName: (value) => stringAt(value, displayNamePath),
    hasVerifiableTrait: verificationPaths.length > 0,
    addresses(value) {
      const collect = (paths: string[][]) => {
        const found = new Set<string>();
        for (const path of paths) {
          const text = stringAt(value, path);
          const normalised = text === undefined ? '' : normaliseIdentifier(text);
          if (normalised !== '') found.add(normalised);
        }
        return [...found];
      };
      return { recovery: collect(recoveryPaths), verification: collect(verificationPaths) };
    },
  };

  function validateTraits(value: unknown, fromForm: boolean): TraitErrors | null {
    // NUL and lone surrogates have no place in a trait, and databases such as PostgreSQL refuse them in text.
    const nul = findNul(value, 'traits');
    if (nul)
      return {
        nodes: { [nul]: [messages.generic('The value must not contain NUL characters or unpaired surrogates.')] },
        general: [],
      };
    const validate = fromForm ? coercing : strict;
    const document = { traits: value };
    if (validate(document)) return null;
    return mapErrors(validate.errors ?? [], document);
  }
}

/** The value at `path` below the traits, if there is one. */
export function traitAt(traits: Record<string, JsonValue>, path: string[]): JsonValue | undefined {
  let node: JsonValue | undefined = traits;
  for (const key of path) node = node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined;
  return node;
}

/** The string at `path` below the traits, if there is one. */
function stringAt(traits: Record<string, JsonValue>, path: string[]): string | undefined {
  const node = traitAt(traits, path);
  return typeof node === 'string' ? node : undefined;
}

/** U+0000 or a lone UTF-16 surrogate: not text, and refused by databases (PostgreSQL's `jsonb`, for one). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what is refused.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The node name of the first string (or key) below `value` that contains U+0000 or a lone surrogate. */
export function findNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : undefined;
  if (!value || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const childPath = Array.isArray(value) ? path : `${path}.${key}`;
    if (UNSTORABLE.test(key)) return path;
    const found = findNul(child, childPath);
    if (found) return found;
  }
  return undefined;
}

function makeValidator(raw: object, coerceTypes: boolean): ValidateFunction {
  const draft2020 = String((raw as { $schema?: string }).$schema ?? '').includes('2020-12');
  const options = { allErrors: true, strict: false, coerceTypes, validateSchema: true } as const;
  const ajv = draft2020 ? new Ajv2020(options) : new Ajv(options);
  addFormats(ajv);
  const { $id: _ignored, ...schema } = raw as { $id?: string };
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new TypeError(`express-passkeys: \`identitySchema\` is not a valid JSON Schema: ${(error as Error).message}`);
  }
}

function inputType(node: SchemaNode): TraitField['type'] {
  const type = Array.isArray(node.type) ? node.type[0] : node.type;
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'boolean') return 'checkbox';
  switch (node.format) {
    case 'email':
      return 'email';
    case 'tel':
      return 'tel';
    case 'uri':
    case 'url':
      return 'url';
    case 'date':
      return 'date';
    case 'date-time':
      return 'datetime-local';
    default:
      return 'text';
  }
}

const MAX_ERRORS = 20;

/** ajv errors → Kratos messages on the node they concern. */
function mapErrors(errors: ErrorObject[], document: unknown): TraitErrors {
  const result: TraitErrors = { nodes: {}, general: [] };
  const add = (pointer: string, message: UiText) => {
    if (!pointer.startsWith('/traits')) {
      result.general.push(message);
      return;
    }
    const name = pointer.slice(1).split('/').map(unescapePointer).join('.');
    if (name === 'traits') {
      result.general.push(message);
      return;
    }
    result.nodes[name] = [...(result.nodes[name] ?? []), message];
  };
  // The first few are enough to show, and they are stored with the flow.
  for (const error of errors.slice(0, MAX_ERRORS)) {
    const value = valueAt(document, error.instancePath);
    switch (error.keyword) {
      case 'required': {
        const property = String(error.params.missingProperty);
        add(`${error.instancePath}/${property}`, messages.required(property));
        break;
      }
      case 'minLength':
        add(error.instancePath, messages.minLength(Number(error.params.limit), lengthOf(value)));
        break;
      case 'maxLength':
        add(error.instancePath, messages.maxLength(Number(error.params.limit), lengthOf(value)));
        break;
      case 'type':
        add(error.instancePath, messages.wrongType(String(error.params.type).split(','), jsonType(value)));
        break;
      case 'format':
        add(
          error.instancePath,
          messages.generic(`${quote(value)} is not valid ${JSON.stringify(error.params.format)}`),
        );
        break;
      case 'additionalProperties':
        add(
          error.instancePath,
          messages.generic(`additionalProperties ${quote(error.params.additionalProperty)} not allowed`),
        );
        break;
      default:
        add(error.instancePath, messages.generic(error.message ?? 'is invalid'));
    }
  }
  return result;
}

/** A submitted value quoted in a message, cut short: messages are stored with the flow and must stay small. */
function quote(value: unknown): string {
  const text = JSON.stringify(typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value);
  return text === undefined ? 'value' : text;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function valueAt(document: unknown, pointer: string): unknown {
  let node = document;
  for (const part of pointer.split('/').slice(1).map(unescapePointer)) {
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  }
  return node;
}

function lengthOf(value: unknown): number {
  return typeof value === 'string' ? [...value].length : 0;
}

/** The JSON type as Kratos's validator names it in 4000026: `number` for every number, integers included. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

// Default-ignorable code points (zero-width spaces and joiners, soft hyphen, bidi controls, variation selectors...):
// invisible, so `ad\u200bmin` must not count as another identifier than `admin`.
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: single code points to delete, combining ones included.
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/g;

/** Normalise an identifier for uniqueness: NFKC, invisible characters removed, trimmed, lower-cased. */
export function normaliseIdentifier(value: string): string {
  return value.normalize('NFKC').replace(INVISIBLE, '').trim().toLowerCase();
}

/** Does a JSON body carry traits as flat `traits.*` keys (Ory Elements posts its form that way), not as an object? */
export function hasFlatTraits(body: Record<string, unknown>): boolean {
  return body.traits === undefined && Object.keys(body).some((key) => key.startsWith('traits.'));
}

/**
 * Traits from a urlencoded body (or a JSON body that follows the form's format): `traits.email=a@b.c&traits.name.first=Ann` → `{ email, name: { first } }`.
 * Empty values are dropped, as an untouched optional field should not fail validation.
 */
export function traitsFromForm(body: Record<string, unknown>): Record<string, JsonValue> {
  const traits: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!key.startsWith('traits.') || typeof value !== 'string' || value === '') continue;
    const path = key.split('.').slice(1);
    if (path.length > 16) continue;
    if (path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) continue;
    let node = traits;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, JsonValue>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return traits;
}
