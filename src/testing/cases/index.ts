// The conformance cases: plain async functions that take a store and throw (an AssertionError) when it does not
// keep the contract, one file per concern. `runStoreConformance` registers them with a test runner; they can also be
// called directly.

import { flowCases } from './flows.js';
import { identityCases } from './identities.js';
import { passkeyCases } from './passkeys.js';
import { recordCases } from './records.js';
import { scaleCases } from './scale.js';
import { sessionCases } from './sessions.js';

export { checkFailuresReject } from './failures.js';
export { assertSession } from './sessions.js';
export {
  assertAddresses,
  assertFlow,
  assertIdentity,
  assertPasskey,
  type CaseContext,
  type ConformanceCase,
  type ConformanceScale,
  defaultScale,
} from './support.js';

/**
 * Every conformance case, by name. Each is a plain async function: call it with a store to check one thing, or let
 * `runStoreConformance` register them all. A case only touches records it creates (random ids), so cases may share a
 * store.
 */
export const cases = {
  ...identityCases,
  ...passkeyCases,
  ...flowCases,
  ...recordCases,
  ...sessionCases,
  ...scaleCases,
};

/** The name of a conformance case. */
export type CaseName = keyof typeof cases;
