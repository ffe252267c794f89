// Options: snake_case → camelCase, validation (ajv + the checks JSON Schema cannot express), defaults. Once.

import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseDomain } from 'tldts';
import { processKey } from './codes.js';
import type { Courier } from './courier.js';
import type { CodeLimits } from './limits.js';
import { type ResolvedLoginStyle, resolveLoginStyle } from './login-style.js';
import { compileIdentitySchema, defaultIdentitySchema, type IdentitySchema } from './schema.js';
import { MemoryStore } from './store/memory.js';
import type { Store } from './store/types.js';
import type { CredentialHint, HookOptions, PasskeysOptions, UrlOptions } from './types.js';

/** Options after resolution: every default filled in, durations in milliseconds. */
export interface ResolvedOptions {
  rp: {
    id: string;
    displayName: string;
    origins: string[];
    /** Related origins (other registrable domains allowed to use `id`), served by `auth.wellKnown`. */
    relatedOrigins: string[];
    /** Every origin a ceremony may come from: `origins` then `relatedOrigins`, without duplicates. */
    allowedOrigins: string[];
  };
  store: Store;
  schema: IdentitySchema;
  authenticatorSelection: {
    residentKey: 'required' | 'preferred' | 'discouraged';
    userVerification: 'required' | 'preferred' | 'discouraged';
    authenticatorAttachment?: 'platform' | 'cross-platform';
  };
  attestation: 'none' | 'indirect' | 'direct' | 'enterprise';
  lifespans: { flow: number; ceremony: number; session: number; privilegedSession: number };
  urls: {
    publicBase?: string;
    /**
     * The first of `rp.origins` when it is a web origin: with the mount path, the base of URLs that leave the request
     * when `publicBase` is unset (see `publicBaseUrl`).
     */
    publicOrigin?: string;
    ui: NonNullable<UrlOptions['ui']>;
    defaultReturnTo: string;
    allowedReturnTo: string[];
  };
  /** `timeout`: how long a before-hook may run (ms). */
  hooks: HookOptions & { session: boolean; timeout: number };
  signCountPolicy: 'reject' | 'warn';
  maxBodySize: number;
  /** Recovery and verification by code; absent without `courier`. */
  codes?: ResolvedCodeOptions;
  /** WebAuthn L3 `hints` for creation and request options (`[]`: none sent). */
  hints: CredentialHint[];
  /** Sign-in policy: the login style (and identifier-first's decoy key), and whether a verified address is needed. */
  login: ResolvedLoginStyle & { requireVerifiedAddress: boolean };
  /** Session lifecycle (SPEC §8). */
  sessions: ResolvedSessionOptions;
}

/** What ends sessions besides logout, and the optional record cache. */
export interface ResolvedSessionOptions {
  /** `login.revokeOtherSessions`: every sign-in revokes the identity's other sessions. */
  revokeOthersAtLogin: boolean;
  /** `recovery.revokeOtherSessions`: a successful recovery revokes the identity's other sessions. */
  revokeOthersAtRecovery: boolean;
  /** `settings.revokeSessionsOfRemovedPasskey`: removing a passkey revokes the other sessions that used it. */
  revokeSessionsOfRemovedPasskey: boolean;
  /** `sessionCheckCacheMs`: how long an instance may trust a record it read (0: never, the default). */
  checkCacheMs: number;
}

/** The `code` method's options, resolved. */
export interface ResolvedCodeOptions {
  courier: Courier;
  /** HMAC keys: the first signs, all verify. */
  keys: Buffer[];
  recovery: { enabled: boolean; notifyUnknownRecipients: boolean };
  verification: { enabled: boolean; afterRegistration: boolean; notifyUnknownRecipients: boolean };
  /** Code lifespan (ms). */
  lifespan: number;
  maxSubmissions: number;
  /** Send and failure limits, counted in the store. */
  limits: CodeLimits;
}

const STORE_METHODS = [
  'createIdentity',
  'getIdentity',
  'findIdentityByUserHandle',
  'findIdentityByIdentifier',
  'findIdentityByAddress',
  'updateIdentity',
  'deleteIdentity',
  'listIdentities',
  'getPasskey',
  'listPasskeys',
  'addPasskey',
  'updatePasskeyUsage',
  'renamePasskey',
  'removePasskey',
  'saveFlow',
  'getFlow',
  'consumeChallenge',
] as const;

const HOOK_NAMES = [
  'onRegistered',
  'onLogin',
  'onPasskeyAdded',
  'onPasskeyRemoved',
  'onCloneWarning',
  'beforeRegistration',
  'beforeLogin',
  'beforeSettings',
] as const;

const duration = { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { type: 'string' }] };
const uv = { enum: ['required', 'preferred', 'discouraged'] };

/** JSON Schema of the options (after snake_case keys are camelised). */
const optionsSchema = {
  type: 'object',
  required: ['rp', 'store'],
  additionalProperties: false,
  properties: {
    rp: {
      type: 'object',
      required: ['id', 'displayName', 'origins'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1 },
        displayName: { type: 'string', minLength: 1 },
        origins: {
          anyOf: [
            { type: 'string', minLength: 1 },
            { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          ],
        },
        relatedOrigins: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
    store: { type: 'object' },
    identitySchema: { type: 'object' },
    authenticatorSelection: {
      type: 'object',
      additionalProperties: false,
      properties: {
        residentKey: uv,
        userVerification: uv,
        authenticatorAttachment: { enum: ['platform', 'cross-platform'] },
        requireResidentKey: { type: 'boolean' },
      },
    },
    attestation: { enum: ['none', 'indirect', 'direct', 'enterprise'] },
    lifespans: {
      type: 'object',
      additionalProperties: false,
      properties: {
        flow: duration,
        ceremony: duration,
        session: duration,
        privilegedSession: duration,
        code: duration,
      },
    },
    urls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        publicBase: { type: 'string' },
        ui: {
          type: 'object',
          additionalProperties: false,
          properties: {
            login: { type: 'string' },
            registration: { type: 'string' },
            settings: { type: 'string' },
            error: { type: 'string' },
            recovery: { type: 'string' },
            verification: { type: 'string' },
          },
        },
        defaultReturnTo: { type: 'string', minLength: 1 },
        allowedReturnTo: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
    hooks: {
      type: 'object',
      additionalProperties: false,
      properties: {
        session: { type: 'boolean' },
        timeout: duration,
        ...Object.fromEntries(HOOK_NAMES.map((name) => [name, {}])),
      },
    },
    signCountPolicy: { enum: ['reject', 'warn'] },
    maxBodySize: { type: 'integer', minimum: 1024 },
    courier: { type: 'object' },
    secrets: {
      anyOf: [
        { type: 'array', minItems: 1, items: { type: 'string' } },
        {
          type: 'object',
          required: ['default'],
          properties: { default: { type: 'array', minItems: 1, items: { type: 'string' } } },
        },
      ],
    },
    recovery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        notifyUnknownRecipients: { type: 'boolean' },
        revokeOtherSessions: { type: 'boolean' },
        use: { const: 'code' },
      },
    },
    verification: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        afterRegistration: { type: 'boolean' },
        notifyUnknownRecipients: { type: 'boolean' },
        use: { const: 'code' },
      },
    },
    code: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxSubmissions: { type: 'integer', minimum: 1, maximum: 100 },
        maxSendsPerAddress: { type: 'integer', minimum: 1 },
        maxSendsPerClient: { type: 'integer', minimum: 1 },
        sendWindow: duration,
        maxFailuresPerClient: { type: 'integer', minimum: 1 },
        failureWindow: duration,
        maxFailuresPerAddress: { type: 'integer', minimum: 1 },
        maxShortCodesPerAddress: { type: 'integer', minimum: 0 },
        hardeningWindow: duration,
      },
    },
    hints: { type: 'array', uniqueItems: true, items: { enum: ['security-key', 'client-device', 'hybrid'] } },
    login: {
      type: 'object',
      additionalProperties: false,
      properties: {
        style: { enum: ['unified', 'identifier_first'] },
        requireVerifiedAddress: { type: 'boolean' },
        revokeOtherSessions: { type: 'boolean' },
      },
    },
    settings: {
      type: 'object',
      additionalProperties: false,
      properties: { revokeSessionsOfRemovedPasskey: { type: 'boolean' } },
    },
    sessionCheckCacheMs: { type: 'integer', minimum: 0, maximum: 300_000 },
  },
} as const;

// allErrors: a typo'd key (`rp.origin`) is reported rather than the required key it stands for (`rp.origins`).
const validateShape = new Ajv({ allErrors: true, strict: false }).compile(optionsSchema);

/**
 * Resolve and validate the options of `passkeys()`. Throws a `TypeError` naming the option and the fix.
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (typeof input === 'function') {
    throw new TypeError(
      'express-passkeys: it appears you have done something like `app.use(passkeys)`, but it should be `app.use(passkeys({ rp, store }))`.',
    );
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError('express-passkeys: `passkeys()` needs an options object: `passkeys({ rp, store })`.');
  }
  const options = normaliseKeys(dropUndefined(input as Record<string, unknown>));
  if (!validateShape(options)) {
    const errors = validateShape.errors ?? [];
    throw configError(errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0]);
  }
  const opts = options as unknown as PasskeysOptions;

  const rpId = checkRpId(opts.rp.id);
  if (opts.rp.displayName.trim() === '') {
    throw new TypeError('express-passkeys: `rp.displayName` must not be blank: authenticators show it (`"Example"`).');
  }
  const origins = (Array.isArray(opts.rp.origins) ? opts.rp.origins : [opts.rp.origins]).map((o) =>
    checkOrigin(o, rpId),
  );
  origins.forEach((origin, index) => {
    if (origins.indexOf(origin) !== index) {
      throw new TypeError(
        `express-passkeys: \`rp.origins\` lists "${origin}" twice (entries ${origins.indexOf(origin)} and ${index}, after normalisation); list each origin once.`,
      );
    }
  });
  const requireResidentKey = opts.authenticatorSelection?.requireResidentKey;
  if (
    requireResidentKey !== undefined &&
    requireResidentKey !== ((opts.authenticatorSelection?.residentKey ?? 'required') === 'required')
  ) {
    throw new TypeError(
      `express-passkeys: \`authenticatorSelection.requireResidentKey\` (${requireResidentKey}) contradicts \`authenticatorSelection.residentKey\` ("${opts.authenticatorSelection?.residentKey ?? 'required'}", the default); set \`residentKey\` only (\`requireResidentKey\` is derived from it).`,
    );
  }
  const relatedOrigins = checkRelatedOrigins(opts.rp.relatedOrigins ?? []);
  checkStore(opts.store);
  for (const name of HOOK_NAMES) {
    const hook = opts.hooks?.[name];
    if (hook !== undefined && typeof hook !== 'function') {
      throw new TypeError(`express-passkeys: \`hooks.${name}\` must be a function, got ${typeof hook}.`);
    }
  }

  const flow = parseDuration(opts.lifespans?.flow ?? '1h', 'lifespans.flow');
  const lifespans = {
    flow,
    // Unset, the ceremony gets 5 minutes, or the whole flow when that is shorter.
    ceremony:
      opts.lifespans?.ceremony === undefined
        ? Math.min(300_000, flow)
        : parseDuration(opts.lifespans.ceremony, 'lifespans.ceremony'),
    session: parseDuration(opts.lifespans?.session ?? '24h', 'lifespans.session'),
    privilegedSession: parseDuration(opts.lifespans?.privilegedSession ?? '1h', 'lifespans.privilegedSession'),
  };
  if (lifespans.ceremony > lifespans.flow) {
    throw new TypeError('express-passkeys: `lifespans.ceremony` must not be longer than `lifespans.flow`.');
  }

  const urls = opts.urls ?? {};
  const publicBase = urls.publicBase === undefined ? undefined : checkAbsoluteUrl(urls.publicBase, 'urls.publicBase');
  if (publicBase !== undefined && /[?#]/.test(publicBase)) {
    throw new TypeError(
      `express-passkeys: \`urls.publicBase\` must be the URL of the mount path, without a query or fragment (got "${urls.publicBase}").`,
    );
  }
  const ui = Object.fromEntries(
    Object.entries(urls.ui ?? {}).map(([name, url]) => [name, checkUrlOrPath(url, `urls.ui.${name}`)]),
  );
  const allowedReturnTo = (urls.allowedReturnTo ?? origins.filter((o) => /^https?:/.test(o))).map((entry) =>
    checkAbsoluteUrl(entry, 'urls.allowedReturnTo'),
  );

  const codes = resolveCodes(opts, lifespans.flow);
  const publicOrigin = /^https?:\/\//.test(origins[0] ?? '') ? origins[0] : undefined;
  if (codes && !publicBase && !publicOrigin) {
    throw new TypeError(
      `express-passkeys: links in recovery and verification mails need a public base URL, and the first of \`rp.origins\` ("${origins[0]}") is not a web origin. Set \`urls.publicBase\` (e.g. "https://example.com/auth"), or put the web origin first in \`rp.origins\`. Mails never take their links from the request's Host header.`,
    );
  }
  const schema = compileIdentitySchema(opts.identitySchema ?? defaultIdentitySchema);
  const login = resolveLogin(opts, schema, codes);

  return {
    ...(codes ? { codes } : {}),
    rp: {
      id: rpId,
      displayName: opts.rp.displayName,
      origins,
      relatedOrigins,
      allowedOrigins: [...new Set([...origins, ...relatedOrigins])],
    },
    store: opts.store,
    schema,
    authenticatorSelection: {
      residentKey: opts.authenticatorSelection?.residentKey ?? 'required',
      userVerification: opts.authenticatorSelection?.userVerification ?? 'preferred',
      ...(opts.authenticatorSelection?.authenticatorAttachment
        ? { authenticatorAttachment: opts.authenticatorSelection.authenticatorAttachment }
        : {}),
    },
    attestation: opts.attestation ?? 'none',
    lifespans,
    urls: {
      ...(publicBase ? { publicBase: publicBase.replace(/\/+$/, '') } : {}),
      ...(publicOrigin ? { publicOrigin } : {}),
      ui,
      defaultReturnTo: checkUrlOrPath(urls.defaultReturnTo ?? '/', 'urls.defaultReturnTo'),
      allowedReturnTo,
    },
    hooks: {
      ...opts.hooks,
      session: opts.hooks?.session ?? true,
      timeout: parseDuration(opts.hooks?.timeout ?? '10s', 'hooks.timeout'),
    },
    signCountPolicy: opts.signCountPolicy ?? 'reject',
    maxBodySize: opts.maxBodySize ?? 65_536,
    hints: [...(opts.hints ?? [])],
    login: { ...resolveLoginStyle(opts, secretKeys(opts)), ...login },
    sessions: {
      revokeOthersAtLogin: opts.login?.revokeOtherSessions ?? false,
      revokeOthersAtRecovery: opts.recovery?.revokeOtherSessions ?? true,
      revokeSessionsOfRemovedPasskey: opts.settings?.revokeSessionsOfRemovedPasskey ?? true,
      checkCacheMs: opts.sessionCheckCacheMs ?? 0,
    },
  };
}

/** The `code` method (recovery and verification), on when a courier is given. */
function resolveCodes(opts: PasskeysOptions, flowLifespan: number): ResolvedCodeOptions | undefined {
  const courier = opts.courier;
  if (courier === undefined) {
    if (opts.lifespans?.code !== undefined) {
      throw new TypeError(
        'express-passkeys: `lifespans.code` is the lifespan of recovery and verification codes, which need a `courier` (your mailer, or `consoleCourier()` in development).',
      );
    }
    for (const name of ['secrets', 'recovery', 'verification', 'code'] as const) {
      // `secrets` also key identifier-first login's decoys.
      if (name === 'secrets' && opts.login?.style === 'identifier_first') continue;
      if (opts[name] !== undefined) {
        throw new TypeError(
          `express-passkeys: \`${name}\` is for recovery and verification by code, which need a \`courier\` (your mailer, or \`consoleCourier()\` in development).`,
        );
      }
    }
    return undefined;
  }
  if (typeof (courier as { send?: unknown }).send !== 'function') {
    throw new TypeError(
      'express-passkeys: `courier` must have a `send(message)` method that delivers the mail (see "Recovery and verification" in the README), or use `consoleCourier()` in development.',
    );
  }
  checkCounters(opts.store);
  let keys = secretKeys(opts);
  if (keys === undefined) {
    if (!(opts.store instanceof MemoryStore)) {
      throw new TypeError(
        'express-passkeys: `secrets` is required with `courier` (an array of random strings of at least 32 characters, the same on every instance: they key the hash of recovery and verification codes). Only the built-in MemoryStore may do without, with a key per process.',
      );
    }
    keys = [processKey()];
  }
  const lifespan = parseDuration(opts.lifespans?.code ?? '1h', 'lifespans.code');
  if (lifespan > flowLifespan) {
    throw new TypeError(
      'express-passkeys: `lifespans.code` must not be longer than `lifespans.flow`: a code dies with its flow.',
    );
  }
  return {
    courier,
    keys,
    recovery: {
      enabled: opts.recovery?.enabled ?? true,
      notifyUnknownRecipients: opts.recovery?.notifyUnknownRecipients ?? false,
    },
    verification: {
      enabled: opts.verification?.enabled ?? true,
      afterRegistration: opts.verification?.afterRegistration ?? true,
      notifyUnknownRecipients: opts.verification?.notifyUnknownRecipients ?? false,
    },
    lifespan,
    maxSubmissions: opts.code?.maxSubmissions ?? 5,
    limits: resolveLimits(opts),
  };
}

/** Sign-in policy: `requireVerifiedAddress` needs codes to send and an address to send them to. */
function resolveLogin(
  opts: PasskeysOptions,
  schema: IdentitySchema,
  codes: ResolvedCodeOptions | undefined,
): { requireVerifiedAddress: boolean } {
  const requireVerifiedAddress = opts.login?.requireVerifiedAddress ?? false;
  if (requireVerifiedAddress) {
    if (!codes?.verification.enabled) {
      throw new TypeError(
        'express-passkeys: `login.requireVerifiedAddress` sends a verification code at sign-in, which needs a `courier` (with `verification.enabled` left on).',
      );
    }
    if (!schema.hasVerifiableTrait) {
      throw new TypeError(
        'express-passkeys: `login.requireVerifiedAddress` needs a verifiable trait in `identitySchema` (`"ory.sh/kratos": { "verification": { "via": "email" } }` on the email trait): otherwise no one could ever sign in.',
      );
    }
  }
  return { requireVerifiedAddress };
}

/** `secrets` (a list, or Kratos's `{ default: [...] }`) as HMAC keys, each checked to be long enough; undefined when unset. */
function secretKeys(opts: PasskeysOptions): Buffer[] | undefined {
  const raw = opts.secrets as string[] | { default: string[] } | undefined;
  const secrets = Array.isArray(raw) ? raw : raw?.default;
  if (secrets === undefined) return undefined;
  secrets.forEach((secret, index) => {
    if (secret.length < 32) {
      throw new TypeError(
        `express-passkeys: \`secrets[${index}]\` is ${secret.length} characters long; each secret must have at least 32 (random) characters.`,
      );
    }
  });
  return secrets.map((secret) => Buffer.from(secret, 'utf8'));
}

/** The `code` method's limits (defaults and the reasoning behind them: "Limits" in the README). */
function resolveLimits(opts: PasskeysOptions): CodeLimits {
  const code = opts.code ?? {};
  const sendWindow = parseDuration(code.sendWindow ?? '1h', 'code.sendWindow');
  const failureWindow = parseDuration(code.failureWindow ?? '1h', 'code.failureWindow');
  const hardeningWindow = parseDuration(code.hardeningWindow ?? '24h', 'code.hardeningWindow');
  return {
    sendsPerAddress: { max: code.maxSendsPerAddress ?? 20, windowMs: sendWindow },
    sendsPerClient: { max: code.maxSendsPerClient ?? 10, windowMs: sendWindow },
    failuresPerClient: { max: code.maxFailuresPerClient ?? 20, windowMs: failureWindow },
    failuresPerAddress: { max: code.maxFailuresPerAddress ?? 5, windowMs: hardeningWindow },
    shortCodesPerAddress: { max: code.maxShortCodesPerAddress ?? 5, windowMs: hardeningWindow },
  };
}

/** With a courier, the store must count (limits live there, shared by every instance). */
function checkCounters(store: Store): void {
  const missing = (['incrementCounter', 'getCounter'] as const).filter(
    (name) => typeof (store as unknown as Record<string, unknown>)[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new TypeError(
      `express-passkeys: \`store\` is missing ${missing.map((m) => `\`${m}()\``).join(', ')}, required with \`courier\`: recovery and verification keep their send and failure limits in the store, so that every instance of the app shares them (see "Limits" in the README).`,
    );
  }
}

/** `{ x: undefined }` means the default, as `{}` does. Functions and the store are kept as they are. */
function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Accept Kratos's snake_case keys and a pasted `selfservice.methods.passkey.config` (or its `config` object).
 * Keys inside `identitySchema` and `store` are left alone.
 */
function normaliseKeys(input: Record<string, unknown>, path: string[] = []): Record<string, unknown> {
  let source = input;
  const pasted = (input.selfservice as { methods?: { passkey?: { config?: unknown } } } | undefined)?.methods?.passkey
    ?.config;
  if (pasted && typeof pasted === 'object') {
    const { selfservice: _, ...rest } = input;
    source = mergePasted('selfservice.methods.passkey.config', pasted as Record<string, unknown>, rest);
  } else if (input.config && typeof input.config === 'object' && !input.rp) {
    const { config, ...rest } = input;
    source = mergePasted('config', config as Record<string, unknown>, rest);
  }
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const name = camel(key);
    if (from[name] !== undefined) {
      throw new TypeError(
        `express-passkeys: option \`${[...path, name].join('.')}\` is given twice, as \`${from[name]}\` and \`${key}\`; keep one.`,
      );
    }
    from[name] = key;
    const opaque = name === 'identitySchema' || name === 'store' || name === 'courier';
    out[name] = !opaque && isPlainObject(value) ? normaliseKeys(value, [...path, name]) : value;
  }
  return out;
}

/** A pasted Kratos config next to the other options: a key set in both would silently lose one of them. */
function mergePasted(
  where: string,
  pasted: Record<string, unknown>,
  rest: Record<string, unknown>,
): Record<string, unknown> {
  for (const key of Object.keys(pasted)) {
    if (pasted[key] !== undefined && rest[key] !== undefined) {
      throw new TypeError(
        `express-passkeys: option \`${camel(key)}\` is given twice, in \`${where}\` and next to it; keep one.`,
      );
    }
  }
  return { ...pasted, ...rest };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Turn the first ajv error into a `TypeError` that names the option and, for a typo, the likely key. */
function configError(error: ErrorObject | undefined): TypeError {
  if (!error) return new TypeError('express-passkeys: invalid options.');
  const path = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const where = path ? `\`${path}\`` : 'the options';
  if (path === 'rp.origins') {
    return new TypeError(
      'express-passkeys: `rp.origins` must be an origin or a non-empty array of origins, like `["https://example.com"]`.',
    );
  }
  switch (error.keyword) {
    case 'required': {
      const missing = path ? `${path}.${error.params.missingProperty}` : error.params.missingProperty;
      const hint = missing === 'store' ? ' (use `new MemoryStore()` to start, or your own adapter)' : '';
      return new TypeError(`express-passkeys: option \`${missing}\` is required${hint}.`);
    }
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const known = Object.keys(
        (path ? getPath(optionsSchema.properties, path.split('.').join('.properties.')) : optionsSchema)?.properties ??
          {},
      );
      const guess = closest(key, known);
      return new TypeError(
        `express-passkeys: unknown option \`${path ? `${path}.` : ''}${key}\`${guess ? `. Did you mean \`${guess}\`?` : '.'}`,
      );
    }
    case 'enum':
      return new TypeError(
        `express-passkeys: ${where} must be one of ${(error.params.allowedValues as string[]).map((v) => `'${v}'`).join(', ')}.`,
      );
    default:
      return new TypeError(`express-passkeys: ${where} ${error.message ?? 'is invalid'}.`);
  }
}

function getPath(root: unknown, path: string): { properties?: Record<string, unknown> } | undefined {
  let node: unknown = root;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node as { properties?: Record<string, unknown> } | undefined;
}

/** The known key nearest to `key` by edit distance, if it is near enough to be a typo. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** An RP ID is a bare host name: no scheme, port, path or IP address. */
function checkRpId(id: string): string {
  const fix = 'use a bare domain such as `example.com` (or `localhost`)';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(id)) {
    throw new TypeError(`express-passkeys: \`rp.id\` must not contain a scheme (got "${id}"); ${fix}.`);
  }
  if (/:\d*$/.test(id))
    throw new TypeError(`express-passkeys: \`rp.id\` must not contain a port (got "${id}"); ${fix}.`);
  if (/[/?#@\s]/.test(id))
    throw new TypeError(`express-passkeys: \`rp.id\` must be a bare domain (got "${id}"); ${fix}.`);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(id) || id.includes(':')) {
    throw new TypeError(`express-passkeys: \`rp.id\` must be a domain, not an IP address (got "${id}"); ${fix}.`);
  }
  const lower = id.toLowerCase().replace(/\.$/, '');
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(lower)) {
    throw new TypeError(`express-passkeys: \`rp.id\` is not a valid domain name (got "${id}"); ${fix}.`);
  }
  // A listed public suffix (`com`, `co.uk`, `github.io`) is no registrable domain: browsers refuse it as an RP ID.
  const parsed = parseDomain(lower, { allowPrivateDomains: true });
  if (lower !== 'localhost' && !parsed.domain && (parsed.isIcann || parsed.isPrivate)) {
    throw new TypeError(
      `express-passkeys: \`rp.id\` "${id}" is a public suffix, not a registrable domain: browsers refuse it. Use your own domain under it (\`example.${lower}\`).`,
    );
  }
  return lower;
}

/** An origin is `scheme://host[:port]` whose host is the RP ID or a subdomain of it, or an Android app origin. */
function checkOrigin(origin: string, rpId: string): string {
  if (origin.startsWith('android:apk-key-hash:')) {
    if (!/^android:apk-key-hash:[A-Za-z0-9_-]+$/.test(origin)) {
      throw new TypeError(
        `express-passkeys: \`rp.origins\` entry "${origin}" must be \`android:apk-key-hash:\` followed by the base64url SHA-256 hash of the app's signing certificate.`,
      );
    }
    return origin;
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError(
      `express-passkeys: \`rp.origins\` entry "${origin}" is not a URL; write it as \`https://${rpId}\`.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`express-passkeys: \`rp.origins\` entry "${origin}" must use https (or http for localhost).`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || origin.endsWith('/')) {
    throw new TypeError(
      `express-passkeys: \`rp.origins\` entry "${origin}" must be an origin only (scheme, host, port), like \`${url.origin}\`.`,
    );
  }
  const host = url.hostname.toLowerCase();
  if (host !== rpId && !host.endsWith(`.${rpId}`)) {
    throw new TypeError(
      `express-passkeys: \`rp.origins\` entry "${origin}" has host "${host}", which is neither \`rp.id\` ("${rpId}") nor a subdomain of it. Browsers would refuse every ceremony: set \`rp.id\` to "${host}" or a parent domain of it.`,
    );
  }
  if (url.protocol === 'http:' && host !== 'localhost' && !host.endsWith('.localhost')) {
    throw new TypeError(
      `express-passkeys: \`rp.origins\` entry "${origin}" uses http; browsers only allow passkeys on https (or http://localhost).`,
    );
  }
  return url.origin;
}

/** Browsers use at most this many distinct registrable-domain labels of a `/.well-known/webauthn` list (WebAuthn L3 §5.11.1). */
export const MAX_RELATED_ORIGIN_LABELS = 5;

/**
 * Related origins: https origins (scheme, host, port) on registrable domains, with at most
 * {@link MAX_RELATED_ORIGIN_LABELS} distinct labels (the `example` of `example.co.uk`, as browsers count them with the
 * public suffix list, private domains included). Duplicates are dropped, the order is kept (browsers read it in order).
 */
function checkRelatedOrigins(list: string[]): string[] {
  const name = '`rp.relatedOrigins`';
  const origins: string[] = [];
  const labels = new Set<string>();
  for (const entry of list) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new TypeError(
        `express-passkeys: ${name} entry "${entry}" is not a URL; write it as \`https://example.org\`.`,
      );
    }
    if (url.protocol !== 'https:') {
      throw new TypeError(
        `express-passkeys: ${name} entry "${entry}" must use https: browsers fetch and trust related origins over https only.`,
      );
    }
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || entry.endsWith('/')) {
      throw new TypeError(
        `express-passkeys: ${name} entry "${entry}" must be an origin only (scheme, host, port), like \`${url.origin}\`.`,
      );
    }
    const parsed = parseDomain(url.hostname, { allowPrivateDomains: true });
    if (parsed.isIp || !parsed.domain || !parsed.domainWithoutSuffix) {
      throw new TypeError(
        `express-passkeys: ${name} entry "${entry}" has no registrable domain (an IP address, \`localhost\` or a public suffix): browsers ignore such entries.`,
      );
    }
    labels.add(parsed.domainWithoutSuffix);
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  if (labels.size > MAX_RELATED_ORIGIN_LABELS) {
    throw new TypeError(
      `express-passkeys: ${name} names ${labels.size} registrable-domain labels (${[...labels].join(', ')}); browsers use at most ${MAX_RELATED_ORIGIN_LABELS} and ignore origins beyond them.`,
    );
  }
  return origins;
}

function checkStore(store: unknown): void {
  const missing = STORE_METHODS.filter((name) => typeof (store as Record<string, unknown>)[name] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `express-passkeys: \`store\` is missing ${missing.map((m) => `\`${m}()\``).join(', ')}. Pass \`new MemoryStore()\` or an adapter implementing the \`Store\` interface (see "Writing a store adapter" in the README).`,
    );
  }
}

function checkAbsoluteUrl(value: string, name: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    return url.href.replace(/\/$/, url.pathname === '/' && !value.endsWith('/') ? '' : '/');
  } catch {
    throw new TypeError(`express-passkeys: \`${name}\` must be an absolute http(s) URL (got "${value}").`);
  }
}

function checkUrlOrPath(value: string, name: string): string {
  if (value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\')) return value;
  return checkAbsoluteUrl(value, name);
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest duration accepted: 100 years (beyond it, `Date.now() + it` soon stops being a valid date). */
const MAX_DURATION = 36_525 * 86_400_000;

/** Parse `90s`, `5m`, `1h30m`, `250ms` or a number of milliseconds. */
export function parseDuration(value: number | string, name: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0 && value <= MAX_DURATION) return value;
  } else if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(value.trim())) {
    let total = 0;
    for (const [, amount, unit] of value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
      total += Number(amount) * (UNITS[unit as string] ?? 0);
    }
    if (total > 0 && total <= MAX_DURATION) return total;
  }
  throw new TypeError(
    `express-passkeys: \`${name}\` must be a positive number of milliseconds or a duration like "90s", "5m", "1h", at most 100 years (got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}).`,
  );
}
