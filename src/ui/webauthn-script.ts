import { createHash } from 'node:crypto';

/**
 * The browser helper served at `GET /.well-known/ory/webauthn.js` (SPEC section 3).
 *
 * Plain ES2017 in an IIFE, no dependencies, ASCII only, no backslashes (so that this template literal holds the
 * exact bytes served and `scriptIntegrity()` hashes them).
 *
 * DOM contract (the flow's nodes as a generic or server-rendered UI renders them):
 * - hidden inputs, found by `name`: `passkey_create_data` (registration: `{ credentialOptions: { publicKey },
 *   displayNameFieldName }`; settings: `{ publicKey }`), `passkey_challenge` (`{ publicKey }`), and the result inputs
 *   `passkey_register`, `passkey_settings_register`, `passkey_login`. The result input's form is submitted with
 *   `HTMLFormElement.prototype.submit` (no submit event, no submitter name/value).
 * - click triggers, handled by one delegated capture-phase `click` listener on `document`: any element with
 *   `data-onclicktrigger` (or `data-onclick-trigger`) naming one of the four functions, and `button`/`input` elements
 *   named `passkey_register_trigger` / `passkey_login_trigger` (the ceremony chosen by the hidden input present in the
 *   same form). Trigger clicks are `preventDefault()`ed.
 * - load triggers (scanned on DOMContentLoaded and, through a MutationObserver, whenever nodes are added later):
 *   `data-onloadtrigger="oryPasskeyLoginAutocompleteInit"` (or `data-onload-trigger`), or a `passkey_login` input whose
 *   form has an input with the `webauthn` autocomplete token. Conditional UI starts once per form and challenge (a
 *   changed `passkey_challenge` value, i.e. a new flow, starts it again).
 * - globals: `oryPasskeyRegistration`, `oryPasskeyLogin`, `oryPasskeyLoginAutocompleteInit`,
 *   `oryPasskeySettingsRegistration`, and the same with a `__` prefix (the names Kratos's own UIs call). Each takes an
 *   optional element (the trigger) whose form scopes the lookup, and returns a promise that never rejects.
 */
export const WEBAUTHN_SCRIPT: string = `/* express-passkeys webauthn.js */
(function () {
  'use strict';
  if (typeof window === 'undefined' || typeof document === 'undefined') return;
  if (window.__expressPasskeysWebauthn) return;
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
  // The pending conditional-UI request: { controller, challenge, scope }.
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

  function formOf(el) {
    if (!el) return null;
    if (el.form) return el.form;
    return typeof el.closest === 'function' ? el.closest('form') : null;
  }

  // The scope of a call: the trigger element's form, when the caller passed the trigger.
  function scopeOf(arg) {
    if (arg && arg.nodeType === 1) return formOf(arg);
    return null;
  }

  // A field by name: inside scope when given (falling back to the whole document unless strict), else the first one.
  function field(scope, name, strict) {
    var list = document.getElementsByName(name);
    var first = null;
    for (var i = 0; i < list.length; i++) {
      var el = list[i];
      if (!scope || el.form === scope || scope.contains(el)) return el;
      if (!first) first = el;
    }
    return strict ? null : first;
  }

  function readJSON(el) {
    var raw = el.value;
    if (!raw) throw new Error('the ' + el.name + ' input is empty');
    return JSON.parse(raw);
  }

  function submitWith(resultEl, credential) {
    var form = formOf(resultEl);
    if (!form) throw new Error('the ' + resultEl.name + ' input is not inside a form');
    resultEl.value = JSON.stringify(serialise(credential));
    // Not requestSubmit(): no submit event for a UI library to intercept, no submitter name/value required,
    // and an input named "submit" cannot shadow it.
    HTMLFormElement.prototype.submit.call(form);
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

  function register(scope, settings) {
    var dataEl = field(scope, 'passkey_create_data');
    var resultEl = settings
      ? field(scope, 'passkey_settings_register') || field(scope, 'passkey_register')
      : field(scope, 'passkey_register');
    if (!dataEl || !resultEl) {
      warn('passkey ' + (settings ? 'settings ' : '') + 'registration: passkey_create_data or the result input is missing');
      return Promise.resolve(false);
    }
    var data = readJSON(dataEl);
    var json = data && data.credentialOptions && data.credentialOptions.publicKey ? data.credentialOptions.publicKey : data && data.publicKey;
    if (!json || !json.challenge || !json.user) throw new Error('passkey_create_data holds no creation options');
    json = Object.assign({}, json);
    json.user = Object.assign({}, json.user);
    var nameField = data.displayNameFieldName;
    if (nameField) {
      var traitEl = field(scope || formOf(resultEl), nameField);
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
      submitWith(resultEl, cred);
      return true;
    });
  }

  function login(scope) {
    var dataEl = field(scope, 'passkey_challenge');
    var resultEl = field(scope, 'passkey_login');
    if (!dataEl || !resultEl) {
      warn('passkey login: passkey_challenge or passkey_login is missing');
      return Promise.resolve(false);
    }
    var data = readJSON(dataEl);
    var json = data && data.publicKey;
    if (!json || !json.challenge) throw new Error('passkey_challenge holds no request options');
    return navigator.credentials.get({ publicKey: requestOptions(json) }).then(function (cred) {
      if (!cred) throw new Error('no credential was returned');
      submitWith(resultEl, cred);
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
    busy = true;
    abortConditional();
    var scope = scopeOf(arg);
    return Promise.resolve()
      .then(function () {
        if (kind === 'login') return login(scope);
        return register(scope, kind === 'settings');
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
    var scope = scopeOf(arg);
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
        var dataEl = field(scope, 'passkey_challenge');
        var resultEl = field(scope, 'passkey_login');
        if (!dataEl || !resultEl) return false;
        var challenge = dataEl.value;
        // Already waiting on this very challenge (the UI library and the scan both asked): keep that request.
        if (conditional && conditional.challenge === challenge) return false;
        var data = readJSON(dataEl);
        var json = data && data.publicKey;
        if (!json || !json.challenge) throw new Error('passkey_challenge holds no request options');
        abortConditional();
        var controller = new AbortController();
        var mine = { controller: controller, challenge: challenge };
        conditional = mine;
        return navigator.credentials
          .get({ publicKey: requestOptions(json), mediation: 'conditional', signal: controller.signal })
          .then(
            function (cred) {
              if (conditional !== mine) return false;
              conditional = null;
              if (!cred || busy) return false;
              busy = true;
              try {
                submitWith(resultEl, cred);
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
      var form = formOf(el);
      if (el.name === 'passkey_login_trigger' && field(form, 'passkey_login', true)) return 'oryPasskeyLogin';
      if (field(form, 'passkey_settings_register', true)) return 'oryPasskeySettingsRegistration';
      if (field(form, 'passkey_register', true)) return 'oryPasskeyRegistration';
      if (field(form, 'passkey_login', true)) return 'oryPasskeyLogin';
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
    ev.preventDefault();
    api[name](el);
  }

  function wantsConditional(el) {
    var named = attr(el, LOAD_ATTRS);
    if (named) return named.indexOf('oryPasskeyLoginAutocompleteInit') >= 0;
    if (el.name !== 'passkey_login') return false;
    var scope = formOf(el) || document;
    return !!scope.querySelector('input[autocomplete~="webauthn"]');
  }

  function scan() {
    var els = document.querySelectorAll('[data-onloadtrigger],[data-onload-trigger],input[name="passkey_login"]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!wantsConditional(el)) continue;
      var key = formOf(el) || el;
      var dataEl = field(formOf(el), 'passkey_challenge');
      var challenge = dataEl ? dataEl.value : '';
      if (started) {
        if (started.has(key) && started.get(key) === challenge) continue;
        started.set(key, challenge);
      } else if (conditionalWanted) {
        continue;
      }
      autocompleteInit(el);
    }
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

  document.addEventListener('click', onClick, true);

  if (typeof MutationObserver === 'function') {
    new MutationObserver(queueScan).observe(document.documentElement, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ['data-onloadtrigger', 'data-onload-trigger', 'name', 'autocomplete', 'value'],
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
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
