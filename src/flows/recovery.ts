// Recovery: a user who lost every passkey signs in with a code sent to a recovery address, then adds a passkey.

import createDebug from 'debug';
import type { Request, Response } from 'express';
import { sessionAlreadyAvailable } from '../errors.js';
import { isJsonSubmit, seeOther } from '../http.js';
import { isActive } from '../identities.js';
import type { ResolvedOptions } from '../options.js';
import { currentSession } from '../session.js';
import { revokeOtherSessions } from '../session-records.js';
import type { Identity } from '../store/types.js';
import { messages } from '../ui/messages.js';
import {
  absoluteFlowPage,
  answerPassed,
  type CodeFlowKind,
  codeRenderer,
  flowPage,
  initCodeFlow,
  submitCodeFlow,
} from './code-method.js';
import { createFlow, type Flow, saveFlow, setMessages } from './flow.js';
import { answerFlow, startSession } from './respond.js';
import { markVerified } from './verification.js';

const log = createDebug('express-passkeys:recovery');

export const recovery: CodeFlowKind = {
  kind: 'recovery',
  enabled: (codes) => codes.recovery.enabled,
  notifyUnknownRecipients: (codes) => codes.recovery.notifyUnknownRecipients,
  templates: { valid: 'recovery_code_valid', invalid: 'recovery_code_invalid' },
  codeLabel: messages.recoveryCodeLabel,
  codeAttributes: { pattern: '[0-9]+', maxlength: 6 },
  sent: messages.recoveryCodeSent,
  invalid: messages.recoveryCodeInvalid,
  expired: messages.recoveryExpired,
  retrySuccess: messages.recoveryRetrySuccess,
  noStrategy: messages.noRecoveryStrategy,
  refuse(req: Request) {
    if (currentSession(req)) throw sessionAlreadyAvailable();
  },
  succeed: recovered,
};

/** `GET /self-service/recovery/browser` and `/api` */
export const initRecovery = (type: 'browser' | 'api') => initCodeFlow(recovery, type);
/** `POST /self-service/recovery?flow=` */
export const submitRecovery = submitCodeFlow(recovery);

/**
 * The code was right: the address is proven (and verified, when it is also a verifiable one), the user gets a session
 * (`code_recovery`, id regenerated) and a settings flow, privileged from now, in which to add a passkey.
 */
async function recovered(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  identity: Identity,
): Promise<void> {
  const disabled = () => {
    setMessages(flow, [messages.identityDisabled()]);
    return answerFlow(config, req, res, flow, codeRenderer(config, recovery), 400);
  };
  // A disabled identity's code is sent as any other (no enumeration), but it opens nothing.
  if (!isActive(identity)) return disabled();
  if (flow.data.address) await markVerified(config, identity.id, flow.data.address);
  const started = await startSession(config, req, flow, identity.id, { method: 'code_recovery' });
  if (typeof started === 'string') return disabled(); // disabled while it was being recovered
  const { data, record, token } = started;
  // Kratos's `revoke_active_sessions` hook: whoever else is signed in (a thief on a lost device) is signed out.
  if (config.sessions.revokeOthersAtRecovery) await revokeOtherSessions(config, identity.id, record.id);
  const settings = await createFlow(
    config,
    {
      kind: 'settings',
      type: flow.data.type,
      requestUrl: flow.data.requestUrl,
      returnTo: flow.data.returnTo,
      identityId: identity.id,
    },
    false,
  );
  setMessages(settings, [
    messages.recoverySuccessful(new Date(data.authenticatedAt + config.lifespans.privilegedSession)),
  ]);
  await saveFlow(config, settings);
  flow.data.state = 'passed_challenge';
  setMessages(flow);
  await saveFlow(config, flow);
  log('flow %s: identity %s recovered; settings flow %s', flow.id, identity.id, settings.id);
  if (!isJsonSubmit(req) && flow.data.type === 'browser') {
    seeOther(req, res, config, flowPage(config, req, settings));
    return;
  }
  await answerPassed(config, req, res, flow, recovery, [
    ...(token ? [{ action: 'set_ory_session_token', ory_session_token: token }] : []),
    { action: 'show_settings_ui', flow: { id: settings.id, url: absoluteFlowPage(config, req, settings) } },
  ]);
}
