/**
 * A software WebAuthn authenticator (plus the browser's client-side part) for tests.
 *
 * Everything it produces is real: keys come from node:crypto, attestation objects are CBOR with a
 * COSE public key, assertions are signed over authenticatorData || SHA-256(clientDataJSON). It takes
 * the JSON options a server sends (PublicKeyCredentialCreationOptionsJSON /
 * PublicKeyCredentialRequestOptionsJSON) and returns what `PublicKeyCredential.toJSON()` gives in a
 * browser, so the output can be posted to a server as is.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { type CborValue, encodeCbor } from './cbor.js';

export type { AuthenticationResponseJSON, RegistrationResponseJSON };
export type CreationOptionsJSON = PublicKeyCredentialCreationOptionsJSON;
export type RequestOptionsJSON = PublicKeyCredentialRequestOptionsJSON;

/** COSE algorithm identifiers: ES256 (P-256), EdDSA (Ed25519), RS256 (RSA 2048, PKCS#1 v1.5). */
export type CoseAlg = -7 | -8 | -257;

export const SUPPORTED_ALGS: readonly CoseAlg[] = [-7, -8, -257];

export interface SoftCredential {
  id: Uint8Array;
  idB64u: string;
  /** The RP ID the credential is bound to (the one hashed into its registration authenticatorData). */
  rpId: string;
  userHandle: Uint8Array;
  alg: CoseAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  signCount: number;
}

export interface SoftwareAuthenticatorOptions {
  /** UUID string; default 00000000-0000-0000-0000-000000000000. */
  aaguid?: string;
  /**
   * Preferred algorithm: used when the server's pubKeyCredParams include it. Unset (default): the
   * first supported entry of pubKeyCredParams (ES256 when the list is empty).
   */
  alg?: CoseAlg;
  /** BE flag; default false. */
  backupEligible?: boolean;
  /** BS flag; default: same as backupEligible. */
  backedUp?: boolean;
  /** UV flag; default true. */
  userVerified?: boolean;
  /** UP flag; default true. */
  userPresent?: boolean;
  /** true (default): signCount increments before each assertion; false: always 0. */
  counter?: boolean;
}

export interface CreateContext {
  /** Origin put in clientDataJSON; also gives the RP ID when options.rp.id is missing. */
  origin: string;
  /** Hash this RP ID into authenticatorData instead of options.rp.id (negative tests). */
  rpId?: string;
  /** Put this challenge in clientDataJSON instead of options.challenge. */
  challenge?: string;
  /** clientDataJSON type; default 'webauthn.create'. */
  type?: string;
  userVerified?: boolean;
  userPresent?: boolean;
  /** Force an algorithm, even one the server did not offer. */
  alg?: CoseAlg;
  /** Attestation format; default 'packed' when options.attestation is direct/indirect/enterprise, else 'none'. */
  fmt?: 'none' | 'packed';
  /** Emit a COSE key whose x coordinate (n for RSA) is cut short: an invalid key. */
  truncatePublicKey?: boolean;
  /** clientDataJSON crossOrigin; default false. */
  crossOrigin?: boolean;
}

export interface GetContext {
  /** Origin put in clientDataJSON; also gives the RP ID when options.rpId is missing. */
  origin: string;
  /** Use this credential (base64url id), whatever allowCredentials says. It must be held. */
  credentialId?: string;
  /** Hash this RP ID into authenticatorData instead of options.rpId (negative tests). */
  rpId?: string;
  /** Put this challenge in clientDataJSON instead of options.challenge. */
  challenge?: string;
  /** clientDataJSON type; default 'webauthn.get'. */
  type?: string;
  userVerified?: boolean;
  userPresent?: boolean;
  /** Put this counter in authenticatorData; the stored counter is left unchanged. */
  signCount?: number;
  /** base64url user handle to return instead of the stored one; null omits it. */
  userHandle?: string | null;
  /** clientDataJSON crossOrigin; default false. */
  crossOrigin?: boolean;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function fromB64u(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) throw new TypeError(`not base64url: ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

function parseAaguid(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`aaguid must be a UUID, got ${JSON.stringify(uuid)}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function isCoseAlg(alg: unknown): alg is CoseAlg {
  return alg === -7 || alg === -8 || alg === -257;
}

function generateKeyPair(alg: CoseAlg): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (alg) {
    case -7:
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case -8:
      return generateKeyPairSync('ed25519');
    case -257:
      return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  }
}

function jwkBytes(value: string | undefined, name: string): Uint8Array {
  if (value === undefined) throw new Error(`public key JWK has no ${name}`);
  return fromB64u(value);
}

/** The COSE_Key (CBOR bytes) of a public key, as it appears in attested credential data. */
export function coseEncodePublicKey(publicKey: KeyObject, alg: CoseAlg, opts: { truncate?: boolean } = {}): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const cut = (b: Uint8Array) => (opts.truncate ? b.slice(0, Math.floor(b.length / 2)) : b);
  const key = new Map<CborValue, CborValue>();
  switch (alg) {
    case -7:
      key.set(1, 2); // kty: EC2
      key.set(3, -7);
      key.set(-1, 1); // crv: P-256
      key.set(-2, cut(jwkBytes(jwk.x, 'x')));
      key.set(-3, jwkBytes(jwk.y, 'y'));
      break;
    case -8:
      key.set(1, 1); // kty: OKP
      key.set(3, -8);
      key.set(-1, 6); // crv: Ed25519
      key.set(-2, cut(jwkBytes(jwk.x, 'x')));
      break;
    case -257:
      key.set(1, 3); // kty: RSA
      key.set(3, -257);
      key.set(-1, cut(jwkBytes(jwk.n, 'n')));
      key.set(-2, jwkBytes(jwk.e, 'e'));
      break;
  }
  return encodeCbor(key);
}

/** Signs data the way WebAuthn expects for the algorithm (ECDSA DER, raw Ed25519, RSASSA-PKCS1-v1_5). */
function signWith(alg: CoseAlg, privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(alg === -8 ? null : 'sha256', data, privateKey));
}

function hostnameOf(origin: string): string {
  return new URL(origin).hostname;
}

function notAllowed(message: string): Error {
  return new DOMException(message, 'NotAllowedError');
}

export class SoftwareAuthenticator {
  readonly credentials: SoftCredential[] = [];
  readonly aaguid: Uint8Array;
  readonly alg: CoseAlg | undefined;
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly userVerified: boolean;
  readonly userPresent: boolean;
  readonly counter: boolean;

  constructor(opts: SoftwareAuthenticatorOptions = {}) {
    this.aaguid = parseAaguid(opts.aaguid ?? '00000000-0000-0000-0000-000000000000');
    if (opts.alg !== undefined && !isCoseAlg(opts.alg)) throw new TypeError(`unsupported alg ${opts.alg}`);
    this.alg = opts.alg;
    this.backupEligible = opts.backupEligible ?? false;
    this.backedUp = opts.backedUp ?? this.backupEligible;
    this.userVerified = opts.userVerified ?? true;
    this.userPresent = opts.userPresent ?? true;
    this.counter = opts.counter ?? true;
  }

  /** The held credential with this base64url id, if any. */
  credential(idB64u: string): SoftCredential | undefined {
    return this.credentials.find((c) => c.idB64u === idB64u);
  }

  private flags(ctx: { userPresent?: boolean; userVerified?: boolean }, attested: boolean): number {
    let flags = 0;
    if (ctx.userPresent ?? this.userPresent) flags |= FLAG_UP;
    if (ctx.userVerified ?? this.userVerified) flags |= FLAG_UV;
    if (this.backupEligible) flags |= FLAG_BE;
    if (this.backedUp) flags |= FLAG_BS;
    if (attested) flags |= FLAG_AT;
    return flags;
  }

  private pickAlg(options: CreationOptionsJSON, forced: CoseAlg | undefined): CoseAlg {
    if (forced !== undefined) return forced;
    const offered = (options.pubKeyCredParams ?? []).filter((p) => p.type === 'public-key').map((p) => p.alg);
    // WebAuthn: an empty list means ES256 and RS256.
    if (offered.length === 0) return this.alg === -257 ? -257 : -7;
    if (this.alg !== undefined && offered.includes(this.alg)) return this.alg;
    const alg = offered.find(isCoseAlg);
    if (alg === undefined) {
      throw new DOMException(`no supported algorithm in pubKeyCredParams (${offered.join(', ')})`, 'NotSupportedError');
    }
    return alg;
  }

  /** navigator.credentials.create({ publicKey: options }) followed by .toJSON(). */
  create(
    options: CreationOptionsJSON | { publicKey: CreationOptionsJSON },
    ctx: CreateContext,
  ): RegistrationResponseJSON {
    const opts = 'publicKey' in options ? options.publicKey : options;
    const rpId = ctx.rpId ?? opts.rp.id ?? hostnameOf(ctx.origin);
    const alg = this.pickAlg(opts, ctx.alg);
    const { privateKey, publicKey } = generateKeyPair(alg);
    const id = new Uint8Array(randomBytes(32));
    const cose = coseEncodePublicKey(publicKey, alg, { truncate: ctx.truncatePublicKey === true });

    const credIdLen = new Uint8Array(2);
    new DataView(credIdLen.buffer).setUint16(0, id.length);
    const authData = concat(
      sha256(rpId),
      Uint8Array.of(this.flags(ctx, true)),
      uint32(0),
      this.aaguid,
      credIdLen,
      id,
      cose,
    );

    const clientDataJSON = new TextEncoder().encode(
      JSON.stringify({
        type: ctx.type ?? 'webauthn.create',
        challenge: ctx.challenge ?? opts.challenge,
        origin: ctx.origin,
        crossOrigin: ctx.crossOrigin ?? false,
      }),
    );

    const attestation = opts.attestation ?? 'none';
    const fmt = ctx.fmt ?? (attestation === 'none' ? 'none' : 'packed');
    const attStmt: Record<string, CborValue> =
      fmt === 'packed' ? { alg, sig: signWith(alg, privateKey, concat(authData, sha256(clientDataJSON))) } : {};
    const attestationObject = encodeCbor({ fmt, attStmt, authData });

    const credential: SoftCredential = {
      id,
      idB64u: b64u(id),
      rpId,
      userHandle: fromB64u(opts.user.id),
      alg,
      privateKey,
      publicKey,
      signCount: 0,
    };
    this.credentials.push(credential);

    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    return {
      id: credential.idB64u,
      rawId: credential.idB64u,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
        publicKeyAlgorithm: alg,
        ...(ctx.truncatePublicKey ? {} : { publicKey: b64u(spki) }),
        authenticatorData: b64u(authData),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  private select(opts: RequestOptionsJSON, rpId: string, ctx: GetContext): SoftCredential {
    if (ctx.credentialId !== undefined) {
      const forced = this.credential(ctx.credentialId);
      if (!forced) throw notAllowed(`authenticator holds no credential ${ctx.credentialId}`);
      return forced;
    }
    const allowed = opts.allowCredentials ?? [];
    if (allowed.length > 0) {
      for (const descriptor of allowed) {
        const found = this.credentials.find((c) => c.idB64u === descriptor.id && c.rpId === rpId);
        if (found) return found;
      }
      throw notAllowed(`authenticator holds none of the ${allowed.length} allowed credential(s) for ${rpId}`);
    }
    const discoverable = this.credentials.find((c) => c.rpId === rpId);
    if (!discoverable) throw notAllowed(`authenticator holds no credential for ${rpId}`);
    return discoverable;
  }

  /** navigator.credentials.get({ publicKey: options }) followed by .toJSON(). */
  get(options: RequestOptionsJSON | { publicKey: RequestOptionsJSON }, ctx: GetContext): AuthenticationResponseJSON {
    const opts = 'publicKey' in options ? options.publicKey : options;
    const rpId = opts.rpId ?? hostnameOf(ctx.origin);
    const credential = this.select(opts, rpId, ctx);

    let signCount: number;
    if (ctx.signCount !== undefined) {
      signCount = ctx.signCount;
    } else if (this.counter) {
      credential.signCount += 1;
      signCount = credential.signCount;
    } else {
      signCount = 0;
    }

    const authData = concat(sha256(ctx.rpId ?? rpId), Uint8Array.of(this.flags(ctx, false)), uint32(signCount));
    const clientDataJSON = new TextEncoder().encode(
      JSON.stringify({
        type: ctx.type ?? 'webauthn.get',
        challenge: ctx.challenge ?? opts.challenge,
        origin: ctx.origin,
        crossOrigin: ctx.crossOrigin ?? false,
      }),
    );
    const signature = signWith(credential.alg, credential.privateKey, concat(authData, sha256(clientDataJSON)));
    const userHandle = ctx.userHandle === undefined ? b64u(credential.userHandle) : ctx.userHandle;

    return {
      id: credential.idB64u,
      rawId: credential.idB64u,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
