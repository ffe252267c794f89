// Flow policy in the flows (SPEC §9): the before-hooks' refusals and changes, and the verified-address rule at sign-in.

import type { Request, Response } from 'express';
import { addressesFor, updateIdentityWith } from '../addresses.js';
import { HttpError } from '../errors.js';
import { FlowRejection, placeRejection, runBeforeHook } from '../hooks.js';
import { baseUrl, isJsonSubmit, seeOther } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { mailBaseUrl } from '../public-url.js';
import { normaliseIdentifier } from '../schema.js';
import type { Identity, JsonValue, Passkey } from '../store/types.js';
import type {
  BeforeHookContext,
  BeforeHookResult,
  BeforeRegistrationResult,
  BeforeSettingsContext,
  HookOptions,
} from '../types.js';
import { messages, type UiText } from '../ui/messages.js';
import { absoluteFlowPage, sendCode } from './code-method.js';
import { createFlow, type Flow, type FlowRenderer, renewCeremony, saveFlow, setMessages } from './flow.js';
import { transientPayloadOf, uiUrl } from './respond.js';
import { verification } from './verification.js';

/** The submit a policy step runs in. */
export interface PolicyStep {
  config: ResolvedOptions;
  req: Request;
  res: Response;
  flow: Flow;
  renderer: FlowRenderer;
  body: Record<string, unknown>;
  /** Answer the flow refused: these messages in `ui.messages` and on nodes, 400 (form posts: back to the UI). */
  refuse: (ui: UiText[], nodes: Record<string, UiText[]>) => Promise<void>;
}

type BeforeHookName = 'beforeRegistration' | 'beforeLogin' | 'beforeSettings';

/**
 * Run a before-hook in a flow. Returns what it returned (`{}` for nothing), or null when it refused the flow (then
 * answered, with a new challenge). A failed or late hook: the flow is saved with a new challenge, and the 502 / 504
 * is thrown for the router to answer.
 */
async function beforeHook(
  step: PolicyStep,
  name: BeforeHookName,
  /** The hook's own part of the context, built (copied) only when the app set this hook. */
  context: () => Record<string, unknown>,
): Promise<BeforeRegistrationResult | null> {
  const { config, req, flow, body } = step;
  const hook = config.hooks[name] as HookOptions[BeforeHookName];
  if (!hook) return {};
  const transientPayload = transientPayloadOf(body);
  const base: Omit<BeforeHookContext, 'signal'> = {
    flow: { id: flow.id, type: flow.data.type },
    request: req,
    ...(transientPayload ? { transientPayload } : {}),
  };
  try {
    const result = await runBeforeHook(
      name,
      hook as (context: BeforeHookContext) => unknown,
      { ...base, ...context() },
      config.hooks.timeout,
    );
    return result ?? {};
  } catch (error) {
    renewCeremony(config, flow);
    if (error instanceof FlowRejection) {
      const placed = placeRejection(error, await nodeNamesOf(step));
      await step.refuse(placed.ui, placed.nodes);
      return null;
    }
    setMessages(flow);
    await saveFlow(config, flow);
    throw error;
  }
}

/** The names of the flow's input nodes, as rendered now. */
async function nodeNamesOf(step: PolicyStep): Promise<Set<string>> {
  const nodes = await step.renderer.nodes(step.req, step.flow, baseUrl(step.req, step.config));
  const names = new Set<string>(step.flow.data.type === 'browser' ? ['csrf_token'] : []);
  for (const node of nodes) {
    if (node.attributes.node_type === 'input') names.add(node.attributes.name);
  }
  return names;
}

/** A deep copy for a hook's eyes: what it changes in its context changes nothing here. */
const copy = <T>(value: T): T => structuredClone(value);

/** The identity with the metadata a hook returned (unchanged where it returned none). */
function withMetadata(identity: Identity, result: BeforeHookResult): Identity {
  return {
    ...identity,
    ...(result.metadataPublic !== undefined ? { metadataPublic: result.metadataPublic } : {}),
    ...(result.metadataAdmin !== undefined ? { metadataAdmin: result.metadataAdmin } : {}),
  };
}

const hasMetadata = (result: BeforeHookResult) =>
  result.metadataPublic !== undefined || result.metadataAdmin !== undefined;

/**
 * Registration, after the attestation verified: `hooks.beforeRegistration` on the identity about to be created.
 * Returns the identity to save (with the hook's traits, validated as a submit, and metadata), or null when the flow
 * was refused and answered.
 */
export async function beforeRegistration(
  step: PolicyStep,
  identity: Identity,
  passkey: Passkey,
): Promise<Identity | null> {
  const { config, flow } = step;
  const result = await beforeHook(step, 'beforeRegistration', () => ({
    traits: copy(identity.traits),
    passkey: copy(passkey),
  }));
  if (!result) return null;
  let decided = withMetadata(identity, result);
  if (result.traits) {
    const traits: Record<string, JsonValue> = { ...identity.traits, ...result.traits };
    const refuse = (ui: UiText[], nodes: Record<string, UiText[]> = {}) => {
      renewCeremony(config, flow);
      return step.refuse(ui, nodes).then(() => null);
    };
    const errors = config.schema.validate(traits, false);
    if (errors) return refuse(errors.general, errors.nodes);
    const displayName = config.schema.displayName(traits);
    const identifier = displayName === undefined ? '' : normaliseIdentifier(displayName);
    if (!displayName || identifier === '') {
      const property = config.schema.displayNameField.split('.').pop() ?? 'identifier';
      return refuse([], { [config.schema.displayNameField]: [messages.required(property)] });
    }
    if (identifier !== identity.identifier && (await config.store.findIdentityByIdentifier(identifier))) {
      return refuse([messages.duplicateIdentifier(displayName)]);
    }
    decided = { ...decided, traits, identifier, ...addressesFor(config.schema, traits, undefined, identity.createdAt) };
  }
  return decided;
}

/**
 * Sign-in, after the assertion verified: `hooks.beforeLogin`, then `login.requireVerifiedAddress`. Returns what the
 * hook returned (`{}` for nothing; its metadata is saved with the sign-in, once the usage is recorded, by
 * {@link saveMetadata}), or null when the sign-in was refused and answered.
 */
export async function beforeLogin(
  step: PolicyStep,
  identity: Identity,
  passkey: Passkey,
): Promise<BeforeHookResult | null> {
  const { config } = step;
  const result = await beforeHook(step, 'beforeLogin', () => ({ identity: copy(identity), passkey: copy(passkey) }));
  if (!result) return null;
  if (config.login.requireVerifiedAddress && !identity.verifiableAddresses.some((a) => a.verified)) {
    await refuseUnverified(step, identity);
    return null;
  }
  return result;
}

/**
 * Settings, before a change is written: `hooks.beforeSettings`. Returns what it returned (`{}` for nothing; save
 * its metadata with {@link settingsMetadata} or {@link saveMetadata}), or null when the change was refused and
 * answered.
 */
export async function beforeSettings(
  step: PolicyStep,
  context: Pick<BeforeSettingsContext, 'identity' | 'change' | 'passkey' | 'traits'>,
): Promise<BeforeHookResult | null> {
  const result = await beforeHook(step, 'beforeSettings', () => ({
    identity: copy(context.identity),
    change: context.change,
    ...(context.passkey ? { passkey: copy(context.passkey) } : {}),
    ...(context.traits ? { traits: copy(context.traits) } : {}),
  }));
  if (!result) return null;
  const { metadataPublic, metadataAdmin } = result;
  return {
    ...(metadataPublic !== undefined ? { metadataPublic } : {}),
    ...(metadataAdmin !== undefined ? { metadataAdmin } : {}),
  };
}

/** The identity with a settings hook's metadata, for a profile update that writes both at once. */
export const settingsMetadata = withMetadata;

/**
 * Save a hook's metadata on the identity (compare-and-set), after the change it came with was written. Returns the
 * identity as saved, or undefined when there was nothing to save (or the identity is gone).
 */
export async function saveMetadata(
  config: ResolvedOptions,
  identityId: string,
  result: BeforeHookResult,
): Promise<Identity | undefined> {
  if (!hasMetadata(result)) return undefined;
  return (await updateIdentityWith(config.store, identityId, (current) => withMetadata(current, result))) ?? undefined;
}

/** Kratos's reason for `session_verified_address_required`. */
const UNVERIFIED =
  "Your account's email or phone address are not verified yet. Please check your email or phone inbox or re-request verification.";

/**
 * `login.requireVerifiedAddress` refused the sign-in: no session; a verification flow in `sent_email` (with the login
 * flow's `return_to`) and a code sent to the first verifiable address; JSON 403 with `show_verification_ui` in
 * `error.details.continue_with`, browsers 303 to the verification page. An identity with no verifiable address at
 * all gets the 403 without `continue_with`.
 */
async function refuseUnverified(step: PolicyStep, identity: Identity): Promise<void> {
  const { config, req, res, flow, body } = step;
  // The assertion was used up: the login flow gets a new challenge, for the sign-in after verification.
  renewCeremony(config, flow);
  setMessages(flow);
  await saveFlow(config, flow);
  const address = identity.verifiableAddresses[0];
  const codes = config.codes;
  if (!address || !codes) throw new HttpError(403, 'session_verified_address_required', UNVERIFIED);
  const type = flow.data.type;
  const created = await createFlow(
    config,
    {
      kind: 'verification',
      type,
      requestUrl: `${mailBaseUrl(config, req)}/self-service/verification/${type}`,
      returnTo: flow.data.returnTo,
    },
    true,
  );
  // Sign-in's sends have a bucket of their own: only the passkey's holder can cause them, and verification requests
  // for the address by anyone else cannot use up the owner's sends.
  const { flow: sent } = await sendCode(
    config,
    req,
    created,
    verification,
    codes,
    address.value,
    body,
    'login-verification',
  );
  const ui = uiUrl(config, 'verification');
  const url = absoluteFlowPage(config, req, sent);
  if (ui && type === 'browser' && !isJsonSubmit(req)) {
    seeOther(req, res, config, url);
    return;
  }
  const error = new HttpError(
    403,
    'session_verified_address_required',
    UNVERIFIED,
    {},
    {
      continue_with: [
        {
          action: 'show_verification_ui',
          flow: { id: sent.id, verifiable_address: address.value, ...(ui ? { url } : {}) },
        },
      ],
    },
  );
  res.status(403).json(error.toJSON());
}
