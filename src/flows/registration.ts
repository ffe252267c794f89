// Registration: sign up with traits and a first passkey, created together (one step, or profile first).

import { randomUUID } from 'node:crypto';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import createDebug from 'debug';
import type { Request, Response } from 'express';
import { addressesFor } from '../addresses.js';
import { baseUrl, queryParam, requestUrl } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { newPasskey } from '../passkey.js';
import { hasFlatTraits, normaliseIdentifier, traitAt, traitsFromForm } from '../schema.js';
import { identityJson, sessionJson } from '../session.js';
import { refusedCredentialId, signalNode, unknownCredentialSignals } from '../signals.js';
import { DuplicateAddressError, DuplicateCredentialError, DuplicateIdentifierError } from '../store/errors.js';
import type { Identity, JsonValue } from '../store/types.js';
import { messages, type UiText } from '../ui/messages.js';
import { inputNode, scriptNode, type UiNode } from '../ui/nodes.js';
import {
  CeremonyError,
  creationOptions,
  parseCredential,
  randomId,
  type VerifiedRegistration,
  verifyRegistration,
} from '../webauthn/index.js';
import {
  createFlow,
  type Flow,
  type FlowRenderer,
  type FlowType,
  loadFlow,
  renewCeremony,
  saveFlow,
  setMessages,
  takeChallenge,
} from './flow.js';
import { beforeRegistration } from './policy.js';
import {
  answerFlow,
  answerInit,
  answerSuccess,
  checkNoSession,
  checkSubmit,
  flowBodyOf,
  refuseBrowserContext,
  returnToOf,
  runHook,
  startSession,
  transientPayloadOf,
} from './respond.js';
import { verifyAfterRegistration } from './verification.js';

const log = createDebug('express-passkeys:registration');

/** Nodes of a registration flow (SPEC §2). */
export function registrationRenderer(config: ResolvedOptions): FlowRenderer {
  return {
    async nodes(req: Request, flow: Flow, base: string) {
      const traits = flow.data.traits ?? {};
      const userName = config.schema.displayName(traits) ?? '';
      const nodes: UiNode[] = [];
      for (const field of config.schema.fields) {
        const value = traitAt(traits, field.path);
        nodes.push(
          inputNode('default', field.name, field.type, {
            ...(value !== undefined ? { value } : {}),
            ...(field.required ? { required: true } : {}),
            ...(field.name === config.schema.displayNameField ? { autocomplete: 'username webauthn' } : {}),
            label: messages.traitLabel(field.title, field.name),
          }),
        );
      }
      if (flow.data.type === 'browser') nodes.push(scriptNode(base, req));
      const createData = {
        credentialOptions: {
          publicKey: creationOptions(config, {
            challenge: flow.challenge ?? '',
            userHandle: flow.data.userHandle ?? '',
            userName,
          }),
        },
        displayNameFieldName: config.schema.displayNameField,
      };
      nodes.push(
        inputNode('passkey', 'passkey_register_trigger', 'button', {
          value: '',
          onclickTrigger: 'oryPasskeyRegistration',
          label: messages.signUpWithPasskey(),
        }),
        inputNode('passkey', 'passkey_register', 'hidden'),
        inputNode('passkey', 'passkey_create_data', 'hidden', { value: JSON.stringify(createData) }),
      );
      // Signal API: the passkey the browser just created was not stored (the registration was refused after
      // create()), so its passkey manager may drop it; nothing but the id the browser itself sent is said.
      const signal = flow.data.unknownCredential
        ? signalNode(unknownCredentialSignals(config, flow.data.unknownCredential))
        : undefined;
      if (signal) nodes.push(signal);
      return nodes;
    },
  };
}

/** `GET /self-service/registration/browser` and `/api` */
export function initRegistration(type: FlowType) {
  return async function initRegistrationFlow(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    if (type === 'api') refuseBrowserContext(req);
    const returnTo = returnToOf(req, config);
    checkNoSession(req);
    const flow = await createFlow(
      config,
      { kind: 'registration', type, requestUrl: requestUrl(req, config), returnTo, userHandle: randomId(32) },
      true,
    );
    log('%s flow %s created', type, flow.id);
    await answerInit(config, req, res, flow, registrationRenderer(config));
  };
}

/** `POST /self-service/registration?flow=` */
export async function submitRegistration(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const renderer = registrationRenderer(config);
  const flow = await loadFlow(config, 'registration', queryParam(req, 'flow'));
  const body = flowBodyOf(req, flow, 'registration');
  const proceed = await checkSubmit(config, req, res, flow, {
    body,
    expiredMessage: messages.registrationExpired,
  });
  if (!proceed) return;
  checkNoSession(req);
  flow.data.unknownCredential = undefined;
  const fail = async (status: number, ui: UiText[], nodeMessages?: Record<string, UiText[]>) => {
    // Signal API: a submit carrying a new passkey that is refused (bad traits, a taken email, a failed ceremony)
    // leaves that passkey on the device; its id goes back so that the browser's passkey manager drops it.
    flow.data.unknownCredential = await refusedCredentialId(config, body.passkey_register);
    setMessages(flow, ui, nodeMessages);
    return answerFlow(config, req, res, flow, renderer, status);
  };

  if (flow.data.state === 'success') {
    return fail(400, [messages.generic('This registration flow has been completed already. Start a new one.')]);
  }
  const method = body.method;
  if (method !== undefined && method !== 'passkey' && method !== 'profile') {
    return fail(400, [messages.noRegistrationStrategy()]);
  }

  // Traits: from this submit, else from the profile step. A JSON body may carry them as flat `traits.*` keys, the
  // way a form posts them (Ory Elements does); those are read, and type-coerced, like a form's.
  const fromForm = !req.is('application/json') || hasFlatTraits(body);
  const submitted = fromForm ? traitsFromForm(body) : body.traits;
  const hasSubmitted =
    submitted !== undefined && !(fromForm && Object.keys(submitted as object).length === 0 && flow.data.traits);
  const traits = (hasSubmitted ? submitted : (flow.data.traits ?? {})) as Record<string, JsonValue>;
  const errors = config.schema.validate(traits, fromForm);
  // Kept to fill the form again (and, when valid, for the passkey step); invalid ones only if small, so that posting
  // junk into anonymous flows cannot make the store hold more than a few KiB per flow.
  const keep = traits && typeof traits === 'object' && !Array.isArray(traits);
  flow.data.traits = keep && (!errors || JSON.stringify(traits).length <= 4096) ? traits : undefined;
  if (errors) return fail(400, errors.general, errors.nodes);

  const displayName = config.schema.displayName(traits);
  if (!displayName || normaliseIdentifier(displayName) === '') {
    const property = config.schema.displayNameField.split('.').pop() ?? 'identifier';
    return fail(400, [], { [config.schema.displayNameField]: [messages.required(property)] });
  }
  const identifier = normaliseIdentifier(displayName);
  if (await config.store.findIdentityByIdentifier(identifier)) {
    return fail(400, [messages.duplicateIdentifier(displayName)]);
  }

  const response = body.passkey_register;
  if (method === 'profile' || response === undefined || response === '') {
    if (method === 'passkey') {
      return fail(400, [], { passkey_register: [messages.required('passkey_register')] });
    }
    // Profile step done: show the passkey step, with the display name filled into the creation options.
    flow.data.state = 'show_form';
    setMessages(flow);
    return answerFlow(config, req, res, flow, renderer, 200);
  }

  // A flow whose identity exists already (a racing submit completed it) cannot create another one.
  if (flow.data.userHandle && (await config.store.findIdentityByUserHandle(flow.data.userHandle))) {
    return fail(400, [messages.generic('This registration flow has been completed already. Start a new one.')]);
  }

  // Any failure from here on answers with a new challenge.
  const failCeremony = (message: UiText) => {
    renewCeremony(config, flow);
    return fail(400, [message]);
  };
  let verified: VerifiedRegistration;
  try {
    const credential = parseCredential<RegistrationResponseJSON>(response, 'registration');
    verified = await verifyRegistration(config, credential, await takeChallenge(config, flow));
  } catch (error) {
    if (!(error instanceof CeremonyError)) throw error;
    log('flow %s: registration ceremony failed: %s', flow.id, error.reason);
    return failCeremony(messages.generic(error.reason));
  }

  const now = new Date();
  const candidate: Identity = {
    id: randomUUID(),
    schemaId: config.schema.id,
    traits,
    identifier,
    userHandle: flow.data.userHandle ?? randomId(32),
    ...addressesFor(config.schema, traits, undefined, now),
    createdAt: now,
    updatedAt: now,
  };
  const passkey = newPasskey(candidate.id, verified, { userAgent: req.get('user-agent') });
  // Flow policy (SPEC §9): the app's hook may refuse or change the identity; nothing is written before it decided.
  const refuse = (ui: UiText[], nodes: Record<string, UiText[]>) => fail(400, ui, nodes);
  const identity = await beforeRegistration({ config, req, res, flow, renderer, body, refuse }, candidate, passkey);
  if (!identity) return;
  try {
    await config.store.createIdentity(identity, passkey);
  } catch (error) {
    if (error instanceof DuplicateIdentifierError) return failCeremony(messages.duplicateIdentifier(displayName));
    if (error instanceof DuplicateAddressError) return failCeremony(messages.duplicateIdentifier(error.value));
    if (error instanceof DuplicateCredentialError) return failCeremony(messages.duplicatePasskey());
    throw error;
  }
  log('flow %s: identity %s registered', flow.id, identity.id);

  flow.data.state = 'success';
  setMessages(flow);
  await saveFlow(config, flow);

  await runHook('onRegistered', config.hooks.onRegistered, {
    identity,
    passkey,
    transientPayload: transientPayloadOf(body),
    request: req,
  });
  const base = baseUrl(req, config);
  const continueWith: unknown[] = [];
  const result: Record<string, unknown> = { identity: identityJson(identity, base), continue_with: continueWith };
  if (config.hooks.session) {
    // No session when an after-hook (or an admin) disabled the new identity meanwhile.
    const started = await startSession(config, req, flow, identity.id, { method: 'passkey', credentialId: passkey.id });
    if (typeof started !== 'string') {
      result.session = sessionJson(started.record, identity, base);
      if (started.token) result.session_token = started.token;
    }
  }
  // Kratos's verification hook: a code goes out now, and the client is told to show the verification UI.
  const verify = await verifyAfterRegistration(config, req, flow.data.type, identity, flow.data.returnTo);
  if (verify) continueWith.push(verify.item);
  answerSuccess(config, req, res, flow, result, verify?.page);
}
