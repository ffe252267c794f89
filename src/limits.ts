// Limits of recovery and verification by code, kept in the store (so that every instance shares them): which events
// are counted, under which keys, and what each limit decides.

import { createHmac } from 'node:crypto';
import type { Request } from 'express';
import { CSRF_COOKIE, readCookie } from './http.js';
import type { ResolvedCodeOptions, ResolvedOptions } from './options.js';
import type { CounterState, Store } from './store/types.js';

/** At most `max` events per `windowMs`. */
export interface Limit {
  max: number;
  windowMs: number;
}

/** Every limit of the `code` method (see "Limits" in the README for the reasoning and the bound). */
export interface CodeLimits {
  /** Codes sent to one address, whoever asks. Over it: an honest "too many requests", nothing sent. */
  sendsPerAddress: Limit;
  /** Codes sent to one address at the request of one client (IP address). Over it: the same answer. */
  sendsPerClient: Limit;
  /** Wrong codes from one client (its browser, by the CSRF cookie; else its IP address). Over it: no compare. */
  failuresPerClient: Limit;
  /** Wrong codes for one address, across flows and clients. At it: new codes for the address are long. */
  failuresPerAddress: Limit;
  /** Short (6-digit) codes issued for one address. Beyond it: new codes for the address are long. */
  shortCodesPerAddress: Limit;
}

/** What is counted. Part of each key, with the flow kind and a keyed hash of the subject. */
type CounterName = 'send-address' | 'send-client' | 'fail-client' | 'fail-address' | 'short-address';

type CounterStore = Required<Pick<Store, 'incrementCounter' | 'getCounter'>>;

/**
 * The counter key of `subject` (an address, a client): `passkeys:<name>:<kind>:<HMAC>`, keyed by the first secret so
 * that the store holds no address or IP in the clear and every instance (same `secrets`) computes the same key.
 */
function counterKey(codes: ResolvedCodeOptions, name: CounterName, kind: string, subject: string): string {
  const mac = createHmac('sha256', codes.keys[0] as Buffer)
    .update(`limit:${name}:${kind}:${subject}`)
    .digest('base64url');
  return `passkeys:${name}:${kind}:${mac}`;
}

function counters(config: ResolvedOptions): CounterStore {
  return config.store as unknown as CounterStore;
}

/** The client a request comes from, for limits: its browser (the CSRF cookie), else its IP address (`req.ip`). */
export function clientOf(req: Request): string {
  const cookie = readCookie(req, CSRF_COOKIE);
  return cookie ? `browser:${cookie}` : `ip:${req.ip ?? req.socket?.remoteAddress ?? ''}`;
}

/** A refusal by a limit: how long until it lifts. */
export interface Refusal {
  retryAfterMs: number;
}

const refusal = (state: CounterState): Refusal => ({ retryAfterMs: Math.max(0, state.resetAt.getTime() - Date.now()) });

/**
 * Count a code about to be sent to `address` (normalised) at the request of `req`'s client: per client and address
 * first, then per address. Returns a refusal when either limit is passed (then nothing must be sent). Counted alike
 * for addresses with and without an account.
 */
export async function countSend(
  config: ResolvedOptions,
  codes: ResolvedCodeOptions,
  kind: string,
  address: string,
  req: Request,
): Promise<Refusal | null> {
  const { sendsPerClient, sendsPerAddress } = codes.limits;
  const ip = `ip:${req.ip ?? req.socket?.remoteAddress ?? ''}`;
  const client = await counters(config).incrementCounter(
    counterKey(codes, 'send-client', kind, `${ip}\n${address}`),
    sendsPerClient.windowMs,
  );
  if (client.count > sendsPerClient.max) return refusal(client);
  const all = await counters(config).incrementCounter(
    counterKey(codes, 'send-address', kind, address),
    sendsPerAddress.windowMs,
  );
  return all.count > sendsPerAddress.max ? refusal(all) : null;
}

/**
 * Whether the next code for `address` must be long: the address has had `failuresPerAddress` wrong codes, or more
 * than `shortCodesPerAddress` short codes, in the window. Counts this code among the short ones when it is short.
 */
export async function needsLongCode(
  config: ResolvedOptions,
  codes: ResolvedCodeOptions,
  kind: string,
  address: string,
): Promise<boolean> {
  const { failuresPerAddress, shortCodesPerAddress } = codes.limits;
  const failures = await counters(config).getCounter(counterKey(codes, 'fail-address', kind, address));
  if ((failures?.count ?? 0) >= failuresPerAddress.max) return true;
  const short = await counters(config).incrementCounter(
    counterKey(codes, 'short-address', kind, address),
    shortCodesPerAddress.windowMs,
  );
  return short.count > shortCodesPerAddress.max;
}

/** A refusal when `req`'s client has tried `failuresPerClient` wrong codes in the window (its own failures only). */
export async function clientBlocked(
  config: ResolvedOptions,
  codes: ResolvedCodeOptions,
  kind: string,
  req: Request,
): Promise<Refusal | null> {
  const state = await counters(config).getCounter(counterKey(codes, 'fail-client', kind, clientOf(req)));
  return state && state.count >= codes.limits.failuresPerClient.max ? refusal(state) : null;
}

/**
 * Count a wrong code: against the client that sent it (`req`; `null` when the request cannot be held against the
 * client, such as a link another site made the browser open) and against the address (the flow counts its own).
 */
export async function countFailure(
  config: ResolvedOptions,
  codes: ResolvedCodeOptions,
  kind: string,
  address: string,
  req: Request | null,
): Promise<void> {
  const { failuresPerClient, failuresPerAddress } = codes.limits;
  await Promise.all([
    req &&
      counters(config).incrementCounter(
        counterKey(codes, 'fail-client', kind, clientOf(req)),
        failuresPerClient.windowMs,
      ),
    counters(config).incrementCounter(counterKey(codes, 'fail-address', kind, address), failuresPerAddress.windowMs),
  ]);
}
