// UI nodes as Kratos emits them: inputs, the webauthn script, their groups, labels and messages.

import type { Request } from 'express';
import type { JsonValue } from '../store/types.js';
import type { UiText } from './messages.js';
import { scriptIntegrity } from './webauthn-script.js';

export type NodeGroup = 'default' | 'webauthn' | 'passkey' | 'code' | 'profile' | 'identifier_first';

export interface InputAttributes {
  name: string;
  type: string;
  value?: JsonValue;
  required?: boolean;
  disabled: boolean;
  node_type: 'input';
  onclickTrigger?: string;
  onloadTrigger?: string;
  autocomplete?: string;
  pattern?: string;
  maxlength?: number;
}

/** An `a` node: a link (Kratos's verification "Continue"). */
export interface AnchorAttributes {
  id: string;
  href: string;
  title: UiText;
  node_type: 'a';
}

export interface ScriptAttributes {
  id: 'webauthn_script';
  src: string;
  async: true;
  crossorigin: 'anonymous';
  integrity: string;
  nonce: string;
  referrerpolicy: 'no-referrer';
  type: 'text/javascript';
  node_type: 'script';
}

/** A UI node. */
export interface UiNode {
  type: 'input' | 'script' | 'text' | 'a';
  group: NodeGroup;
  attributes: InputAttributes | ScriptAttributes | AnchorAttributes;
  messages: UiText[];
  meta: { label?: UiText };
}

/** An input node. `value` is omitted when undefined, as Kratos does for empty inputs. */
export function inputNode(
  group: NodeGroup,
  name: string,
  type: string,
  extra: Partial<Omit<InputAttributes, 'name' | 'type' | 'node_type'>> & { label?: UiText } = {},
): UiNode {
  const { label, ...attributes } = extra;
  return {
    type: 'input',
    group,
    attributes: { name, type, ...attributes, disabled: attributes.disabled ?? false, node_type: 'input' },
    messages: [],
    meta: label ? { label } : {},
  };
}

/** An `a` node (a link with a title). */
export function anchorNode(group: NodeGroup, id: string, href: string, title: UiText): UiNode {
  return { type: 'a', group, attributes: { id, href, title, node_type: 'a' }, messages: [], meta: { label: title } };
}

/** The `webauthn_script` node loading the browser helper, with its SRI hash and the CSP nonce the app put in `res.locals.cspNonce`. */
export function scriptNode(base: string, req: Request): UiNode {
  const nonce = (req.res?.locals as { cspNonce?: unknown } | undefined)?.cspNonce;
  return {
    type: 'script',
    group: 'webauthn',
    attributes: {
      id: 'webauthn_script',
      src: `${base}/.well-known/ory/webauthn.js`,
      async: true,
      crossorigin: 'anonymous',
      integrity: scriptIntegrity(),
      nonce: typeof nonce === 'string' ? nonce : '',
      referrerpolicy: 'no-referrer',
      type: 'text/javascript',
      node_type: 'script',
    },
    messages: [],
    meta: {},
  };
}

/**
 * Attach per-node messages to the nodes they concern: keyed by input name, or by `name=value` for one of several
 * nodes sharing a name (the remove buttons).
 */
export function withNodeMessages(nodes: UiNode[], byName: Record<string, UiText[]> | undefined): UiNode[] {
  if (!byName) return nodes;
  for (const node of nodes) {
    if (node.attributes.node_type !== 'input') continue;
    const { name, value } = node.attributes;
    const found = byName[`${name}=${String(value ?? '')}`] ?? byName[name];
    if (found) node.messages = [...found];
  }
  return nodes;
}
