// Assertion verification alone, on this thread: the lean verifier the login flow calls (`verifyAuthentication` of
// src/webauthn/assertion.ts), against a raw node:crypto ES256 verify of the same signature with a ready KeyObject (the floor),
// and @simplewebauthn/server's `verifyAuthenticationResponse` on the same inputs.
//
//   npx tsx bench/verify.ts [--rounds 5] [--verify-ms 1000]
//
// Each round measures every variant for --verify-ms, one call after the other (as one request does); figures are
// medians over the rounds, ratios are taken within a round. The last two lines are the headline figures:
//   verify: <n>/s = <r>x node:crypto
//   verify: simplewebauthn <n>/s = <r>x node:crypto

import { createHash, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type AuthenticationResponseJSON, verifyAuthenticationResponse } from '@simplewebauthn/server';
import { resolveOptions } from '../src/options.js';
import { MemoryStore } from '../src/store/memory.js';
import { parseCredential, verifyAuthentication } from '../src/webauthn/index.js';
import { coseEncodePublicKey, SoftwareAuthenticator } from '../test/helpers/authenticator.js';
import {
  emitResult,
  fmt,
  Interference,
  machineLine,
  median,
  numberArg,
  ORIGIN,
  printTable,
  RP,
  spread,
} from './lib.js';

/** One ES256 credential and one assertion of it, as the login flow sees them. */
function fixture() {
  const authenticator = new SoftwareAuthenticator({ alg: -7 });
  authenticator.create(
    {
      challenge: 'AAAA',
      rp: { id: RP.id, name: RP.displayName },
      user: { id: 'dXNlcg', name: 'user', displayName: 'user' },
      pubKeyCredParams: [{ alg: -7, type: 'public-key' }],
    },
    { origin: ORIGIN },
  );
  const soft = authenticator.credentials[0];
  if (!soft) throw new Error('no credential');
  const challenge = 'Y2hhbGxlbmdlLWNoYWxsZW5nZS1jaGFsbGVuZ2UtY2hhbGxlbmdl';
  const assertion = authenticator.get({ challenge, rpId: RP.id }, { origin: ORIGIN, signCount: 1 });
  const response = parseCredential<AuthenticationResponseJSON>(JSON.stringify(assertion), 'authentication');
  const publicKey = coseEncodePublicKey(soft.publicKey, -7);
  const authData = Buffer.from(response.response.authenticatorData, 'base64url');
  const clientDataHash = createHash('sha256')
    .update(Buffer.from(response.response.clientDataJSON, 'base64url'))
    .digest();
  return {
    response,
    challenge,
    publicKey,
    keyObject: soft.publicKey,
    data: Buffer.concat([authData, clientDataHash]),
    signature: Buffer.from(response.response.signature, 'base64url'),
  };
}

export async function benchVerify(rounds: number, ms: number) {
  console.log(`# verify: ${rounds} rounds x ${ms} ms per variant, one ES256 assertion verified again and again`);
  console.log(`# ${machineLine()}`);
  const f = fixture();
  const config = resolveOptions({ rp: RP, store: new MemoryStore() });
  const credential = { id: f.response.id, publicKey: f.publicKey };
  const swaKey = new Uint8Array(f.publicKey);
  let coldId = 0;

  const variants: { name: string; run: () => unknown }[] = [
    {
      name: 'node:crypto verify, ready KeyObject (floor)',
      run: () => cryptoVerify('sha256', f.data, { key: f.keyObject, dsaEncoding: 'der' }, f.signature),
    },
    {
      name: 'lean verifier (verifyAuthentication)',
      run: () => verifyAuthentication(config, f.response, f.challenge, credential),
    },
    {
      name: 'lean verifier, key not cached yet',
      run: () =>
        verifyAuthentication(config, f.response, f.challenge, { id: `cold-${coldId++}`, publicKey: f.publicKey }),
    },
    {
      name: '@simplewebauthn/server verifyAuthenticationResponse',
      run: () =>
        verifyAuthenticationResponse({
          response: f.response,
          expectedChallenge: f.challenge,
          expectedOrigin: RP.origins,
          expectedRPID: RP.id,
          credential: { id: f.response.id, publicKey: swaKey, counter: 0 },
          requireUserVerification: false,
        }),
    },
  ];

  // Every variant must accept the assertion, and the lean verifier must answer synchronously.
  for (const v of variants) {
    const outcome = v.run();
    if (v.name.startsWith('lean') && outcome instanceof Promise) throw new Error(`${v.name} answered asynchronously`);
    const value = await outcome;
    const ok = value === true || (typeof value === 'object' && value !== null && 'signCount' in value);
    const verified = (value as { verified?: boolean } | null)?.verified === true;
    if (!ok && !verified) throw new Error(`${v.name} did not accept the assertion`);
  }

  /** Calls per second of `run` for `duration` ms; promises are awaited one by one. */
  async function rate(run: () => unknown, duration: number): Promise<number> {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < duration) {
      for (let i = 0; i < 20; i++) {
        const outcome = run();
        if (outcome instanceof Promise) await outcome;
      }
      n += 20;
      now = performance.now();
    }
    return n / ((now - start) / 1000);
  }

  for (const v of variants) await rate(v.run, Math.min(500, ms)); // warm-up
  const results = variants.map(() => [] as number[]);
  const interference = new Interference();
  for (let round = 0; round < rounds; round++) {
    for (const [i, v] of variants.entries()) results[i]?.push(await rate(v.run, ms));
  }
  const otherCpu = interference.otherShare();
  const floor = results[0] ?? [];
  const ratioOf = (i: number) => median((results[i] ?? []).map((n, round) => n / (floor[round] ?? Number.NaN)));
  const rows = variants.map((v, i) => ({
    name: v.name,
    perSec: median(results[i] ?? []),
    runs: results[i] ?? [],
    ratio: ratioOf(i),
  }));

  console.log();
  printTable(
    ['variant', 'verifications/s median (min..max)', 'vs node:crypto'],
    rows.map((r) => [r.name, spread(r.runs), fmt.ratio(r.ratio)]),
  );
  console.log(`other CPU during the rounds: ${(otherCpu * 100).toFixed(0)}% of all cores (0% = quiet machine)`);
  const lean = rows[1] as (typeof rows)[number];
  const swa = rows[3] as (typeof rows)[number];
  console.log(`verify: ${Math.round(lean.perSec)}/s = ${lean.ratio.toFixed(2)}x node:crypto`);
  console.log(`verify: simplewebauthn ${Math.round(swa.perSec)}/s = ${swa.ratio.toFixed(2)}x node:crypto`);
  return { rounds, ms, rows, otherCpu, machine: machineLine() };
}

if (process.argv[1]?.endsWith('bench/verify.ts')) {
  const data = await benchVerify(
    numberArg('rounds', 'BENCH_ROUNDS', 5),
    numberArg('verify-ms', 'BENCH_VERIFY_MS', 1000),
  );
  emitResult('verify', data);
}
