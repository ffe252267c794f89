// HTML for the example's pages: small template functions, no template engine.
//
// Every interpolated value goes through `esc()`: passkey names and traits are user input, and flow JSON is data.
// No inline event handlers anywhere: the page is served under a nonce-only CSP, and webauthn.js binds the buttons
// by their `data-onclicktrigger` attribute.

/** The parts of Kratos's flow JSON these pages use. */
export interface UiText {
  id: number;
  text: string;
  type: string;
  context?: Record<string, unknown>;
}
export interface UiNode {
  type: string;
  group: string;
  attributes: Record<string, unknown>;
  messages: UiText[];
  meta: { label?: UiText };
}
export interface Flow {
  id: string;
  state: string;
  ui: { action: string; method: string; nodes: UiNode[]; messages?: UiText[] };
}
export type FlowKind = 'registration' | 'login' | 'settings' | 'recovery' | 'verification';

/** Escape text for HTML element content and double-quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}input[type=text],input[type=email]{display:block;width:100%;padding:.4rem}
button{margin:.5rem .5rem .5rem 0;padding:.4rem .8rem}.error{color:#b00020}.success{color:#006400}
li{margin:.75rem 0}form.inline{display:inline}small{color:#555}
.badge{font-size:.8rem;padding:.1rem .4rem;border-radius:.3rem;margin-left:.4rem}
.badge.verified{background:#dff5e1;color:#006400}.badge.unverified{background:#fdecea;color:#b00020}`;

// The CSP restricts scripts only, so this inline <style> is fine; the one script is webauthn.js, with the nonce.
function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><p><a href="/">Home</a></p><h1>${esc(title)}</h1>
${body}
</body></html>`;
}

function messageList(messages: UiText[] | undefined): string {
  return (messages ?? [])
    .map((m) => `<p class="${esc(m.type)}" data-message-id="${esc(m.id)}">${esc(m.text)}</p>`)
    .join('\n');
}

/** `name="value"` pairs; `true` renders a bare attribute, `false`/`undefined`/`''` nothing. */
function attrs(pairs: Record<string, unknown>): string {
  return Object.entries(pairs)
    .filter(([, v]) => v !== undefined && v !== false && v !== '')
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${esc(v)}"`))
    .join('');
}

/**
 * One flow node as HTML. `nonce` is this page's CSP nonce (the script node's own is the one of the server-side
 * fetch that got the flow, not of this page). `form` ties a button to a form it is not inside of.
 */
function renderNode(node: UiNode, nonce: string, form?: string): string {
  const a = node.attributes;
  const label = node.meta.label?.text ?? '';
  if (node.type === 'script') {
    const { src, integrity, crossorigin, referrerpolicy, type, id } = a;
    return `<script${attrs({ id, src, integrity, crossorigin, referrerpolicy, type, async: true, nonce })}></script>`;
  }
  if (node.type === 'text') {
    const text = a.text as UiText | undefined;
    return `<p${attrs({ id: a.id, 'data-message-id': text?.id })}>${esc(text?.text ?? label)}</p>`;
  }
  // A link (verification's "Continue" once the address is verified): `title` is its text.
  if (node.type === 'a') {
    const title = (a.title as UiText | undefined)?.text ?? label;
    return `<p><a${attrs({ id: a.id, href: safeHref(a.href) })}>${esc(title)}</a></p>`;
  }
  if (node.type !== 'input') return '';
  const value = a.value === undefined ? undefined : String(a.value);
  const common = { form, name: a.name, value, disabled: a.disabled };
  const messages = messageList(node.messages);
  switch (a.type) {
    case 'hidden':
      return `<input${attrs({ type: 'hidden', ...common, 'data-onloadtrigger': a.onloadTrigger })}>${messages}`;
    case 'button':
      return `<button${attrs({ type: 'button', ...common, 'data-onclicktrigger': a.onclickTrigger })}>${esc(label)}</button>${messages}`;
    case 'submit':
      // A submit button posts its own name=value ("Continue": method=code; "Resend code": email=<address>). Only the
      // `method` one is the form's main action; the others (resend, remove) must work with required fields empty.
      return `<button${attrs({ type: 'submit', ...common, formnovalidate: a.name !== 'method' })}>${esc(label)}</button>${messages}`;
    case 'checkbox':
      return `<label><input${attrs({ type: 'checkbox', name: a.name, value: 'true', checked: a.value === true })}> ${esc(label)}</label>${messages}`;
    default:
      return `<label>${esc(label)}<input${attrs({ type: a.type, ...common, required: a.required, autocomplete: a.autocomplete, pattern: a.pattern, maxlength: a.maxlength })}></label>${messages}`;
  }
}

const isRemove = (n: UiNode) => n.attributes.name === 'passkey_remove';

/** Only http(s) and same-site paths become links (flow JSON is data: no `javascript:` URLs). */
function safeHref(value: unknown): string | undefined {
  const href = String(value ?? '');
  if (href.startsWith('/') && !href.startsWith('//')) return href;
  return /^https?:\/\//i.test(href) ? href : undefined;
}

function date(value: unknown): string {
  return typeof value === 'string' ? esc(`${value.slice(0, 16).replace('T', ' ')} UTC`) : 'never';
}

/**
 * Settings: one list item per passkey, read from its `passkey_remove` node's label context, with a rename form
 * (a separate form, so it lives outside the flow form) and its remove button (tied to the flow form by `form=`).
 */
function passkeyList(flow: Flow, csrf: string): string {
  const items = flow.ui.nodes.filter(isRemove).map((node) => {
    const c = node.meta.label?.context ?? {};
    const id = String(node.attributes.value);
    const synced = c.backed_up ? 'synced' : c.backup_eligible ? 'can sync, not backed up yet' : 'this device only';
    return `<li data-passkey-id="${esc(id)}"><strong class="passkey-name">${esc(c.display_name)}</strong><br>
<small>added ${date(c.added_at)} · last used ${date(c.last_used_at)} · ${esc(synced)}</small><br>
<form class="inline rename" method="POST" action="${esc(flow.ui.action)}">
<input type="hidden" name="csrf_token" value="${esc(csrf)}"><input type="hidden" name="passkey_rename_id" value="${esc(id)}">
<input type="text" name="passkey_rename_name" value="${esc(c.display_name)}" aria-label="New name" required maxlength="64">
<button type="submit">Rename</button></form>
${renderNode(node, '', 'flow')}</li>`;
  });
  return `<ul id="passkeys">${items.join('\n')}</ul>`;
}

const TITLES: Record<FlowKind, string> = {
  registration: 'Sign up',
  login: 'Sign in',
  settings: 'Your passkeys',
  recovery: 'Recover your account',
  verification: 'Verify your email address',
};
const FOOTERS: Record<FlowKind, string> = {
  registration: '<p>Already have an account? <a href="/login">Sign in</a></p>',
  login: `<p><a href="/recovery">Forgot your passkey?</a></p>
<p>No account yet? <a href="/registration">Sign up</a></p>`,
  settings: '',
  recovery: '<p>Found your passkey? <a href="/login">Sign in</a></p>',
  verification: '',
};

/**
 * A registration, login, settings, recovery or verification page: the flow's nodes in one form posting to
 * `ui.action` (a verified address's flow has `ui.method: "GET"` and only a "Continue" link).
 */
export function flowPage(kind: FlowKind, flow: Flow, nonce: string): string {
  const csrfNode = flow.ui.nodes.find((n) => n.attributes.name === 'csrf_token');
  const csrf = String(csrfNode?.attributes.value ?? '');
  const isProfile = (n: UiNode) => n.group === 'profile';
  const nodes = flow.ui.nodes.filter((n) => !isRemove(n) && !isProfile(n)).map((n) => renderNode(n, nonce));
  const body = `${messageList(flow.ui.messages)}
${kind === 'settings' ? profileForm(flow, csrfNode, nonce) + passkeyList(flow, csrf) : ''}
<form id="flow" method="${esc(flow.ui.method)}" action="${esc(flow.ui.action)}">
${nodes.join('\n')}
</form>
${FOOTERS[kind]}`;
  return layout(TITLES[kind], body);
}

/**
 * Settings: the `profile` group (the traits and their "Save" button) in a form of its own, as Ory Elements shows
 * each settings method in its own form: saving the profile posts no passkey fields, adding a passkey no traits.
 */
function profileForm(flow: Flow, csrfNode: UiNode | undefined, nonce: string): string {
  const profile = flow.ui.nodes.filter((n) => n.group === 'profile');
  if (profile.length === 0) return '';
  const nodes = [...(csrfNode ? [csrfNode] : []), ...profile].map((n) => renderNode(n, nonce));
  return `<form id="profile" method="POST" action="${esc(flow.ui.action)}">
${nodes.join('\n')}
</form>
`;
}

/** A verifiable address of the identity (Kratos's `verifiable_addresses` items). */
export interface Address {
  value: string;
  verified: boolean;
  status?: string;
}

/** One item per verifiable address, with a verified / unverified badge; a link to verify when one is not. */
function addressList(addresses: Address[]): string {
  if (addresses.length === 0) return '';
  const items = addresses.map((a) => {
    const badge = a.verified
      ? '<span class="badge verified">verified</span>'
      : '<span class="badge unverified">not verified</span>';
    return `<li data-address="${esc(a.value)}" data-verified="${a.verified}">${esc(a.value)} ${badge}</li>`;
  });
  const verify = addresses.some((a) => !a.verified)
    ? '\n<p><a href="/verification">Verify your email address</a></p>'
    : '';
  return `<ul id="addresses">${items.join('\n')}</ul>${verify}`;
}

/**
 * Home: who is signed in (from whoami) and their addresses, or links to sign up / sign in. `signals`
 * (`auth.signals(req)`) goes into a hidden `passkey_signal` input that webauthn.js passes on to the browser (Signal API).
 */
export function homePage(
  user: {
    email: string;
    logoutUrl: string;
    addresses?: Address[];
    signals?: { value: unknown; nonce: string };
  } | null,
): string {
  const signals = user?.signals
    ? `<input type="hidden" name="passkey_signal" value="${esc(JSON.stringify(user.signals.value))}">
<script src="/auth/.well-known/ory/webauthn.js" nonce="${esc(user.signals.nonce)}" async></script>`
    : '';
  const body = user
    ? `<p id="whoami">Signed in as <strong>${esc(user.email)}</strong>.</p>
${addressList(user.addresses ?? [])}
<p><a href="/settings">Manage passkeys</a> · <a href="${esc(user.logoutUrl)}">Log out</a></p>${signals}`
    : `<p id="whoami">You are not signed in.</p>
<p><a href="/registration">Sign up</a> · <a href="/login">Sign in</a></p>`;
  return layout('Passkeys Example', body);
}
