import { createHash } from 'node:crypto';

/**
 * The browser helper served at `GET /.well-known/ory/webauthn.js` (SPEC section 3).
 *
 * Plain ES2017 in an IIFE, no dependencies, ASCII only, no backslashes (so that this template literal holds the
 * exact bytes served and `scriptIntegrity()` hashes them).
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
 *   `oryPasskeySettingsRegistration`, and the same with a `__` prefix (the names Kratos's own UIs call). Each takes an
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
export const WEBAUTHN_SCRIPT: string = `/* express-passkeys webauthn.js */
(function () {
  'use strict';
  if (typeof window === 'undefined' || typeof document === 'undefined') return;
  // Own property only: a named element (<img name="__expressPasskeysWebauthn">) shows up on window, not as its own.
  if (Object.prototype.hasOwnProperty.call(window, '__expressPasskeysWebauthn')) return;
  try {
    Object.defineProperty(window, '__expressPasskeysWebauthn', { value: true });
  } catch (e) {
    window.__expressPasskeysWebauthn = true;
  }

  var TRIGGERS = ['oryPasskeyRegistration', 'oryPasskeyLogin', 'oryPasskeyLoginAutocompleteInit', 'oryPasskeySettingsRegistration'];
  var CLICK_ATTRS = ['data-onclicktrigger', 'data-onclick-trigger'];
  var LOAD_ATTRS = ['data-onloadtrigger', 'data-onload-trigger'];
  var TRIGGER_NAMES = ['passkey_register_trigger', 'passkey_login_trigger'];

  // A modal ceremony is running, or its result is being submitted.
  var busy = false;
  var busyTimer = null;
  // The pending conditional-UI request: { controller, challenge, form }.
  var conditional = null;
  // The element conditional UI was last started for, to start it again after a failed modal ceremony.
  var conditionalOwner = null;
  var conditionalWanted = false;
  // Per form: the challenge conditional UI was started with (a UI library may swap in a new flow later).
  var started = typeof WeakMap === 'function' ? new WeakMap() : null;

  function describe(err) {
    if (err && err.name) return err.name + ': ' + err.message;
    return String(err);
  }

  function warn(what, err) {
    try {
      if (arguments.length > 1) console.warn('[webauthn.js] ' + what + ' (' + describe(err) + ')');
      else console.warn('[webauthn.js] ' + what);
    } catch (e) {
      // no console
    }
  }

  function supported() {
    return (
      typeof window.PublicKeyCredential === 'function' &&
      !!navigator.credentials &&
      typeof navigator.credentials.create === 'function' &&
      typeof navigator.credentials.get === 'function'
    );
  }

  // ---- base64url ----------------------------------------------------------------------------------------------

  function replaceAll(s, from, to) {
    return s.split(from).join(to);
  }

  function toBuffer(value) {
    if (value instanceof ArrayBuffer) return value;
    if (ArrayBuffer.isView(value)) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
    var s = replaceAll(replaceAll(replaceAll(String(value), '-', '+'), '_', '/'), '=', '');
    while (s.length % 4) s += '=';
    var bin = atob(s);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buf) {
    var bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    var bin = '';
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, Array.prototype.slice.call(bytes.subarray(i, i + 0x8000)));
    }
    return replaceAll(replaceAll(replaceAll(btoa(bin), '+', '-'), '/', '_'), '=', '');
  }

  function isBinary(v) {
    return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  }

  // Client extension results may hold ArrayBuffers (prf, largeBlob): encode them the way toJSON() does.
  function encodeDeep(v) {
    if (isBinary(v)) return toBase64url(v);
    if (Array.isArray(v)) return v.map(encodeDeep);
    if (v && typeof v === 'object') {
      var out = {};
      Object.keys(v).forEach(function (k) {
        out[k] = encodeDeep(v[k]);
      });
      return out;
    }
    return v;
  }

  // ---- options ------------------------------------------------------------------------------------------------

  function descriptor(d) {
    var out = Object.assign({}, d);
    out.id = toBuffer(d.id);
    return out;
  }

  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
      try {
        return PublicKeyCredential.parseCreationOptionsFromJSON(json);
      } catch (e) {
        warn('parseCreationOptionsFromJSON failed, decoding the options itself', e);
      }
    }
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    o.user = Object.assign({}, json.user);
    o.user.id = toBuffer(json.user.id);
    if (Array.isArray(json.excludeCredentials)) o.excludeCredentials = json.excludeCredentials.map(descriptor);
    return o;
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
      try {
        return PublicKeyCredential.parseRequestOptionsFromJSON(json);
      } catch (e) {
        warn('parseRequestOptionsFromJSON failed, decoding the options itself', e);
      }
    }
    var o = Object.assign({}, json);
    o.challenge = toBuffer(json.challenge);
    if (Array.isArray(json.allowCredentials)) o.allowCredentials = json.allowCredentials.map(descriptor);
    return o;
  }

  // ---- credential -> JSON ---------------------------------------------------------------------------------------

  function attempt(fn) {
    try {
      return fn();
    } catch (e) {
      return undefined;
    }
  }

  function serialise(cred) {
    if (typeof cred.toJSON === 'function') {
      var native = attempt(function () {
        return cred.toJSON();
      });
      if (native && typeof native === 'object') return native;
    }
    var r = cred.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      var authData = typeof r.getAuthenticatorData === 'function' ? attempt(function () { return r.getAuthenticatorData(); }) : null;
      if (authData) response.authenticatorData = toBase64url(authData);
      var transports = typeof r.getTransports === 'function' ? attempt(function () { return r.getTransports(); }) : null;
      response.transports = Array.isArray(transports) ? transports : [];
      var publicKey = typeof r.getPublicKey === 'function' ? attempt(function () { return r.getPublicKey(); }) : null;
      if (publicKey) response.publicKey = toBase64url(publicKey);
      var alg = typeof r.getPublicKeyAlgorithm === 'function' ? attempt(function () { return r.getPublicKeyAlgorithm(); }) : undefined;
      if (typeof alg === 'number') response.publicKeyAlgorithm = alg;
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: response,
      clientExtensionResults: encodeDeep(typeof cred.getClientExtensionResults === 'function' ? cred.getClientExtensionResults() : {}),
    };
    if (typeof cred.authenticatorAttachment === 'string') out.authenticatorAttachment = cred.authenticatorAttachment;
    return out;
  }

  // ---- DOM ----------------------------------------------------------------------------------------------------

  // DOM methods and getters are taken from the prototypes: injected markup can shadow document.x and form.x with
  // named elements (DOM clobbering: <img name="currentScript">, <input name="action">), but not these.
  var DOC = Document.prototype;
  function getter(proto, name) {
    var d = Object.getOwnPropertyDescriptor(proto, name);
    return d && typeof d.get === 'function' ? d.get : null;
  }
  var currentScriptOf = getter(DOC, 'currentScript');
  var readyStateOf = getter(DOC, 'readyState');
  var rootOf = getter(DOC, 'documentElement');
  var actionOf = getter(HTMLFormElement.prototype, 'action');
  var methodOf = getter(HTMLFormElement.prototype, 'method');
  var contains = Node.prototype.contains;
  var listen = EventTarget.prototype.addEventListener;
  var inputValueOf = getter(HTMLInputElement.prototype, 'value');

  function byName(name) {
    return DOC.getElementsByName.call(document, name);
  }

  function selectAll(root, selector) {
    return root === document ? DOC.querySelectorAll.call(document, selector) : Element.prototype.querySelectorAll.call(root, selector);
  }

  // ---- where this script was loaded from ----------------------------------------------------------------------

  var SCRIPT_PATH = '/.well-known/ory/webauthn.js';
  var FLOW_KINDS = ['login', 'registration', 'settings'];
  var RESULTS = {
    login: ['passkey_login'],
    registration: ['passkey_register'],
    settings: ['passkey_settings_register', 'passkey_register'],
  };

  // The origin and mount path of a script element loading this file: { origin, mount }; null when its src is not
  // this file's; false when a relative src resolves to another origin than the page's (a <base href> injected after
  // the script tag changes what a relative src resolves to, not where the script was fetched from).
  function located(s) {
    if (!(s instanceof HTMLScriptElement)) return null;
    var raw = s.getAttribute('src');
    if (!raw) return null;
    var u = attempt(function () {
      return new URL(s.src);
    });
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return null;
    var path = u.pathname;
    if (path.length < SCRIPT_PATH.length || path.slice(path.length - SCRIPT_PATH.length) !== SCRIPT_PATH) return null;
    if (!/^([a-z][a-z0-9+.-]*:|[/][/])/i.test(raw.trim()) && u.origin !== location.origin) return false;
    return { origin: u.origin, mount: path.slice(0, path.length - SCRIPT_PATH.length) };
  }

  // Read once, at load: document.currentScript is only set while the script runs. Without it (a module, a loader),
  // the script elements with id webauthn_script or a src ending in SCRIPT_PATH, which must all agree.
  function findSelf() {
    if (!currentScriptOf || !actionOf || !methodOf) return null;
    var current = currentScriptOf.call(document);
    if (current) return located(current) || null;
    var found = null;
    var scripts = DOC.getElementsByTagName.call(document, 'script');
    for (var i = 0; i < scripts.length; i++) {
      var here = located(scripts[i]);
      if (here === null && scripts[i].id !== 'webauthn_script') continue;
      if (!here || (found && (found.origin !== here.origin || found.mount !== here.mount))) return null;
      found = here;
    }
    return found;
  }

  var SELF = findSelf();
  if (!SELF) warn('cannot tell which server webauthn.js was loaded from (its script element must have a src ending in ' + SCRIPT_PATH + '): passkeys are off');

  // The flow a form posts to ('login', 'registration', 'settings'), or null unless it posts (method POST) to one of
  // this library's own flow actions: the origin this script was loaded from, the path <mount>/self-service/<flow>,
  // a flow query parameter. A relative action counts as the browser resolves it.
  function flowKind(form) {
    if (!SELF || !(form instanceof HTMLFormElement) || methodOf.call(form) !== 'post') return null;
    var u = attempt(function () {
      return new URL(actionOf.call(form));
    });
    if (!u || u.origin !== SELF.origin || !u.searchParams.get('flow')) return null;
    for (var i = 0; i < FLOW_KINDS.length; i++) {
      if (u.pathname === SELF.mount + '/self-service/' + FLOW_KINDS[i]) return FLOW_KINDS[i];
    }
    return null;
  }

  var warned = typeof WeakSet === 'function' ? new WeakSet() : null;

  // Says why a form is left alone (once per form when once is set: the scan sees the same forms again and again).
  function ignore(form, what, once) {
    if (once && warned) {
      if (warned.has(form)) return;
      warned.add(form);
    }
    if (!SELF) return warn(what + ': ignored, passkeys are off');
    var action = attempt(function () {
      return String(actionOf.call(form)).slice(0, 200);
    });
    warn(what + ': ignoring a form posting to ' + action + ', not to a flow action of ' + SELF.origin + SELF.mount);
  }

  function formOf(el) {
    if (!el) return null;
    if (el.form) return el.form;
    return typeof el.closest === 'function' ? el.closest('form') : null;
  }

  // The first element named name inside form and belonging to it; nothing outside the form counts.
  function field(form, name) {
    if (!form) return null;
    var list = byName(name);
    for (var i = 0; i < list.length; i++) {
      var el = list[i];
      if (el.form === form && contains.call(form, el)) return el;
    }
    return null;
  }

  // The first form on the page that posts to a flow action and holds one of the result inputs (in that order).
  function pageForm(results) {
    for (var r = 0; r < results.length; r++) {
      var list = byName(results[r]);
      for (var i = 0; i < list.length; i++) {
        var form = list[i].form;
        if (!form || !contains.call(form, list[i])) continue;
        if (flowKind(form)) return form;
        ignore(form, 'passkeys', true);
      }
    }
    return null;
  }

  // The form a call runs for: the trigger's form, which must post to a flow action; without a trigger (a UI library
  // calling window.oryPasskeyLogin()) or for one outside any form, the first such form on the page.
  function formFor(arg, kind, what, quiet) {
    var form = arg && arg.nodeType === 1 ? formOf(arg) : null;
    if (form) {
      if (flowKind(form)) return form;
      ignore(form, what, quiet);
      return null;
    }
    form = pageForm(RESULTS[kind]);
    if (!form && !quiet) warn(what + ': no form posting to a flow action holds ' + RESULTS[kind].join(' or '));
    return form;
  }

  function readJSON(el) {
    var raw = el.value;
    if (!raw) throw new Error('the ' + el.name + ' input is empty');
    return JSON.parse(raw);
  }

  function submitWith(form, resultEl, credential) {
    // Checked again: the page may have changed the form while the ceremony ran.
    if (!flowKind(form) || resultEl.form !== form) throw new Error('the form no longer posts to a flow action');
    resultEl.value = JSON.stringify(serialise(credential));
    // Not requestSubmit(): no submit event for a UI library to intercept, no submitter name/value required,
    // and an input named "submit" cannot shadow it.
    HTMLFormElement.prototype.submit.call(form);
  }

  // ---- Signal API -----------------------------------------------------------------------------------------------

  var LAST_SIGN_IN = '__expressPasskeysLastSignIn';
  // Signal values already handled on this page.
  var signalled = Object.create(null);

  function tabStorage() {
    return attempt(function () {
      return window.sessionStorage;
    });
  }

  // The credential id (and RP ID) this tab is about to post in a sign-in: the only id an unknownCredential may name.
  function remember(cred, json) {
    var store = tabStorage();
    if (!store || typeof cred.id !== 'string') return;
    var rpId = json && typeof json.rpId === 'string' && json.rpId ? json.rpId : location.hostname;
    attempt(function () {
      store.setItem(LAST_SIGN_IN, JSON.stringify({ credentialId: cred.id, rpId: rpId }));
    });
  }

  // Is this the credential this tab last signed in with? Forgets it when it is (it is signalled once).
  function lastSignIn(u) {
    var store = tabStorage();
    var last = store
      ? attempt(function () {
          return JSON.parse(store.getItem(LAST_SIGN_IN) || 'null');
        })
      : null;
    if (!last || last.credentialId !== u.credentialId || last.rpId !== u.rpId) return false;
    attempt(function () {
      store.removeItem(LAST_SIGN_IN);
    });
    return true;
  }

  function isId(v) {
    return typeof v === 'string' && v.length > 0 && v.length <= 1400 && /^[A-Za-z0-9_-]+$/.test(v);
  }

  function isRpId(v) {
    return typeof v === 'string' && v.length > 0 && v.length <= 253;
  }

  // Calls PublicKeyCredential[name](arg) if the browser has it; never throws, never waits.
  function signal(name, arg) {
    var P = window.PublicKeyCredential;
    if (typeof P !== 'function' || typeof P[name] !== 'function') return;
    attempt(function () {
      var pending = P[name](arg);
      if (pending && typeof pending.then === 'function') pending.then(null, function () {});
    });
  }

  function applySignals(raw) {
    var data = attempt(function () {
      return JSON.parse(raw);
    });
    if (!data || typeof data !== 'object') return;
    var u = data.unknownCredential;
    if (u && isRpId(u.rpId) && isId(u.credentialId) && lastSignIn(u)) {
      signal('signalUnknownCredential', { rpId: u.rpId, credentialId: u.credentialId });
    }
    var a = data.allAcceptedCredentials;
    var ids = a && Array.isArray(a.allAcceptedCredentialIds) ? a.allAcceptedCredentialIds : [];
    if (a && isRpId(a.rpId) && isId(a.userId) && ids.length > 0 && ids.every(isId)) {
      signal('signalAllAcceptedCredentials', { rpId: a.rpId, userId: a.userId, allAcceptedCredentialIds: ids.slice() });
    }
    var d = data.currentUserDetails;
    if (d && isRpId(d.rpId) && isId(d.userId) && typeof d.name === 'string' && d.name && typeof d.displayName === 'string') {
      signal('signalCurrentUserDetails', { rpId: d.rpId, userId: d.userId, name: d.name, displayName: d.displayName });
    }
  }

  // Every passkey_signal input on the page, each distinct value once.
  function readSignals() {
    if (!inputValueOf) return;
    var list = byName('passkey_signal');
    for (var i = 0; i < list.length; i++) {
      if (!(list[i] instanceof HTMLInputElement)) continue;
      var raw = inputValueOf.call(list[i]);
      if (!raw || signalled[raw]) continue;
      signalled[raw] = true;
      applySignals(raw);
    }
  }

  // ---- ceremonies -----------------------------------------------------------------------------------------------

  function abortConditional() {
    if (!conditional) return;
    var c = conditional;
    conditional = null;
    try {
      c.controller.abort();
    } catch (e) {
      // ignore
    }
  }

  function register(form, settings) {
    var dataEl = field(form, 'passkey_create_data');
    var resultEl = settings
      ? field(form, 'passkey_settings_register') || field(form, 'passkey_register')
      : field(form, 'passkey_register');
    if (!dataEl || !resultEl) {
      warn('passkey ' + (settings ? 'settings ' : '') + 'registration: passkey_create_data or the result input is missing in the form');
      return Promise.resolve(false);
    }
    var data = readJSON(dataEl);
    var json = data && data.credentialOptions && data.credentialOptions.publicKey ? data.credentialOptions.publicKey : data && data.publicKey;
    if (!json || !json.challenge || !json.user) throw new Error('passkey_create_data holds no creation options');
    json = Object.assign({}, json);
    json.user = Object.assign({}, json.user);
    var nameField = data.displayNameFieldName;
    if (nameField) {
      var traitEl = field(form, nameField);
      var value = traitEl && typeof traitEl.value === 'string' ? traitEl.value.trim() : '';
      if (value) {
        if (!json.user.name) json.user.name = value;
        if (!json.user.displayName) json.user.displayName = value;
      }
    }
    if (typeof json.user.name !== 'string') json.user.name = '';
    if (typeof json.user.displayName !== 'string') json.user.displayName = json.user.name;
    var publicKey = creationOptions(json);
    return navigator.credentials.create({ publicKey: publicKey }).then(function (cred) {
      if (!cred) throw new Error('no credential was created');
      submitWith(form, resultEl, cred);
      return true;
    });
  }

  function login(form) {
    var dataEl = field(form, 'passkey_challenge');
    var resultEl = field(form, 'passkey_login');
    if (!dataEl || !resultEl) {
      warn('passkey login: passkey_challenge or passkey_login is missing in the form');
      return Promise.resolve(false);
    }
    var data = readJSON(dataEl);
    var json = data && data.publicKey;
    if (!json || !json.challenge) throw new Error('passkey_challenge holds no request options');
    return navigator.credentials.get({ publicKey: requestOptions(json) }).then(function (cred) {
      if (!cred) throw new Error('no credential was returned');
      remember(cred, json);
      submitWith(form, resultEl, cred);
      return true;
    });
  }

  function unlock() {
    busy = false;
    if (busyTimer) clearTimeout(busyTimer);
    busyTimer = null;
  }

  // Runs one modal ceremony at a time; never rejects.
  function run(kind, arg) {
    if (busy) return Promise.resolve(false);
    if (!supported()) {
      warn('this browser does not support passkeys (WebAuthn)');
      return Promise.resolve(false);
    }
    // Before anything else (a pending conditional request included) is touched.
    var form = formFor(arg, kind, 'passkey ' + kind, false);
    if (!form) return Promise.resolve(false);
    busy = true;
    abortConditional();
    return Promise.resolve()
      .then(function () {
        if (kind === 'login') return login(form);
        return register(form, kind === 'settings');
      })
      .then(
        function (submitted) {
          if (submitted) {
            // The page is navigating; should it not (a 204, a download), allow another try later.
            busyTimer = setTimeout(unlock, 5000);
          } else {
            unlock();
          }
          return !!submitted;
        },
        function (err) {
          unlock();
          warn('passkey ' + kind + ' did not complete', err);
          if (conditionalWanted) autocompleteInit(conditionalOwner);
          return false;
        },
      );
  }

  // Conditional UI (passkey autofill); never rejects.
  function autocompleteInit(arg) {
    conditionalWanted = true;
    conditionalOwner = arg && arg.nodeType === 1 ? arg : null;
    if (busy || !supported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') {
      return Promise.resolve(false);
    }
    return Promise.resolve()
      .then(function () {
        return PublicKeyCredential.isConditionalMediationAvailable();
      })
      .then(function (available) {
        if (!available || busy) return false;
        var form = formFor(arg, 'login', 'passkey autofill', true);
        var dataEl = field(form, 'passkey_challenge');
        var resultEl = field(form, 'passkey_login');
        if (!dataEl || !resultEl) return false;
        var challenge = dataEl.value;
        // Already waiting on this very form and challenge (the UI library and the scan both asked): keep that request.
        if (conditional && conditional.challenge === challenge && conditional.form === form) return false;
        var data = readJSON(dataEl);
        var json = data && data.publicKey;
        if (!json || !json.challenge) throw new Error('passkey_challenge holds no request options');
        abortConditional();
        var controller = new AbortController();
        var mine = { controller: controller, challenge: challenge, form: form };
        conditional = mine;
        return navigator.credentials
          .get({ publicKey: requestOptions(json), mediation: 'conditional', signal: controller.signal })
          .then(
            function (cred) {
              if (conditional !== mine) return false;
              conditional = null;
              if (!cred || busy) return false;
              // A UI library may have rendered the form again meanwhile: its new copy, with the same challenge.
              if (!contains.call(document, form)) {
                form = pageForm(RESULTS.login);
                dataEl = field(form, 'passkey_challenge');
                resultEl = field(form, 'passkey_login');
                if (!dataEl || !resultEl || dataEl.value !== challenge) throw new Error('the login form is gone');
              }
              busy = true;
              try {
                remember(cred, json);
                submitWith(form, resultEl, cred);
              } catch (e) {
                unlock();
                throw e;
              }
              busyTimer = setTimeout(unlock, 5000);
              return true;
            },
            function (err) {
              if (conditional === mine) conditional = null;
              if (controller.signal.aborted) return false;
              throw err;
            },
          );
      })
      .then(null, function (err) {
        warn('passkey autofill did not complete', err);
        return false;
      });
  }

  var api = {
    oryPasskeyRegistration: function (el) {
      return run('registration', el);
    },
    oryPasskeySettingsRegistration: function (el) {
      return run('settings', el);
    },
    oryPasskeyLogin: function (el) {
      return run('login', el);
    },
    oryPasskeyLoginAutocompleteInit: function (el) {
      return autocompleteInit(el);
    },
  };
  TRIGGERS.forEach(function (name) {
    window[name] = api[name];
    window['__' + name] = api[name];
  });

  // ---- binding --------------------------------------------------------------------------------------------------

  function attr(el, names) {
    for (var i = 0; i < names.length; i++) {
      var v = el.getAttribute(names[i]);
      if (v) return v;
    }
    return null;
  }

  function clickTrigger(el) {
    var named = attr(el, CLICK_ATTRS);
    if (named) {
      named = named.split('window.').join('').split('__').join('').split('(')[0];
      if (TRIGGERS.indexOf(named) >= 0) return named;
    }
    if ((el.tagName === 'BUTTON' || el.tagName === 'INPUT') && TRIGGER_NAMES.indexOf(el.name) >= 0) {
      // The ceremony is the one whose result input the trigger's form (or, outside any form, the page's flow form)
      // holds; a form posting elsewhere is refused when the ceremony starts.
      var form = formOf(el);
      var has = function (name) {
        return form ? !!field(form, name) : !!pageForm([name]);
      };
      if (el.name === 'passkey_login_trigger' && has('passkey_login')) return 'oryPasskeyLogin';
      if (has('passkey_settings_register')) return 'oryPasskeySettingsRegistration';
      if (has('passkey_register')) return 'oryPasskeyRegistration';
      if (has('passkey_login')) return 'oryPasskeyLogin';
    }
    return null;
  }

  var CLICK_SELECTOR = '[data-onclicktrigger],[data-onclick-trigger],button[name],input[name]';

  function onClick(ev) {
    var t = ev.target;
    if (t && t.nodeType !== 1) t = t.parentElement;
    if (!t || typeof t.closest !== 'function') return;
    var el = t.closest(CLICK_SELECTOR);
    if (!el) return;
    var name = clickTrigger(el);
    if (!name || el.disabled) return;
    // A trigger never submits its form natively, whichever form it is in.
    ev.preventDefault();
    api[name](el);
  }

  function wantsConditional(el) {
    var named = attr(el, LOAD_ATTRS);
    if (named) return named.indexOf('oryPasskeyLoginAutocompleteInit') >= 0;
    if (el.name !== 'passkey_login') return false;
    return selectAll(formOf(el) || document, 'input[autocomplete~="webauthn"]').length > 0;
  }

  // Starts conditional UI for the first form on the page that asks for it and posts to a flow action (one request
  // per page); the others are ignored, with a warning.
  function scan() {
    attempt(readSignals);
    var els = selectAll(document, '[data-onloadtrigger],[data-onload-trigger],input[name="passkey_login"]');
    var first = null;
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!wantsConditional(el)) continue;
      var form = formOf(el) || pageForm(RESULTS.login);
      if (!form) continue;
      if (!flowKind(form)) {
        ignore(form, 'passkey autofill', true);
        continue;
      }
      if (!first) first = { el: el, form: form };
    }
    if (!first) return;
    var dataEl = field(first.form, 'passkey_challenge');
    var challenge = dataEl ? dataEl.value : '';
    if (started) {
      if (started.has(first.form) && started.get(first.form) === challenge) return;
      started.set(first.form, challenge);
    } else if (conditionalWanted) {
      return;
    }
    autocompleteInit(first.el);
  }

  var scanQueued = false;
  function queueScan() {
    if (scanQueued) return;
    scanQueued = true;
    setTimeout(function () {
      scanQueued = false;
      scan();
    }, 0);
  }

  listen.call(document, 'click', onClick, true);

  if (typeof MutationObserver === 'function') {
    new MutationObserver(queueScan).observe(rootOf.call(document), {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['data-onloadtrigger', 'data-onload-trigger', 'name', 'autocomplete', 'value', 'action', 'method'],
    });
  }

  if (readyStateOf.call(document) === 'loading') listen.call(document, 'DOMContentLoaded', scan);
  else scan();

  // Back/forward cache: the page comes back as it was left, with a submit in flight; make it usable again.
  window.addEventListener('pageshow', function (ev) {
    if (!ev.persisted) return;
    unlock();
    conditional = null;
    if (started) started = new WeakMap();
    conditionalWanted = false;
    scan();
  });
})();
`;

let integrity: string | undefined;

/** The SRI value of the served bytes (`sha512-<base64>`), for the `webauthn_script` node's `integrity` attribute. */
export function scriptIntegrity(): string {
  if (integrity === undefined) {
    integrity = 'sha512-' + createHash('sha512').update(WEBAUTHN_SCRIPT, 'utf8').digest('base64');
  }
  return integrity;
}
