// Login: usernameless (discoverable) sign-in with conditional UI, and `refresh=true` re-authentication.

import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import createDebug from 'debug';
import type { Request, Response } from 'express';
import { sessionInactive } from '../errors.js';
import { baseUrl, isJsonSubmit, queryParam, requestUrl } from '../http.js';
import { isActive } from '../identities.js';
import type { ResolvedOptions } from '../options.js';
import { currentChecked, currentSession, sessionJson } from '../session.js';
import { revokeOtherSessions } from '../session-records.js';
import { credentialIdsOf, identitySignals, signalNode, unknownCredentialSignals } from '../signals.js';
import type { Identity, Passkey } from '../store/types.js';
import { messages, type UiText } from '../ui/messages.js';
import { inputNode, scriptNode, type UiNode } from '../ui/nodes.js';
import {
  answersCeremony,
  CeremonyError,
  parseCredential,
  requestOptions,
  verifyAuthentication,
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
import {
  atStepTwo,
  identifierFirstExtra,
  identifierFirstNodes,
  stepTwoRefusal,
  submitIdentifier,
  usesIdentifierFirst,
} from './identifier-first.js';
import { beforeLogin, saveMetadata } from './policy.js';
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

const log = createDebug('express-passkeys:login');

const renderers = new WeakMap<ResolvedOptions, FlowRenderer>();

/** Nodes and extra fields of a login flow (SPEC §2); one renderer per configuration. */
export function loginRenderer(config: ResolvedOptions): FlowRenderer {
  let renderer = renderers.get(config);
  if (!renderer) {
    renderer = makeLoginRenderer(config);
    renderers.set(config, renderer);
  }
  return renderer;
}

function makeLoginRenderer(config: ResolvedOptions): FlowRenderer {
  return {
    async nodes(req: Request, flow: Flow, base: string) {
      if (usesIdentifierFirst(config, flow)) return identifierFirstNodes(config, req, flow, base);
      const refreshing = flow.data.identityId;
      const [allow, identity] = refreshing
        ? await Promise.all([config.store.listPasskeys(refreshing), config.store.getIdentity(refreshing)])
        : [[], null];
      const nodes: UiNode[] = [];
      nodes.push(
        // A refresh shows whose session it re-authenticates (Kratos sends that identifier too, in a hidden input).
        inputNode('default', 'identifier', 'text', {
          value: identity?.identifier ?? '',
          autocomplete: 'username webauthn',
          label: messages.identifierLabel(config.schema.displayNameTitle),
        }),
      );
      if (flow.data.type === 'browser') nodes.push(scriptNode(base, req));
      const challenge = {
        publicKey: requestOptions(config, {
          challenge: flow.challenge ?? '',
          allow: allow.map((p) => ({ id: p.id, transports: p.transports })),
        }),
      };
      nodes.push(
        inputNode('passkey', 'passkey_login_trigger', 'button', {
          value: '',
          onclickTrigger: 'oryPasskeyLogin',
          label: messages.signInWithPasskey(),
        }),
        inputNode('passkey', 'passkey_login', 'hidden', { onloadTrigger: 'oryPasskeyLoginAutocompleteInit' }),
        inputNode('passkey', 'passkey_challenge', 'hidden', { value: JSON.stringify(challenge) }),
      );
      // Signal API: the credential id the browser just sent is unknown here (nothing but that id is said).
      const signal = flow.data.unknownCredential
        ? signalNode(unknownCredentialSignals(config, flow.data.unknownCredential))
        : undefined;
      if (signal) nodes.push(signal);
      return nodes;
    },
    async extra(_req: Request, flow: Flow) {
      return {
        refresh: Boolean(flow.data.refresh),
        requested_aal: 'aal1',
        created_at: new Date(flow.data.issuedAt).toISOString(),
        updated_at: new Date(flow.data.updatedAt).toISOString(),
        ...identifierFirstExtra(flow),
      };
    },
  };
}

/** `GET /self-service/login/browser` and `/api` (`?refresh=true` re-authenticates the session's identity). */
export function initLogin(type: FlowType) {
  return async function initLoginFlow(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    if (type === 'api') refuseBrowserContext(req);
    const returnTo = returnToOf(req, config);
    // `refresh=true` re-authenticates the session's identity; without a session (it expired on the way, say) it is
    // an ordinary sign-in, as in Kratos.
    const session = currentSession(req);
    const refresh = queryParam(req, 'refresh') === 'true' && session !== undefined;
    if (session && !refresh) checkNoSession(req);
    const identityId = refresh ? session?.identityId : undefined;
    const flow = await createFlow(
      config,
      {
        kind: 'login',
        type,
        requestUrl: requestUrl(req, config),
        returnTo,
        ...(identityId ? { refresh: true, identityId } : {}),
      },
      !identityId,
    );
    log('%s flow %s created%s', type, flow.id, refresh ? ' (refresh)' : '');
    await answerInit(config, req, res, flow, loginRenderer(config));
  };
}

/** `POST /self-service/login?flow=` */
export async function submitLogin(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
  const renderer = loginRenderer(config);
  const flow = await loadFlow(config, 'login', queryParam(req, 'flow'));
  const body = flowBodyOf(req, flow, 'login');
  const proceed = await checkSubmit(config, req, res, flow, {
    body,
    expiredMessage: messages.loginExpired,
  });
  if (!proceed) return;
  const session = currentSession(req);
  if (flow.data.refresh) {
    if (!session || session.identityId !== flow.data.identityId) throw sessionInactive();
  } else {
    checkNoSession(req);
  }
  // Said once, after the submit that sent the unknown credential id.
  flow.data.unknownCredential = undefined;
  const fail = (ui: UiText[], nodeMessages?: Record<string, UiText[]>) => {
    renewCeremony(config, flow);
    setMessages(flow, ui, nodeMessages);
    return answerFlow(config, req, res, flow, renderer, 400);
  };
  const method = body.method;
  if (method === 'identifier_first' && usesIdentifierFirst(config, flow) && flow.data.state !== 'success') {
    return submitIdentifier(config, req, res, flow, body, renderer);
  }
  if (method !== undefined && method !== 'passkey') {
    return fail([messages.noLoginStrategy()]);
  }
  // A completed flow refuses further assertions like any other invalid one: clients see one id (4000043) for every
  // refused sign-in, whichever of two racing submits arrived second.
  if (flow.data.state === 'success') return fail([messages.passkeyLoginInvalid()]);

  const response = body.passkey_login;
  if (response === undefined || response === '') {
    // No assertion (an identifier alone, say): one answer for every account, known or not, and nothing looked up, so
    // that neither the answer nor its timing tells whether an account exists.
    return fail([messages.noPasskeyUser()]);
  }

  let identity: Identity | null = null;
  let passkey: Passkey | null = null;
  let signCount: number;
  let backedUp: boolean;
  try {
    const credential = parseCredential<AuthenticationResponseJSON>(response, 'authentication');
    const userHandle = credential.response.userHandle;
    // The challenge is taken while the passkey and its user are looked up: one store round trip's wait, not three.
    // The challenge is judged first, as when one came after the other.
    const taking = takeChallenge(config, flow);
    const lookups = (async () =>
      Promise.all([
        config.store.getPasskey(credential.id),
        userHandle ? config.store.findIdentityByUserHandle(userHandle) : null,
      ]))();
    lookups.catch(() => {}); // awaited below, unless the challenge is refused
    const challenge = await taking;
    let named: Identity | null;
    [passkey, named] = await lookups;
    // Identifier-first, step two: only a passkey of the identifier typed at step one (and no signal below).
    const refusal = atStepTwo(flow) ? await stepTwoRefusal(config, flow, passkey) : undefined;
    if (refusal) return fail([refusal]);
    // WebAuthn §7.2 steps 5-6: the credential must belong to the user the user handle names. Only a refresh and
    // identifier-first's step two, whose user is known beforehand, may do without a user handle.
    // Signal API: a discoverable sign-in (not a refresh) with a credential id no passkey has, in a real answer to
    // this flow's challenge. The sign-in fails below either way.
    if (!passkey && !flow.data.refresh && answersCeremony(config, credential, challenge)) {
      flow.data.unknownCredential = credential.id;
    }
    if (userHandle) {
      identity = named;
      if (!identity) return fail([messages.noPasskeyUser()]);
    } else if (passkey && (flow.data.refresh || atStepTwo(flow))) {
      identity = await config.store.getIdentity(passkey.identityId);
    }
    if (!passkey || !identity || passkey.identityId !== identity.id) return fail([messages.passkeyLoginInvalid()]);
    if (flow.data.refresh && identity.id !== flow.data.identityId) return fail([messages.passkeyLoginInvalid()]);
    const verified = await verifyAuthentication(config, credential, challenge, passkey);
    // WebAuthn §7.2 step 17: backup eligibility is fixed when the credential is created; a change is refused.
    if (!passkey.backupFlagsUnknown && verified.backupEligible !== passkey.backupEligible) {
      throw new CeremonyError('The passkey changed its backup eligibility.');
    }
    ({ signCount, backedUp } = verified);
    // An imported passkey whose flags were not known: this sign-in records them.
    if (passkey.backupFlagsUnknown) passkey = { ...passkey, backupEligible: verified.backupEligible };
  } catch (error) {
    if (!(error instanceof CeremonyError)) throw error;
    log('flow %s: login ceremony failed: %s', flow.id, error.reason);
    return fail([messages.passkeyLoginInvalid()]);
  }

  // §9 order: the assertion verified → the identity must be active → (hooks, usage, session).
  if (!isActive(identity)) return fail([messages.identityDisabled()]);
  // Flow policy (SPEC §9): the app's hook, then the verified-address rule; nothing is written before they passed.
  const refuse = (ui: UiText[], nodes: Record<string, UiText[]>) => fail(ui, nodes);
  const decided = await beforeLogin({ config, req, res, flow, renderer, body, refuse }, identity, passkey);
  if (!decided) return;

  if (!(await recordUsage(config, req, identity, passkey, signCount, backedUp))) {
    return fail([messages.passkeyLoginInvalid()]);
  }
  // The hook's metadata is saved with the sign-in: only once nothing can refuse it any more.
  identity = (await saveMetadata(config, identity.id, decided)) ?? identity;

  const stateBefore = flow.data.state;
  flow.data.state = 'success';
  setMessages(flow);
  await saveFlow(config, flow);
  await runHook('onLogin', config.hooks.onLogin, {
    identity,
    passkey,
    transientPayload: transientPayloadOf(body),
    request: req,
  });
  const started = await startSession(
    config,
    req,
    flow,
    identity.id,
    { method: 'passkey', credentialId: passkey.id },
    flow.data.refresh ? currentChecked(req) : undefined,
  );
  if (typeof started === 'string') {
    // The identity was disabled, the passkey removed, or the refreshed session ended, while it signed in: no session.
    flow.data.state = stateBefore;
    if (started === 'session_ended') {
      await saveFlow(config, flow);
      throw sessionInactive();
    }
    return fail([started === 'identity_inactive' ? messages.identityDisabled() : messages.passkeyLoginInvalid()]);
  }
  const { record, token } = started;
  log('flow %s: identity %s signed in', flow.id, identity.id);
  if (config.sessions.revokeOthersAtLogin) await revokeOtherSessions(config, identity.id, record.id);
  // Signal API: the identity just signed in, so it may learn its passkeys and display name. Only a JSON answer has a
  // body to carry them (a form post is redirected; its landing page uses `auth.signals(req)`).
  const json = isJsonSubmit(req) || flow.data.type === 'api';
  answerSuccess(config, req, res, flow, {
    session: sessionJson(record, identity, baseUrl(req, config)),
    ...(token ? { session_token: token } : {}),
    continue_with: [],
    ...(json ? { passkey_signal: identitySignals(config, identity, await credentialIdsOf(config, identity.id)) } : {}),
  });
}

/**
 * Apply the sign-count policy and write the usage back with compare-and-set, retrying when a concurrent sign-in
 * moved the counter. Returns false when the sign-in must be refused (a clone signal under `reject`).
 */
async function recordUsage(
  config: ResolvedOptions,
  req: Request,
  identity: Identity,
  passkey: Passkey,
  received: number,
  backedUp: boolean,
): Promise<boolean> {
  let stored = passkey;
  for (let attempt = 0; attempt < 5; attempt++) {
    const regressed = (received > 0 || stored.signCount > 0) && received <= stored.signCount;
    if (regressed) {
      const action = config.signCountPolicy;
      log('passkey of identity %s: sign count did not increase (%s)', identity.id, action);
      await runHook('onCloneWarning', config.hooks.onCloneWarning, {
        identity,
        passkey: stored,
        storedSignCount: stored.signCount,
        receivedSignCount: received,
        action,
        request: req,
      });
      if (action === 'reject') return false;
    }
    const applied = await config.store.updatePasskeyUsage(stored.id, {
      expectedSignCount: stored.signCount,
      signCount: Math.max(received, stored.signCount),
      backedUp,
      lastUsedAt: new Date(),
      ...(stored.backupFlagsUnknown ? { backupEligible: passkey.backupEligible } : {}),
    });
    if (applied) return true;
    const fresh = await config.store.getPasskey(stored.id);
    if (!fresh) return false;
    stored = fresh;
  }
  return false;
}
