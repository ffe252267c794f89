// Pack the package (its `prepack` script builds dist: no build beforehand), unpack it, and check it imports from ESM
// and CommonJS with types in both module systems, and that its router serves the browser helper under its hash.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkEngines } from './check-engines.mjs';

const root = resolve('.');

// Every runtime dependency, as resolved in node_modules, must run on every Node.js our engines.node accepts.
const engines = checkEngines(root);
if (engines.problems.length > 0) {
  throw new Error(
    `runtime dependencies exclude part of our engines.node ("${engines.ours}"):\n  ${engines.problems.join('\n  ')}`,
  );
}
// Inside the project, so the unpacked package resolves its dependencies from the project's node_modules.
const work = resolve('.tmp/pack');
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, 'node_modules'), { recursive: true });
// A package.json of its own, so that `express-passkeys` resolves to the unpacked tarball, not to this repository.
writeFileSync(join(work, 'package.json'), `${JSON.stringify({ name: 'pack-check', private: true }, null, 2)}\n`);

// From a tree without dist, so that what is checked is what `npm pack` builds by itself (prepack), not a leftover.
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
})
  .trim()
  .split('\n')
  .pop();
execFileSync('tar', ['-xzf', join(work, tarball), '-C', join(work, 'node_modules')]);
execFileSync('mv', [join(work, 'node_modules/package'), join(work, 'node_modules/express-passkeys')]);
const files = readdirSync(join(work, 'node_modules/express-passkeys/dist'));
if (!files.includes('esm') || !files.includes('cjs')) throw new Error(`dist is incomplete: ${files}`);

const run = (args) => execFileSync(process.execPath, args, { cwd: work, encoding: 'utf8' }).trim();
const esm = run([
  '--input-type=module',
  '-e',
  "import { passkeys, MemoryStore } from 'express-passkeys'; import { runStoreConformance } from 'express-passkeys/testing'; console.log(typeof passkeys, typeof MemoryStore, typeof runStoreConformance);",
]);
const cjs = run([
  '-e',
  "const { passkeys, MemoryStore } = require('express-passkeys'); const { runStoreConformance } = require('express-passkeys/testing'); console.log(typeof passkeys, typeof MemoryStore, typeof runStoreConformance);",
]);
// Prove which copy was loaded: the unpacked tarball's files.
const resolved = run(['-e', "console.log(require.resolve('express-passkeys'))"]);
if (!resolved.startsWith(join(work, 'node_modules', 'express-passkeys'))) {
  throw new Error(`express-passkeys resolved to ${resolved}, not to the unpacked tarball`);
}
for (const [name, out] of [
  ['ESM', esm],
  ['CommonJS', cjs],
]) {
  if (out !== 'function function function') throw new Error(`${name} import gave: ${out}`);
}

// A router must actually come out of both builds.
run([
  '-e',
  "const { passkeys, MemoryStore } = require('express-passkeys'); const r = passkeys({ rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'] }, store: new MemoryStore() }); if (typeof r !== 'function' || typeof r.listPasskeys !== 'function') process.exit(1);",
]);

// The packed router serves the compiled browser helper, and its flows carry that script's sha512 (ESM and CJS).
const serveCheck = `
const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
app.use('/auth', passkeys({ rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'] }, store: new MemoryStore() }));
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port + '/auth';
  const flow = await (await fetch(base + '/self-service/registration/browser', { headers: { accept: 'application/json' } })).json();
  const script = flow.ui.nodes.find((n) => n.type === 'script').attributes;
  const bytes = Buffer.from(await (await fetch(script.src)).arrayBuffer());
  const hash = 'sha512-' + createHash('sha512').update(bytes).digest('base64');
  console.log(hash === script.integrity && bytes.includes('oryPasskeyRegistration') ? 'served ' + bytes.length : 'mismatch');
  server.close();
});
`;
writeFileSync(
  join(work, 'served.cjs'),
  `const express = require('express');
const session = require('express-session');
const { createHash } = require('node:crypto');
const { passkeys, MemoryStore } = require('express-passkeys');
${serveCheck}`,
);
writeFileSync(
  join(work, 'served.mjs'),
  `import express from 'express';
import session from 'express-session';
import { createHash } from 'node:crypto';
import { passkeys, MemoryStore } from 'express-passkeys';
${serveCheck}`,
);
const servedBytes = [];
for (const file of ['served.cjs', 'served.mjs']) {
  const out = run([file]);
  if (!out.startsWith('served '))
    throw new Error(`${file}: the packed router does not serve the helper under its hash: ${out}`);
  servedBytes.push(out);
}

// Types resolve through the exports map in both module systems.
const consumer = `
import { passkeys, MemoryStore, type PasskeySignals, type PasskeysOptions, type Store } from 'express-passkeys';
import { runStoreConformance } from 'express-passkeys/testing';
const options: PasskeysOptions = { rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'], relatedOrigins: ['https://example.org'] }, store: new MemoryStore(), hints: ['client-device'] };
const store: Store = options.store;
export const router = passkeys(options);
export const signals: (req: Parameters<typeof router.signals>[0]) => Promise<PasskeySignals> = router.signals;
export const wellKnown = router.wellKnown;
export { store, runStoreConformance };
`;
writeFileSync(join(work, 'consumer.mts'), consumer);
writeFileSync(join(work, 'consumer.cts'), consumer);
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
    },
    files: ['consumer.mts', 'consumer.cts'],
  }),
);
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', work], { stdio: 'inherit' });
console.log(
  `pack check ok: ${tarball} (built by prepack) imports from ESM and CommonJS, types resolve in both, the router ${servedBytes[0]} bytes of webauthn.js under its hash; ${engines.checked} runtime packages accept node ${engines.ours}`,
);
