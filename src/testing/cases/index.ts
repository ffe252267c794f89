// The conformance cases: plain async functions that take a store and throw (an AssertionError) when it does not
// keep the contract, one file per concern. `runStoreConformance` registers them with a test runner; they can also be
// called directly.

import { administrationCases } from './administration.js';
import { flowCases } from './flows.js';
import { identityCases } from './identities.js';
import { limitCases } from './limits.js';
import { passkeyCases } from './passkeys.js';
import { recordCases } from './records.js';
import { scaleCases, scaleCaseTitles } from './scale.js';
import { sessionCases } from './sessions.js';
import type { ConformanceScale } from './support.js';

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
  ...administrationCases,
  ...scaleCases,
  ...limitCases,
};

/** The name of a conformance case. */
export type CaseName = keyof typeof cases;

/**
 * The title a case is registered under: its name, with the sizes of `scale` in the scale cases ("many identities:
 * create 20,000 ..." when `scale.identities` is 20,000). `skip` and `cases` keep using the name.
 */
export function caseTitle(name: CaseName, scale: ConformanceScale): string {
  const title = (scaleCaseTitles as Partial<Record<CaseName, (scale: ConformanceScale) => string>>)[name];
  return title ? title(scale) : name;
}
