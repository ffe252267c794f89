// Options edges (SPEC §1): a table of bad configurations. Each must throw a TypeError at the factory call whose
// message names the option concerned; none may be silently ignored or pass to fail later at a request.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleCourier, MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';

const rp = () => ({ id: 'example.com', displayName: 'Example', origins: ['https://example.com'] });
const base = (extra: Record<string, unknown> = {}) => ({ rp: rp(), store: new MemoryStore(), ...extra });
const withRp = (extra: Record<string, unknown>) => base({ rp: { ...rp(), ...extra } });

/** [what, options, the option name the message must contain (as written in backquotes)] */
const CASES: Array<[string, unknown, string]> = [
  // rp.id
  ['rp.id missing', { rp: { displayName: 'E', origins: ['https://example.com'] }, store: new MemoryStore() }, 'rp.id'],
  ['rp.id a number', withRp({ id: 42 }), 'rp.id'],
  ['rp.id empty', withRp({ id: '' }), 'rp.id'],
  ['rp.id blank', withRp({ id: '   ' }), 'rp.id'],
  ['rp.id with a scheme', withRp({ id: 'https://example.com' }), 'rp.id'],
  ['rp.id with a port', withRp({ id: 'example.com:443' }), 'rp.id'],
  ['rp.id with a path', withRp({ id: 'example.com/auth' }), 'rp.id'],
  ['rp.id an IPv4 address', withRp({ id: '127.0.0.1', origins: ['https://127.0.0.1'] }), 'rp.id'],
  ['rp.id an IPv6 address', withRp({ id: '[::1]', origins: ['https://[::1]'] }), 'rp.id'],
  ['rp.id a public suffix', withRp({ id: 'com' }), 'rp.id'],
  ['rp.id a multi-label public suffix', withRp({ id: 'co.uk', origins: ['https://example.co.uk'] }), 'rp.id'],
  ['rp.id a private public suffix', withRp({ id: 'github.io', origins: ['https://someone.github.io'] }), 'rp.id'],
  [
    'rp.id not a suffix of an origin',
    withRp({ origins: ['https://example.com', 'https://example.org'] }),
    'rp.origins',
  ],
  ['rp.id a longer name than the origin', withRp({ id: 'login.example.com' }), 'rp.origins'],
  ['rp.id only a string suffix of the origin', withRp({ origins: ['https://notexample.com'] }), 'rp.origins'],
  // rp.displayName
  [
    'rp.displayName missing',
    { rp: { id: 'example.com', origins: ['https://example.com'] }, store: new MemoryStore() },
    'rp.displayName',
  ],
  ['rp.displayName a number', withRp({ displayName: 1 }), 'rp.displayName'],
  ['rp.displayName empty', withRp({ displayName: '' }), 'rp.displayName'],
  ['rp.displayName blank', withRp({ displayName: '  ' }), 'rp.displayName'],
  // rp.origins
  ['rp.origins missing', { rp: { id: 'example.com', displayName: 'E' }, store: new MemoryStore() }, 'rp.origins'],
  ['rp.origins empty array', withRp({ origins: [] }), 'rp.origins'],
  ['rp.origins empty string', withRp({ origins: '' }), 'rp.origins'],
  ['rp.origins an empty entry', withRp({ origins: ['https://example.com', ''] }), 'rp.origins'],
  ['rp.origins a number', withRp({ origins: 443 }), 'rp.origins'],
  ['rp.origins an object', withRp({ origins: { 'https://example.com': true } }), 'rp.origins'],
  ['rp.origins not a URL', withRp({ origins: ['example.com'] }), 'rp.origins'],
  ['rp.origins with a path', withRp({ origins: ['https://example.com/app'] }), 'rp.origins'],
  ['rp.origins with a trailing slash', withRp({ origins: ['https://example.com/'] }), 'rp.origins'],
  ['rp.origins with a query', withRp({ origins: ['https://example.com?x=1'] }), 'rp.origins'],
  ['rp.origins with a fragment', withRp({ origins: ['https://example.com#x'] }), 'rp.origins'],
  ['rp.origins with credentials', withRp({ origins: ['https://user@example.com'] }), 'rp.origins'],
  ['rp.origins with another scheme', withRp({ origins: ['ftp://example.com'] }), 'rp.origins'],
  ['rp.origins http on a public host', withRp({ origins: ['http://example.com'] }), 'rp.origins'],
  ['rp.origins duplicated', withRp({ origins: ['https://example.com', 'https://example.com'] }), 'rp.origins'],
  [
    'rp.origins duplicated after normalisation',
    withRp({ origins: ['https://example.com', 'https://EXAMPLE.com:443'] }),
    'rp.origins',
  ],
  [
    'rp.origins an empty android origin',
    withRp({ origins: ['https://example.com', 'android:apk-key-hash:'] }),
    'rp.origins',
  ],
  [
    'rp.origin (typo)',
    { rp: { id: 'example.com', displayName: 'E', origin: ['https://example.com'] }, store: new MemoryStore() },
    'rp.origin',
  ],
  // rp.relatedOrigins
  ['rp.relatedOrigins a string', withRp({ relatedOrigins: 'https://example.org' }), 'rp.relatedOrigins'],
  ['rp.relatedOrigins http', withRp({ relatedOrigins: ['http://example.org'] }), 'rp.relatedOrigins'],
  ['rp.relatedOrigins with a path', withRp({ relatedOrigins: ['https://example.org/x'] }), 'rp.relatedOrigins'],
  [
    'rp.relatedOrigins with a trailing slash',
    withRp({ relatedOrigins: ['https://example.org/'] }),
    'rp.relatedOrigins',
  ],
  ['rp.relatedOrigins an IP address', withRp({ relatedOrigins: ['https://10.0.0.1'] }), 'rp.relatedOrigins'],
  ['rp.relatedOrigins not a URL', withRp({ relatedOrigins: ['example.org'] }), 'rp.relatedOrigins'],
  [
    'rp.relatedOrigins over 5 labels',
    withRp({ relatedOrigins: ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `https://${l}-shop.com`) }),
    'rp.relatedOrigins',
  ],
  ['rp a string', base({ rp: 'example.com' }), 'rp'],
  ['rp.display_name and rp.displayName both', withRp({ display_name: 'Other' }), 'rp.displayName'],
  [
    'rp in a pasted Kratos config and next to it',
    { selfservice: { methods: { passkey: { config: { rp: rp() } } } }, rp: rp(), store: new MemoryStore() },
    'rp',
  ],
  [
    'store in a pasted config object and next to it',
    { config: { rp: rp(), store: new MemoryStore() }, store: new MemoryStore() },
    'store',
  ],
  // store
  ['store missing', { rp: rp() }, 'store'],
  ['store null', base({ store: null }), 'store'],
  ['store without methods', base({ store: {} }), 'store'],
  ['store a class, not an instance', base({ store: MemoryStore }), 'store'],
  // identitySchema
  ['identitySchema a string', base({ identitySchema: 'email' }), 'identitySchema'],
  ['identitySchema an array', base({ identitySchema: [] }), 'identitySchema'],
  ['identitySchema invalid', base({ identitySchema: { type: 'objekt' } }), 'identitySchema'],
  // authenticatorSelection, attestation
  ['authenticatorSelection a string', base({ authenticatorSelection: 'required' }), 'authenticatorSelection'],
  ['residentKey bad', base({ authenticatorSelection: { residentKey: 'yes' } }), 'authenticatorSelection.residentKey'],
  [
    'userVerification bad',
    base({ authenticatorSelection: { userVerification: true } }),
    'authenticatorSelection.userVerification',
  ],
  [
    'authenticatorAttachment bad',
    base({ authenticatorSelection: { authenticatorAttachment: 'usb' } }),
    'authenticatorSelection.authenticatorAttachment',
  ],
  [
    'authenticatorSelection.user_verifcation (typo)',
    base({ authenticatorSelection: { user_verifcation: 'required' } }),
    'authenticatorSelection.userVerifcation',
  ],
  [
    'requireResidentKey contradicting residentKey',
    base({ authenticatorSelection: { requireResidentKey: false } }),
    'authenticatorSelection.requireResidentKey',
  ],
  ['attestation bad', base({ attestation: 'full' }), 'attestation'],
  // lifespans
  ['lifespan (typo)', base({ lifespan: { flow: '1h' } }), 'lifespan'],
  ['lifespans a number', base({ lifespans: 3600 }), 'lifespans'],
  ['lifespans.flow zero', base({ lifespans: { flow: 0 } }), 'lifespans.flow'],
  ['lifespans.flow negative', base({ lifespans: { flow: -1000 } }), 'lifespans.flow'],
  ['lifespans.flow NaN', base({ lifespans: { flow: Number.NaN } }), 'lifespans.flow'],
  ['lifespans.flow Infinity', base({ lifespans: { flow: Number.POSITIVE_INFINITY } }), 'lifespans.flow'],
  ['lifespans.flow "0s"', base({ lifespans: { flow: '0s' } }), 'lifespans.flow'],
  ['lifespans.flow "-5m"', base({ lifespans: { flow: '-5m' } }), 'lifespans.flow'],
  ['lifespans.flow empty', base({ lifespans: { flow: '' } }), 'lifespans.flow'],
  ['lifespans.flow no unit', base({ lifespans: { flow: '3600' } }), 'lifespans.flow'],
  ['lifespans.flow an unknown unit', base({ lifespans: { flow: '1w' } }), 'lifespans.flow'],
  ['lifespans.flow words', base({ lifespans: { flow: 'one hour' } }), 'lifespans.flow'],
  ['lifespans.flow a boolean', base({ lifespans: { flow: true } }), 'lifespans.flow'],
  ['lifespans.ceremony "0ms"', base({ lifespans: { ceremony: '0ms' } }), 'lifespans.ceremony'],
  [
    'lifespans.ceremony longer than the flow',
    base({ lifespans: { flow: '10m', ceremony: '20m' } }),
    'lifespans.ceremony',
  ],
  ['lifespans.session negative', base({ lifespans: { session: -1 } }), 'lifespans.session'],
  ['lifespans.session past the last valid date', base({ lifespans: { session: 1e16 } }), 'lifespans.session'],
  ['lifespans.flow in centuries', base({ lifespans: { flow: '100000d' } }), 'lifespans.flow'],
  [
    'lifespans.privilegedSession "1 h"',
    base({ lifespans: { privilegedSession: '1 h' } }),
    'lifespans.privilegedSession',
  ],
  ['lifespans.code without courier', base({ lifespans: { code: '15m' } }), 'lifespans.code'],
  ['lifespans.code zero', base({ courier: consoleCourier(), lifespans: { code: 0 } }), 'lifespans.code'],
  [
    'lifespans.code longer than the flow',
    base({ courier: consoleCourier(), lifespans: { code: '2h' } }),
    'lifespans.code',
  ],
  ['lifespans.sesion (typo)', base({ lifespans: { sesion: '1h' } }), 'lifespans.sesion'],
  // urls
  ['urls.publicBase empty', base({ urls: { publicBase: '' } }), 'urls.publicBase'],
  ['urls.publicBase relative', base({ urls: { publicBase: '/auth' } }), 'urls.publicBase'],
  ['urls.publicBase no scheme', base({ urls: { publicBase: 'example.com/auth' } }), 'urls.publicBase'],
  ['urls.publicBase another scheme', base({ urls: { publicBase: 'ftp://example.com/auth' } }), 'urls.publicBase'],
  ['urls.publicBase with a query', base({ urls: { publicBase: 'https://example.com/auth?x=1' } }), 'urls.publicBase'],
  ['urls.publicBase with a fragment', base({ urls: { publicBase: 'https://example.com/auth#x' } }), 'urls.publicBase'],
  ['urls.publicBase a number', base({ urls: { publicBase: 1 } }), 'urls.publicBase'],
  ['urls.ui.login empty', base({ urls: { ui: { login: '' } } }), 'urls.ui.login'],
  ['urls.ui.login protocol-relative', base({ urls: { ui: { login: '//evil.com/login' } } }), 'urls.ui.login'],
  ['urls.ui.login javascript:', base({ urls: { ui: { login: 'javascript:alert(1)' } } }), 'urls.ui.login'],
  ['urls.ui.settings relative without slash', base({ urls: { ui: { settings: 'settings' } } }), 'urls.ui.settings'],
  ['urls.ui.error a number', base({ urls: { ui: { error: 5 } } }), 'urls.ui.error'],
  ['urls.ui.logn (typo)', base({ urls: { ui: { logn: '/login' } } }), 'urls.ui.logn'],
  ['urls.defaultReturnTo empty', base({ urls: { defaultReturnTo: '' } }), 'urls.defaultReturnTo'],
  ['urls.defaultReturnTo not a URL', base({ urls: { defaultReturnTo: 'home' } }), 'urls.defaultReturnTo'],
  ['urls.allowedReturnTo a string', base({ urls: { allowedReturnTo: 'https://example.com' } }), 'urls.allowedReturnTo'],
  ['urls.allowedReturnTo not a URL', base({ urls: { allowedReturnTo: ['example.com'] } }), 'urls.allowedReturnTo'],
  ['urls.allowedReturnTo empty entry', base({ urls: { allowedReturnTo: [''] } }), 'urls.allowedReturnTo'],
  ['urls.publicBaseUrl (typo)', base({ urls: { publicBaseUrl: 'https://example.com' } }), 'urls.publicBaseUrl'],
  // hooks
  ['hooks a function', base({ hooks: () => {} }), 'hooks'],
  ['hooks.session a string', base({ hooks: { session: 'yes' } }), 'hooks.session'],
  ['hooks.onLogin a string', base({ hooks: { onLogin: 'log' } }), 'hooks.onLogin'],
  ['hooks.onRegistered null', base({ hooks: { onRegistered: null } }), 'hooks.onRegistered'],
  ['hooks.beforeLogin an object', base({ hooks: { beforeLogin: {} } }), 'hooks.beforeLogin'],
  ['hooks.onlogin (typo)', base({ hooks: { onlogin: () => {} } }), 'hooks.onlogin'],
  ['hooks.timeout zero', base({ hooks: { timeout: 0 } }), 'hooks.timeout'],
  // the rest
  ['signCountPolicy bad', base({ signCountPolicy: 'ignore' }), 'signCountPolicy'],
  ['maxBodySize a string', base({ maxBodySize: '64kb' }), 'maxBodySize'],
  ['maxBodySize too small', base({ maxBodySize: 10 }), 'maxBodySize'],
  ['maxBodySize fractional', base({ maxBodySize: 2048.5 }), 'maxBodySize'],
  ['courier without send', base({ courier: {} }), 'courier'],
  ['courier null', base({ courier: null }), 'courier'],
  ['secrets too short', base({ courier: consoleCourier(), secrets: ['short'] }), 'secrets[0]'],
  ['secrets a string', base({ courier: consoleCourier(), secrets: 'x'.repeat(40) }), 'secrets'],
  ['secrets empty', base({ courier: consoleCourier(), secrets: [] }), 'secrets'],
  ['secrets without courier', base({ secrets: ['x'.repeat(40)] }), 'secrets'],
  ['recovery without courier', base({ recovery: { enabled: true } }), 'recovery'],
  ['recovery.enabled a string', base({ courier: consoleCourier(), recovery: { enabled: 'yes' } }), 'recovery.enabled'],
  [
    'verification.afterRegistration a number',
    base({ courier: consoleCourier(), verification: { afterRegistration: 1 } }),
    'verification.afterRegistration',
  ],
  ['code.maxSubmissions zero', base({ courier: consoleCourier(), code: { maxSubmissions: 0 } }), 'code.maxSubmissions'],
  ['code.sendWindow bad', base({ courier: consoleCourier(), code: { sendWindow: '1 hour' } }), 'code.sendWindow'],
  ['code.failureWindow zero', base({ courier: consoleCourier(), code: { failureWindow: 0 } }), 'code.failureWindow'],
  [
    'code.hardeningWindow negative',
    base({ courier: consoleCourier(), code: { hardeningWindow: -1 } }),
    'code.hardeningWindow',
  ],
  ['hints a string', base({ hints: 'hybrid' }), 'hints'],
  ['hints unknown value', base({ hints: ['passkey'] }), 'hints'],
  ['hints repeated', base({ hints: ['hybrid', 'hybrid'] }), 'hints'],
  ['hint (typo)', base({ hint: ['hybrid'] }), 'hint'],
  ['login.style bad', base({ login: { style: 'identifier-first' } }), 'login.style'],
  [
    'login.requireVerifiedAddress without courier',
    base({ login: { requireVerifiedAddress: true } }),
    'login.requireVerifiedAddress',
  ],
  [
    'settings.revokeSessionsOfRemovedPasskey a string',
    base({ settings: { revokeSessionsOfRemovedPasskey: 'no' } }),
    'settings.revokeSessionsOfRemovedPasskey',
  ],
  ['sessionCheckCacheMs a string', base({ sessionCheckCacheMs: '5s' }), 'sessionCheckCacheMs'],
  ['sessionCheckCacheMs negative', base({ sessionCheckCacheMs: -1 }), 'sessionCheckCacheMs'],
  ['sessionCheckCacheMs too large', base({ sessionCheckCacheMs: 300_001 }), 'sessionCheckCacheMs'],
  ['an unknown top-level key', base({ origins: ['https://example.com'] }), 'origins'],
];

describe('options edges: every bad configuration throws a TypeError naming the option', () => {
  for (const [what, options, name] of CASES) {
    it(what, () => {
      let thrown: unknown;
      try {
        passkeys(options as PasskeysOptions);
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown !== undefined, `${what}: accepted`);
      assert.ok(thrown instanceof TypeError, `${what}: threw ${String(thrown)}, not a TypeError`);
      assert.ok(
        thrown.message.includes(`\`${name}\``) ||
          thrown.message.includes(`\`${name}.`) ||
          thrown.message.includes(`\`${name}[`),
        `${what}: the message does not name \`${name}\`: ${thrown.message}`,
      );
      assert.match(thrown.message, /^express-passkeys: /);
    });
  }

  it('still accepts the good configurations next to the bad ones', () => {
    const ok: unknown[] = [
      base(),
      withRp({ origins: 'https://example.com' }),
      withRp({ origins: ['https://example.com', 'https://app.example.com:3000', 'android:apk-key-hash:abc-_DEF123'] }),
      withRp({ id: 'localhost', origins: ['http://localhost:3000', 'http://app.localhost:3000'] }),
      withRp({ id: 'EXAMPLE.com', origins: ['https://Example.COM'] }),
      withRp({ id: 'example.co.uk', origins: ['https://www.example.co.uk'] }),
      withRp({ relatedOrigins: ['https://example.org', 'https://example.org'] }),
      base({ lifespans: { flow: '1h30m', ceremony: 90_000, session: '7d', privilegedSession: '15m' } }),
      base({
        urls: { publicBase: 'https://example.com/auth/', ui: { login: '/login', error: 'https://example.com/e' } },
      }),
      base({ hooks: { timeout: '30d', onLogin: undefined } }),
      base({ lifespans: { flow: '3650d', session: '3650d' } }),
      withRp({ id: 'intranet', origins: ['https://intranet', 'https://app.intranet'] }),
      base({ authenticatorSelection: { requireResidentKey: true } }),
      base({ authenticatorSelection: { residentKey: 'preferred', requireResidentKey: false } }),
    ];
    for (const options of ok) passkeys(options as PasskeysOptions);
  });
});
