/* express-passkeys webauthn.js: the browser helper, compiled by scripts/build-browser.mjs to the bytes served. */
/*
 * The browser helper served at `GET /.well-known/ory/webauthn.js` (SPEC section 3). A classic script (no imports or
 * exports, everything inside one IIFE) type-checked with the DOM library and compiled to ES2017 by
 * `scripts/build-browser.mjs` into `src/browser/webauthn.generated.ts`, whose string is served byte for byte and
 * hashed for the `integrity` attribute (`src/ui/webauthn-script.ts`). Keep it ASCII.
 *
 * Where it may post (an HTML injection on the page must not be able to take a passkey ceremony elsewhere): at load,
 * the script learns its own origin and mount path from its own script element (`document.currentScript`, else the
 * script elements with id `webauthn_script` or a `src` ending in `/.well-known/ory/webauthn.js`, which must agree; a
 * relative `src` must resolve to the page's origin). A ceremony runs only for a form whose resolved `action` (a relative
 * one as the browser resolves it) has that origin and the path `<mount>/self-service/login`, `.../registration` or
 * `.../settings`, with a non-empty `flow` query parameter, and whose method is POST: a "flow form". Any other form is
 * ignored with a `console.warn`; no ceremony starts for it, nothing is submitted to it, and a click on its trigger
 * neither aborts a pending autofill request nor submits it natively. The script may be served from another origin
 * than the page's: the actions must then be on the script's origin (they are: `ui.action` and the script's `src`
 * share the router's base URL). DOM methods and getters come from the prototypes, so named elements (DOM clobbering:
 * `<img name="currentScript">`, `<input name="action">`) cannot stand in for them.
 *
 * DOM contract (the flow's nodes as a generic or server-rendered UI renders them):
 * - hidden inputs, found by `name` inside the flow form only (they must be in it and belong to it): `passkey_create_data`
 *   (registration: `{ credentialOptions: { publicKey }, displayNameFieldName }`, the display-name input also read from
 *   the form; settings: `{ publicKey }`), `passkey_challenge` (`{ publicKey }`), and the result inputs
 *   `passkey_register`, `passkey_settings_register`, `passkey_login`. The flow form is submitted with
 *   `HTMLFormElement.prototype.submit` (no submit event, no submitter name/value), after checking again that it is one.
 * - click triggers, handled by one delegated capture-phase `click` listener on `document`: any element with
 *   `data-onclicktrigger` (or `data-onclick-trigger`) naming one of the four functions, and `button`/`input` elements
 *   named `passkey_register_trigger` / `passkey_login_trigger` (the ceremony chosen by the result input present in the
 *   same form). Trigger clicks are `preventDefault()`ed. The trigger's form must be a flow form; a trigger outside any
 *   form runs for the first flow form on the page holding the result input.
 * - load triggers (scanned on DOMContentLoaded and, through a MutationObserver, whenever nodes are added later):
 *   `data-onloadtrigger="oryPasskeyLoginAutocompleteInit"` (or `data-onload-trigger`), or a `passkey_login` input whose
 *   form has an input with the `webauthn` autocomplete token. Conditional UI runs for one form only: the first flow form
 *   in document order that asks for it. It starts once per form and challenge (a changed `passkey_challenge` value,
 *   i.e. a new flow, starts it again).
 * - globals: `oryPasskeyRegistration`, `oryPasskeyLogin`, `oryPasskeyLoginAutocompleteInit`,
 *   `oryPasskeySettingsRegistration`, and the same with a `__` prefix (the names Kratos's own UIs call). Once they are
 *   defined: `window.__oryWebAuthnInitialized = true` and an `oryWebAuthnInitialized` event on `window` (Ory Elements
 *   enables its passkey method button on it when the script loads after the card rendered). Each takes an
 *   optional element (the trigger): its form, which must be a flow form, is used; without one (Ory Elements calls
 *   `window.oryPasskeyLogin()`), the first flow form on the page that holds the result input. Each returns a promise
 *   that never rejects.
 * - signals (WebAuthn L3 Signal API, SPEC section 7): every hidden input named `passkey_signal` on the page (in a flow
 *   form, or on the app's own page rendering `auth.signals(req)`), read at load and whenever the scan runs again,
 *   each distinct value once. Its JSON value `{ unknownCredential?, allAcceptedCredentials?, currentUserDetails? }` is
 *   passed to `PublicKeyCredential.signalUnknownCredential` / `signalAllAcceptedCredentials` /
 *   `signalCurrentUserDetails` where the browser has them (feature-detected; errors swallowed; nothing waits for
 *   them). As injected markup could plant such an input: an `unknownCredential` is signalled only for the credential
 *   id (and RP ID) of this tab's own last sign-in ceremony, kept in `sessionStorage` for that; an
 *   `allAcceptedCredentials` with an empty list, or any part with a malformed id, is ignored; the other two parts
 *   only act on the passkeys of the user handle they name, which only that user's session is ever shown.
 */

(() => {
  type Kind = 'login' | 'registration' | 'settings';
  type TriggerName =
    | 'oryPasskeyRegistration'
    | 'oryPasskeyLogin'
    | 'oryPasskeyLoginAutocompleteInit'
    | 'oryPasskeySettingsRegistration';
  type Json = Record<string, unknown>;
  /** A form control found by name: what this script reads and writes on it. */
  type Field = HTMLElement & { name: string; value: string; form: HTMLFormElement | null };
  /** The Signal API (WebAuthn L3) and the JSON parsers, where the browser has them. */
  type Statics = Record<string, ((arg?: unknown) => unknown) | undefined>;

  if (typeof window === 'undefined' || typeof document === 'undefined') return;
  const win = window as unknown as Record<string, unknown>;
  // Own property only: a named element (<img name="__expressPasskeysWebauthn">) shows up on window, not as its own.
  // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn is ES2022, this script runs on ES2017 browsers.
  if (Object.prototype.hasOwnProperty.call(window, '__expressPasskeysWebauthn')) return;
  try {
    Object.defineProperty(window, '__expressPasskeysWebauthn', { value: true });
  } catch (_e) {
    win['__expressPasskeysWebauthn'] = true;
  }

  const TRIGGERS: TriggerName[] = [
    'oryPasskeyRegistration',
    'oryPasskeyLogin',
    'oryPasskeyLoginAutocompleteInit',
    'oryPasskeySettingsRegistration',
  ];
  const CLICK_ATTRS = ['data-onclicktrigger', 'data-onclick-trigger'];
  const LOAD_ATTRS = ['data-onloadtrigger', 'data-onload-trigger'];
  const TRIGGER_NAMES = ['passkey_register_trigger', 'passkey_login_trigger'];

  // A modal ceremony is running, or its result is being submitted.
  let busy = false;
  let busyTimer: ReturnType<typeof setTimeout> | null = null;
  // The pending conditional-UI request.
  let conditional: { controller: AbortController; challenge: string; form: HTMLFormElement } | null = null;
  // The element conditional UI was last started for, to start it again after a failed modal ceremony.
  let conditionalOwner: Element | null = null;
  let conditionalWanted = false;
  // Per form: the challenge conditional UI was started with (a UI library may swap in a new flow later).
  let started = new WeakMap<HTMLFormElement, string>();

  function describe(err: unknown): string {
    const e = err as { name?: string; message?: string } | null;
    if (e?.name) return e.name + ': ' + e.message;
    return String(err);
  }

  function warn(what: string, ...err: unknown[]): void {
    try {
      if (err.length > 0) console.warn('[webauthn.js] ' + what + ' (' + describe(err[0]) + ')');
      else console.warn('[webauthn.js] ' + what);
    } catch (_e) {
      // no console
    }
  }

  function supported(): boolean {
    return (
      typeof window.PublicKeyCredential === 'function' &&
      !!navigator.credentials &&
      typeof navigator.credentials.create === 'function' &&
      typeof navigator.credentials.get === 'function'
    );
  }

  function statics(): Statics {
    return window.PublicKeyCredential as unknown as Statics;
  }

  // ---- base64url ----------------------------------------------------------------------------------------------

  function replaceAll(s: string, from: string, to: string): string {
    return s.split(from).join(to);
  }

  function toBuffer(value: unknown): ArrayBuffer {
    if (value instanceof ArrayBuffer) return value;
    if (ArrayBuffer.isView(value)) {
      return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
    }
    let s = replaceAll(replaceAll(replaceAll(String(value), '-', '+'), '_', '/'), '=', '');
    while (s.length % 4) s += '=';
    const bin = atob(s);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buf: ArrayBuffer | ArrayBufferView): string {
    const bytes =
      buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, Array.prototype.slice.call(bytes.subarray(i, i + 0x8000)));
    }
    return replaceAll(replaceAll(replaceAll(btoa(bin), '+', '-'), '/', '_'), '=', '');
  }

  function isBinary(v: unknown): v is ArrayBuffer | ArrayBufferView {
    return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  }

  // Client extension results may hold ArrayBuffers (prf, largeBlob): encode them the way toJSON() does.
  function encodeDeep(v: unknown): unknown {
    if (isBinary(v)) return toBase64url(v);
    if (Array.isArray(v)) return v.map(encodeDeep);
    if (v && typeof v === 'object') {
      const out: Json = {};
      for (const k of Object.keys(v)) out[k] = encodeDeep((v as Json)[k]);
      return out;
    }
    return v;
  }

  // ---- options ------------------------------------------------------------------------------------------------

  function descriptor(d: Json): Json {
    return Object.assign({}, d, { id: toBuffer(d['id']) });
  }

  // The parser the browser has (parseCreationOptionsFromJSON / parseRequestOptionsFromJSON), or null.
  function nativeParse(name: string, json: Json): unknown {
    const parse = statics()[name];
    if (typeof parse !== 'function') return null;
    try {
      return parse.call(window.PublicKeyCredential, json);
    } catch (e) {
      warn(name + ' failed, decoding the options itself', e);
      return null;
    }
  }

  function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
    const native = nativeParse('parseCreationOptionsFromJSON', json);
    if (native) return native as PublicKeyCredentialCreationOptions;
    const o: Json = Object.assign({}, json);
    o['challenge'] = toBuffer(json['challenge']);
    const user = json['user'] as Json;
    o['user'] = Object.assign({}, user, { id: toBuffer(user['id']) });
    const exclude = json['excludeCredentials'];
    if (Array.isArray(exclude)) o['excludeCredentials'] = exclude.map(descriptor);
    return o as unknown as PublicKeyCredentialCreationOptions;
  }

  function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
    const native = nativeParse('parseRequestOptionsFromJSON', json);
    if (native) return native as PublicKeyCredentialRequestOptions;
    const o: Json = Object.assign({}, json);
    o['challenge'] = toBuffer(json['challenge']);
    const allow = json['allowCredentials'];
    if (Array.isArray(allow)) o['allowCredentials'] = allow.map(descriptor);
    return o as unknown as PublicKeyCredentialRequestOptions;
  }

  // ---- credential -> JSON ---------------------------------------------------------------------------------------

  function attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (_e) {
      return undefined;
    }
  }

  // Calls an optional method of a credential response (getTransports, getPublicKey, ...) if it has it.
  function optional(r: object, name: string): unknown {
    const fn = (r as Record<string, unknown>)[name];
    return typeof fn === 'function' ? attempt(() => fn.call(r)) : undefined;
  }

  function serialise(cred: PublicKeyCredential): unknown {
    if (typeof cred.toJSON === 'function') {
      const native = attempt(() => cred.toJSON());
      if (native && typeof native === 'object') return native;
    }
    const r = cred.response;
    const response: Json = { clientDataJSON: toBase64url(r.clientDataJSON) };
    const a = r as AuthenticatorAttestationResponse;
    if (a.attestationObject) {
      response['attestationObject'] = toBase64url(a.attestationObject);
      const authData = optional(a, 'getAuthenticatorData');
      if (authData) response['authenticatorData'] = toBase64url(authData as ArrayBuffer);
      const transports = optional(a, 'getTransports');
      response['transports'] = Array.isArray(transports) ? transports : [];
      const publicKey = optional(a, 'getPublicKey');
      if (publicKey) response['publicKey'] = toBase64url(publicKey as ArrayBuffer);
      const alg = optional(a, 'getPublicKeyAlgorithm');
      if (typeof alg === 'number') response['publicKeyAlgorithm'] = alg;
    } else {
      const g = r as AuthenticatorAssertionResponse;
      response['authenticatorData'] = toBase64url(g.authenticatorData);
      response['signature'] = toBase64url(g.signature);
      if (g.userHandle) response['userHandle'] = toBase64url(g.userHandle);
    }
    const extensions = typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {};
    const out: Json = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response,
      clientExtensionResults: encodeDeep(extensions),
    };
    if (typeof cred.authenticatorAttachment === 'string') out['authenticatorAttachment'] = cred.authenticatorAttachment;
    return out;
  }

  // ---- DOM ----------------------------------------------------------------------------------------------------

  // DOM methods and getters are taken from the prototypes: injected markup can shadow document.x and form.x with
  // named elements (DOM clobbering: <img name="currentScript">, <input name="action">), but not these.
  const DOC = Document.prototype;
  function getter<T>(proto: object, name: string): ((this: unknown) => T) | null {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    return d && typeof d.get === 'function' ? d.get : null;
  }
  const currentScriptOf = getter<HTMLOrSVGScriptElement | null>(DOC, 'currentScript');
  const readyStateOf = getter<DocumentReadyState>(DOC, 'readyState');
  const rootOf = getter<HTMLElement>(DOC, 'documentElement');
  const actionOf = getter<string>(HTMLFormElement.prototype, 'action');
  const methodOf = getter<string>(HTMLFormElement.prototype, 'method');
  const contains = Node.prototype.contains;
  const listen = EventTarget.prototype.addEventListener;
  const inputValueOf = getter<string>(HTMLInputElement.prototype, 'value');

  function byName(name: string): NodeListOf<Field> {
    return DOC.getElementsByName.call(document, name) as NodeListOf<Field>;
  }

  function selectAll(root: ParentNode, selector: string): NodeListOf<Element> {
    return root === document
      ? DOC.querySelectorAll.call(document, selector)
      : Element.prototype.querySelectorAll.call(root, selector);
  }

  // ---- where this script was loaded from ----------------------------------------------------------------------

  const SCRIPT_PATH = '/.well-known/ory/webauthn.js';
  const FLOW_KINDS: Kind[] = ['login', 'registration', 'settings'];
  const RESULTS: Record<Kind, string[]> = {
    login: ['passkey_login'],
    registration: ['passkey_register'],
    settings: ['passkey_settings_register', 'passkey_register'],
  };

  interface Located {
    origin: string;
    mount: string;
  }

  // The origin and mount path of a script element loading this file; null when its src is not this file's; false
  // when a relative src resolves to another origin than the page's (a <base href> injected after the script tag
  // changes what a relative src resolves to, not where the script was fetched from).
  function located(s: unknown): Located | null | false {
    if (!(s instanceof HTMLScriptElement)) return null;
    const raw = s.getAttribute('src');
    if (!raw) return null;
    const u = attempt(() => new URL(s.src));
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return null;
    const path = u.pathname;
    if (path.length < SCRIPT_PATH.length || path.slice(path.length - SCRIPT_PATH.length) !== SCRIPT_PATH) return null;
    if (!/^([a-z][a-z0-9+.-]*:|[/][/])/i.test(raw.trim()) && u.origin !== location.origin) return false;
    return { origin: u.origin, mount: path.slice(0, path.length - SCRIPT_PATH.length) };
  }

  // Read once, at load: document.currentScript is only set while the script runs. Without it (a module, a loader),
  // the script elements with id webauthn_script or a src ending in SCRIPT_PATH, which must all agree.
  function findSelf(): Located | null {
    if (!currentScriptOf || !actionOf || !methodOf) return null;
    const current = currentScriptOf.call(document);
    if (current) return located(current) || null;
    let found: Located | null = null;
    const scripts = DOC.getElementsByTagName.call(document, 'script');
    for (let i = 0; i < scripts.length; i++) {
      const here = located(scripts[i]);
      if (here === null && scripts[i]!.id !== 'webauthn_script') continue;
      if (!here || (found && (found.origin !== here.origin || found.mount !== here.mount))) return null;
      found = here;
    }
    return found;
  }

  const SELF = findSelf();
  if (!SELF) {
    warn(
      'cannot tell which server webauthn.js was loaded from (its script element must have a src ending in ' +
        SCRIPT_PATH +
        '): passkeys are off',
    );
  }

  // The flow a form posts to ('login', 'registration', 'settings'), or null unless it posts (method POST) to one of
  // this library's own flow actions: the origin this script was loaded from, the path <mount>/self-service/<flow>,
  // a flow query parameter. A relative action counts as the browser resolves it.
  function flowKind(form: unknown): Kind | null {
    if (!SELF || !(form instanceof HTMLFormElement) || methodOf!.call(form) !== 'post') return null;
    const u = attempt(() => new URL(actionOf!.call(form)));
    if (!u || u.origin !== SELF.origin || !u.searchParams.get('flow')) return null;
    for (const kind of FLOW_KINDS) {
      if (u.pathname === SELF.mount + '/self-service/' + kind) return kind;
    }
    return null;
  }

  const warned = new WeakSet<HTMLFormElement>();

  // Says why a form is left alone (once per form when once is set: the scan sees the same forms again and again).
  function ignore(form: HTMLFormElement, what: string, once: boolean): void {
    if (once) {
      if (warned.has(form)) return;
      warned.add(form);
    }
    if (!SELF) {
      warn(what + ': ignored, passkeys are off');
      return;
    }
    const action = attempt(() => String(actionOf!.call(form)).slice(0, 200));
    warn(what + ': ignoring a form posting to ' + action + ', not to a flow action of ' + SELF.origin + SELF.mount);
  }

  function formOf(el: Element | null): HTMLFormElement | null {
    if (!el) return null;
    const own = (el as Partial<Field>).form;
    if (own) return own;
    return typeof el.closest === 'function' ? el.closest('form') : null;
  }

  // The first element named name inside form and belonging to it; nothing outside the form counts.
  function field(form: HTMLFormElement | null, name: string): Field | null {
    if (!form) return null;
    const list = byName(name);
    for (let i = 0; i < list.length; i++) {
      const el = list[i]!;
      if (el.form === form && contains.call(form, el)) return el;
    }
    return null;
  }

  // The first form on the page that posts to a flow action and holds one of the result inputs (in that order).
  function pageForm(results: string[]): HTMLFormElement | null {
    for (const result of results) {
      const list = byName(result);
      for (let i = 0; i < list.length; i++) {
        const form = list[i]!.form;
        if (!form || !contains.call(form, list[i]!)) continue;
        if (flowKind(form)) return form;
        ignore(form, 'passkeys', true);
      }
    }
    return null;
  }

  function isElement(arg: unknown): arg is Element {
    return !!arg && (arg as Node).nodeType === 1;
  }

  // The form a call runs for: the trigger's form, which must post to a flow action; without a trigger (a UI library
  // calling window.oryPasskeyLogin()) or for one outside any form, the first such form on the page.
  function formFor(arg: unknown, kind: Kind, what: string, quiet: boolean): HTMLFormElement | null {
    const own = isElement(arg) ? formOf(arg) : null;
    if (own) {
      if (flowKind(own)) return own;
      ignore(own, what, quiet);
      return null;
    }
    const form = pageForm(RESULTS[kind]);
    if (!form && !quiet) warn(what + ': no form posting to a flow action holds ' + RESULTS[kind].join(' or '));
    return form;
  }

  function readJSON(el: Field): Json | null {
    const raw = el.value;
    if (!raw) throw new Error('the ' + el.name + ' input is empty');
    return JSON.parse(raw);
  }

  function submitWith(form: HTMLFormElement, resultEl: Field, credential: PublicKeyCredential): void {
    // Checked again: the page may have changed the form while the ceremony ran.
    if (!flowKind(form) || resultEl.form !== form) throw new Error('the form no longer posts to a flow action');
    resultEl.value = JSON.stringify(serialise(credential));
    // Not requestSubmit(): no submit event for a UI library to intercept, no submitter name/value required,
    // and an input named "submit" cannot shadow it.
    HTMLFormElement.prototype.submit.call(form);
  }

  // ---- Signal API -----------------------------------------------------------------------------------------------

  const LAST_CEREMONY = '__expressPasskeysLastCeremony';
  // Signal values already handled on this page.
  const signalled: Record<string, boolean> = Object.create(null);

  function tabStorage(): Storage | undefined {
    return attempt(() => window.sessionStorage);
  }

  // The credential id (and RP ID) this tab is about to post, from a sign-in or a registration: the only id an
  // unknownCredential may name (the server names it when it refused that post: a sign-in with a credential it does
  // not know, or a registration it did not store, so that the passkey manager drops the orphan).
  function remember(cred: PublicKeyCredential, rpId: unknown): void {
    const store = tabStorage();
    if (!store || typeof cred.id !== 'string') return;
    const rp = typeof rpId === 'string' && rpId ? rpId : location.hostname;
    attempt(() => store.setItem(LAST_CEREMONY, JSON.stringify({ credentialId: cred.id, rpId: rp })));
  }

  // Is this the credential this tab last posted? Forgets it when it is (it is signalled once).
  function lastCeremony(u: { credentialId: string; rpId: string }): boolean {
    const store = tabStorage();
    const last = store ? attempt(() => JSON.parse(store.getItem(LAST_CEREMONY) || 'null')) : null;
    if (!last || last.credentialId !== u.credentialId || last.rpId !== u.rpId) return false;
    attempt(() => store!.removeItem(LAST_CEREMONY));
    return true;
  }

  function isId(v: unknown): v is string {
    return typeof v === 'string' && v.length > 0 && v.length <= 1400 && /^[A-Za-z0-9_-]+$/.test(v);
  }

  function isRpId(v: unknown): v is string {
    return typeof v === 'string' && v.length > 0 && v.length <= 253;
  }

  // Calls PublicKeyCredential[name](arg) if the browser has it; never throws, never waits.
  function signal(name: string, arg: Json): void {
    if (typeof window.PublicKeyCredential !== 'function') return;
    const fn = statics()[name];
    if (typeof fn !== 'function') return;
    attempt(() => {
      const pending = fn.call(window.PublicKeyCredential, arg) as Promise<unknown> | undefined;
      if (pending && typeof pending.then === 'function') pending.then(null, () => {});
    });
  }

  function applySignals(raw: string): void {
    const data = attempt(() => JSON.parse(raw));
    if (!data || typeof data !== 'object') return;
    const u = data.unknownCredential;
    if (u && isRpId(u.rpId) && isId(u.credentialId) && lastCeremony(u)) {
      signal('signalUnknownCredential', { rpId: u.rpId, credentialId: u.credentialId });
    }
    const a = data.allAcceptedCredentials;
    const ids: unknown[] = a && Array.isArray(a.allAcceptedCredentialIds) ? a.allAcceptedCredentialIds : [];
    if (a && isRpId(a.rpId) && isId(a.userId) && ids.length > 0 && ids.every(isId)) {
      signal('signalAllAcceptedCredentials', { rpId: a.rpId, userId: a.userId, allAcceptedCredentialIds: ids.slice() });
    }
    const d = data.currentUserDetails;
    if (
      d &&
      isRpId(d.rpId) &&
      isId(d.userId) &&
      typeof d.name === 'string' &&
      d.name &&
      typeof d.displayName === 'string'
    ) {
      signal('signalCurrentUserDetails', { rpId: d.rpId, userId: d.userId, name: d.name, displayName: d.displayName });
    }
  }

  // Every passkey_signal input on the page, each distinct value once.
  function readSignals(): void {
    if (!inputValueOf) return;
    const list = byName('passkey_signal');
    for (let i = 0; i < list.length; i++) {
      const el = list[i];
      if (!(el instanceof HTMLInputElement)) continue;
      const raw = inputValueOf.call(el);
      if (!raw || signalled[raw]) continue;
      signalled[raw] = true;
      applySignals(raw);
    }
  }

  // ---- failures shown on the page -------------------------------------------------------------------------------

  // What a person reads when a ceremony they started fails, by the error's name.
  const FAILURES: Record<string, string> = {
    InvalidStateError: 'This device already has a passkey for this account.',
    NotAllowedError: 'Passkey request cancelled. Try again.',
    AbortError: 'Passkey request cancelled. Try again.',
    NotSupportedError: 'This browser does not support passkeys.',
  };
  const FAILED = 'The passkey request did not complete. Try again.';
  // The page's own region for these messages, if it has one; otherwise the helper adds one after the trigger.
  const REGION_ID = 'passkeys-error';
  const regions = new WeakMap<HTMLFormElement, HTMLElement>();

  // The region for a form: the page's #passkeys-error, else the one this script added (after the trigger, or at the
  // end of the form when the call came without one, as Ory Elements makes it).
  function regionFor(form: HTMLFormElement, trigger: Element | null): HTMLElement | null {
    const own = DOC.getElementById.call(document, REGION_ID);
    if (own instanceof HTMLElement) return own;
    let region = regions.get(form);
    if (!region || !contains.call(document, region)) {
      region = document.createElement('div');
      region.setAttribute('role', 'alert');
      region.setAttribute('aria-live', 'assertive');
      region.className = 'passkeys-error';
      regions.set(form, region);
    }
    const anchor = trigger && contains.call(form, trigger) ? trigger : null;
    if (anchor) anchor.insertAdjacentElement('afterend', region);
    else if (region.parentNode !== form) form.appendChild(region);
    return region;
  }

  // Tells the page why a ceremony failed: a `passkeys:error` event (bubbling from the form; detail: name, message,
  // flow kind), then, unless a listener called preventDefault() to show it its own way, the message in the region.
  function report(form: HTMLFormElement, trigger: Element | null, kind: Kind, name: unknown): void {
    const errorName = typeof name === 'string' && name ? name : 'Error';
    const message = FAILURES[errorName] || FAILED;
    const target: EventTarget = contains.call(document, form) ? form : document;
    let shown = true;
    attempt(() => {
      const ev = new CustomEvent('passkeys:error', {
        bubbles: true,
        cancelable: true,
        detail: { name: errorName, message, flow: kind },
      });
      shown = target.dispatchEvent(ev);
    });
    if (!shown) return;
    attempt(() => {
      const region = regionFor(form, trigger);
      if (region) region.textContent = message;
    });
  }

  // A new attempt: the last failure's message goes away (only from this script's own regions and the page's).
  function clearReport(form: HTMLFormElement): void {
    const own = DOC.getElementById.call(document, REGION_ID);
    if (own) own.textContent = '';
    const region = regions.get(form);
    if (region) region.textContent = '';
  }

  // ---- ceremonies -----------------------------------------------------------------------------------------------

  function abortConditional(): void {
    if (!conditional) return;
    const c = conditional;
    conditional = null;
    try {
      c.controller.abort();
    } catch (_e) {
      // ignore
    }
  }

  function register(form: HTMLFormElement, settings: boolean): Promise<boolean> {
    const dataEl = field(form, 'passkey_create_data');
    const resultEl = settings
      ? field(form, 'passkey_settings_register') || field(form, 'passkey_register')
      : field(form, 'passkey_register');
    if (!dataEl || !resultEl) {
      warn(
        'passkey ' +
          (settings ? 'settings ' : '') +
          'registration: passkey_create_data or the result input is missing in the form',
      );
      return Promise.resolve(false);
    }
    const data = readJSON(dataEl);
    const wrapped = data?.['credentialOptions'] as Json | undefined;
    const found = (wrapped?.['publicKey'] ? wrapped['publicKey'] : data?.['publicKey']) as Json | undefined;
    if (!found?.['challenge'] || !found['user']) throw new Error('passkey_create_data holds no creation options');
    const user: Json = Object.assign({}, found['user']);
    const json: Json = Object.assign({}, found, { user });
    const nameField = data!['displayNameFieldName'];
    if (nameField) {
      const traitEl = field(form, String(nameField));
      const value = traitEl && typeof traitEl.value === 'string' ? traitEl.value.trim() : '';
      if (value) {
        if (!user['name']) user['name'] = value;
        if (!user['displayName']) user['displayName'] = value;
      }
    }
    if (typeof user['name'] !== 'string') user['name'] = '';
    if (typeof user['displayName'] !== 'string') user['displayName'] = user['name'];
    const publicKey = creationOptions(json);
    const rpId = (json['rp'] as Json | undefined)?.['id'];
    return precheck(form, settings).then((go) => {
      if (!go) return true;
      return navigator.credentials.create({ publicKey }).then((cred) => {
        if (!cred) throw new Error('no credential was created');
        remember(cred as PublicKeyCredential, rpId);
        submitWith(form, resultEl, cred as PublicKeyCredential);
        return true;
      });
    });
  }

  // What the server last accepted, per form: a retry right after (a cancelled ceremony) does not ask again, so
  // create() stays close to the click (Safari wants a recent user gesture).
  const prechecked = new WeakMap<HTMLFormElement, { body: string; at: number }>();

  // Before any passkey exists, the server says whether it would take one: for a sign-up it validates the traits and
  // the identifier's availability (the flow's `method: "profile"` step, posted with the form's own fields); for
  // "Add passkey" it checks that the session may still change settings (`method: "passkey"` with nothing in it).
  // Both are answered as JSON. Resolves true to go on with create(); false when the server refused and the page is
  // on its way to show why: a session too old to change settings goes to the sign-in the server names
  // (redirect_browser_to, on this script's origin), anything else submits the form as it is, with no credential, so
  // the page shows the server's messages (a missing or taken email, an expired flow). When the answer says nothing
  // (offline, a cross-origin action without CORS, a 5xx), the ceremony goes on, and a refusal after create() is
  // signalled back (unknownCredential) to drop the passkey again.
  function precheck(form: HTMLFormElement, settings: boolean): Promise<boolean> {
    if (typeof fetch !== 'function' || typeof FormData !== 'function' || typeof URLSearchParams !== 'function') {
      return Promise.resolve(true);
    }
    const params = new URLSearchParams();
    new FormData(form).forEach((value, key) => {
      if (typeof value !== 'string' || key === 'method' || key.indexOf('passkey_') === 0) return;
      if (!settings || key === 'csrf_token') params.append(key, value);
    });
    params.append('method', settings ? 'passkey' : 'profile');
    const body = params.toString();
    const last = prechecked.get(form);
    if (last && last.body === body && Date.now() - last.at < 60000) return Promise.resolve(true);
    return fetch(actionOf!.call(form), {
      method: 'POST',
      body: params,
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      redirect: 'manual',
    }).then(
      (res) => {
        // Settings: "nothing to do" (400) is the expected answer of a session that may add a passkey.
        if (res.ok || (settings && res.status === 400)) {
          prechecked.set(form, { body, at: Date.now() });
          return true;
        }
        if (res.type !== 'opaqueredirect' && (res.status < 400 || res.status >= 500)) return true;
        return res
          .json()
          .then(null, () => null)
          .then((answer: { redirect_browser_to?: unknown } | null) => {
            if (!flowKind(form)) throw new Error('the form no longer posts to a flow action');
            const to = answer && typeof answer.redirect_browser_to === 'string' ? answer.redirect_browser_to : '';
            const url = to ? attempt(() => new URL(to, actionOf!.call(form))) : undefined;
            if (res.status === 403 && url && url.origin === SELF!.origin) location.assign(url.href);
            else HTMLFormElement.prototype.submit.call(form);
            return false;
          });
      },
      () => true,
    );
  }

  function login(form: HTMLFormElement): Promise<boolean> {
    const dataEl = field(form, 'passkey_challenge');
    const resultEl = field(form, 'passkey_login');
    if (!dataEl || !resultEl) {
      warn('passkey login: passkey_challenge or passkey_login is missing in the form');
      return Promise.resolve(false);
    }
    const json = readJSON(dataEl)?.['publicKey'] as Json | undefined;
    if (!json?.['challenge']) throw new Error('passkey_challenge holds no request options');
    return navigator.credentials.get({ publicKey: requestOptions(json) }).then((cred) => {
      if (!cred) throw new Error('no credential was returned');
      remember(cred as PublicKeyCredential, json['rpId']);
      submitWith(form, resultEl, cred as PublicKeyCredential);
      return true;
    });
  }

  function unlock(): void {
    busy = false;
    if (busyTimer) clearTimeout(busyTimer);
    busyTimer = null;
  }

  // Runs one modal ceremony at a time; never rejects.
  function run(kind: Kind, arg: unknown): Promise<boolean> {
    if (busy) return Promise.resolve(false);
    // Before anything else (a pending conditional request included) is touched.
    const form = formFor(arg, kind, 'passkey ' + kind, false);
    if (!form) return Promise.resolve(false);
    const trigger = isElement(arg) ? arg : null;
    if (!supported()) {
      warn('this browser does not support passkeys (WebAuthn)');
      report(form, trigger, kind, 'NotSupportedError');
      return Promise.resolve(false);
    }
    clearReport(form);
    busy = true;
    abortConditional();
    return Promise.resolve()
      .then(() => (kind === 'login' ? login(form) : register(form, kind === 'settings')))
      .then(
        (submitted) => {
          if (submitted) {
            // The page is navigating; should it not (a 204, a download), allow another try later.
            busyTimer = setTimeout(unlock, 5000);
          } else {
            unlock();
          }
          return !!submitted;
        },
        (err) => {
          unlock();
          warn('passkey ' + kind + ' did not complete', err);
          report(form, trigger, kind, (err as { name?: unknown } | null)?.name);
          if (conditionalWanted) autocompleteInit(conditionalOwner);
          return false;
        },
      );
  }

  // Conditional UI (passkey autofill); never rejects.
  function autocompleteInit(arg: unknown): Promise<boolean> {
    conditionalWanted = true;
    conditionalOwner = isElement(arg) ? arg : null;
    if (busy || !supported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') {
      return Promise.resolve(false);
    }
    return Promise.resolve()
      .then(() => PublicKeyCredential.isConditionalMediationAvailable())
      .then((available) => {
        if (!available || busy) return false;
        let form = formFor(arg, 'login', 'passkey autofill', true);
        let dataEl = field(form, 'passkey_challenge');
        let resultEl = field(form, 'passkey_login');
        if (!form || !dataEl || !resultEl) return false;
        const challenge = dataEl.value;
        // Already waiting on this very form and challenge (the UI library and the scan both asked): keep that request.
        if (conditional && conditional.challenge === challenge && conditional.form === form) return false;
        const json = readJSON(dataEl)?.['publicKey'] as Json | undefined;
        if (!json?.['challenge']) throw new Error('passkey_challenge holds no request options');
        abortConditional();
        const controller = new AbortController();
        const mine = { controller, challenge, form };
        conditional = mine;
        return navigator.credentials
          .get({ publicKey: requestOptions(json), mediation: 'conditional', signal: controller.signal })
          .then(
            (cred) => {
              if (conditional !== mine) return false;
              conditional = null;
              if (!cred || busy) return false;
              // A UI library may have rendered the form again meanwhile: its new copy, with the same challenge.
              if (!contains.call(document, form)) {
                form = pageForm(RESULTS.login);
                dataEl = field(form, 'passkey_challenge');
                resultEl = field(form, 'passkey_login');
                if (!form || !dataEl || !resultEl || dataEl.value !== challenge)
                  throw new Error('the login form is gone');
              }
              busy = true;
              try {
                remember(cred as PublicKeyCredential, json['rpId']);
                submitWith(form!, resultEl!, cred as PublicKeyCredential);
              } catch (e) {
                unlock();
                throw e;
              }
              busyTimer = setTimeout(unlock, 5000);
              return true;
            },
            (err) => {
              if (conditional === mine) conditional = null;
              if (controller.signal.aborted) return false;
              throw err;
            },
          );
      })
      .then(null, (err) => {
        warn('passkey autofill did not complete', err);
        return false;
      });
  }

  const api: Record<TriggerName, (el?: unknown) => Promise<boolean>> = {
    oryPasskeyRegistration: (el) => run('registration', el),
    oryPasskeySettingsRegistration: (el) => run('settings', el),
    oryPasskeyLogin: (el) => run('login', el),
    oryPasskeyLoginAutocompleteInit: (el) => autocompleteInit(el),
  };
  for (const name of TRIGGERS) {
    win[name] = api[name];
    win['__' + name] = api[name];
  }
  // Ready: the flag Kratos's own script sets (UIs poll it before calling an onload trigger), and the window event Ory
  // Elements waits for when the script loads after it rendered (its passkey method button stays disabled until then).
  win['__oryWebAuthnInitialized'] = true;
  attempt(() => window.dispatchEvent(new Event('oryWebAuthnInitialized')));

  // ---- binding --------------------------------------------------------------------------------------------------

  function attr(el: Element, names: string[]): string | null {
    for (const name of names) {
      const v = el.getAttribute(name);
      if (v) return v;
    }
    return null;
  }

  function clickTrigger(el: Element): TriggerName | null {
    const named = attr(el, CLICK_ATTRS);
    if (named) {
      const fn = named.split('window.').join('').split('__').join('').split('(')[0] as TriggerName;
      if (TRIGGERS.indexOf(fn) >= 0) return fn;
    }
    const name = (el as Field).name;
    if ((el.tagName === 'BUTTON' || el.tagName === 'INPUT') && TRIGGER_NAMES.indexOf(name) >= 0) {
      // The ceremony is the one whose result input the trigger's form (or, outside any form, the page's flow form)
      // holds; a form posting elsewhere is refused when the ceremony starts.
      const form = formOf(el);
      const has = (result: string) => (form ? !!field(form, result) : !!pageForm([result]));
      if (name === 'passkey_login_trigger' && has('passkey_login')) return 'oryPasskeyLogin';
      if (has('passkey_settings_register')) return 'oryPasskeySettingsRegistration';
      if (has('passkey_register')) return 'oryPasskeyRegistration';
      if (has('passkey_login')) return 'oryPasskeyLogin';
    }
    return null;
  }

  const CLICK_SELECTOR = '[data-onclicktrigger],[data-onclick-trigger],button[name],input[name]';

  function onClick(ev: Event): void {
    let t = ev.target as Node | null;
    if (t && t.nodeType !== 1) t = t.parentElement;
    if (!t || typeof (t as Element).closest !== 'function') return;
    const el = (t as Element).closest(CLICK_SELECTOR);
    if (!el) return;
    const name = clickTrigger(el);
    if (!name || (el as HTMLButtonElement).disabled) return;
    // A trigger never submits its form natively, whichever form it is in.
    ev.preventDefault();
    api[name](el);
  }

  function wantsConditional(el: Element): boolean {
    const named = attr(el, LOAD_ATTRS);
    if (named) return named.indexOf('oryPasskeyLoginAutocompleteInit') >= 0;
    if ((el as Field).name !== 'passkey_login') return false;
    return selectAll(formOf(el) || document, 'input[autocomplete~="webauthn"]').length > 0;
  }

  // Starts conditional UI for the first form on the page that asks for it and posts to a flow action (one request
  // per page); the others are ignored, with a warning.
  function scan(): void {
    attempt(readSignals);
    const els = selectAll(document, '[data-onloadtrigger],[data-onload-trigger],input[name="passkey_login"]');
    let first: { el: Element; form: HTMLFormElement } | null = null;
    for (let i = 0; i < els.length; i++) {
      const el = els[i]!;
      if (!wantsConditional(el)) continue;
      const form = formOf(el) || pageForm(RESULTS.login);
      if (!form) continue;
      if (!flowKind(form)) {
        ignore(form, 'passkey autofill', true);
        continue;
      }
      if (!first) first = { el, form };
    }
    if (!first) return;
    const dataEl = field(first.form, 'passkey_challenge');
    const challenge = dataEl ? dataEl.value : '';
    if (started.has(first.form) && started.get(first.form) === challenge) return;
    started.set(first.form, challenge);
    autocompleteInit(first.el);
  }

  let scanQueued = false;
  function queueScan(): void {
    if (scanQueued) return;
    scanQueued = true;
    setTimeout(() => {
      scanQueued = false;
      scan();
    }, 0);
  }

  listen.call(document, 'click', onClick, true);

  if (typeof MutationObserver === 'function' && rootOf) {
    new MutationObserver(queueScan).observe(rootOf.call(document), {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: [
        'data-onloadtrigger',
        'data-onload-trigger',
        'name',
        'autocomplete',
        'value',
        'action',
        'method',
      ],
    });
  }

  if (readyStateOf?.call(document) === 'loading') listen.call(document, 'DOMContentLoaded', scan);
  else scan();

  // Back/forward cache: the page comes back as it was left, with a submit in flight; make it usable again.
  window.addEventListener('pageshow', (ev) => {
    if (!ev.persisted) return;
    unlock();
    conditional = null;
    started = new WeakMap();
    conditionalWanted = false;
    scan();
  });
})();
