// Kratos's `code` method, shared by recovery and verification: ask for an address, send a code, check the code.

import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';
import createDebug from 'debug';
import type { Request, Response } from 'express';
import { CODE_LENGTH, codeHash, codeMatches, dispatch, LONG_CODE_LENGTH, newCode } from '../codes.js';
import type { CourierModel, CourierTemplate } from '../courier.js';
import { HttpError, notFound } from '../errors.js';
import { baseUrl, isJsonSubmit, queryParam, requestUrl, seeOther, withFlow } from '../http.js';
import { clientBlocked, countFailure, countSend, needsLongCode, type Refusal } from '../limits.js';
import type { ResolvedCodeOptions, ResolvedOptions } from '../options.js';
import { mailBaseUrl } from '../public-url.js';
import { normaliseIdentifier } from '../schema.js';
import { identityJson } from '../session.js';
import type { Identity } from '../store/types.js';
import { messages, type UiText } from '../ui/messages.js';
import { type InputAttributes, inputNode, type UiNode } from '../ui/nodes.js';
import {
  createFlow,
  expiredFlowError,
  type Flow,
  type FlowRenderer,
  type FlowType,
  loadFlow,
  renderFlow,
  saveFlow,
  setMessages,
  updateFlow,
} from './flow.js';
import {
  answerFlow,
  answerInit,
  checkSubmit,
  flowBodyOf,
  refuseBrowserContext,
  returnToOf,
  showFlow,
  transientPayloadOf,
  uiUrl,
} from './respond.js';

const log = createDebug('express-passkeys:code');

/** What recovery and verification tell the shared `code` method. */
export interface CodeFlowKind {
  kind: 'recovery' | 'verification';
  /** Its flag in `config.codes`. */
  enabled(codes: ResolvedCodeOptions): boolean;
  notifyUnknownRecipients(codes: ResolvedCodeOptions): boolean;
  templates: { valid: CourierTemplate; invalid: CourierTemplate };
  codeLabel: () => UiText;
  /** Extra attributes of the `code` input (recovery: `pattern`, `maxlength`). */
  codeAttributes: Partial<InputAttributes>;
  sent: () => UiText;
  invalid: () => UiText;
  expired: (expiredAt: Date) => UiText;
  retrySuccess: () => UiText;
  noStrategy: () => UiText;
  /** Refuse the request before a flow is created or submitted (recovery: a session exists). */
  refuse?(req: Request): void;
  /** Template data beyond the common fields (verification: the link). */
  model?(flow: Flow, code: string, base: string): Partial<CourierModel>;
  /** After a code was handed to the courier for a known address (verification: mark it `sent`). */
  afterSend?(config: ResolvedOptions, identity: Identity, address: string): Promise<void>;
  /** The code matched and was consumed: finish the flow and answer. */
  succeed(config: ResolvedOptions, req: Request, res: Response, flow: Flow, identity: Identity): Promise<void>;
  /** Nodes once the challenge is passed (default: the code form). */
  passedNodes?(config: ResolvedOptions, flow: Flow, base: string): UiNode[];
  /** Where the form of a passed flow goes (verification: a GET to the return URL). */
  passedForm?(config: ResolvedOptions, flow: Flow, base: string): { action: string; method: 'GET' | 'POST' };
}

/** The identity's addresses this flow kind sends codes to. */
function addressesOf(identity: Identity, kind: CodeFlowKind): { value: string }[] {
  return kind.kind === 'recovery' ? identity.recoveryAddresses : identity.verifiableAddresses;
}

/** The resolved `code` options, when this flow kind is on; 404 otherwise (as if the route did not exist). */
export function codesFor(config: ResolvedOptions, kind: CodeFlowKind): ResolvedCodeOptions {
  const codes = config.codes;
  if (!codes || !kind.enabled(codes)) throw notFound(`The ${kind.kind} flow is not enabled.`);
  return codes;
}

/** Nodes of a recovery or verification flow (SPEC §6), by state. */
export function codeRenderer(config: ResolvedOptions, kind: CodeFlowKind): FlowRenderer {
  return {
    async nodes(_req: Request, flow: Flow, base: string) {
      if (flow.data.state === 'passed_challenge' && kind.passedNodes) return kind.passedNodes(config, flow, base);
      if (flow.data.state === 'choose_method') {
        return [
          inputNode('code', 'email', 'email', {
            ...(flow.data.email ? { value: flow.data.email } : {}),
            required: true,
            autocomplete: 'email',
            label: messages.emailLabel(),
          }),
          inputNode('code', 'method', 'submit', { value: 'code', label: messages.continue() }),
        ];
      }
      return [
        inputNode('code', 'code', 'text', {
          required: true,
          autocomplete: 'one-time-code',
          ...kind.codeAttributes,
          // A long code (sent while the address is under attack) needs room to be typed.
          ...(kind.codeAttributes.maxlength !== undefined && flow.data.codeLength === LONG_CODE_LENGTH
            ? { maxlength: LONG_CODE_LENGTH }
            : {}),
          label: kind.codeLabel(),
        }),
        inputNode('code', 'method', 'hidden', { value: 'code' }),
        inputNode('code', 'method', 'submit', { value: 'code', label: messages.continue() }),
        inputNode('code', 'email', 'submit', { value: flow.data.email ?? '', label: messages.resendCode() }),
      ];
    },
    async extra() {
      return { active: 'code' };
    },
    form(_req: Request, flow: Flow, base: string) {
      return flow.data.state === 'passed_challenge' ? kind.passedForm?.(config, flow, base) : undefined;
    },
  };
}

/** `GET /self-service/{recovery,verification}/{browser,api}` */
export function initCodeFlow(kind: CodeFlowKind, type: FlowType) {
  return async function initCodeFlowHandler(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    codesFor(config, kind);
    if (type === 'api') refuseBrowserContext(req);
    const returnTo = returnToOf(req, config);
    kind.refuse?.(req);
    const flow = await createFlow(
      config,
      { kind: kind.kind, type, requestUrl: requestUrl(req, config), returnTo },
      true,
    );
    log('%s %s flow %s created', type, kind.kind, flow.id);
    await answerInit(config, req, res, flow, codeRenderer(config, kind));
  };
}

/** `POST /self-service/{recovery,verification}?flow=`: a non-empty `email` (re)sends a code, else `code` is checked. */
export function submitCodeFlow(kind: CodeFlowKind) {
  return async function submitCodeFlowHandler(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    const codes = codesFor(config, kind);
    const renderer = codeRenderer(config, kind);
    const flow = await loadFlow(config, kind.kind, queryParam(req, 'flow'));
    const body = flowBodyOf(req, flow, 'code');
    if (!(await checkSubmit(config, req, res, flow, { body, expiredMessage: kind.expired }))) return;
    const fail = (status: number, ui: UiText[], nodeMessages?: Record<string, UiText[]>) => {
      setMessages(flow, ui, nodeMessages);
      return answerFlow(config, req, res, flow, renderer, status);
    };
    if (flow.data.state === 'passed_challenge') return fail(400, [kind.retrySuccess()]);
    kind.refuse?.(req);
    if (body.method !== undefined && body.method !== 'code') return fail(400, [kind.noStrategy()]);

    const email = typeof body.email === 'string' ? body.email.trim() : '';
    if (email !== '') {
      if (!isEmail(email)) {
        flow.data.email = email;
        return fail(400, [], { email: [messages.generic(`${JSON.stringify(email)} is not valid "email"`)] });
      }
      const { flow: sent, refused, passed } = await sendCode(config, req, flow, kind, codes, email, body);
      if (passed) {
        // A racing submit of the right code finished the flow meanwhile: as for any post to a passed flow.
        setMessages(sent, [kind.retrySuccess()]);
        return answerFlow(config, req, res, sent, renderer, 400);
      }
      return showFlow(config, req, res, sent, renderer, refused ? 400 : 200);
    }
    if (flow.data.state !== 'sent_email') return fail(400, [], { email: [messages.required('email')] });
    const code = typeof body.code === 'string' ? body.code.trim() : '';
    if (code === '') return fail(400, [], { code: [messages.required('code')] });
    await checkCode(config, req, res, flow, kind, codes, code);
  };
}

// Kratos checks addresses with JSON Schema's `email` format; so do we (ajv-formats), on top of the body schema's size.
type FormatsPlugin = (ajv: Ajv) => unknown;
const addFormats = ((addFormatsImport as unknown as { default?: FormatsPlugin }).default ??
  addFormatsImport) as unknown as FormatsPlugin;
const formats = new Ajv({ strict: false });
addFormats(formats);
const isEmail = formats.compile({ type: 'string', format: 'email', maxLength: 320 });

/**
 * Send a new code for `email` in this flow: earlier codes of the flow die (one live code per flow), the flow moves to
 * `sent_email`. A known and an unknown address do the same work and get the same flow; only a known one (or, with
 * `notifyUnknownRecipients`, any) gets a mail, handed to the courier after the answer. Over a send limit nothing is
 * sent and nothing changes but the flow's message, which says so honestly (`refused`), alike for every address. A flow
 * that a racing submit has passed meanwhile is left as it is and nothing is sent (`passed`).
 */
export async function sendCode(
  config: ResolvedOptions,
  req: Request,
  flow: Flow,
  kind: CodeFlowKind,
  codes: ResolvedCodeOptions,
  email: string,
  body: Record<string, unknown> = {},
  /** The send limit's bucket (default: the flow kind); sign-in's own sends count apart from anyone's requests. */
  bucket: string = kind.kind,
): Promise<{ flow: Flow; refused?: Refusal; passed?: true }> {
  const address = normaliseIdentifier(email);
  const now = Date.now();
  const identity = await config.store.findIdentityByAddress(kind.kind, address);
  const refused = await countSend(config, codes, bucket, address, req);
  if (refused) {
    const limited = await updateFlow(config, flow, (f) => {
      if (f.data.state === 'passed_challenge') return false;
      // The typed address stays filled in; a flow waiting for a code keeps the address that code went to.
      if (f.data.state === 'choose_method') f.data.email = email;
      setMessages(f, [messages.tooManyRequests(refused.retryAfterMs)]);
      return true;
    });
    if (limited.data.state === 'passed_challenge') return { flow: limited, passed: true };
    log('%s flow %s: a send limit was reached; nothing sent', kind.kind, limited.id);
    return { flow: limited, refused };
  }
  // While the address is under attack (or has had its share of short codes), codes are long: guessing one is
  // hopeless, so no code ever has to be refused for someone else's failures.
  const long = await needsLongCode(config, codes, kind.kind, address);
  const code = newCode(long ? LONG_CODE_LENGTH : CODE_LENGTH);
  const sent = await updateFlow(config, flow, (f) => {
    if (f.data.state === 'passed_challenge') return false; // a racing submit finished the flow meanwhile
    f.challenge = codeHash(codes.keys, f.id, code);
    f.data.state = 'sent_email';
    f.data.email = email;
    f.data.address = address;
    f.data.recipient = identity?.id;
    f.data.codeExpiresAt = now + codes.lifespan;
    f.data.codeLength = code.length;
    setMessages(f, [kind.sent()]);
    return true;
  });
  // Nothing was stored, so nothing is mailed: a code that opens nothing would only confuse its reader.
  if (sent.data.state === 'passed_challenge') return { flow: sent, passed: true };
  // Links and URLs in the mail: from configuration, never from the request's Host (see publicBaseUrl).
  const base = mailBaseUrl(config, req);
  const transientPayload = transientPayloadOf(body);
  const common = {
    requestUrl: sent.data.requestUrl,
    expiresInMinutes: Math.round(codes.lifespan / 60_000),
    ...(transientPayload ? { transientPayload } : {}),
  };
  if (identity) {
    const to = addressesOf(identity, kind).find((a) => a.value === address)?.value;
    const codeField = kind.kind === 'recovery' ? { recoveryCode: code } : { verificationCode: code };
    dispatch(codes.courier, {
      template: kind.templates.valid,
      to: to ?? email,
      model: {
        to: to ?? email,
        ...codeField,
        ...kind.model?.(sent, code, base),
        identity: identityJson(identity, base),
        ...common,
      },
    });
    if (kind.afterSend) {
      kind.afterSend(config, identity, address).catch((error: unknown) => {
        log('%s flow %s: after-send update failed (%s)', kind.kind, sent.id, (error as Error)?.name);
      });
    }
  } else if (kind.notifyUnknownRecipients(codes)) {
    dispatch(codes.courier, { template: kind.templates.invalid, to: email, model: { to: email, ...common } });
  }
  log('%s flow %s: code issued (%d digits)', kind.kind, sent.id, code.length);
  return { flow: sent };
}

/**
 * Check a submitted code: the submission counter rises first (atomically, so racing submits all count), then the
 * code is compared with the live one in constant time and, if it matches and is unexpired, consumed: of racing
 * submits of one correct code exactly one gets it.
 */
async function checkCode(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  kind: CodeFlowKind,
  codes: ResolvedCodeOptions,
  code: string,
  /** The code came by the mail's link: a GET that any page can make a browser send, cookies and all. */
  byLink = false,
): Promise<void> {
  const renderer = codeRenderer(config, kind);
  const counted = await updateFlow(config, flow, (f) => {
    f.data.submissions = (f.data.submissions ?? 0) + 1;
    f.data.updatedAt = Date.now();
    return true;
  });
  if ((counted.data.submissions ?? 0) > codes.maxSubmissions) return submittedTooOften(config, req, res, counted, kind);

  const stored = counted.challenge;
  const address = counted.data.address ?? '';
  // This client's own wrong codes (its browser's, or its IP address's without one) may stop it for a while; nobody
  // else's do, and failures for the address never refuse a code (they make new codes long instead).
  const blocked = await clientBlocked(config, codes, kind.kind, req);
  if (blocked) {
    setMessages(counted, [messages.tooManyRequests(blocked.retryAfterMs)]);
    return answerFlow(config, req, res, counted, renderer, 400);
  }
  // Compared whether or not the address has an account (same work either way).
  const matches = stored !== null && /^[0-9]{1,64}$/.test(code) && codeMatches(codes.keys, counted.id, code, stored);
  const live = Date.now() <= (counted.data.codeExpiresAt ?? 0);
  const recipient = counted.data.recipient;
  const invalid = () => {
    setMessages(counted, [kind.invalid()]);
    return answerFlow(config, req, res, counted, renderer, 200);
  };
  // A code support staff made (auth.admin.createRecoveryCode) was sent to no address: its flow is its own key. A wrong
  // code by link is not held against the client: another site can make a browser open links to flows of its own, and
  // would spend that browser's failure budget (the flow and the address still count it).
  if (!matches) {
    await countFailure(config, codes, kind.kind, counted.data.address ?? `flow:${counted.id}`, byLink ? null : req);
  }
  if (!matches || !live || !recipient || stored === null) return invalid();
  if (!(await config.store.consumeChallenge(counted.id, stored))) return invalid();
  counted.challenge = null;
  counted.version++; // consuming is a write of its own
  const identity = await config.store.getIdentity(recipient);
  // The address must still be the identity's: one removed from the traits since the code was sent proves nothing.
  if (!identity) return invalid();
  if (counted.data.address !== undefined && !addressesOf(identity, kind).some((a) => a.value === address)) {
    return invalid();
  }
  log('%s flow %s: code accepted', kind.kind, counted.id);
  await kind.succeed(config, req, res, counted, identity);
}

/**
 * The submission beyond `code.maxSubmissions`: the flow is done for; a new one is started with 4000001. Browser form
 * posts go on to it; JSON gets a 400 whose `details.continue_with` points to it.
 */
async function submittedTooOften(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  kind: CodeFlowKind,
): Promise<void> {
  const { type, requestUrl: url, returnTo } = flow.data;
  // One successor per flow, however often the dead flow is posted to (each post must not mint a flow).
  let next = flow.data.successor
    ? await loadFlow(config, kind.kind, flow.data.successor).catch(() => undefined)
    : undefined;
  if (!next || next.expiresAt.getTime() <= Date.now()) {
    next = await createFlow(config, { kind: kind.kind, type, requestUrl: url, returnTo }, true);
    setMessages(next, [messages.submittedTooOften()]);
    await saveFlow(config, next);
  }
  const successor = next.id;
  // The old flow's code dies with it, and it points to its successor.
  await updateFlow(config, flow, (f) => {
    if (f.challenge === null && f.data.successor === successor) return false;
    f.challenge = null;
    f.data.successor = successor;
    return true;
  });
  log('%s flow %s: submitted too often; new flow %s', kind.kind, flow.id, next.id);
  if (!isJsonSubmit(req) && type === 'browser') {
    seeOther(req, res, config, flowPage(config, req, next));
    return;
  }
  throw new HttpError(
    400,
    'bad_request',
    'The request was submitted too often. Please request another code.',
    {},
    { continue_with: [{ action: `show_${kind.kind}_ui`, flow: { id: next.id } }] },
  );
}

/** The page showing a flow: its UI page, or without one the flow's JSON. */
export function flowPage(config: ResolvedOptions, req: Request, flow: Flow): string {
  const ui = uiUrl(config, flow.data.kind);
  return ui ? withFlow(ui, flow.id) : `${baseUrl(req, config)}/self-service/${flow.data.kind}/flows?id=${flow.id}`;
}

/** `flowPage` as an absolute URL (for `continue_with`). */
export function absoluteFlowPage(config: ResolvedOptions, req: Request, flow: Flow): string {
  return new URL(flowPage(config, req, flow), `${baseUrl(req, config)}/`).href;
}

/**
 * A code submitted by link (`GET /self-service/verification?flow=&code=`): checked like a form post (no CSRF token:
 * the code is the secret), then the browser lands on the flow's page.
 */
export function submitCodeByLink(kind: CodeFlowKind) {
  return async function submitCodeByLinkHandler(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    const codes = codesFor(config, kind);
    const flow = await loadFlow(config, kind.kind, queryParam(req, 'flow'));
    const code = (queryParam(req, 'code') ?? '').trim();
    if (Date.now() >= flow.expiresAt.getTime()) {
      const { successor } = await expiredFlowError(config, flow);
      setMessages(successor, [kind.expired(flow.expiresAt)]);
      await saveFlow(config, successor);
      seeOther(req, res, config, flowPage(config, req, successor));
      return;
    }
    if (flow.data.state !== 'sent_email' || code === '' || code.length > 64) {
      seeOther(req, res, config, flowPage(config, req, flow));
      return;
    }
    await checkCode(config, req, res, flow, kind, codes, code, true);
  };
}

/** Answer a passed flow: its page for browser form posts and links, else its JSON (with `continue_with`). */
export async function answerPassed(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  kind: CodeFlowKind,
  continueWith: unknown[] = [],
): Promise<void> {
  if ((req.method === 'GET' || !isJsonSubmit(req)) && flow.data.type === 'browser') {
    seeOther(req, res, config, flowPage(config, req, flow));
    return;
  }
  const body = await renderFlow(config, req, res, flow, codeRenderer(config, kind));
  res.status(200).json({ ...body, continue_with: continueWith });
}
