// Verification: prove an address by a code sent to it (typed in, or by the link in the mail).

import createDebug from 'debug';
import type { Request, Response } from 'express';
import { updateIdentityWith } from '../addresses.js';
import type { ResolvedOptions } from '../options.js';
import { mailBaseUrl } from '../public-url.js';
import type { Identity, VerifiableAddress } from '../store/types.js';
import { messages } from '../ui/messages.js';
import { anchorNode } from '../ui/nodes.js';
import {
  absoluteFlowPage,
  answerPassed,
  type CodeFlowKind,
  codesFor,
  initCodeFlow,
  sendCode,
  submitCodeByLink,
  submitCodeFlow,
} from './code-method.js';
import { createFlow, type Flow, type FlowType, saveFlow, setMessages } from './flow.js';
import { uiUrl } from './respond.js';

const log = createDebug('express-passkeys:verification');

/** Where a verified user goes next: the flow's `return_to`, else `urls.defaultReturnTo`, absolute. */
function returnUrl(config: ResolvedOptions, flow: Flow, base: string): string {
  return new URL(flow.data.returnTo ?? config.urls.defaultReturnTo, `${base}/`).href;
}

export const verification: CodeFlowKind = {
  kind: 'verification',
  enabled: (codes) => codes.verification.enabled,
  notifyUnknownRecipients: (codes) => codes.verification.notifyUnknownRecipients,
  templates: { valid: 'verification_code_valid', invalid: 'verification_code_invalid' },
  codeLabel: messages.verificationCodeLabel,
  codeAttributes: {},
  sent: messages.verificationCodeSent,
  invalid: messages.verificationCodeInvalid,
  expired: messages.verificationExpired,
  retrySuccess: messages.verificationRetrySuccess,
  noStrategy: messages.noVerificationStrategy,
  model: (flow, code, base) => ({
    verificationUrl: `${base}/self-service/verification?${new URLSearchParams({ flow: flow.id, code })}`,
  }),
  async afterSend(config, identity, address) {
    await updateVerifiableAddress(config, identity.id, address, (a) =>
      a.status === 'pending' ? { ...a, status: 'sent', updatedAt: new Date() } : null,
    );
  },
  succeed: verified,
  passedNodes: (config, flow, base) => [
    anchorNode('code', 'continue', returnUrl(config, flow, base), messages.continue()),
  ],
  passedForm: (config, flow, base) => ({ action: returnUrl(config, flow, base), method: 'GET' }),
};

/** `GET /self-service/verification/browser` and `/api` */
export const initVerification = (type: FlowType) => initCodeFlow(verification, type);
/** `POST /self-service/verification?flow=` */
export const submitVerification = submitCodeFlow(verification);
/** `GET /self-service/verification?flow=&code=`: the link in the mail. */
export const verifyByLink = submitCodeByLink(verification);

/**
 * Mark the identity's verifiable address `address` verified (`completed`, `verified_at` now), with compare-and-set.
 * Returns false when the identity no longer has that address (it changed since the code was sent).
 */
export async function markVerified(config: ResolvedOptions, identityId: string, address: string): Promise<boolean> {
  return updateVerifiableAddress(config, identityId, address, (a) => {
    if (a.verified) return null;
    const now = new Date();
    return { ...a, verified: true, status: 'completed', verifiedAt: now, updatedAt: now };
  });
}

/**
 * Change one verifiable address of an identity (`change` returns the new address, or null to leave it), with
 * compare-and-set. Returns false when the identity has no such address.
 */
async function updateVerifiableAddress(
  config: ResolvedOptions,
  identityId: string,
  address: string,
  change: (current: VerifiableAddress) => VerifiableAddress | null,
): Promise<boolean> {
  let found = false;
  await updateIdentityWith(config.store, identityId, (current) => {
    const target = current.verifiableAddresses.find((a) => a.value === address);
    found = target !== undefined;
    const next = target && change(target);
    if (!next) return null;
    return { ...current, verifiableAddresses: current.verifiableAddresses.map((a) => (a === target ? next : a)) };
  });
  return found;
}

async function verified(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  identity: Identity,
): Promise<void> {
  if (!flow.data.address || !(await markVerified(config, identity.id, flow.data.address))) {
    setMessages(flow, [messages.verificationCodeInvalid()]);
    await saveFlow(config, flow);
    await answerPassed(config, req, res, flow, verification);
    return;
  }
  flow.data.state = 'passed_challenge';
  setMessages(flow, [messages.verificationSuccessful()]);
  await saveFlow(config, flow);
  log('flow %s: an address of identity %s was verified', flow.id, identity.id);
  await answerPassed(config, req, res, flow, verification);
}

/**
 * After a sign-up: a verification flow for the new identity's first verifiable address, with a code already sent.
 * Returns its `continue_with` item and the page a browser goes to next, or nothing when verification is off or the
 * identity has no verifiable address.
 */
export async function verifyAfterRegistration(
  config: ResolvedOptions,
  req: Request,
  type: FlowType,
  identity: Identity,
  returnTo: string | undefined,
): Promise<{ item: Record<string, unknown>; page?: string } | undefined> {
  const codes = config.codes;
  const address = identity.verifiableAddresses[0];
  if (!codes?.verification.enabled || !codes.verification.afterRegistration || !address) return undefined;
  codesFor(config, verification);
  const flow = await createFlow(
    config,
    {
      kind: 'verification',
      type,
      requestUrl: `${mailBaseUrl(config, req)}/self-service/verification/${type}`,
      returnTo,
    },
    true,
  );
  const { flow: sent } = await sendCode(config, req, flow, verification, codes, address.value);
  const ui = uiUrl(config, 'verification');
  const url = absoluteFlowPage(config, req, sent);
  return {
    item: {
      action: 'show_verification_ui',
      flow: { id: sent.id, verifiable_address: address.value, ...(ui ? { url } : {}) },
    },
    page: ui ? url : undefined,
  };
}
