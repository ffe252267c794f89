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
  /** Login flows: a re-authentication of the signed-in user (`?refresh=true`). */
  refresh?: boolean;
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

/** What every page may carry besides its own content. */
export interface PageOptions {
  /** A one-time notice shown atop the page ("Account created."), from the example's flash cookie. */
  flash?: string;
  /** Development only: codes go to the terminal, not by mail (the console courier is in use). */
  devBanner?: boolean;
  /**
   * Extra `<section>`s for the settings page, after "Profile" and "Passkeys" (for example "Where you're signed in"):
   * trusted HTML, each starting with its own `<h2>`; escape what goes into them.
   */
  sections?: string[];
  /** The line under the heading, instead of the flow's own (for example why a sign-in led to verification). */
  lead?: string;
  /** The links under a flow's form, instead of the flow's own (trusted HTML: escape what goes into it). */
  footer?: string;
}

const DEV_BANNER = `<p class="dev-banner" role="note"><strong>Development mode:</strong> recovery and verification codes are
printed in the terminal running the server, not emailed. Set <code>SMTP_URL</code> to send mail.</p>`;

// The stylesheet and the icon are files of the example (public/), allowed by the CSP's style-src/img-src 'self';
// the one script is webauthn.js, with this page's nonce. No inline styles or handlers.
function layout(title: string, body: string, page: PageOptions, size: 'narrow' | 'wide' = 'wide'): string {
  const flash = page.flash ? `<p class="flash" role="status" id="flash">${esc(page.flash)}</p>\n` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Passkeys Example</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/style.css"></head>
<body>${page.devBanner ? DEV_BANNER : ''}
<header class="site-header"><div class="inner"><a class="brand" href="/"><img src="/assets/favicon.svg" alt="">Passkeys Example</a></div></header>
<main><div class="card${size === 'narrow' ? ' narrow' : ''}">
${flash}<h1>${esc(title)}</h1>
${body}
</div></main>
</body></html>`;
}

/**
 * Messages as paragraphs; with `idPrefix`, each gets the id `<idPrefix>-<i>` (for a field's `aria-describedby`).
 * Errors are `role="alert"`: a screen reader announces what was refused as the page loads.
 */
function messageList(messages: UiText[] | undefined, idPrefix?: string): string {
  return (messages ?? [])
    .map(
      (m, i) =>
        `<p${attrs({ id: idPrefix && `${idPrefix}-${i}`, class: `message ${m.type}`, role: m.type === 'error' ? 'alert' : undefined, 'data-message-id': m.id })}>${esc(m.text)}</p>`,
    )
    .join('\n');
}

/** The ids `messageList(messages, idPrefix)` gives. */
const messageIds = (messages: UiText[] | undefined, idPrefix: string) =>
  (messages ?? []).map((_, i) => `${idPrefix}-${i}`);

const hasError = (messages: UiText[] | undefined) => (messages ?? []).some((m) => m.type === 'error');

/** A field a person types into (not hidden, not a button or checkbox). */
const isField = (n: UiNode) =>
  n.type === 'input' && !['hidden', 'submit', 'button', 'checkbox'].includes(String(n.attributes.type));

/**
 * Where focus goes when the page shows a refused submit: the first field with an error of its own, else (an error
 * of the whole flow, a wrong code say) the form's first field, to try again. `undefined`: nothing was refused.
 */
function focusTarget(flow: Flow): { node: UiNode; describedBy: string[] } | undefined {
  const own = flow.ui.nodes.find((n) => isField(n) && hasError(n.messages));
  if (own) return { node: own, describedBy: [] };
  if (!hasError(flow.ui.messages)) return undefined;
  const first = flow.ui.nodes.find((n) => isField(n) && n.group !== 'profile');
  return first ? { node: first, describedBy: messageIds(flow.ui.messages, 'flow-message') } : undefined;
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
function renderNode(
  node: UiNode,
  nonce: string,
  form?: string,
  focus?: { node: UiNode; describedBy: string[] },
): string {
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
  const messages = messageList(node.messages, `messages-${String(a.name)}`);
  switch (a.type) {
    case 'hidden':
      return `<input${attrs({ type: 'hidden', ...common, 'data-onloadtrigger': a.onloadTrigger })}>${messages}`;
    case 'button':
      return `<button${attrs({ type: 'button', ...common, 'data-onclicktrigger': a.onclickTrigger })}>${esc(label)}</button>${messages}`;
    case 'submit': {
      // A submit button posts its own name=value ("Continue": method=code; "Resend code": email=<address>). Only the
      // `method` one is the form's main action; the others (resend, remove) must work with required fields empty.
      const main = a.name === 'method';
      const button = `<button${attrs({ type: 'submit', class: main ? undefined : 'secondary', ...common, formnovalidate: !main })}>${esc(label)}</button>`;
      return `${button}${messages}`;
    }
    case 'checkbox':
      return `<label class="checkbox"><input${attrs({ type: 'checkbox', name: a.name, value: 'true', checked: a.value === true })}> ${esc(label)}</label>${messages}`;
    default: {
      // A field's own messages describe it; the refused field (or, for a flow error, the first) gets focus.
      const focused = focus?.node === node;
      const describedBy = [
        ...messageIds(node.messages, `messages-${String(a.name)}`),
        ...(focused ? focus.describedBy : []),
      ].join(' ');
      const aria = { 'aria-invalid': hasError(node.messages) ? 'true' : undefined, 'aria-describedby': describedBy };
      return `<label>${esc(label)}<input${attrs({ type: a.type, ...common, required: a.required, autocomplete: a.autocomplete, pattern: a.pattern, maxlength: a.maxlength, ...aria, autofocus: focused })}></label>${messages}`;
    }
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
 * The confirmation before a passkey is removed: a popover (HTML's `popover` attribute, opened by the "Remove"
 * button's `popovertarget`), so it needs no script and works under the nonce-only CSP. Its "Remove passkey" button
 * is the flow's own `passkey_remove` node, tied to the flow form by `form=`; Esc or "Cancel" closes it.
 */
function removeConfirmation(node: UiNode, id: string, name: string): string {
  const popover = `remove-${id}`;
  const a = node.attributes;
  const label = node.meta.label?.text ?? `Remove passkey "${name}"`;
  return `<button${attrs({ type: 'button', class: 'danger small remove-open', popovertarget: popover, disabled: a.disabled, 'aria-label': `Remove ${name}`, 'aria-describedby': a.disabled ? `only-${id}` : undefined })}>Remove</button>
<div${attrs({ popover: 'auto', id: popover, class: 'confirm', role: 'dialog', 'aria-labelledby': `${popover}-title` })}>
<h3 id="${esc(popover)}-title">Remove this passkey?</h3>
<p>You will no longer be able to sign in with <strong>${esc(name)}</strong>.</p>
<div class="buttons"><button${attrs({ type: 'button', class: 'secondary', popovertarget: popover, popovertargetaction: 'hide' })}>Cancel</button>
<button${attrs({ type: 'submit', class: 'danger solid', form: 'flow', name: a.name, value: id, disabled: a.disabled })}>${esc(label)}</button></div>
</div>`;
}

/**
 * Renaming, in a popover too: a separate form (outside the flow form) posting `passkey_rename_id` and
 * `passkey_rename_name` with the flow's CSRF token.
 */
function renameForm(flow: Flow, csrf: string, id: string, name: string): string {
  const popover = `rename-${id}`;
  return `<button${attrs({ type: 'button', class: 'secondary small rename-open', popovertarget: popover, 'aria-label': `Rename ${name}` })}>Rename</button>
<div${attrs({ popover: 'auto', id: popover, class: 'confirm', role: 'dialog', 'aria-labelledby': `${popover}-title` })}>
<h3 id="${esc(popover)}-title">Rename this passkey</h3>
<form class="rename" method="POST" action="${esc(flow.ui.action)}">
<input type="hidden" name="csrf_token" value="${esc(csrf)}"><input type="hidden" name="passkey_rename_id" value="${esc(id)}">
<label>New name<input type="text" name="passkey_rename_name" value="${esc(name)}" required maxlength="64" autocomplete="off"></label>
<div class="buttons"><button${attrs({ type: 'button', class: 'secondary', popovertarget: popover, popovertargetaction: 'hide' })}>Cancel</button>
<button type="submit">Save name</button></div>
</form>
</div>`;
}

/**
 * Settings: one list item per passkey, read from its `passkey_remove` node's label context: its name and dates,
 * "Rename" and "Remove" (each behind a popover), and the messages of its remove node.
 */
function passkeyList(flow: Flow, csrf: string): string {
  const items = flow.ui.nodes.filter(isRemove).map((node) => {
    const c = node.meta.label?.context ?? {};
    const id = String(node.attributes.value);
    const name = String(c.display_name ?? '');
    const synced = c.backed_up ? 'synced' : c.backup_eligible ? 'can sync, not backed up yet' : 'this device only';
    return `<li class="passkey" data-passkey-id="${esc(id)}">
<div class="passkey-row"><div class="passkey-info"><strong class="passkey-name">${esc(name)}</strong>
<small>added ${date(c.added_at)} · last used ${date(c.last_used_at)} · ${esc(synced)}</small>${
      // The router disables the last passkey's "Remove": say why where it shows, not in a tooltip only.
      node.attributes.disabled
        ? `\n<small class="only-passkey" id="only-${esc(id)}">This is your only passkey: add another one before you remove it.</small>`
        : ''
    }</div>
<div class="passkey-actions">
${renameForm(flow, csrf, id, name)}
${removeConfirmation(node, id, name)}
</div></div>
${messageList(node.messages)}</li>`;
  });
  return `<ul id="passkeys" class="plain">${items.join('\n')}</ul>`;
}

const TITLES: Record<FlowKind, string> = {
  registration: 'Sign up',
  login: 'Sign in',
  settings: 'Account settings',
  recovery: 'Recover your account',
  verification: 'Verify your email address',
};
/** A line under the heading, for a flow still asking for something (none once a code is on its way). */
const LEADS: Record<FlowKind, string> = {
  registration: 'Create an account with a passkey: you sign in with your fingerprint, face or screen lock.',
  login: 'Use a passkey saved on this device, on your phone, or on a hardware key.',
  settings: '',
  recovery:
    'Lost your passkeys? Enter your email address: we send you a one-time code to sign in with, then you add a new passkey.',
  verification: 'Enter your email address: we send you a code to confirm that it is yours.',
};
const FOOTERS: Record<FlowKind, string> = {
  registration: '<p>Already have an account? <a href="/login">Sign in</a></p>',
  login: `<p><a href="/recovery">Forgot your passkey?</a></p>
<p>No account yet? <a href="/registration">Sign up</a></p>`,
  settings: '<p><a href="/">Back to your account</a></p>',
  recovery: '<p>Found your passkey? <a href="/login">Sign in</a></p>',
  verification: '<p><a href="/">Back to your account</a></p>',
};

/** Identifier-first's second step (LOGIN_STYLE=identifier_first): who signs in, and a way back (a new flow). */
function signingInAs(flow: Flow): string {
  const typed = flow.ui.nodes.find(
    (n) => n.group === 'identifier_first' && n.attributes.name === 'identifier' && n.attributes.type === 'hidden',
  );
  if (!typed) return '';
  return `<p id="signing-in-as">Signing in as <strong>${esc(typed.attributes.value)}</strong> · <a href="/login">Use another account</a></p>\n`;
}

/**
 * A registration, login, settings, recovery or verification page: the flow's nodes in one form posting to
 * `ui.action` (a verified address's flow has `ui.method: "GET"` and only a "Continue" link). Settings has sections:
 * "Profile" (the traits, a form of their own), "Passkeys" (the list and "Add passkey"), then `page.sections`.
 */
export function flowPage(kind: FlowKind, flow: Flow, nonce: string, page: PageOptions = {}): string {
  const csrfNode = flow.ui.nodes.find((n) => n.attributes.name === 'csrf_token');
  const csrf = String(csrfNode?.attributes.value ?? '');
  const isProfile = (n: UiNode) => n.group === 'profile';
  const focus = focusTarget(flow);
  const nodes = flow.ui.nodes
    .filter((n) => !isRemove(n) && !isProfile(n))
    .map((n) => renderNode(n, nonce, undefined, focus));
  const form = `<form id="flow" method="${esc(flow.ui.method)}" action="${esc(flow.ui.action)}">
${nodes.join('\n')}
</form>`;
  const footer = `<footer class="links">${page.footer ?? FOOTERS[kind]}</footer>`;
  const messages = messageList(flow.ui.messages, 'flow-message');
  if (kind !== 'settings') {
    const asking = flow.state === 'choose_method' || kind === 'registration' || kind === 'login';
    const text = page.lead ?? (asking ? LEADS[kind] : '');
    const lead = text ? `<p class="lead" id="lead">${esc(text)}</p>\n` : '';
    return layout(TITLES[kind], `${lead}${signingInAs(flow)}${messages}\n${form}\n${footer}`, page, 'narrow');
  }
  const body = `${messages}
<section id="profile-section" aria-labelledby="profile-heading"><h2 id="profile-heading">Profile</h2>
${profileForm(flow, csrfNode, nonce, focus)}</section>
<section id="passkeys-section" aria-labelledby="passkeys-heading"><h2 id="passkeys-heading">Passkeys</h2>
<p class="lead">Each passkey signs you in on its own. Add one on every device you use, so losing one never locks you out.</p>
${passkeyList(flow, csrf)}
${form}
</section>
${(page.sections ?? []).map((section) => `<section>${section}</section>`).join('\n')}
${footer}`;
  return layout(TITLES[kind], body, page);
}

/**
 * Settings: the `profile` group (the traits and their "Save" button) in a form of its own, as Ory Elements shows
 * each settings method in its own form: saving the profile posts no passkey fields, adding a passkey no traits.
 */
function profileForm(
  flow: Flow,
  csrfNode: UiNode | undefined,
  nonce: string,
  focus?: { node: UiNode; describedBy: string[] },
): string {
  const profile = flow.ui.nodes.filter((n) => n.group === 'profile');
  if (profile.length === 0) return '';
  const nodes = [...(csrfNode ? [csrfNode] : []), ...profile].map((n) => renderNode(n, nonce, undefined, focus));
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
  return `<section aria-labelledby="addresses-heading"><h2 id="addresses-heading">Email addresses</h2>
<ul id="addresses" class="plain">${items.join('\n')}</ul>${verify}</section>`;
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
  page: PageOptions = {},
): string {
  const signals = user?.signals
    ? `<input type="hidden" name="passkey_signal" value="${esc(JSON.stringify(user.signals.value))}">
<script src="/auth/.well-known/ory/webauthn.js" nonce="${esc(user.signals.nonce)}" async></script>`
    : '';
  if (!user) {
    const body = `<p class="lead">Sign up and sign in with a passkey: your fingerprint, face or screen lock. Nothing to
remember, nothing to phish.</p>
<p id="whoami">You are not signed in.</p>
<p class="actions"><a class="button" href="/registration">Sign up</a> <a href="/login">Sign in</a></p>`;
    return layout('Welcome', body, page, 'narrow');
  }
  const body = `<p id="whoami">Signed in as <strong>${esc(user.email)}</strong>.</p>
${addressList(user.addresses ?? [])}
<p class="actions"><a class="button" href="/settings">Manage passkeys</a> <a href="${esc(user.logoutUrl)}">Log out</a></p>${signals}`;
  return layout('Your account', body, page);
}

/** A self-service error as the router stores it (`GET /self-service/errors?id=` → `error`). */
export interface FlowError {
  id?: string;
  code?: number;
  status?: string;
  reason?: string;
  message?: string;
}

/** The error page (`urls.ui.error`): what went wrong, in the router's words, and the ways on. `null`: gone. */
export function errorPage(error: FlowError | null, page: PageOptions = {}): string {
  const message = error
    ? (error.reason ?? error.message ?? 'The request could not be completed.')
    : 'This error message has expired or never existed.';
  const details = error
    ? `<details class="muted"><summary>Details for support</summary><p id="error-details">Error <code>${esc(error.id ?? 'unknown')}</code>${error.code ? ` (${esc(error.code)} ${esc(error.status ?? '')})` : ''}</p></details>`
    : '';
  const body = `<p class="message error" id="error-message">${esc(message)}</p>
${details}
<p>Nothing was changed. Start again from the page you were on.</p>
<footer class="links"><p class="actions"><a href="/login">Sign in</a> <a href="/">Home</a></p></footer>`;
  return layout('Something went wrong', body, page, 'narrow');
}

/** One of the user's other sessions, as `auth.listSessions(req)` gives it. */
export interface OtherSession {
  id: string;
  issuedAt: Date;
  devices: { ipAddress: string; userAgent: string; location: string }[];
}

/**
 * Settings, "Where you're signed in": the user's other sessions (browser and OS from the user agent of their last
 * sign-in, IP, place, when signed in), each with "Sign out", then "Sign out everywhere else". Each button is a form
 * posting to the example, which ends the session through the router (`DELETE /auth/sessions/...`).
 */
export function sessionsSection(sessions: OtherSession[], describe: (userAgent: string) => string): string {
  const items = sessions.map((s) => {
    const device = s.devices[s.devices.length - 1];
    // A browser by name and system; anything else (a native app) by the start of what it calls itself.
    const name = (device && (describe(device.userAgent) || device.userAgent.slice(0, 40))) || 'Unknown device';
    const where = [device?.ipAddress, device?.location].filter(Boolean).join(' · ');
    return `<li class="session" data-session-id="${esc(s.id)}">
<div class="passkey-row"><div class="passkey-info"><strong class="session-device">${esc(name)}</strong>
<small>signed in ${date(s.issuedAt.toISOString())}${where ? ` · ${esc(where)}` : ''}</small></div>
<form class="passkey-actions" method="POST" action="/settings/sessions/${encodeURIComponent(s.id)}/sign-out">
<button type="submit" class="danger small" aria-label="Sign out ${esc(name)}">Sign out</button></form></div></li>`;
  });
  const list = sessions.length
    ? `<p class="muted">This device, and:</p>
<ul id="sessions" class="plain">${items.join('\n')}</ul>
<form method="POST" action="/settings/sessions/sign-out-others"><button type="submit" class="secondary" id="sign-out-others">Sign out everywhere else</button></form>`
    : '<p id="sessions-none" class="muted">You are signed in on this device only.</p>';
  return `<h2 id="sessions-heading">Where you're signed in</h2>
${list}`;
}

/** One identity as the admin page shows it (from `auth.admin`). */
export interface AdminIdentityView {
  id: string;
  email: string;
  state: 'active' | 'inactive';
  createdAt: Date;
  passkeys: number;
}

/**
 * The support page at `/admin` (only with `ADMIN_TOKEN` set): sign in with the token, find an identity by email, then
 * disable or enable it, make a recovery code, or delete it. `found` is the search result (`null`: nobody has that
 * address); `notice` the outcome of the last action (with the recovery link and code once, right after making them).
 */
export function adminPage(
  view:
    | { signedIn: false; error?: string }
    | {
        signedIn: true;
        query: string;
        found?: AdminIdentityView | null;
        notice?: { text: string; recovery?: { link: string; code: string; expiresAt: Date } };
      },
  page: PageOptions = {},
): string {
  if (!view.signedIn) {
    // A refused token: an alert, and focus back on the field it describes.
    const error = view.error ? `<p class="message error" id="admin-error" role="alert">${esc(view.error)}</p>\n` : '';
    const refused = view.error ? { 'aria-invalid': 'true', 'aria-describedby': 'admin-error', autofocus: true } : {};
    const body = `<p class="lead">Support tools. Enter the admin token the server was started with.</p>
${error}<form method="POST" action="/admin/login"><label>Admin token<input${attrs({ type: 'password', name: 'token', required: true, autocomplete: 'off', ...refused })}></label>
<button type="submit">Open support tools</button></form>`;
    return layout('Support', body, page, 'narrow');
  }
  const notice = view.notice
    ? `<p class="message success" id="admin-notice" role="status">${esc(view.notice.text)}</p>${
        view.notice.recovery
          ? `<dl id="recovery-code"><dt>Recovery link</dt><dd><code>${esc(view.notice.recovery.link)}</code></dd>
<dt>Code</dt><dd><code>${esc(view.notice.recovery.code)}</code></dd>
<dt>Valid until</dt><dd>${esc(view.notice.recovery.expiresAt.toISOString().replace('T', ' ').slice(0, 16))} UTC</dd></dl>
<p class="muted">Give both to the user over a channel you trust. The code works once.</p>`
          : ''
      }`
    : '';
  let result = '';
  if (view.found === null) result = `<p class="muted" id="admin-result">No account has this address.</p>`;
  if (view.found) {
    const f = view.found;
    const badge =
      f.state === 'active'
        ? '<span class="badge verified">active</span>'
        : '<span class="badge unverified">disabled</span>';
    const action = (name: string, label: string, cls = 'secondary') =>
      `<form method="POST" action="/admin/identities/${esc(f.id)}/${name}" class="inline"><button type="submit" class="${cls} small">${esc(label)}</button></form>`;
    result = `<section id="admin-result"><h2>${esc(f.email)} ${badge}</h2>
<p class="muted">${f.passkeys === 1 ? '1 passkey' : `${f.passkeys} passkeys`} · since ${esc(f.createdAt.toISOString().slice(0, 10))}</p>
<div class="actions">${f.state === 'active' ? action('disable', 'Disable') : action('enable', 'Enable')}
${action('recovery-code', 'Make a recovery code')}
<button type="button" class="danger small" popovertarget="delete-${esc(f.id)}">Delete…</button></div>
<div popover id="delete-${esc(f.id)}" class="confirm"><p>Delete <strong>${esc(f.email)}</strong> with its passkeys and sessions? This cannot be undone.</p>
<div class="buttons"><button type="button" class="secondary" popovertarget="delete-${esc(f.id)}" popovertargetaction="hide">Cancel</button>
${action('delete', 'Delete account', 'danger solid')}</div></div></section>`;
  }
  const body = `${notice}<form method="GET" action="/admin" id="admin-search"><label>Find an account by email<input type="email" name="email" value="${esc(view.query)}" required></label>
<button type="submit">Find</button></form>
${result}`;
  return layout('Support', body, page);
}
