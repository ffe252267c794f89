// Default passkey names: the sourced AAGUID table, then the browser and system that made the passkey, then
// "Passkey YYYY-MM-DD"; numbered when the identity has that name already.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AAGUID_NAMES } from '../src/data/aaguids.js';
import { MAX_PASSKEY_NAME, passkeyName, uniqueName } from '../src/passkey.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  ORIGIN,
  register,
} from './helpers/app.js';
import { SoftwareAuthenticator } from './helpers/authenticator.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CREATED = new Date('2026-03-07T23:59:59.000Z');
const FALLBACK = 'Passkey 2026-03-07';

describe('AAGUID table', () => {
  const entries = Object.entries(AAGUID_NAMES);

  it('is not empty (the upstream list, once retired, is an empty object)', () => {
    assert.ok(entries.length >= 20, `only ${entries.length} entries`);
  });

  it('has lower-case UUID keys', () => {
    for (const [aaguid] of entries) assert.match(aaguid, UUID, aaguid);
  });

  it('has non-empty, trimmed names of at most 64 characters', () => {
    for (const [aaguid, name] of entries) {
      assert.equal(typeof name, 'string', aaguid);
      assert.ok(name.length > 0 && name.length <= 64, `${aaguid}: ${JSON.stringify(name)}`);
      assert.equal(name, name.trim(), aaguid);
      assert.doesNotMatch(name, /\p{Cc}/u, aaguid);
    }
  });

  it('lists each AAGUID once in the source (a repeated literal key would silently overwrite)', () => {
    const source = readFileSync(new URL('../src/data/aaguids.ts', import.meta.url), 'utf8');
    const keys = [...source.matchAll(/^\s*'([^']+)':\s*'/gm)].map((m) => m[1]);
    assert.equal(keys.length, entries.length);
    assert.equal(new Set(keys).size, keys.length, 'duplicate AAGUID in src/data/aaguids.ts');
  });

  it('names the header source, commit and licence', () => {
    const source = readFileSync(new URL('../src/data/aaguids.ts', import.meta.url), 'utf8');
    assert.match(source, /github\.com\/passkeydeveloper\/passkey-authenticator-aaguids/);
    assert.match(source, /aaguid\.json/);
    assert.match(source, /commit [0-9a-f]{40}/);
    assert.match(source, /Licence:/);
  });

  it('is frozen and has no prototype', () => {
    assert.ok(Object.isFrozen(AAGUID_NAMES));
    assert.equal(Object.getPrototypeOf(AAGUID_NAMES), null);
  });
});

describe('passkeyName', () => {
  it('names known providers after the source list', () => {
    assert.equal(passkeyName('ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', CREATED), 'Google Password Manager');
    // The list renamed this entry from "iCloud Keychain" to "Apple Passwords".
    assert.equal(passkeyName('fbfc3007-154e-4ecc-8c0b-6e020557d7bd', CREATED), 'Apple Passwords');
    assert.equal(passkeyName('dd4ec289-e01d-41c9-bb89-70fa845d4bf2', CREATED), 'iCloud Keychain (Managed)');
    assert.equal(passkeyName('08987058-cadc-4b81-b6e1-30de50dcbe96', CREATED), 'Windows Hello');
    assert.equal(passkeyName('bada5566-a7aa-401f-bd96-45619a55120d', CREATED), '1Password');
    assert.equal(passkeyName('d548826e-79b4-db40-a3d8-11116f7e8349', CREATED), 'Bitwarden');
    assert.equal(passkeyName('50726f74-6f6e-5061-7373-50726f746f6e', CREATED), 'Proton Pass');
    assert.equal(passkeyName('d3452668-01fd-4c12-926c-83a4204853aa', CREATED), 'Microsoft Password Manager');
  });

  it('matches upper-case AAGUIDs too', () => {
    assert.equal(passkeyName('EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4', CREATED), 'Google Password Manager');
  });

  it('falls back to "Passkey YYYY-MM-DD" (UTC) for an unknown AAGUID', () => {
    assert.equal(passkeyName('12345678-9abc-4def-8123-456789abcdef', CREATED), FALLBACK);
  });

  it('falls back for the all-zero AAGUID (no attestation / privacy mode)', () => {
    assert.equal(passkeyName('00000000-0000-0000-0000-000000000000', CREATED), FALLBACK);
  });

  it('falls back for an empty or odd string, never returning an inherited property', () => {
    assert.equal(passkeyName('', CREATED), FALLBACK);
    assert.equal(passkeyName('constructor', CREATED), FALLBACK);
    assert.equal(passkeyName('__proto__', CREATED), FALLBACK);
    assert.equal(passkeyName('toString', CREATED), FALLBACK);
  });

  it('drops hardware keys that the placeholder list had typed in from memory', () => {
    // YubiKey models are in FIDO MDS, not in the passkey-provider list this table is built from.
    assert.equal(passkeyName('cb69481e-8ff7-4039-93ec-0a2729a154a8', CREATED), FALLBACK);
  });
});

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';

describe('passkeyName with the creating browser', () => {
  it('keeps the AAGUID table first', () => {
    assert.equal(passkeyName('ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', CREATED, CHROME_LINUX), 'Google Password Manager');
  });

  it('names an unknown model after the browser and system', () => {
    assert.equal(passkeyName('00000000-0000-0000-0000-000000000000', CREATED, CHROME_LINUX), 'Chrome on Linux');
    assert.equal(passkeyName('12345678-9abc-4def-8123-456789abcdef', CREATED, SAFARI_IPHONE), 'Safari on iPhone');
    assert.equal(passkeyName('', CREATED, FIREFOX_WINDOWS), 'Firefox on Windows');
  });

  it('falls back to the date when the user agent says nothing usable', () => {
    for (const ua of [undefined, '', 'curl/8.4.0', 'okhttp/4.12.0']) {
      assert.equal(passkeyName('00000000-0000-0000-0000-000000000000', CREATED, ua), FALLBACK, String(ua));
    }
  });
});

describe('uniqueName', () => {
  it('numbers a name already taken, from 2, skipping numbers in use', () => {
    assert.equal(uniqueName('Chrome on Linux', []), 'Chrome on Linux');
    assert.equal(uniqueName('Chrome on Linux', ['Chrome on Linux']), 'Chrome on Linux 2');
    assert.equal(uniqueName('Chrome on Linux', ['Chrome on Linux', 'Chrome on Linux 2']), 'Chrome on Linux 3');
    assert.equal(uniqueName('Chrome on Linux', ['Chrome on Linux 2']), 'Chrome on Linux', 'the plain name is free');
    assert.equal(uniqueName('iCloud Keychain', ['iCloud Keychain']), 'iCloud Keychain 2');
  });

  it('compares without regard to case or surrounding space (a renamed passkey counts)', () => {
    assert.equal(uniqueName('Chrome on Linux', ['  chrome ON linux ']), 'Chrome on Linux 2');
  });

  it('stays within the name limit, counting characters, not UTF-16 units', () => {
    const long = '🔑'.repeat(MAX_PASSKEY_NAME);
    const first = uniqueName(long, []);
    assert.equal([...first].length, MAX_PASSKEY_NAME);
    const second = uniqueName(long, [first]);
    assert.equal([...second].length, MAX_PASSKEY_NAME);
    assert.ok(second.endsWith(' 2'));
    const taken: string[] = [];
    for (let i = 0; i < 9; i++) taken.push(uniqueName(long, taken));
    const next = uniqueName(long, taken);
    assert.equal([...next].length, MAX_PASSKEY_NAME);
    assert.ok(next.endsWith(' 10'), next);
    assert.equal(new Set([...taken, next]).size, 10);
  });
});

describe('default names over HTTP', () => {
  /** Sign up with `userAgent` sending the requests. */
  async function signUp(userAgent: string, authenticator = new SoftwareAuthenticator()) {
    const { agent } = makeApp();
    const a = agent();
    const flow = await initFlow(a, 'registration');
    const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .set('User-Agent', userAgent)
      .send({
        method: 'passkey',
        csrf_token: csrfOf(flow),
        traits: { email: `ua${Math.random().toString(36).slice(2)}@example.com` },
        passkey_register: JSON.stringify(credential),
      });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return a;
  }

  /** Add a passkey in settings, the submit sent by `userAgent`. */
  async function add(a: ReturnType<ReturnType<typeof makeApp>['agent']>, userAgent: string, aaguid?: string) {
    const flow = await initFlow(a, 'settings');
    const credential = new SoftwareAuthenticator(aaguid ? { aaguid } : {}).create(creationOptionsOf(flow), {
      origin: ORIGIN,
    });
    const res = await a
      .post(actionPath(flow))
      .set('Accept', 'application/json')
      .set('User-Agent', userAgent)
      .send({ csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: JSON.stringify(credential) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  const names = async (a: ReturnType<ReturnType<typeof makeApp>['agent']>) =>
    (await initFlow(a, 'settings')).ui.nodes
      .filter((n: FlowJson['ui']['nodes'][number]) => n.attributes.name === 'passkey_remove')
      .map((n: FlowJson['ui']['nodes'][number]) => n.meta.label?.context?.display_name);

  it('sign-up and settings name passkeys after the browser; a name taken on the identity gets a number', async () => {
    const a = await signUp(CHROME_LINUX);
    assert.deepEqual(await names(a), ['Chrome on Linux']);
    await add(a, SAFARI_IPHONE);
    await add(a, CHROME_LINUX);
    await add(a, CHROME_LINUX);
    await add(a, 'okhttp/4.12.0');
    await add(a, CHROME_LINUX, 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4');
    await add(a, FIREFOX_WINDOWS, 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4');
    const today = new Date().toISOString().slice(0, 10);
    assert.deepEqual(await names(a), [
      'Chrome on Linux',
      'Safari on iPhone',
      'Chrome on Linux 2',
      'Chrome on Linux 3',
      `Passkey ${today}`,
      'Google Password Manager',
      'Google Password Manager 2',
    ]);
  });

  it('another identity may use the same name: numbers are per identity', async () => {
    const first = await signUp(CHROME_LINUX);
    const second = await signUp(CHROME_LINUX);
    assert.deepEqual(await names(first), ['Chrome on Linux']);
    assert.deepEqual(await names(second), ['Chrome on Linux']);
  });

  it('a registration without a User-Agent header keeps the dated name', async () => {
    const { agent } = makeApp();
    const a = agent();
    await register(a);
    assert.deepEqual(await names(a), [`Passkey ${new Date().toISOString().slice(0, 10)}`]);
  });
});
