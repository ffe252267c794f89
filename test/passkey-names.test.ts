// Default passkey names: the sourced AAGUID table and the "Passkey YYYY-MM-DD" fallback.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AAGUID_NAMES } from '../src/data/aaguids.js';
import { passkeyName } from '../src/passkey.js';

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
