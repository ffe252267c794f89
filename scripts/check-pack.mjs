// Pack the package (its `prepack` script builds dist: no build beforehand), unpack it into a consumer project, and
// check it imports from ESM and CommonJS, that its types resolve and type-check strictly under every module
// resolution a TypeScript consumer uses (nodenext, node16, bundler, node10), and that its router serves the browser helper
// under its hash.
//
// The consumer project lives outside the repository (in the OS temp dir), and its node_modules holds only the
// unpacked tarball and links to the packages it declares in `dependencies` (plus the consumer's own @types): a
// module the package uses without declaring it fails here, as it would for a user, instead of being found in this
// repository's node_modules. (`npm install` of the tarball is not used: it needs the registry, and this runs offline.)

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkEngines } from './check-engines.mjs';

const root = resolve('.');

// Every runtime dependency, as resolved in node_modules, must run on every Node.js our engines.node accepts.
const engines = checkEngines(root);
if (engines.problems.length > 0) {
  throw new Error(
    `runtime dependencies exclude part of our engines.node ("${engines.ours}"):\n  ${engines.problems.join('\n  ')}`,
  );
}
// Outside the project: Node and TypeScript look for packages in every parent directory's node_modules.
const work = mkdtempSync(join(tmpdir(), 'express-passkeys-pack-'));
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

// What `npm install express-passkeys` gives a consumer: the package's declared dependencies (their own dependencies
// resolve from where they are linked to), and the type packages a TypeScript consumer of Express installs.
const packed = JSON.parse(readFileSync(join(work, 'node_modules/express-passkeys/package.json'), 'utf8'));
const consumerTypes = ['@types/node', '@types/express', '@types/express-session'];
for (const name of [...Object.keys(packed.dependencies ?? {}), ...consumerTypes]) {
  const from = join(root, 'node_modules', name);
  if (!existsSync(from)) throw new Error(`${name} is not installed in ${root}/node_modules`);
  mkdirSync(dirname(join(work, 'node_modules', name)), { recursive: true });
  symlinkSync(from, join(work, 'node_modules', name), 'dir');
}

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
// And that the project is isolated: a devDependency of this repository is not found from the package.
const isolated = run([
  '-e',
  "try { require.resolve('supertest', { paths: [require.resolve('express-passkeys')] }); console.log('found') } catch { console.log('isolated') }",
]);
if (isolated !== 'isolated') throw new Error("the consumer project sees this repository's node_modules");
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

// Types resolve through the exports map and type-check strictly, library declarations included (skipLibCheck
// false), under each module resolution a consumer may use: nodenext and node16 (ESM and CommonJS files: the
// `import` and `require` conditions), bundler (the `import` condition, as Vite, esbuild or webpack read it) and
// node10 (older `module: commonjs` projects, which ignore the exports map).
// The consumer uses the main API, the session augmentation, and express-passkeys/testing.
const consumer = `
import express from 'express';
import session from 'express-session';
import {
  FlowRejection,
  HttpError,
  MemoryStore,
  type PasskeyInfo,
  type PasskeySignals,
  type PasskeysOptions,
  type PasskeysRouter,
  passkeys,
  requireSession,
  type Store,
} from 'express-passkeys';
import { makeIdentity, makePasskey, runStoreConformance, type StoreConformanceOptions } from 'express-passkeys/testing';
const options: PasskeysOptions = {
  rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'], relatedOrigins: ['https://example.org'] },
  store: new MemoryStore(),
  hints: ['client-device'],
  lifespans: { session: '24h' },
  hooks: {
    beforeLogin: ({ identity }) => {
      if (identity.state === 'inactive') throw new FlowRejection({ instancePtr: '#/', id: 4100001, text: 'No.' });
    },
  },
};
const store: Store = options.store;
export const router: PasskeysRouter = passkeys(options);
export const signals: (req: Parameters<typeof router.signals>[0]) => Promise<PasskeySignals> = router.signals;
export const wellKnown = router.wellKnown;
const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
app.use('/auth', router);
app.get('/account', requireSession({ redirectTo: '/login' }), async (req, res) => {
  const identityId: string | undefined = req.session.passkeys?.identityId ?? res.locals.passkeysSession?.identityId;
  const passkeys: PasskeyInfo[] = await router.listPasskeys(req);
  res.json({ identityId, passkeys, identity: await router.getIdentity(req) });
});
app.use('/admin-api', router.adminRouter());
export const isHttp = (error: unknown): error is HttpError => error instanceof HttpError;
export async function seed(): Promise<void> {
  const identity = makeIdentity();
  await store.createIdentity(identity, makePasskey(identity.id));
  await router.admin.listIdentities({ identifier: 'ada@example.com' });
}
const conformance: StoreConformanceOptions = { name: 'MemoryStore', makeStore: () => new MemoryStore() };
export { store, app, conformance, runStoreConformance };
`;
const configs = {
  nodenext: { module: 'NodeNext', moduleResolution: 'NodeNext', files: ['consumer.mts', 'consumer.cts'] },
  node16: { module: 'Node16', moduleResolution: 'Node16', files: ['consumer.mts', 'consumer.cts'] },
  bundler: { module: 'ESNext', moduleResolution: 'Bundler', files: ['consumer.ts'] },
  // TypeScript's default for `module: commonjs` (no exports map): `types`, and `typesVersions` for /testing.
  node10: { module: 'CommonJS', moduleResolution: 'Node10', files: ['consumer.ts'] },
};
for (const file of ['consumer.mts', 'consumer.cts', 'consumer.ts']) writeFileSync(join(work, file), consumer);
for (const [name, { files, ...resolution }] of Object.entries(configs)) {
  const project = join(work, `tsconfig.${name}.json`);
  writeFileSync(
    project,
    JSON.stringify({
      compilerOptions: {
        ...resolution,
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        esModuleInterop: true,
        types: ['node'],
      },
      files,
    }),
  );
  // Which declaration file each entry point resolved to, so that a resolution falling back to `types`, or to the
  // wrong module system, does not pass unnoticed.
  const listed = execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', project, '--listFiles'],
    { cwd: work, encoding: 'utf8' },
  ).split('\n');
  const want = name === 'bundler' || name === 'node10' ? ['esm'] : ['esm', 'cjs'];
  for (const format of want) {
    for (const entry of ['index.d.ts', 'testing/index.d.ts']) {
      const path = join(work, 'node_modules/express-passkeys/dist', format, entry);
      if (!listed.includes(path)) throw new Error(`${name}: the consumer's types did not resolve to ${path}`);
    }
  }
}
rmSync(work, { recursive: true, force: true });
console.log(
  `pack check ok: ${tarball} (built by prepack) imports from ESM and CommonJS with only its declared dependencies, types resolve and type-check (strict, skipLibCheck false) under nodenext, node16, bundler and node10, the router ${servedBytes[0]} bytes of webauthn.js under its hash; ${engines.checked} runtime packages accept node ${engines.ours}`,
);
