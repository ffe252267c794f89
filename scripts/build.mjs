// Build dist/esm (ESM) and dist/cjs (CommonJS), each with its own type declarations, after compiling the browser
// helper (src/browser/webauthn.ts) into the module that serves it.

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

execFileSync(process.execPath, ['scripts/build-browser.mjs'], { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });
}
// Node decides a .js file's module system from the nearest package.json.
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
writeFileSync('dist/esm/package.json', `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
console.log('built dist/esm and dist/cjs');
