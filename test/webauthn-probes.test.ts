// A hostile client against the WebAuthn verification core, through the HTTP flows: every probe is a clean 400 with
// the SPEC's message id (4000001 registration and settings, 4000043 / 4000015 login), nothing written, never a 5xx.
// Where WebAuthn L3 leaves the answer open, the test pins what the library does (see the comments).

import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PasskeysOptions } from '../src/index.js';
import {
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  makeApp,
  ORIGIN,
  register,
  requestOptionsOf,
} from './helpers/app.js';
import {
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
  SoftwareAuthenticator,
} from './helpers/authenticator.js';
import { type CborValue, decodeCbor, encodeCbor } from './helpers/cbor.js';

const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** Every message id of a flow answer (ui.messages and node messages). */
function messageIds(body: FlowJson): number[] {
  return [
    ...(body.ui?.messages ?? []).map((m) => m.id),
    ...(body.ui?.nodes ?? []).flatMap((n) => n.messages.map((m) => m.id)),
  ];
}

type RegMutation = (credential: RegistrationResponseJSON, options: ReturnType<typeof creationOptionsOf>) => unknown;

/** The attestation object's parts, to rebuild (fmt `none` signs nothing). */
function attestationOf(credential: RegistrationResponseJSON): Map<string, CborValue> {
  return decodeCbor(Buffer.from(credential.response.attestationObject, 'base64url')) as Map<string, CborValue>;
}

function setAttestation(credential: RegistrationResponseJSON, object: Map<string, CborValue> | Uint8Array): void {
  const bytes = object instanceof Uint8Array ? object : encodeCbor(object);
  credential.response.attestationObject = b64u(bytes);
  delete (credential.response as { authenticatorData?: string }).authenticatorData;
}

/** Rewrite the registration's authenticator data. */
function mutateAuthData(credential: RegistrationResponseJSON, change: (authData: Uint8Array) => Uint8Array): void {
  const object = attestationOf(credential);
  object.set('authData', change(new Uint8Array(object.get('authData') as Uint8Array)));
  setAttestation(credential, object);
}

/** Client data of the ceremony as the browser wrote it, with `text` replacing its JSON. */
function clientDataOf(credential: { response: { clientDataJSON: string } }): Record<string, unknown> {
  return JSON.parse(Buffer.from(credential.response.clientDataJSON, 'base64url').toString('utf8'));
}

/** Registration: the mutated credential is refused with 4000001 and no identity exists. */
async function refuseRegistration(mutate: RegMutation, overrides: Partial<PasskeysOptions> = {}, expected = 400) {
  const { agent, store } = makeApp(overrides);
  const a = agent();
  const flow = await initFlow(a, 'registration');
  const options = creationOptionsOf(flow);
  const credential = new SoftwareAuthenticator({ alg: -7 }).create(options, { origin: ORIGIN });
  const replaced = mutate(credential, options);
  const payload = typeof replaced === 'string' ? replaced : JSON.stringify(replaced ?? credential);
  const res = await a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), traits: { email: 'probe@example.com' }, passkey_register: payload });
  assert.equal(res.status, expected, JSON.stringify(res.body).slice(0, 600));
  if (expected === 400) assert.ok(messageIds(res.body).includes(4000001), JSON.stringify(res.body.ui?.messages));
  assert.equal(await store.findIdentityByIdentifier('probe@example.com'), null, 'no identity written');
  await a.get('/auth/sessions/whoami').expect(401);
}

/** Settings (add passkey): the mutated credential is refused with 4000001; the identity keeps its one passkey. */
async function refuseSettingsAdd(mutate: RegMutation, overrides: Partial<PasskeysOptions> = {}) {
  const { agent, store } = makeApp(overrides);
  const a = agent();
  const { body } = await register(a);
  const identityId = body.identity.id as string;
  const flow = await initFlow(a, 'settings');
  const options = creationOptionsOf(flow);
  const credential = new SoftwareAuthenticator({ alg: -7 }).create(options, { origin: ORIGIN });
  const replaced = mutate(credential, options);
  const payload = typeof replaced === 'string' ? replaced : JSON.stringify(replaced ?? credential);
  const res = await a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: payload });
  assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 600));
  assert.ok(messageIds(res.body).includes(4000001), JSON.stringify(res.body.ui?.messages));
  assert.equal((await store.listPasskeys(identityId)).length, 1, 'no passkey added');
}

/** What an assertion is made of, before it is signed: edit any part, then {@link signed} signs it for real. */
interface AssertionParts {
  clientDataJSON: Buffer;
  authData: Buffer;
  json: AuthenticationResponseJSON;
}

/**
 * Login: register, then answer a login flow with an assertion edited by `mutate` and signed with the passkey's real
 * key. Asserts a 400 carrying one of `ids`, no session, and the stored sign count unchanged.
 */
async function refuseLogin(
  mutate: (parts: AssertionParts) => unknown,
  overrides: Partial<PasskeysOptions> = {},
  ids = [4000043],
) {
  const { agent, store } = makeApp(overrides);
  const { authenticator, body } = await register(agent());
  const identityId = body.identity.id as string;
  const [before] = await store.listPasskeys(identityId);
  const a = agent();
  const flow = await initFlow(a, 'login');
  const res = await a
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), passkey_login: signedAssertion(authenticator, flow, mutate) });
  assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 600));
  assert.ok(
    messageIds(res.body).some((id) => ids.includes(id)),
    JSON.stringify(res.body.ui?.messages),
  );
  await a.get('/auth/sessions/whoami').expect(401);
  const [after] = await store.listPasskeys(identityId);
  assert.equal(after?.signCount, before?.signCount, 'sign count untouched');
  assert.equal(after?.lastUsedAt?.getTime?.(), before?.lastUsedAt?.getTime?.(), 'last use untouched');
}

/** The authenticator's assertion for the flow, edited by `mutate` and then (re-)signed with its key. */
function signedAssertion(
  authenticator: SoftwareAuthenticator,
  flow: FlowJson,
  mutate: (parts: AssertionParts) => unknown,
): string {
  const json = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
  const parts: AssertionParts = {
    clientDataJSON: Buffer.from(json.response.clientDataJSON, 'base64url'),
    authData: Buffer.from(json.response.authenticatorData, 'base64url'),
    json,
  };
  const replaced = mutate(parts);
  const credential = authenticator.credentials[0];
  assert.ok(credential);
  const signature = sign(
    'sha256',
    Buffer.concat([parts.authData, sha256(parts.clientDataJSON)]),
    credential.privateKey,
  );
  json.response.clientDataJSON = b64u(parts.clientDataJSON);
  json.response.authenticatorData = b64u(parts.authData);
  json.response.signature = b64u(signature);
  if (typeof replaced === 'string') return replaced;
  return JSON.stringify(replaced ?? json);
}

/** Client data text with the ceremony's values (challenge, origin) spliced into `template`. */
function clientDataText(values: Record<string, unknown>, template: (v: Record<string, string>) => string): Buffer {
  const quoted = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, JSON.stringify(v)]));
  return Buffer.from(template(quoted), 'utf8');
}

describe('hostile clientDataJSON', () => {
  it('registration: type webauthn.get', () =>
    refuseRegistration((c) => {
      const data = clientDataOf(c);
      c.response.clientDataJSON = b64u(JSON.stringify({ ...data, type: 'webauthn.get' }));
    }));
  it('login: type webauthn.create', () =>
    refuseLogin((p) => {
      p.clientDataJSON = Buffer.from(
        JSON.stringify({ ...JSON.parse(String(p.clientDataJSON)), type: 'webauthn.create' }),
      );
    }));
  it('settings: type webauthn.get', () =>
    refuseSettingsAdd((c) => {
      c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), type: 'webauthn.get' }));
    }));

  for (const extra of [
    { crossOrigin: true },
    { crossOrigin: true, topOrigin: 'https://evil.example' },
    { crossOrigin: true, topOrigin: ORIGIN },
    // WebAuthn L3 §7.1 step 11 / §7.2 step 13: a topOrigin must be one the RP expects to frame it; we expect none.
    { crossOrigin: false, topOrigin: 'https://evil.example' },
    { topOrigin: ORIGIN },
  ]) {
    const name = JSON.stringify(extra);
    it(`registration: ${name}`, () =>
      refuseRegistration((c) => {
        c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), ...extra }));
      }));
    it(`settings: ${name}`, () =>
      refuseSettingsAdd((c) => {
        c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), ...extra }));
      }));
    it(`login: ${name}`, () =>
      refuseLogin((p) => {
        p.clientDataJSON = Buffer.from(JSON.stringify({ ...JSON.parse(String(p.clientDataJSON)), ...extra }));
      }));
  }

  // Origins are compared as the browser serialises them (RFC 6454): exactly, no normalising.
  for (const origin of [`${ORIGIN}/`, ORIGIN.toUpperCase(), 'HTTP://localhost:3000', 'http://LOCALHOST:3000']) {
    it(`registration and login: origin ${origin}`, async () => {
      await refuseRegistration((c) => {
        c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), origin }));
      });
      await refuseLogin((p) => {
        p.clientDataJSON = Buffer.from(JSON.stringify({ ...JSON.parse(String(p.clientDataJSON)), origin }));
      });
    });
  }
  it('an https origin with its default port spelled out (:443) is not the origin', async () => {
    const rp = { id: 'localhost', displayName: 'Test', origins: ['https://localhost'] };
    await refuseRegistration(
      (c) => {
        c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), origin: 'https://localhost:443' }));
      },
      { rp },
    );
  });

  for (const [name, change] of [
    ['padded', (s: string) => `${s}=`],
    ['standard base64', (s: string) => Buffer.from(s, 'base64url').toString('base64')],
  ] as const) {
    it(`a challenge ${name}`, async () => {
      await refuseRegistration((c) => {
        const data = clientDataOf(c);
        c.response.clientDataJSON = b64u(JSON.stringify({ ...data, challenge: change(String(data.challenge)) }));
      });
      await refuseLogin((p) => {
        const data = JSON.parse(String(p.clientDataJSON));
        p.clientDataJSON = Buffer.from(JSON.stringify({ ...data, challenge: change(String(data.challenge)) }));
      });
    });
  }

  // Duplicate keys: WebAuthn L3 parses clientDataJSON with a JSON parser (§7.1 step 5) and says nothing of repeated
  // members; JSON.parse keeps the last. No conforming client writes one, and a hostile client gains nothing by it (it
  // could write the single member it wants), so the last one is judged: these tests pin that it is the one checked.
  const duplicateType = (first: string, second: string) => (v: Record<string, string>) =>
    `{"type":"${first}","type":"${second}","challenge":${v.challenge},"origin":${v.origin},"crossOrigin":false}`;
  it('duplicate type keys: the last one is judged (webauthn.get last refused at registration)', () =>
    refuseRegistration((c) => {
      c.response.clientDataJSON = b64u(
        clientDataText(clientDataOf(c), duplicateType('webauthn.create', 'webauthn.get')),
      );
    }));
  it('duplicate type keys: the last one is judged (webauthn.create last refused at login)', () =>
    refuseLogin((p) => {
      p.clientDataJSON = clientDataText(
        JSON.parse(String(p.clientDataJSON)),
        duplicateType('webauthn.get', 'webauthn.create'),
      );
    }));
  it('a duplicate origin key: the last (a foreign one) is judged', async () => {
    const template = (v: Record<string, string>) =>
      `{"type":"webauthn.get","challenge":${v.challenge},"origin":${v.origin},"origin":"https://evil.example"}`;
    await refuseLogin((p) => {
      p.clientDataJSON = clientDataText(JSON.parse(String(p.clientDataJSON)), template);
    });
  });

  it('a byte order mark before the JSON', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    await refuseRegistration((c) => {
      c.response.clientDataJSON = b64u(Buffer.concat([bom, Buffer.from(c.response.clientDataJSON, 'base64url')]));
    });
    await refuseLogin((p) => {
      p.clientDataJSON = Buffer.concat([bom, p.clientDataJSON]);
    });
  });

  it('invalid UTF-8 inside the origin', async () => {
    const broken = (json: Buffer) => {
      const text = json.toString('latin1').replace('"origin":"http://', '"origin":"http://\xff');
      return Buffer.from(text, 'latin1');
    };
    await refuseRegistration((c) => {
      c.response.clientDataJSON = b64u(broken(Buffer.from(c.response.clientDataJSON, 'base64url')));
    });
    await refuseLogin((p) => {
      p.clientDataJSON = broken(p.clientDataJSON);
    });
  });

  it('clientDataJSON over the field limit (16 KiB) is a 400; 1 MB is a 413 before any parsing', async () => {
    const pad = 'x'.repeat(20_000);
    await refuseRegistration((c) => {
      c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), pad }));
    });
    await refuseLogin((p) => {
      p.clientDataJSON = Buffer.from(JSON.stringify({ ...JSON.parse(String(p.clientDataJSON)), pad }));
    });
    const huge = 'x'.repeat(1 << 20);
    await refuseRegistration(
      (c) => {
        c.response.clientDataJSON = b64u(JSON.stringify({ ...clientDataOf(c), huge }));
      },
      {},
      413,
    );
  });
});

/** Flip flags in authenticator data. */
const withFlags = (authData: Uint8Array, set: number, clear = 0) => {
  const copy = new Uint8Array(authData);
  copy[32] = ((copy[32] ?? 0) | set) & ~clear;
  return copy;
};

describe('hostile authenticatorData', () => {
  it('UP=0', async () => {
    await refuseRegistration((c) => mutateAuthData(c, (d) => withFlags(d, 0, 0x01)));
    await refuseSettingsAdd((c) => mutateAuthData(c, (d) => withFlags(d, 0, 0x01)));
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(p.authData, 0, 0x01));
    });
  });
  it("UV=0 with userVerification 'required'", async () => {
    const required = { authenticatorSelection: { userVerification: 'required' as const } };
    await refuseRegistration((c) => mutateAuthData(c, (d) => withFlags(d, 0, 0x04)), required);
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(p.authData, 0, 0x04));
    }, required);
  });
  it('BE=0 with BS=1', async () => {
    await refuseRegistration((c) => mutateAuthData(c, (d) => withFlags(d, 0x10, 0x08)));
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(p.authData, 0x10, 0x08));
    });
  });
  it('ED set without extensions, and ED with extensions then trailing garbage', async () => {
    const extensions = encodeCbor(new Map<CborValue, CborValue>([['credProtect', 1]]));
    for (const tail of [Buffer.alloc(0), Buffer.concat([extensions, Buffer.from([0xff, 0x00])])]) {
      await refuseRegistration((c) => mutateAuthData(c, (d) => withFlags(Buffer.concat([d, tail]), 0x80)));
      await refuseLogin((p) => {
        p.authData = Buffer.from(withFlags(Buffer.concat([p.authData, tail]), 0x80));
      });
    }
  });
  it('extensions without the ED flag (trailing bytes)', async () => {
    const extensions = encodeCbor(new Map<CborValue, CborValue>([['credProtect', 1]]));
    await refuseRegistration((c) => mutateAuthData(c, (d) => Buffer.concat([d, extensions])));
    await refuseLogin((p) => {
      p.authData = Buffer.concat([p.authData, extensions]);
    });
  });
  it('ED with extensions truncated inside (a lax decoder reads fewer bytes)', async () => {
    const extensions = Buffer.from(encodeCbor(new Map<CborValue, CborValue>([['x', new Uint8Array(10).fill(1)]])));
    const cut = extensions.subarray(0, extensions.length - 3);
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(Buffer.concat([p.authData, cut]), 0x80));
    });
  });
  it('ED with extensions nested 10,000 deep', async () => {
    const bomb = Buffer.concat([Buffer.alloc(10_000, 0x81), Buffer.from([0x00])]);
    await refuseRegistration((c) => mutateAuthData(c, (d) => withFlags(Buffer.concat([d, bomb]), 0x80)));
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(Buffer.concat([p.authData, bomb]), 0x80));
    });
  });
  it('AT set on an assertion with no attested credential data', async () => {
    await refuseLogin((p) => {
      p.authData = Buffer.from(withFlags(p.authData, 0x40));
    });
  });
  it('truncated authenticator data', async () => {
    await refuseRegistration((c) => mutateAuthData(c, (d) => d.subarray(0, 36)));
    await refuseRegistration((c) => mutateAuthData(c, (d) => d.subarray(0, d.length - 5)));
    await refuseLogin((p) => {
      p.authData = p.authData.subarray(0, 36);
    });
  });
  it('the RP ID hash of a related origin, and of another domain', async () => {
    const rp = {
      id: 'localhost',
      displayName: 'Test',
      origins: [ORIGIN],
      relatedOrigins: ['https://related.example'],
    };
    for (const host of ['related.example', 'evil.example', 'LOCALHOST', 'localhost.']) {
      const hash = sha256(host);
      await refuseRegistration((c) => mutateAuthData(c, (d) => new Uint8Array([...hash, ...d.subarray(32)])), { rp });
      await refuseLogin(
        (p) => {
          p.authData = Buffer.concat([hash, p.authData.subarray(32)]);
        },
        { rp },
      );
    }
  });
});

describe('sign counts', () => {
  async function signInWith(counts: number[], policy: 'reject' | 'warn') {
    const { agent, store } = makeApp({ signCountPolicy: policy });
    const { authenticator, body } = await register(agent());
    const statuses: number[] = [];
    for (const count of counts) {
      const a = agent();
      const flow = await initFlow(a, 'login');
      const res = await a
        .post(actionPath(flow))
        .set('Accept', 'application/json')
        .send({
          csrf_token: csrfOf(flow),
          passkey_login: signedAssertion(authenticator, flow, (p) => {
            p.authData.writeUInt32BE(count, 33);
          }),
        });
      statuses.push(res.status);
      if (res.status !== 200) assert.ok(messageIds(res.body).includes(4000043));
    }
    const [passkey] = await store.listPasskeys(body.identity.id);
    return { statuses, stored: passkey?.signCount };
  }
  it('a counter that goes backwards: refused under reject (nothing written), accepted and not lowered under warn', async () => {
    assert.deepEqual(await signInWith([5, 3], 'reject'), { statuses: [200, 400], stored: 5 });
    assert.deepEqual(await signInWith([5, 5], 'reject'), { statuses: [200, 400], stored: 5 });
    assert.deepEqual(await signInWith([5, 3], 'warn'), { statuses: [200, 200], stored: 5 });
  });
  it('2^32-1 is stored as is; every later counter is then a regression (WebAuthn has no wrap-around)', async () => {
    assert.deepEqual(await signInWith([2 ** 32 - 1, 1], 'reject'), { statuses: [200, 400], stored: 2 ** 32 - 1 });
  });
});

describe('hostile attestationObject', () => {
  it("fmt packed with a bogus attStmt under attestation 'none'", async () => {
    await refuseRegistration((c) => {
      const object = attestationOf(c);
      object.set('fmt', 'packed');
      object.set(
        'attStmt',
        new Map<CborValue, CborValue>([
          ['alg', -7],
          ['sig', new Uint8Array(70)],
        ]),
      );
      setAttestation(c, object);
    });
  });
  for (const fmt of ['tpm', 'android-key', 'fido-u2f', 'apple', 'android-safetynet', 'bogus', 7]) {
    it(`fmt ${JSON.stringify(fmt)} with an empty attStmt`, () =>
      refuseRegistration((c) => {
        const object = attestationOf(c);
        object.set('fmt', fmt as CborValue);
        setAttestation(c, object);
      }));
  }
  it('fmt none with a non-empty attStmt', () =>
    refuseRegistration((c) => {
      const object = attestationOf(c);
      object.set('attStmt', new Map<CborValue, CborValue>([['x', 1]]));
      setAttestation(c, object);
    }));
  it('indefinite-length maps and byte strings', async () => {
    await refuseRegistration((c) => {
      const bytes = Buffer.from(c.response.attestationObject, 'base64url');
      // a3 (map of 3) → bf ... ff (indefinite map)
      assert.equal(bytes[0], 0xa3);
      setAttestation(c, Buffer.concat([Buffer.from([0xbf]), bytes.subarray(1), Buffer.from([0xff])]));
    });
  });
  it('a CBOR tag around the map, and around authData', async () => {
    await refuseRegistration((c) => {
      const bytes = Buffer.from(c.response.attestationObject, 'base64url');
      setAttestation(c, Buffer.concat([Buffer.from([0xd9, 0xd9, 0xf7]), bytes])); // tag 55799 (self-described CBOR)
    });
    await refuseRegistration((c) => {
      const bytes = Buffer.from(c.response.attestationObject, 'base64url');
      const at = bytes.indexOf(Buffer.from('authData'));
      const tagged = Buffer.concat([bytes.subarray(0, at + 8), Buffer.from([0xd8, 0x40]), bytes.subarray(at + 8)]);
      setAttestation(c, tagged); // tag 64 (uint8 typed array) on the authData byte string
    });
  });
  it('duplicate top-level keys (a second authData)', async () => {
    await refuseRegistration((c) => {
      const bytes = Buffer.from(c.response.attestationObject, 'base64url');
      const object = attestationOf(c);
      const other = encodeCbor(new Map<CborValue, CborValue>([['authData', new Uint8Array(37)]]));
      // a3 → a4, then the extra pair.
      setAttestation(c, Buffer.concat([Buffer.from([0xa4]), bytes.subarray(1), Buffer.from(other).subarray(1)]));
      assert.ok(object.size === 3);
    });
  });
  it('a byte string claiming 2^32 bytes, and 2^64-1', async () => {
    for (const head of [
      [0x5a, 0xff, 0xff, 0xff, 0xff],
      [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]) {
      await refuseRegistration((c) => {
        setAttestation(c, Buffer.concat([Buffer.from([0xa1, 0x68]), Buffer.from('authData'), Buffer.from(head)]));
      });
    }
  });
  it('a map nested 10,000 deep', () =>
    refuseRegistration((c) => {
      setAttestation(c, Buffer.concat([Buffer.alloc(10_000, 0x81), Buffer.from([0x00])]));
    }));
  it('a COSE key with a duplicate label (alg twice)', () =>
    refuseRegistration((c) => {
      mutateAuthData(c, (d) => {
        const idLength = (d[53] ?? 0) * 256 + (d[54] ?? 0);
        const start = 55 + idLength;
        const cose = Buffer.from(d.subarray(start));
        assert.equal(cose[0], 0xa5);
        // a5 → a6, plus a second `3: -8` (alg EdDSA).
        return new Uint8Array([...d.subarray(0, start), 0xa6, ...cose.subarray(1), 0x03, 0x27]);
      });
    }));
});

describe('hostile response JSON', () => {
  it('id ≠ rawId', async () => {
    const other = b64u(new Uint8Array(32).fill(7));
    await refuseRegistration((c) => ({ ...c, id: other }));
    await refuseLogin((p) => ({ ...p.json, rawId: other }), {}, [4000043, 4000015]);
  });
  it("type ≠ 'public-key'", async () => {
    await refuseRegistration((c) => ({ ...c, type: 'password' }));
    await refuseLogin((p) => ({ ...p.json, type: 'password' }));
  });
  it('1000 transports', () =>
    refuseRegistration((c) => ({ ...c, response: { ...c.response, transports: Array(1000).fill('usb') } })));
  it('clientExtensionResults that are not an object', async () => {
    await refuseRegistration((c) => ({ ...c, clientExtensionResults: [] }));
    await refuseRegistration((c) => ({ ...c, clientExtensionResults: 'x' }));
  });
  it('a 1 MB clientExtensionResults is a 413 before any parsing', () =>
    refuseRegistration((c) => ({ ...c, clientExtensionResults: { big: 'x'.repeat(1 << 20) } }), {}, 413));
});
