// The README's code is type-checked against the package's public API, so that an option, method, type or import
// that does not exist cannot stay in the docs. Every ```ts and ```js block of README.md and examples/*/README.md
// becomes a file of one strict program (JavaScript with checkJs), in which `express-passkeys` and
// `express-passkeys/testing` resolve to src/ through `paths`. Fragments get a declared prelude below; a prelude whose
// key matches no snippet fails too, so the list cannot go stale.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const work = join(root, '.tmp/readme-snippets');

interface Snippet {
  /** README path relative to the root, and the line of the snippet's first code line. */
  file: string;
  line: number;
  lang: 'ts' | 'js';
  code: string;
}

export function extractSnippets(file: string, text: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    assert.ok(end > i, `${file}:${i + 1}: unclosed code block`);
    const lang = open[1];
    if (lang === 'ts' || lang === 'typescript' || lang === 'js' || lang === 'javascript') {
      snippets.push({
        file,
        line: i + 2,
        lang: lang.startsWith('t') ? 'ts' : 'js',
        code: lines.slice(i + 1, end).join('\n'),
      });
    }
    i = end;
  }
  return snippets;
}

/** What a fragment needs in scope: `code` before it, `modules` are files beside it (relative imports of the snippet). */
interface Prelude {
  code?: string;
  modules?: Record<string, string>;
  /** Not checked, with the reason. */
  skip?: string;
}

const postgresStore = (dir: string) =>
  `export * from '${relative(dir, join(root, 'examples/postgres-store/store.js')).replaceAll('\\', '/')}';\n`;

// Keyed by a line that occurs in exactly one snippet.
const preludes: Record<string, Prelude> = {
  "document.addEventListener('passkeys:error'": { skip: 'browser code (DOM), no package API' },
  'function renderNode(node, nonce)': { skip: 'a UI renderer of flow nodes, no package API' },
  'passkey: { config: { rp: { display_name:': {
    skip: "Kratos's snake_case configuration, documented as outside the TypeScript type (tested in options.test.ts)",
  },
  'const transport = nodemailer.createTransport(process.env.SMTP_URL); // smtp://user:pass@smtp.example.com:587': {
    code: `import { passkeys } from 'express-passkeys';
/** @type {import('express').Express} */ const app = /** @type {any} */ (null);
/** @type {import('express-passkeys').RelyingPartyOptions} */ const rp = /** @type {any} */ (null);
/** @type {import('express-passkeys').Store} */ const store = /** @type {any} */ (null);`,
  },
  "app.get('/account', auth.requireSession({ redirectTo: '/login' })": {
    code: `import type express from 'express';
import type { PasskeysRouter } from 'express-passkeys';
declare const app: express.Express;
declare const auth: PasskeysRouter;`,
  },
  'async beforeRegistration({ traits, signal }) {': {
    code: `import type express from 'express';
import type { RelyingPartyOptions, Store } from 'express-passkeys';
declare const app: express.Express;
declare const rp: RelyingPartyOptions;
declare const store: Store;
declare const accountsUnderReview: { has(id: string): Promise<boolean> };`,
  },
  "const auth = passkeys({ rp, store, urls: { defaultReturnTo: '/account' } });": {
    code: `import { passkeys, requireSession } from 'express-passkeys';
/** @type {import('express').Express} */ const app = /** @type {any} */ (null);
/** @type {import('express-passkeys').RelyingPartyOptions} */ const rp = /** @type {any} */ (null);
/** @type {import('express-passkeys').Store} */ const store = /** @type {any} */ (null);
/** @type {(value: unknown) => string} */ const esc = String;`,
  },
  "relatedOrigins: ['https://example.de', 'https://www.example-shop.com'],": {
    code: `import { passkeys } from 'express-passkeys';
/** @type {import('express').Express} */ const app = /** @type {any} */ (null);
/** @type {import('express-passkeys').Store} */ const store = /** @type {any} */ (null);`,
  },
  "app.use('/admin-api', requireStaff, auth.adminRouter());": {
    code: `import type express from 'express';
import { type Courier, passkeys, type RelyingPartyOptions, type Store } from 'express-passkeys';
declare const app: express.Express;
declare const rp: RelyingPartyOptions;
declare const store: Store;
declare const courier: Courier;
declare const secrets: string[];
declare const requireStaff: express.RequestHandler;`,
  },
  'for (const user of oldUsers) {': {
    code: `import type { PasskeysRouter } from 'express-passkeys';
declare const auth: PasskeysRouter;
declare const oldUsers: {
  email: string;
  webAuthnUserID: string;
  credentials: {
    id: string;
    publicKey: Uint8Array;
    counter: number;
    transports?: ('ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb')[];
    deviceType: 'singleDevice' | 'multiDevice';
    backedUp: boolean;
    createdAt: Date;
  }[];
}[];`,
  },
  "if (violated === 'identifier') throw new DuplicateIdentifierError(identity.identifier);": {
    code: `import type { Identity, Passkey } from 'express-passkeys';
declare const violated: string;
declare const identity: Identity & { identifier: string };
declare const passkey: Passkey;
declare const takenValue: string;`,
  },
  "import { MyStore } from '../src/my-store.js';": {
    modules: {
      '../src/my-store.ts': `import type { Store } from 'express-passkeys';
export declare class MyStore implements Store {
  static connect(url: string | undefined): Promise<MyStore>;
  close(): Promise<void>;
}
export interface MyStore extends Store {}`,
    },
  },
  "await store.createIdentity(identity, makePasskey(identity.id, { name: 'YubiKey', signCount: 12 }));": {
    code: `import type { Store } from 'express-passkeys';
declare const store: Store;`,
  },
  "import { PostgresStore, migrate } from './postgres-store/store.js'; // copied from examples/postgres-store": {
    modules: { 'postgres-store/store.ts': '' },
  },
  'await transport.sendMail({ from, to: message.to, ...compose(message) }); // compose: subject + text per template': {
    code: `import type { CourierMessage } from 'express-passkeys';
declare function compose(message: CourierMessage): { subject: string; text: string };`,
  },
  "import { migrate, PostgresStore } from './postgres-store/store.js';": {
    modules: { 'postgres-store/store.ts': '' },
  },
  "name: 'PostgresStore',": {
    code: `import type pg from 'pg';
import { migrate, PostgresStore } from './postgres-store/store.js';
declare const pool: pg.Pool;`,
    modules: { 'postgres-store/store.ts': '' },
  },
};

// Snippets that must not type-check: prove the checker reports an unknown option (TypeScript) and an unknown method
// (JavaScript).
const canaries: Snippet[] = [
  {
    file: '(canary)',
    line: 1,
    lang: 'ts',
    code: `import { MemoryStore, passkeys } from 'express-passkeys';
passkeys({ rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'] }, store: new MemoryStore(), lifespan: {} });`,
  },
  {
    file: '(canary)',
    line: 1,
    lang: 'js',
    code: `import { MemoryStore, passkeys } from 'express-passkeys';
passkeys({ rp: { id: 'localhost', displayName: 'x', origins: ['http://localhost:3000'] }, store: new MemoryStore() }).listPasskey();`,
  },
];

function readmes(): string[] {
  const examples = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `examples/${d.name}/README.md`)
    .filter((f) => {
      try {
        readFileSync(join(root, f));
        return true;
      } catch {
        return false;
      }
    });
  return ['README.md', ...examples];
}

interface Checked {
  snippet: Snippet;
  errors: string[];
}

function check(snippets: Snippet[]): { results: Checked[]; unusedPreludes: string[]; skipped: string[] } {
  rmSync(work, { recursive: true, force: true });
  const used = new Set<string>();
  const skipped: string[] = [];
  const entries: { snippet: Snippet; path: string; preludeLines: number }[] = [];
  snippets.forEach((snippet, n) => {
    const keys = Object.keys(preludes).filter((k) => snippet.code.split('\n').some((l) => l.includes(k)));
    assert.ok(keys.length <= 1, `${snippet.file}:${snippet.line}: several preludes match: ${keys.join(', ')}`);
    const key = keys[0];
    const prelude: Prelude = key === undefined ? {} : (preludes[key] ?? {});
    if (key !== undefined) used.add(key);
    if (prelude.skip) {
      skipped.push(`${snippet.file}:${snippet.line} (${prelude.skip})`);
      return;
    }
    const dir = join(work, String(n));
    for (const [name, text] of Object.entries(prelude.modules ?? {})) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, name === 'postgres-store/store.ts' ? postgresStore(dirname(path)) : text);
    }
    mkdirSync(dir, { recursive: true });
    const head = prelude.code ? `${prelude.code}\n` : '';
    const path = join(dir, `snippet.${snippet.lang === 'ts' ? 'ts' : 'js'}`);
    writeFileSync(path, `${head}${snippet.code}\n`);
    entries.push({ snippet, path, preludeLines: head === '' ? 0 : head.split('\n').length - 1 });
  });

  // One strict program for the TypeScript snippets; JavaScript ones are checked for names and shapes (checkJs), not
  // for annotations or null checks a JavaScript reader never writes. Parsed files are shared between the two.
  const base: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    baseUrl: root,
    paths: {
      'express-passkeys': ['src/index.ts'],
      'express-passkeys/testing': ['src/testing/index.ts'],
    },
  };
  const host = ts.createCompilerHost(base);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => {
    const key = `${name}\0${typeof version === 'object' ? version.languageVersion : version}`;
    if (!parsed.has(key)) parsed.set(key, getSourceFile(name, version, ...rest));
    return parsed.get(key);
  };
  const diagnostics: ts.Diagnostic[] = [];
  for (const [lang, options] of [
    ['ts', base],
    ['js', { ...base, noImplicitAny: false, strictNullChecks: false }],
  ] as const) {
    const roots = entries.filter((e) => e.snippet.lang === lang).map((e) => e.path);
    const program = ts.createProgram(roots, options, host);
    diagnostics.push(...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics());
    // Only the snippets and their prelude modules: src/ has its own typecheck.
    for (const file of program.getSourceFiles()) {
      if (!resolve(file.fileName).startsWith(work)) continue;
      diagnostics.push(...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file));
    }
  }
  const byPath = new Map(entries.map((e) => [resolve(e.path), e]));
  const results = new Map<string, Checked>(entries.map((e) => [resolve(e.path), { snippet: e.snippet, errors: [] }]));
  const other: string[] = [];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    const entry = d.file ? byPath.get(resolve(d.file.fileName)) : undefined;
    if (!d.file || !entry) {
      other.push(`${d.file ? relative(root, d.file.fileName) : ''} TS${d.code}: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const at =
      line < entry.preludeLines
        ? `(prelude of ${entry.snippet.file}:${entry.snippet.line}, line ${line + 1})`
        : `${entry.snippet.file}:${entry.snippet.line + line - entry.preludeLines}`;
    results.get(resolve(entry.path))?.errors.push(`${at}: TS${d.code}: ${message}`);
  }
  assert.deepEqual(other, [], 'errors outside the snippets (src/ or a prelude module)');
  const unusedPreludes = Object.keys(preludes).filter((k) => !used.has(k));
  return { results: [...results.values()], unusedPreludes, skipped };
}

describe('README code snippets', () => {
  it('type-check against the public API (strict), and the checker catches a bad option', () => {
    const snippets = readmes().flatMap((f) => extractSnippets(f, readFileSync(join(root, f), 'utf8')));
    assert.ok(snippets.length >= 15, `found only ${snippets.length} snippets`);
    const { results, unusedPreludes, skipped } = check([...snippets, ...canaries]);
    const canaryErrors = canaries.map((c) => results.find((r) => r.snippet === c)?.errors.join('\n') ?? '');
    assert.match(canaryErrors[0] ?? '', /'lifespan' does not exist/, 'the TypeScript canary type-checked');
    assert.match(canaryErrors[1] ?? '', /'listPasskey' does not exist/, 'the JavaScript canary type-checked');
    const errors = results.filter((r) => !canaries.includes(r.snippet)).flatMap((r) => r.errors);
    assert.deepEqual(errors, [], `README snippets do not type-check:\n${errors.join('\n')}`);
    assert.deepEqual(unusedPreludes, [], 'preludes that match no snippet (the README changed: update or drop them)');
    assert.ok(skipped.length <= 3, `more snippets skipped than expected: ${skipped.join('; ')}`);
  });
});
