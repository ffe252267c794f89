// The public API as a reader of the docs sees it: every export of the package's entry points (`express-passkeys`,
// `express-passkeys/testing`) carries TSDoc, which editors show on hover, and the README's options table lists every
// option of `PasskeysOptions`, and nothing else.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const entryPoints = ['src/index.ts', 'src/testing/index.ts'].map((f) => join(root, f));

const program = ts.createProgram(entryPoints, {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  types: ['node'],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();

function moduleExports(file: string): ts.Symbol[] {
  const source = program.getSourceFile(file);
  assert.ok(source, file);
  const symbol = checker.getSymbolAtLocation(source);
  assert.ok(symbol, `${file} is not a module`);
  return checker.getExportsOfModule(symbol);
}

/** The TSDoc of an export, following re-exports to the declaration. */
function documentation(symbol: ts.Symbol): string {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const text = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
  if (text !== '') return text;
  // A class documented on its constructor only, or a variable documented by a tag: count the tags too.
  return target
    .getJsDocTags(checker)
    .map((t) => t.name)
    .join(' ');
}

describe('public API docs', () => {
  it('every export of express-passkeys and express-passkeys/testing has TSDoc', () => {
    const undocumented: string[] = [];
    let count = 0;
    for (const file of entryPoints) {
      for (const symbol of moduleExports(file)) {
        count++;
        if (documentation(symbol) === '') undocumented.push(`${file.slice(root.length + 1)}: ${symbol.getName()}`);
      }
    }
    assert.ok(count > 50, `only ${count} exports found`);
    assert.deepEqual(undocumented, [], 'exports without TSDoc');
  });

  it("the README's options table lists every option of PasskeysOptions, and only those", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Options\n'), readme.indexOf('\n## The flow API\n'));
    const rows = new Set<string>();
    for (const line of section.split('\n')) {
      const first = /^\| (.+?) \|/.exec(line)?.[1];
      if (!first || first === 'option' || first.startsWith('---')) continue;
      for (const name of first.matchAll(/`([^`]+)`/g)) rows.add(name[1] ?? '');
    }
    assert.ok(rows.size > 40, `only ${rows.size} rows in the options table`);

    const options = moduleExports(entryPoints[0] ?? '').find((s) => s.getName() === 'PasskeysOptions');
    assert.ok(options);
    const declared = checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(options));
    const missing: string[] = [];
    const listed = new Set<string>();
    const walk = (type: ts.Type, prefix: string) => {
      for (const property of checker.getPropertiesOfType(type)) {
        const path = `${prefix}${property.getName()}`;
        if (rows.has(path)) {
          listed.add(path);
          continue;
        }
        // A group of options (`lifespans`, `urls.ui`, ...) is listed by its members.
        const inner = checker.getNonNullableType(checker.getTypeOfSymbol(property));
        const grouped = [...rows].some((r) => r.startsWith(`${path}.`));
        if (grouped && inner.getCallSignatures().length === 0 && !checker.isArrayType(inner)) walk(inner, `${path}.`);
        else missing.push(path);
      }
    };
    walk(declared, '');
    assert.deepEqual(missing, [], 'options of PasskeysOptions missing from the README table');
    const extra = [...rows].filter((r) => !listed.has(r));
    assert.deepEqual(extra, [], 'README table rows that are not options of PasskeysOptions');
  });
});
