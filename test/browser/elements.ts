/**
 * Ory Elements React against the router, for real-browser tests: an Express app on localhost with the passkeys router
 * at `/auth` (the SDK's basePath) and Elements' own cards at `/ui/<kind>` for login, registration, settings, recovery
 * and verification (test/browser/elements/page.tsx, bundled once per process with esbuild). Nothing is stubbed: the cards call the
 * router through Ory's SDK and load its webauthn.js from the flow's script node, as they would call Kratos.
 *
 *   const app = await startElementsApp({ login: { style: 'identifier_first' } });
 *   await tab.page.goto(`${app.url}/ui/login`);   // → the router's browser init → /ui/login?flow=<id>
 *   await elementsReady(tab.page);
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import express from 'express';
import session from 'express-session';
import type { Page } from 'playwright-core';
import { MemoryStore, type PasskeysOptions, passkeys } from '../../src/index.js';

/** The page's script and stylesheet, built once. */
let bundle: Promise<{ js: string; css: string }> | undefined;

function pageBundle(): Promise<{ js: string; css: string }> {
  bundle ??= (async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./elements/page.tsx', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      jsx: 'automatic',
      outfile: 'page.js',
      minify: true,
      logLevel: 'silent',
      // Elements reads these to tell production from development.
      define: { 'process.env.NODE_ENV': '"production"', 'process.env.VERCEL_ENV': 'undefined' },
    });
    const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
    return { js: text('.js'), css: text('.css') };
  })();
  return bundle;
}

/** The flows Elements has a card for, each at `/ui/<kind>`. */
const KINDS = ['login', 'registration', 'settings', 'recovery', 'verification'] as const;

export interface ElementsApp {
  /** `http://localhost:<port>`: the app's origin (the cards are at `/ui/login`, `/ui/registration`, ...). */
  url: string;
  /** The SDK's basePath: origin + the router's mount path. */
  sdk: string;
  store: MemoryStore;
  close(): Promise<void>;
}

/**
 * Start the app. `options` go to `passkeys()` on top of the defaults (rp for this origin, a fresh MemoryStore, the
 * card pages as `urls.ui.*`, `/` after success), so a test can add hooks, a login style or a courier (which turns on
 * the recovery and verification cards' links).
 */
export async function startElementsApp(options: Partial<PasskeysOptions> = {}): Promise<ElementsApp> {
  const assets = await pageBundle();
  const server = createServer();
  server.listen(0, 'localhost');
  await once(server, 'listening');
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  const store = (options.store as MemoryStore | undefined) ?? new MemoryStore();
  const app = express();
  app.use(session({ secret: 'elements test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(
    '/auth',
    passkeys({
      rp: { id: 'localhost', displayName: 'Elements test', origins: [url] },
      urls: {
        ui: Object.fromEntries(KINDS.map((kind) => [kind, `${url}/ui/${kind}`])),
        defaultReturnTo: '/',
      },
      ...options,
      store,
    }),
  );
  app.get('/ui/page.js', (_req, res) => {
    res.type('text/javascript').send(assets.js);
  });
  app.get('/ui/page.css', (_req, res) => {
    res.type('text/css').send(assets.css);
  });
  const codes = options.courier !== undefined;
  for (const kind of KINDS) {
    app.get(`/ui/${kind}`, (_req, res) => {
      res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${kind}</title><link rel="stylesheet" href="/ui/page.css"></head>
<body><div id="root" data-kind="${kind}" data-sdk="${url}/auth" data-codes="${codes}"></div>
<script type="module" src="/ui/page.js"></script></body></html>`);
    });
  }
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>home</title><p id="home">home</p>');
  });
  server.on('request', app);
  return {
    url,
    sdk: `${url}/auth`,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Wait until the card has rendered (or fail with the page's own error). */
export async function elementsReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.getElementById('root')?.dataset.rendered === 'true' || document.body.dataset.error !== undefined,
  );
  const error = await page.evaluate(() => document.body.dataset.error);
  if (error) throw new Error(`the Elements page failed: ${error}`);
  await page.locator('form').first().waitFor();
}
