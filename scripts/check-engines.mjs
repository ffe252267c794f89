// Every runtime dependency, as installed (the whole production tree under node_modules), must accept every Node.js
// version our own `engines.node` accepts: a user on the oldest Node we claim gets no engines warning and no break.
//
// Usage: node scripts/check-engines.mjs [project dir]   (exit 1 listing the offenders). Also run by check-pack.mjs.
//
// Ranges are compared as sets of versions, for the forms packages use in practice: `>=X`, `>X`, `<X`, `<=X`, `X`,
// `=X`, `^X`, `~X`, `X.x` / `X.*`, `X - Y`, `*`, space-separated (all must hold) and `||` (any may hold). Prerelease
// tags are ignored. A range this cannot read is reported as such rather than passed.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A version as one number: major * 1e6 + minor * 1e3 + patch (each below 1000, as Node's are). */
const MAX = Number.MAX_SAFE_INTEGER;
const num = (major, minor = 0, patch = 0) => major * 1e6 + minor * 1e3 + patch;

/** `1`, `1.2`, `1.2.3`, `1.x`, `1.2.*`, `v1.2.3-rc.1` → { parts: [1, 2, 3] (wildcards and absent parts dropped) }. */
function parseVersion(text) {
  const match = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+].*)?$/.exec(text);
  if (!match) return undefined;
  const parts = [];
  for (const part of match.slice(1)) {
    if (part === undefined || /^[xX*]$/.test(part)) break;
    parts.push(Number(part));
  }
  return { parts };
}

/** The versions a partial version stands for, as [from, to) : `1.2` → [1.2.0, 1.3.0). */
function span(parts) {
  const [major = 0, minor = 0, patch = 0] = parts;
  if (parts.length === 0) return [0, MAX];
  if (parts.length === 1) return [num(major), num(major + 1)];
  if (parts.length === 2) return [num(major, minor), num(major, minor + 1)];
  return [num(major, minor, patch), num(major, minor, patch) + 1];
}

/** One comparator (`>=20`, `^18.1`, `~1.2.3`, `16.x`) → an interval [from, to). */
function comparator(text) {
  const match = /^(>=|<=|>|<|=|\^|~>?)?\s*(.+)$/.exec(text);
  const version = match && parseVersion(match[2]);
  if (!version) return undefined;
  const op = match[1] ?? '=';
  const { parts } = version;
  const [from, to] = span(parts);
  const [major = 0, minor = 0] = parts;
  switch (op) {
    case '=':
      return [from, to];
    case '>=':
      return [from, MAX];
    case '>':
      return [to, MAX];
    case '<':
      return [0, from];
    case '<=':
      return [0, to];
    case '~':
    case '~>':
      return parts.length <= 1 ? [from, to] : [from, num(major, minor + 1)];
    case '^': {
      if (parts.length === 0) return [0, MAX];
      if (major > 0 || parts.length === 1) return [from, num(major + 1)];
      if (minor > 0 || parts.length === 2) return [from, num(0, minor + 1)];
      return [from, to];
    }
    default:
      return undefined;
  }
}

/** A range → a sorted list of disjoint intervals [from, to); undefined when some part cannot be read. */
export function parseRange(range) {
  const intervals = [];
  for (const alternative of String(range).split('||')) {
    let set = alternative.trim();
    if (set === '' || set === '*' || set === 'x' || set === 'latest') {
      intervals.push([0, MAX]);
      continue;
    }
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(set);
    if (hyphen) set = `>=${hyphen[1]} <=${hyphen[2]}`;
    let from = 0;
    let to = MAX;
    // `>= 18` is one comparator: join an operator to the version after it.
    for (const part of set.replace(/(>=|<=|>|<|=|\^|~>?)\s+/g, '$1').split(/\s+/)) {
      const interval = comparator(part);
      if (!interval) return undefined;
      from = Math.max(from, interval[0]);
      to = Math.min(to, interval[1]);
    }
    if (from < to) intervals.push([from, to]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const interval of intervals) {
    const last = merged[merged.length - 1];
    if (last && interval[0] <= last[1]) last[1] = Math.max(last[1], interval[1]);
    else merged.push([...interval]);
  }
  return merged;
}

/** Does `theirs` accept every version `ours` accepts? undefined when either range cannot be read. */
export function covers(theirs, ours) {
  const need = parseRange(ours);
  const have = parseRange(theirs);
  if (!need || !have) return undefined;
  return need.every(([from, to]) => have.some(([a, b]) => a <= from && to <= b));
}

/** Where `name` resolves from a package in `dir`: the nearest `node_modules/<name>` up the tree. */
function locate(dir, name, root) {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (at === root || dirname(at) === at) return undefined;
  }
}

/**
 * Walk the production dependency tree of the project in `root` (its `dependencies` and `optionalDependencies`,
 * recursively, as installed) and return the packages whose `engines.node` excludes a version the project's own
 * `engines.node` accepts, or that cannot be read. Missing optional dependencies are skipped; a missing required one
 * is reported.
 */
export function checkEngines(root = '.') {
  const top = resolve(root);
  const own = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'));
  const ours = own.engines?.node;
  if (!ours) return { ours, problems: ['package.json declares no engines.node'], checked: 0 };
  const problems = [];
  const seen = new Set();
  const queue = [{ dir: top, pkg: own }];
  while (queue.length > 0) {
    const { dir, pkg } = queue.shift();
    const deps = [
      ...Object.keys(pkg.dependencies ?? {}).map((name) => ({ name, optional: false })),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ];
    for (const { name, optional } of deps) {
      const found = locate(dir, name, top);
      if (!found) {
        if (!optional) problems.push(`${name} (needed by ${pkg.name ?? dir}) is not installed`);
        continue;
      }
      if (seen.has(found)) continue;
      seen.add(found);
      const dep = JSON.parse(readFileSync(join(found, 'package.json'), 'utf8'));
      const theirs = dep.engines?.node;
      if (theirs !== undefined) {
        const ok = covers(theirs, ours);
        if (ok === undefined) problems.push(`${dep.name}@${dep.version}: cannot read engines.node "${theirs}"`);
        else if (!ok)
          problems.push(`${dep.name}@${dep.version}: engines.node "${theirs}" excludes part of ours ("${ours}")`);
      }
      queue.push({ dir: found, pkg: dep });
    }
  }
  return { ours, problems, checked: seen.size };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ours, problems, checked } = checkEngines(process.argv[2] ?? '.');
  if (problems.length > 0) {
    console.error(`runtime dependencies that do not run on every Node.js our engines.node ("${ours}") allows:`);
    for (const problem of problems) console.error(`  ${problem}`);
    process.exit(1);
  }
  console.log(`engines ok: ${checked} runtime packages accept node ${ours}`);
}
