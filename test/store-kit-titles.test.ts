// The conformance kit's test titles: the scale cases name the sizes actually configured; `skip` keeps taking names.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../src/index.js';
import { type CaseName, cases, caseTitle, defaultScale, runStoreConformance } from '../src/testing/index.js';

/** The titles `runStoreConformance` registers with these options (collected, not run). */
function titles(options: Partial<Parameters<typeof runStoreConformance>[0]> = {}): string[] {
  const registered: string[] = [];
  runStoreConformance({
    name: 'titles',
    makeStore: () => new MemoryStore(),
    ...options,
    describe: (_name, fn) => fn(),
    it: (name) => registered.push(name),
  });
  return registered;
}

const LARGE: CaseName = 'a large identity: 500 passkeys listed in order, all but one removable at once';
const MANY: CaseName = 'many identities: create 100,000 (scale.identities), then find each sample by every key';

describe('conformance kit titles', () => {
  it('with the default scale, every title is the case name', () => {
    assert.deepEqual(titles(), Object.keys(cases));
    for (const name of Object.keys(cases) as CaseName[]) assert.equal(caseTitle(name, defaultScale), name);
  });

  it('the scale cases name the configured sizes', () => {
    const registered = titles({ scale: { identities: 20_000, passkeysPerIdentity: 50 } });
    assert.equal(registered.length, Object.keys(cases).length);
    assert.ok(
      registered.includes('many identities: create 20,000 (scale.identities), then find each sample by every key'),
      registered.filter((t) => t.startsWith('many')).join('\n'),
    );
    assert.ok(registered.includes('a large identity: 50 passkeys listed in order, all but one removable at once'));
    assert.ok(!registered.some((t) => t.includes('100,000') || t.includes('500 passkeys')), 'no default size left');
    // Only the scale cases change.
    const changed = registered.filter((t) => !(t in cases));
    assert.equal(changed.length, 2);
  });

  it('one size configured, the other keeps its default', () => {
    const registered = titles({ scale: { identities: 1_234 } });
    assert.ok(registered.includes(caseTitle(MANY, { ...defaultScale, identities: 1_234 })));
    assert.ok(registered.includes(LARGE));
  });

  it('skip takes case names, whatever the scale', () => {
    const registered = titles({ scale: { identities: 10 }, skip: [MANY] });
    assert.ok(!registered.some((t) => t.startsWith('many identities')));
    assert.equal(registered.length, Object.keys(cases).length - 1);
  });
});
