// Identifier-first login (SPEC §9): step one asks for the identifier, step two signs in with that identity's passkeys.

import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { isActive } from '../identities.js';
import { decoyCredentialIds } from '../login-style.js';
import type { ResolvedOptions } from '../options.js';
import { normaliseIdentifier } from '../schema.js';
import { signalNode, unknownCredentialSignals } from '../signals.js';
import type { Passkey } from '../store/types.js';
import { messages, type UiText } from '../ui/messages.js';
import { inputNode, scriptNode, type UiNode } from '../ui/nodes.js';
import { requestOptions } from '../webauthn/index.js';
import { type Flow, type FlowRenderer, renewCeremony, setMessages } from './flow.js';
import { answerFlow } from './respond.js';

/** Does this login flow run identifier-first? (`login.style`; never for refresh logins, whose identity is known.) */
export function usesIdentifierFirst(config: ResolvedOptions, flow: Flow): boolean {
  return config.login.style === 'identifier_first' && !flow.data.refresh;
}

/** Is the flow at step two (an identifier was submitted and is bound to it)? */
export function atStepTwo(flow: Flow): boolean {
  return flow.data.identifier !== undefined;
}

/** What the flow JSON adds at step two: `active`, as Kratos says which method the flow is in. */
export function identifierFirstExtra(flow: Flow): Record<string, unknown> {
  return atStepTwo(flow) ? { active: 'identifier_first' } : {};
}

/**
 * The nodes of an identifier-first login flow. Step one: the identifier (group `identifier_first`), the
 * `method=identifier_first` submit, and the passkey button and conditional UI (a discoverable passkey signs in at once).
 * Step two: the identifier, hidden, and the passkey button with a challenge listing that identity's passkeys (or
 * decoys).
 */
export async function identifierFirstNodes(
  config: ResolvedOptions,
  req: Request,
  flow: Flow,
  base: string,
): Promise<UiNode[]> {
  const stepTwo = atStepTwo(flow);
  const nodes: UiNode[] = [
    stepTwo
      ? inputNode('identifier_first', 'identifier', 'hidden', { value: flow.data.identifier ?? '' })
      : inputNode('identifier_first', 'identifier', 'text', {
          value: '',
          required: true,
          autocomplete: 'username webauthn',
          label: messages.identifierLabel(config.schema.displayNameTitle),
        }),
  ];
  // Step one's Continue, first after the identifier: the form's default button (Enter submits the identifier).
  if (!stepTwo) {
    nodes.push(
      inputNode('identifier_first', 'method', 'submit', { value: 'identifier_first', label: messages.continue() }),
    );
  }
  if (flow.data.type === 'browser') nodes.push(scriptNode(base, req));
  const options = requestOptions(config, { challenge: flow.challenge ?? '' });
  // No transports, for real passkeys as for decoys: an entry must not tell a real account from an unknown one.
  const allow = stepTwo ? (await allowedCredentialIds(config, flow.data.identifier ?? '')).map(descriptor) : [];
  const challenge = { publicKey: allow.length ? { ...options, allowCredentials: allow } : options };
  nodes.push(
    inputNode('passkey', 'passkey_login_trigger', 'button', {
      value: '',
      onclickTrigger: 'oryPasskeyLogin',
      label: messages.signInWithPasskey(),
    }),
    // Conditional UI (autofill) in step one only: step two's challenge names the credentials to use.
    inputNode(
      'passkey',
      'passkey_login',
      'hidden',
      stepTwo ? {} : { onloadTrigger: 'oryPasskeyLoginAutocompleteInit' },
    ),
    inputNode('passkey', 'passkey_challenge', 'hidden', { value: JSON.stringify(challenge) }),
  );
  if (!stepTwo) {
    // Signal API, for a discoverable sign-in from step one (step two never signals).
    const signal = flow.data.unknownCredential
      ? signalNode(unknownCredentialSignals(config, flow.data.unknownCredential))
      : undefined;
    if (signal) nodes.push(signal);
  }
  return nodes;
}

const descriptor = (id: string) => ({ id, type: 'public-key' as const });

/**
 * The credential ids step two allows: the passkeys of the identity the identifier names, or decoys when it names
 * none, an inactive one, or one without passkeys. The same store calls are made either way.
 */
async function allowedCredentialIds(config: ResolvedOptions, typed: string): Promise<string[]> {
  const identifier = normaliseIdentifier(typed);
  const identity = await config.store.findIdentityByIdentifier(identifier);
  // An id no identity has, so that unknown identifiers cost the store the same round trips as known ones.
  const passkeys = await config.store.listPasskeys(identity?.id ?? randomUUID());
  if (identity && isActive(identity) && passkeys.length > 0) return passkeys.map((p) => p.id);
  return config.login.style === 'identifier_first' ? decoyCredentialIds(config.login.decoyKey, identifier) : [];
}

/**
 * `method=identifier_first`: bind the identifier typed to the flow (replacing any earlier one) and answer with step
 * two: 400 with the flow (JSON), or 303 to the login page (form posts), as Kratos answers it. The answer is the same
 * for every identifier; only the credential ids in the challenge differ. An empty identifier stays at step one.
 */
export async function submitIdentifier(
  config: ResolvedOptions,
  req: Request,
  res: Response,
  flow: Flow,
  body: Record<string, unknown>,
  renderer: FlowRenderer,
): Promise<void> {
  const typed = typeof body.identifier === 'string' ? body.identifier.trim() : '';
  renewCeremony(config, flow);
  flow.data.unknownCredential = undefined;
  if (normaliseIdentifier(typed) === '') {
    flow.data.identifier = undefined;
    setMessages(flow, [], { identifier: [messages.required('identifier')] });
  } else {
    flow.data.identifier = typed;
    setMessages(flow);
  }
  await answerFlow(config, req, res, flow, renderer, 400);
}

/**
 * Step two's refusal, if any, for the passkey an assertion names: none known (4000015), or one of another identity
 * than the identifier bound at step one names (4000043). Undefined when the passkey is that identity's.
 */
export async function stepTwoRefusal(
  config: ResolvedOptions,
  flow: Flow,
  passkey: Passkey | null,
): Promise<UiText | undefined> {
  if (!passkey) return messages.noPasskeyUser();
  const identity = await config.store.findIdentityByIdentifier(normaliseIdentifier(flow.data.identifier ?? ''));
  return identity?.id === passkey.identityId ? undefined : messages.passkeyLoginInvalid();
}
