// Settings: list, add, rename and remove passkeys, behind a recent (privileged) session.

import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import createDebug from 'debug';
import type { Request, Response } from 'express';
import { addressesFor, updateIdentityWith } from '../addresses.js';
import { HttpError, identityMismatch, sessionInactive } from '../errors.js';
import { acceptsJson, baseUrl, isJsonSubmit, queryParam, requestUrl, seeOther, withFlow } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { isShowableName, MAX_PASSKEY_NAME, newPasskey } from '../passkey.js';
import { hasFlatTraits, normaliseIdentifier, traitAt, traitsFromForm } from '../schema.js';
import { currentSession, identityJson, resolveSession, sessionIdentityActive } from '../session.js';
import { revokeSessionsOfPasskey } from '../session-records.js';
import { identitySignals, refusedCredentialId, signalNode, unknownCredentialSignals } from '../signals.js';
import { DuplicateAddressError, DuplicateCredentialError, DuplicateIdentifierError } from '../store/errors.js';
import type { Identity, JsonValue, Passkey } from '../store/types.js';
import type { PasskeysSessionData } from '../types.js';
import { messages, type UiText } from '../ui/messages.js';
import { inputNode, scriptNode, type UiNode } from '../ui/nodes.js';
import {
  CeremonyError,
  creationOptions,
  credentialIdsNamedBy,
  parseCredential,
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
import { beforeSettings, saveMetadata, settingsMetadata } from './policy.js';
import {
  answerFlow,
  answerInit,
  checkSubmit,
  flowBodyOf,
  refuseBrowserContext,
  returnToOf,
  runHook,
  showFlow,
  transientPayloadOf,
  uiUrl,
} from './respond.js';

const log = createDebug('express-passkeys:settings');

/** Longest passkey name accepted by rename (defined beside the default names, which fit it too). */
export { MAX_PASSKEY_NAME };

/** Nodes and extra fields of a settings flow (SPEC §2). */
export function settingsRenderer(config: ResolvedOptions): FlowRenderer {
  return {
    async nodes(req: Request, flow: Flow, base: string) {
      const identityId = flow.data.identityId ?? '';
      const [identity, passkeys] = await Promise.all([
        config.store.getIdentity(identityId),
        config.store.listPasskeys(identityId),
      ]);
      const nodes: UiNode[] = [];
      // The profile form (Kratos's `profile` method): the traits, and a button that saves them.
      for (const field of config.schema.fields) {
        const value = identity ? traitAt(identity.traits, field.path) : undefined;
        nodes.push(
          inputNode('profile', field.name, field.type, {
            ...(value !== undefined ? { value } : {}),
            ...(field.required ? { required: true } : {}),
            label: messages.traitLabel(field.title, field.name),
          }),
        );
      }
      nodes.push(inputNode('profile', 'method', 'submit', { value: 'profile', label: messages.save() }));
      for (const passkey of passkeys) {
        nodes.push(
          inputNode('passkey', 'passkey_remove', 'submit', {
            value: passkey.id,
            // Removing the only passkey would lock the identity out; the server refuses it either way.
            disabled: passkeys.length <= 1,
            label: messages.removePasskey(removeContext(passkey)),
          }),
        );
      }
      if (flow.data.type === 'browser') nodes.push(scriptNode(base, req));
      const userName = (identity && config.schema.displayName(identity.traits)) ?? '';
      const createData = {
        publicKey: creationOptions(config, {
          challenge: flow.challenge ?? '',
          userHandle: identity?.userHandle ?? '',
          userName,
          exclude: passkeys.map((p) => ({ id: p.id, transports: p.transports })),
        }),
      };
      nodes.push(
        inputNode('passkey', 'passkey_register_trigger', 'button', {
          value: '',
          onclickTrigger: 'oryPasskeySettingsRegistration',
          label: messages.addPasskey(),
        }),
        inputNode('passkey', 'passkey_settings_register', 'hidden'),
        inputNode('passkey', 'passkey_create_data', 'hidden', { value: JSON.stringify(createData) }),
      );
      // Signal API: the full stored set and the current display name, only to this identity's own session.
      // And the id of a passkey the browser just created that was refused (never stored), so its manager drops it.
      const own = identity && currentSession(req)?.identityId === identity.id;
      const signal = signalNode({
        ...(own ? identitySignals(config, identity, passkeys) : {}),
        ...(flow.data.unknownCredential ? unknownCredentialSignals(config, flow.data.unknownCredential) : {}),
      });
      if (signal) nodes.push(signal);
      return nodes;
    },
    async extra(_req: Request, flow: Flow, base: string) {
      const identity = await config.store.getIdentity(flow.data.identityId ?? '');
      return identity ? { identity: identityJson(identity, base) } : {};
    },
  };
}

/** The label context of a `passkey_remove` node: Kratos's fields plus ours. */
function removeContext(passkey: Passkey) {
  return {
    display_name: passkey.name,
    added_at: passkey.createdAt.toISOString(),
    added_at_unix: Math.floor(passkey.createdAt.getTime() / 1000),
    last_used_at: passkey.lastUsedAt ? passkey.lastUsedAt.toISOString() : null,
    backup_eligible: passkey.backupEligible,
    backed_up: passkey.backedUp,
  };
}

/** `GET /self-service/settings/browser` and `/api`: needs a session (cookie, or `X-Session-Token` for apps). */
export function initSettings(type: FlowType) {
  return async function initSettingsFlow(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    if (type === 'api') refuseBrowserContext(req);
    const returnTo = returnToOf(req, config);
    const session = currentSession(req);
    const identity = session ? await config.store.getIdentity(session.identityId) : null;
    if (!session || !identity || !sessionIdentityActive(identity)) {
      // Browsers sign in first and come back here; apps get the 401.
      if (type === 'browser' && !acceptsJson(req)) {
        const query = new URLSearchParams({ return_to: req.originalUrl });
        seeOther(req, res, config, `${baseUrl(req, config)}/self-service/login/browser?${query}`);
        return;
      }
      throw sessionInactive();
    }
    const flow = await createFlow(
      config,
      {
        kind: 'settings',
        type,
        requestUrl: requestUrl(req, config),
        returnTo,
        identityId: session.identityId,
      },
      false,
    );
    log('%s flow %s created', type, flow.id);
    await answerInit(config, req, res, flow, settingsRenderer(config));
  };
}

/** The session may change settings only if it signed in within `lifespans.privilegedSession`. */
function checkPrivileged(config: ResolvedOptions, req: Request, session: PasskeysSessionData, flow: Flow): void {
  if (Date.now() - session.authenticatedAt <= config.lifespans.privilegedSession) return;
  const base = baseUrl(req, config);
  const settingsUi = uiUrl(config, 'settings');
  // Relative when it is the library's own URL, so that it passes any `urls.allowedReturnTo`.
  const returnTo = settingsUi ? withFlow(settingsUi, flow.id) : `${req.baseUrl}/self-service/settings/browser`;
  const query = new URLSearchParams({ refresh: 'true', return_to: returnTo });
  throw new HttpError(
    403,
    'session_refresh_required',
    'The login session is too old and thus not allowed to update these fields. Please re-authenticate.',
    { redirect_browser_to: `${base}/self-service/login/browser?${query}` },
  );
}

/** `POST /self-service/settings?flow=`: add (`passkey_settings_register`), remove, or rename a passkey. */
export async function submitSettings(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const renderer = settingsRenderer(config);
  const flow = await loadFlow(config, 'settings', queryParam(req, 'flow'));
  const body = flowBodyOf(req, flow, 'settings');
  const session = currentSession(req);
  if (!session) throw sessionInactive();
  if (session.identityId !== flow.data.identityId) {
    throw identityMismatch();
  }
  if (!(await checkSubmit(config, req, res, flow, { body, expiredMessage: messages.settingsExpired }))) return;
  // Said once, after the submit whose new passkey was refused.
  flow.data.unknownCredential = undefined;
  const identity = await config.store.getIdentity(session.identityId);
  if (!identity || !sessionIdentityActive(identity)) throw sessionInactive();

  const fail = (ui: UiText[], nodeMessages?: Record<string, UiText[]>) => {
    setMessages(flow, ui, nodeMessages);
    flow.data.state = 'show_form';
    return answerFlow(config, req, res, flow, renderer, 400);
  };
  // Flow policy (SPEC §9): `hooks.beforeSettings` sees every change before it is written.
  const step = { config, req, res, flow, renderer, body, refuse: fail };
  const succeed = async () => {
    renewCeremony(config, flow);
    setMessages(flow, [messages.settingsSaved()]);
    flow.data.state = 'success';
    // A browser form post with a `return_to` goes there; otherwise the flow is shown again (its UI page, or JSON).
    if (flow.data.returnTo && flow.data.type === 'browser' && !isJsonSubmit(req)) {
      await saveFlow(config, flow);
      seeOther(req, res, config, flow.data.returnTo);
      return;
    }
    return answerFlow(config, req, res, flow, renderer, 200);
  };

  /** The profile method: new traits, validated; the identifier and addresses follow them (changed ones unverified). */
  const updateProfile = async (submitted: unknown, coerce: boolean) => {
    const errors = config.schema.validate(submitted, coerce);
    if (errors) return fail(errors.general, errors.nodes);
    const next = submitted as Record<string, JsonValue>;
    const displayName = config.schema.displayName(next);
    const identifier = displayName === undefined ? '' : normaliseIdentifier(displayName);
    if (identifier === '') {
      return fail([], { [config.schema.displayNameField]: [messages.required(config.schema.displayNameField)] });
    }
    const decided = await beforeSettings(step, { identity, change: 'profile', traits: next });
    if (!decided) return;
    try {
      await updateIdentityWith(config.store, identity.id, (current) =>
        settingsMetadata(
          { ...current, traits: next, identifier, ...addressesFor(config.schema, next, current) },
          decided,
        ),
      );
    } catch (error) {
      if (error instanceof DuplicateIdentifierError || error instanceof DuplicateAddressError) {
        return fail([messages.duplicateIdentifierSettings()]);
      }
      throw error;
    }
    log('identity %s updated its traits', identity.id);
    return succeed();
  };

  const method = body.method;
  const fromForm = !req.is('application/json') || hasFlatTraits(body);
  const traits = fromForm ? traitsFromForm(body) : body.traits;
  // Traits without a `method` are a profile save only when no passkey action comes with them: a page with one form
  // posts the trait inputs along with every passkey action (and webauthn.js submits without a button).
  const hasTraits = traits !== null && typeof traits === 'object' && Object.keys(traits).length > 0;
  const register = nonEmpty(body.passkey_settings_register) ?? nonEmpty(body.passkey_register);
  const remove = nonEmpty(body.passkey_remove);
  const rename = renameOf(body);
  const passkeyAction = Boolean(register || remove || rename || nonEmpty(body.passkey_rename_id));
  if (method === 'profile' || (method === undefined && hasTraits && !passkeyAction)) {
    checkPrivileged(config, req, session, flow);
    return updateProfile(traits ?? {}, fromForm);
  }
  if (method !== undefined && method !== 'passkey') return fail([messages.noSettingsStrategy()]);
  if (!register && !remove && !rename) {
    if (method === 'passkey' && isJsonSubmit(req)) {
      // A passkey post with nothing in it, as JSON: webauthn.js asks this before "Add passkey" calls create(), so
      // that no passkey is made for a submit that would be refused. A session past its privileged window gets the
      // 403 first; otherwise the answer is the usual 400, not kept on the flow (nothing was tried).
      checkPrivileged(config, req, session, flow);
      setMessages(flow, [messages.noSettingsStrategy()]);
      return showFlow(config, req, res, flow, renderer, 400);
    }
    return fail([messages.noSettingsStrategy()]);
  }
  checkPrivileged(config, req, session, flow);

  // A credential id that is neither canonical base64url nor hex names no passkey, and is told so.
  const named = remove ?? rename?.id;
  if (named !== undefined && credentialIdsNamedBy(named).length === 0) {
    return fail([messages.generic('The passkey id is neither canonical base64url nor hex.')]);
  }

  if (remove) {
    const passkeys = await config.store.listPasskeys(identity.id);
    const passkey = findPasskey(passkeys, remove);
    // No node shows a passkey this identity does not have: the message goes to `ui.messages`.
    if (!passkey) return fail([messages.passkeyNotFound()]);
    const decided = await beforeSettings(step, { identity, change: 'remove', passkey });
    if (!decided) return;
    const result = await config.store.removePasskey(identity.id, passkey.id);
    // On the remove button of that passkey (`name=value`), not on every remove button.
    const onNode = (message: UiText) => ({ [`passkey_remove=${passkey.id}`]: [message] });
    if (result === 'last_credential') return fail([], onNode(messages.lastPasskey()));
    if (result === 'not_found') return fail([], onNode(messages.passkeyNotFound()));
    await saveMetadata(config, identity.id, decided);
    log('identity %s removed a passkey', identity.id);
    // A lost phone's passkey: the sessions it signed in (or refreshed) end with it; this one goes on.
    if (config.sessions.revokeSessionsOfRemovedPasskey) {
      const ended = await revokeSessionsOfPasskey(config, identity.id, passkey.id, session.id);
      if (ended > 0) log('identity %s: %d sessions of the removed passkey revoked', identity.id, ended);
    }
    await runHook('onPasskeyRemoved', config.hooks.onPasskeyRemoved, { identity, passkey, request: req });
    return succeed();
  }

  if (rename) {
    const name = rename.name.normalize('NFC').trim();
    if (!isShowableName(name)) {
      return fail([messages.invalidPasskeyName(MAX_PASSKEY_NAME)]);
    }
    const passkey = findPasskey(await config.store.listPasskeys(identity.id), rename.id);
    if (!passkey) return fail([messages.passkeyNotFound()]);
    const decided = await beforeSettings(step, { identity, change: 'rename', passkey: { ...passkey, name } });
    if (!decided) return;
    if (!(await config.store.renamePasskey(identity.id, passkey.id, name))) return fail([messages.passkeyNotFound()]);
    await saveMetadata(config, identity.id, decided);
    return succeed();
  }

  // Add a passkey: verified like a registration, bound to this identity's user handle.
  let passkey: Passkey;
  try {
    const credential = parseCredential<RegistrationResponseJSON>(register, 'registration');
    const verified = await verifyRegistration(config, credential, await takeChallenge(config, flow));
    // Named after the browser that made it ("Chrome on Linux"), numbered when the identity has that name already.
    const takenNames = (await config.store.listPasskeys(identity.id)).map((p) => p.name);
    passkey = newPasskey(identity.id, verified, { userAgent: req.get('user-agent'), takenNames });
  } catch (error) {
    renewCeremony(config, flow);
    // Signal API: the new passkey was not stored; its id goes back so that the browser's passkey manager drops it.
    flow.data.unknownCredential = await refusedCredentialId(config, register);
    if (error instanceof CeremonyError) return fail([messages.generic(error.reason)]);
    throw error;
  }
  // Refused by the hook, the new passkey is not stored either: signalled like a failed ceremony's.
  const refuseAdd = async (ui: UiText[], nodes: Record<string, UiText[]>) => {
    flow.data.unknownCredential = await refusedCredentialId(config, register);
    return fail(ui, nodes);
  };
  const decided = await beforeSettings({ ...step, refuse: refuseAdd }, { identity, change: 'add', passkey });
  if (!decided) return;
  try {
    await config.store.addPasskey(passkey);
  } catch (error) {
    renewCeremony(config, flow);
    if (error instanceof DuplicateCredentialError) {
      return fail([], { passkey_settings_register: [messages.duplicatePasskey()] });
    }
    throw error;
  }
  await saveMetadata(config, identity.id, decided);
  log('identity %s added a passkey', identity.id);
  await runHook('onPasskeyAdded', config.hooks.onPasskeyAdded, {
    identity,
    passkey,
    transientPayload: transientPayloadOf(body),
    request: req,
  });
  return succeed();
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `passkey_rename: { id, name }` (JSON) or `passkey_rename_id` + `passkey_rename_name` (forms). */
function renameOf(body: Record<string, unknown>): { id: string; name: string } | undefined {
  const value = body.passkey_rename;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const { id, name } = value as Record<string, unknown>;
    if (typeof id === 'string' && typeof name === 'string') return { id, name };
  }
  const id = body.passkey_rename_id;
  const name = body.passkey_rename_name;
  if (typeof id === 'string' && id !== '' && typeof name === 'string') return { id, name };
  return undefined;
}

/** Find one of the identity's passkeys by credential id: canonical base64url, or hex as Kratos emits it. */
function findPasskey(passkeys: Passkey[], named: string): Passkey | undefined {
  for (const id of credentialIdsNamedBy(named)) {
    const passkey = passkeys.find((p) => p.id === id);
    if (passkey) return passkey;
  }
  return undefined;
}

/** What `listPasskeys(req)` gives the app: a passkey without its key material. */
export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  backupEligible: boolean;
  backedUp: boolean;
  transports: string[];
  aaguid: string;
}

/** The passkeys of the request's session identity (empty without a session). */
export async function listPasskeysOf(config: ResolvedOptions, req: Request): Promise<PasskeyInfo[]> {
  const session = await resolveSession(config, req);
  if (!session) return [];
  const passkeys = await config.store.listPasskeys(session.identityId);
  return passkeys.map(passkeyInfo);
}

/** What an app may see of a passkey: everything but the key material, the counter and the owner. */
export function passkeyInfo({
  id,
  name,
  createdAt,
  lastUsedAt,
  backupEligible,
  backedUp,
  transports,
  aaguid,
}: Passkey): PasskeyInfo {
  return { id, name, createdAt, lastUsedAt, backupEligible, backedUp, transports, aaguid };
}

/** The identity of the request's session, or null. */
export async function identityOf(config: ResolvedOptions, req: Request): Promise<Identity | null> {
  const session = await resolveSession(config, req);
  const identity = session ? await config.store.getIdentity(session.identityId) : null;
  return identity && sessionIdentityActive(identity) ? identity : null;
}
