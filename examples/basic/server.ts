/**
 * express-passkeys, the basic example: sign up, sign in (button or passkey autofill), and manage passkeys, with
 * server-rendered pages that talk to the passkeys router only through its flow API (as a UI for Ory Kratos would).
 *
 * Run: npm start   (http://localhost:3000; PORT=4000 npm start for another port)
 *
 * Recovery and verification codes go out by mail through nodemailer when SMTP_URL is set
 * (SMTP_URL=smtp://user:pass@smtp.example.com:587 npm start); without it they are printed to stderr
 * (consoleCourier(), for development only).
 *
 * Flow policy: SIGNUP_DOMAIN=example.com lets only addresses of that domain sign up (a `beforeRegistration` hook);
 * REQUIRE_VERIFIED_ADDRESS=true refuses sign-ins until an address is verified (a code is sent at sign-in).
 *
 * Open it as http://localhost:<port>, not 127.0.0.1: an IP address is not a valid WebAuthn RP ID.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import {
  type AuthenticatorSelectionOptions,
  type Courier,
  consoleCourier,
  describeUserAgent,
  FlowRejection,
  type LoginOptions,
  MemoryStore,
  passkeys,
  requireSession,
  type Store,
} from '../../src/index.js';
import { adminRoutes } from './admin.js';
import { nodemailerCourier } from './mailer.js';
import {
  type Address,
  errorPage,
  type Flow,
  type FlowError,
  type FlowKind,
  flowPage,
  homePage,
  type PageOptions,
  sessionsSection,
} from './views.js';

type LoginStyle = NonNullable<LoginOptions['style']>;
type ResidentKey = NonNullable<AuthenticatorSelectionOptions['residentKey']>;

/** The stylesheet and the icon (public/), served at /assets/. */
const ASSETS = fileURLToPath(new URL('./public/', import.meta.url));

/** One-time notices, set as a short-lived cookie by one request and shown (then cleared) by the next page. */
const FLASH_COOKIE = 'example_flash';
const FLASHES: Record<string, string> = {
  account_created: 'Account created. Welcome!',
  session_ended: 'Signed out of that device.',
  sessions_ended: 'Signed out everywhere else.',
};

/** Who may sign up and sign in (see `createApp`). */
interface Policy {
  /** Only addresses of this domain may sign up; unset: anyone. */
  signupDomain?: string;
  /** Sign-ins need a verified address. */
  requireVerifiedAddress: boolean;
  store: Store;
}

/** A `beforeRegistration` hook that lets only addresses `@domain` sign up, saying so under the email field. */
function signupDomainRule(domain: string) {
  const suffix = `@${domain.toLowerCase()}`;
  return ({ traits }: { traits: Record<string, unknown> }) => {
    const email = String(traits.email ?? '')
      .trim()
      .toLowerCase();
    if (!email.endsWith(suffix)) {
      throw new FlowRejection({
        instancePtr: '#/traits/email',
        id: 4100001,
        text: `Sign up with your ${suffix} address.`,
        context: { domain },
      });
    }
  };
}

/**
 * Build the app for the origin it is served from (the passkeys' `rp.origins` must match it exactly). `devCodes`:
 * the courier prints codes to the terminal (the pages say so in a banner).
 */
const VERIFY_TO_SIGN_IN =
  'This app signs you in once your email address is verified. Enter the code we sent you, then sign in with your passkey.';

function buildApp(origin: string, courier: Courier, devCodes: boolean, policy: Policy): express.Express {
  const app = express();
  app.disable('x-powered-by');

  // Static files first: no session, no CSP nonce needed for them.
  app.use('/assets', express.static(ASSETS, { maxAge: '1h' }), (_req: Request, res: Response) => {
    res.status(404).type('text').send('Not found');
  });
  // Browsers ask for /favicon.ico on pages without <link rel="icon"> (JSON answers, for one): the same icon.
  app.get('/favicon.ico', (_req, res) => res.redirect(301, '/assets/favicon.svg'));

  // express-session's default store is its own in-memory MemoryStore: fine for an example, but it leaks and forgets
  // sessions on restart. In production use a real one (connect-redis, connect-pg-simple, ...) and a fixed secret.
  app.use(
    session({
      secret: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );

  // A fresh CSP nonce per request, set BEFORE the passkeys router: it puts `res.locals.cspNonce` in its script node.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.locals.cspNonce = randomBytes(16).toString('base64');
    next();
  });

  const auth = passkeys({
    rp: { id: 'localhost', displayName: 'Passkeys Example', origins: [origin] },
    // The library's built-in store (identities, passkeys, flows in memory): write an adapter for your database.
    store: policy.store,
    // Flow inits redirect browsers to these pages with `?flow=<id>`.
    urls: {
      ui: {
        login: '/login',
        registration: '/registration',
        settings: '/settings',
        recovery: '/recovery',
        verification: '/verification',
        // Errors a browser meets on a navigation (a form post refused for its CSRF token, a bad logout link, ...).
        error: '/error',
      },
    },
    // Recovery and verification codes: nodemailer (SMTP_URL) or stderr. With a database-backed store, also pass
    // `secrets` (the code HMAC keys, shared by every instance); MemoryStore may use a random per-process key.
    courier,
    // The "Account created" notice on the page the sign-up lands on (a cookie: the session is renewed at sign-up).
    hooks: {
      // SIGNUP_DOMAIN: refused sign-ups write nothing; the message shows under the email field.
      ...(policy.signupDomain ? { beforeRegistration: signupDomainRule(policy.signupDomain) } : {}),
      onRegistered: ({ request }) => {
        request.res?.cookie(FLASH_COOKIE, 'account_created', {
          httpOnly: true,
          sameSite: 'lax',
          path: '/',
          maxAge: 60_000,
        });
      },
    },
    // LOGIN_STYLE=identifier_first: the email first, then a passkey of that account (security keys without
    // discoverable credentials too; RESIDENT_KEY=discouraged lets such keys sign up). Bad values fail at startup.
    // REQUIRE_VERIFIED_ADDRESS: an unverified user's sign-in lands on /verification, a code on its way; once the code
    // is entered, "Continue" leads home, where "Sign in" now works.
    login: {
      requireVerifiedAddress: policy.requireVerifiedAddress,
      ...(process.env.LOGIN_STYLE ? { style: process.env.LOGIN_STYLE as LoginStyle } : {}),
    },
    ...(process.env.RESIDENT_KEY
      ? { authenticatorSelection: { residentKey: process.env.RESIDENT_KEY as ResidentKey } }
      : {}),
  });
  app.use('/auth', auth);

  /** Call the passkeys router over HTTP with the browser's cookies, as a Kratos UI calls Kratos. */
  async function api(req: Request, res: Response, path: string): Promise<globalThis.Response> {
    const answer = await fetch(`${origin}/auth${path}`, {
      headers: { accept: 'application/json', cookie: req.headers.cookie ?? '' },
    });
    // Pass on the cookies the router sets: its CSRF cookie, when this browser has none yet, must reach the browser
    // so that the token in the rendered form matches it.
    for (const cookie of answer.headers.getSetCookie()) res.append('Set-Cookie', cookie);
    return answer;
  }

  /** What every page shows besides its content: the flash notice (taken once) and the development banner. */
  function pageOptions(req: Request, res: Response): PageOptions {
    const cookie = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith(`${FLASH_COOKIE}=`));
    const key = cookie?.slice(FLASH_COOKIE.length + 1);
    if (key !== undefined) res.clearCookie(FLASH_COOKIE, { path: '/' });
    return { flash: key === undefined ? undefined : FLASHES[key], devBanner: devCodes };
  }

  function send(res: Response, html: string): void {
    const nonce = String(res.locals.cspNonce);
    res.set(
      'Content-Security-Policy',
      [
        "default-src 'self'",
        `script-src 'nonce-${nonce}'`,
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
    res.set('Cache-Control', 'no-store');
    res.type('html').send(html);
  }

  app.get('/', async (req, res) => {
    const whoami = await api(req, res, '/sessions/whoami');
    if (whoami.status !== 200) return send(res, homePage(null, pageOptions(req, res)));
    const { identity } = (await whoami.json()) as {
      identity: { traits: { email?: string }; verifiable_addresses?: Address[] };
    };
    const logout = (await (await api(req, res, '/self-service/logout/browser')).json()) as { logout_url: string };
    const addresses = identity.verifiable_addresses ?? [];
    // Signal API: the page a sign-in lands on tells the browser's authenticators which passkeys still exist.
    const signals = { value: await auth.signals(req), nonce: String(res.locals.cspNonce) };
    const user = { email: identity.traits.email ?? '', logoutUrl: logout.logout_url, addresses, signals };
    send(res, homePage(user, pageOptions(req, res)));
  });

  /** `/registration`, `/login`, `/settings`, `/recovery`, `/verification`: render the flow `?flow=<id>`, or start one. */
  const flowRoute = (kind: FlowKind) => async (req: Request, res: Response) => {
    const start = `/auth/self-service/${kind}/browser`;
    const id = req.query.flow;
    // No flow yet: the browser init creates one and 303s back here with `?flow=<id>`.
    if (typeof id !== 'string') return res.redirect(303, start);
    const answer = await api(req, res, `/self-service/${kind}/flows?id=${encodeURIComponent(id)}`);
    if (answer.status === 410 || answer.status === 404) return res.redirect(303, start); // expired or unknown
    if (answer.status === 401 || answer.status === 403) {
      // Not this browser's flow: settings need a sign-in; a recovery or verification flow is simply started again.
      return res.redirect(303, kind === 'settings' ? '/login' : start);
    }
    if (answer.status !== 200) throw new Error(`fetching the ${kind} flow failed: ${answer.status}`);
    const flow = (await answer.json()) as Flow;
    // Already signed in (the back button after a sign-up or sign-in lands on its form again): the account, not a form
    // the router would refuse (session_already_available). A refresh login is for signed-in users: it stays.
    if ((kind === 'registration' || (kind === 'login' && !flow.refresh)) && (await auth.getIdentity(req))) {
      return res.redirect(303, '/');
    }
    const page = pageOptions(req, res);
    // Settings end with "Where you're signed in": the user's other sessions.
    if (kind === 'settings') {
      page.sections = [sessionsSection(await auth.listSessions(req), (ua) => describeUserAgent(ua).label)];
    }
    // Verification, signed out: no account to go back to; the way on is signing in. With REQUIRE_VERIFIED_ADDRESS, a
    // signed-out visitor with a code on its way was most likely just refused at sign-in: say why.
    if (kind === 'verification' && !(await auth.getIdentity(req))) {
      page.footer = '<p><a href="/login">Sign in</a></p>';
      if (policy.requireVerifiedAddress && flow.state === 'sent_email') page.lead = VERIFY_TO_SIGN_IN;
    }
    send(res, flowPage(kind, flow, String(res.locals.cspNonce), page));
  };
  app.get('/registration', flowRoute('registration'));
  app.get('/login', flowRoute('login'));
  // Settings need a session: without one, go sign in (the router would answer 401).
  app.get('/settings', requireSession({ redirectTo: '/login' }), flowRoute('settings'));
  // "Sign out" of one other session, or of all of them: through the router's my-sessions routes, with the browser's
  // cookie and its Origin (the router refuses a cookie-authenticated DELETE from a foreign origin), then back.
  async function endSessions(req: Request, res: Response, path: string, flash: string) {
    const from = req.get('origin');
    const answer = await fetch(`${origin}/auth${path}`, {
      method: 'DELETE',
      headers: { accept: 'application/json', cookie: req.headers.cookie ?? '', ...(from ? { origin: from } : {}) },
    });
    if (answer.status === 401) return res.redirect(303, '/login');
    if (answer.status >= 300) {
      res.status(answer.status);
      return send(res, errorPage(((await answer.json()) as { error: FlowError }).error, pageOptions(req, res)));
    }
    res.cookie(FLASH_COOKIE, flash, { path: '/', httpOnly: true, sameSite: 'lax', maxAge: 60_000 });
    res.redirect(303, '/settings');
  }
  app.post('/settings/sessions/sign-out-others', (req, res) => endSessions(req, res, '/sessions', 'sessions_ended'));
  app.post('/settings/sessions/:id/sign-out', (req, res) =>
    endSessions(req, res, `/sessions/${encodeURIComponent(req.params.id)}`, 'session_ended'),
  );
  // "Forgot your passkey?": a code by mail signs the user in, then the settings page adds a new passkey. With a
  // session, the router's recovery init sends the browser home instead.
  app.get('/recovery', flowRoute('recovery'));
  // Sign-up lands here (the code is on its way); signed-in users come here from the home page too.
  app.get('/verification', flowRoute('verification'));

  // Support tools at /admin (and Kratos's admin API at /admin-api), only when ADMIN_TOKEN is set.
  const adminToken = process.env.ADMIN_TOKEN;
  if (adminToken) app.use(adminRoutes(auth, adminToken, origin, send, pageOptions));

  // The error page: the router stored the error and sent the browser here with `?id=`.
  app.get('/error', async (req, res) => {
    const id = typeof req.query.id === 'string' ? req.query.id : '';
    const answer = id ? await api(req, res, `/self-service/errors?id=${encodeURIComponent(id)}`) : undefined;
    const error = answer?.status === 200 ? ((await answer.json()) as { error: FlowError }).error : null;
    res.status(error ? 200 : 404);
    send(res, errorPage(error, pageOptions(req, res)));
  });

  return app;
}

/**
 * Start the example at localhost on `port` (default: `PORT` or 3000; 0: any free port). Mail goes through the SMTP
 * server at `smtpUrl` (default: `SMTP_URL`); with neither, codes are printed to stderr. `signupDomain` (default:
 * `SIGNUP_DOMAIN`) and `requireVerifiedAddress` (default: `REQUIRE_VERIFIED_ADDRESS=true`) set the flow policy;
 * `store` defaults to a new MemoryStore.
 */
export async function createApp(
  options: {
    port?: number;
    smtpUrl?: string;
    signupDomain?: string;
    requireVerifiedAddress?: boolean;
    store?: Store;
  } = {},
): Promise<{
  url: string;
  server: Server;
  close: () => Promise<void>;
}> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? Number(process.env.PORT ?? 3000), 'localhost', resolve);
  });
  // The port is known only now (port 0), and the allowed origin must name it.
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  const smtpUrl = options.smtpUrl ?? process.env.SMTP_URL;
  try {
    const policy: Policy = {
      signupDomain: options.signupDomain ?? (process.env.SIGNUP_DOMAIN || undefined),
      requireVerifiedAddress: options.requireVerifiedAddress ?? process.env.REQUIRE_VERIFIED_ADDRESS === 'true',
      store: options.store ?? new MemoryStore(),
    };
    const app = smtpUrl
      ? buildApp(url, nodemailerCourier(smtpUrl), false, policy)
      : buildApp(url, consoleCourier(), true, policy);
    server.on('request', app);
  } catch (error) {
    server.close(); // a bad option throws at once: do not leave the port open
    throw error;
  }
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url, server, close };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { url } = await createApp();
  console.log(`Passkeys example listening on ${url}`);
}
