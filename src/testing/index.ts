// express-passkeys/testing: the store conformance suite an adapter runs in its own tests with one call.

import { describe as nodeDescribe, it as nodeIt } from 'node:test';
import type { Store } from '../store/types.js';
import {
  type CaseContext,
  type CaseName,
  type ConformanceScale,
  cases,
  caseTitle,
  checkFailuresReject,
  defaultScale,
} from './cases/index.js';

export {
  assertFlow,
  assertIdentity,
  assertPasskey,
  assertSession,
  type CaseContext,
  type CaseName,
  type ConformanceCase,
  type ConformanceScale,
  cases,
  caseTitle,
  checkFailuresReject,
  defaultScale,
} from './cases/index.js';
export {
  makeFlow,
  makeIdentity,
  makePasskey,
  makeRecoveryAddress,
  makeSession,
  makeVerifiableAddress,
  randomBase64url,
} from './fixtures.js';

/** A `describe` of any runner (`node:test`, Jest, Vitest, Mocha): a name and a function that registers tests. */
export type DescribeFunction = (name: string, fn: () => void) => unknown;
/** An `it` / `test` of any runner. The third argument is a timeout in ms where given (Jest and Vitest read it). */
export type ItFunction = (name: string, fn: () => Promise<void>, timeout?: number) => unknown;

/** Options of {@link runStoreConformance}. */
export interface StoreConformanceOptions {
  /** Name of the suite, e.g. `'PostgresStore'`. */
  name: string;
  /** Makes the store a case runs against: called once per case. Cases only touch records they create. */
  makeStore: () => Store | Promise<Store>;
  /** Called after each case with the store it ran against (close pools, drop schemas). */
  cleanup?: (store: Store) => void | Promise<void>;
  /**
   * Breaks the store (end its pool, drop its tables, point it at a closed port, ...). When given, one more case
   * checks that after it every method rejects, so that a failure is never mistaken for "not found".
   */
  breakStore?: (store: Store) => void | Promise<void>;
  /** Sizes of the scale cases; lower `identities` for a slow adapter. Defaults: 100,000 and 500. */
  scale?: Partial<ConformanceScale>;
  /** Timeout of each case in ms (none by default under `node:test`; passed as the third argument to an injected `it`). */
  timeout?: number;
  /** Cases to leave out, by name (see `cases`). Use sparingly: each one is a part of the contract. */
  skip?: CaseName[];
  /** The runner's `describe`. Default: `node:test`'s. */
  describe?: DescribeFunction;
  /** The runner's `it` (or `test`). Default: `node:test`'s. */
  it?: ItFunction;
}

/** Name of the case registered when `breakStore` is given. */
export const FAILURES_REJECT_CASE = 'a broken store rejects every call instead of answering "not found"';

/**
 * Registers the store conformance suite: one test per case of {@link cases}, each against a store from `makeStore`,
 * plus {@link FAILURES_REJECT_CASE} when `breakStore` is given. Call it at the top level of a test file.
 *
 * @example
 * // test/my-store.test.ts, run with `node --test` (or pass Jest's / Vitest's describe and it)
 * import { runStoreConformance } from 'express-passkeys/testing';
 * runStoreConformance({
 *   name: 'MyStore',
 *   makeStore: async () => new MyStore(await connect()),
 *   cleanup: (store) => (store as MyStore).close(),
 *   scale: { identities: 20_000 },
 * });
 */
export function runStoreConformance(options: StoreConformanceOptions): void {
  const injected = options.describe !== undefined || options.it !== undefined;
  const describe: DescribeFunction = options.describe ?? nodeDescribe;
  const timeout = options.timeout;
  const it: ItFunction =
    options.it ?? ((name, fn) => (timeout === undefined ? nodeIt(name, fn) : nodeIt(name, { timeout }, fn)));
  const context: CaseContext = { scale: { ...defaultScale, ...options.scale } };
  const skip = new Set<string>(options.skip ?? []);

  const run = async (fn: (store: Store) => Promise<void>): Promise<void> => {
    const store = await options.makeStore();
    try {
      await fn(store);
    } finally {
      await options.cleanup?.(store);
    }
  };
  const register = (name: string, fn: () => Promise<void>) => {
    if (injected && timeout !== undefined) it(name, fn, timeout);
    else it(name, fn);
  };

  describe(options.name, () => {
    for (const [name, fn] of Object.entries(cases)) {
      if (skip.has(name)) continue;
      register(caseTitle(name as CaseName, context.scale), () => run((store) => fn(store, context)));
    }
    const breakStore = options.breakStore;
    if (breakStore) register(FAILURES_REJECT_CASE, () => run((store) => checkFailuresReject(store, breakStore)));
  });
}
