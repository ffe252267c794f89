/**
 * The example's support page at `/admin`, on `auth.admin`: find an account by email, disable or enable it, make a
 * recovery code, delete it. Only with `ADMIN_TOKEN` set (without it `/admin` is a 404). Staff sign in with the token
 * once per browser session; every action is a same-origin POST (the session cookie is SameSite=Lax and the Origin
 * header is checked), then a 303 back to the account, so a reload posts nothing. `auth.adminRouter()` (Kratos's admin
 * API, for Ory's SDK) is mounted at `/admin-api` behind the same token as a bearer token.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { IdentityNotFoundError, type PasskeysRouter } from '../../src/index.js';
import { type AdminIdentityView, adminPage, type PageOptions } from './views.js';

declare module 'express-session' {
  interface SessionData {
    /** Set once the browser gave the admin token. */
    exampleAdmin?: boolean;
    /** The outcome of the last action, shown once by the page the action redirects to. */
    exampleAdminNotice?: { text: string; recovery?: { link: string; code: string; expiresAt: string } };
  }
}

function sameToken(given: unknown, token: string): boolean {
  const a = Buffer.from(typeof given === 'string' ? given : '');
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The `/admin` pages and the `/admin-api` routes; `send` renders a page under the app's CSP. */
export function adminRoutes(
  auth: PasskeysRouter,
  token: string,
  origin: string,
  send: (res: Response, html: string) => void,
  pageOptions: (req: Request, res: Response) => PageOptions,
): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '2kb' });

  // Kratos's admin API for scripts and Ory's SDK: `Authorization: Bearer <ADMIN_TOKEN>`, nothing else.
  router.use(
    '/admin-api',
    (req: Request, res: Response, next: NextFunction) => {
      if (sameToken(req.get('authorization')?.replace(/^Bearer /, ''), token)) return next();
      res.status(401).json({ error: { code: 401, status: 'Unauthorized', message: 'admin token required' } });
    },
    auth.adminRouter(),
  );

  const render = (req: Request, res: Response, view: Parameters<typeof adminPage>[0], status = 200) => {
    res.status(status);
    send(res, adminPage(view, pageOptions(req, res)));
  };

  router.post('/admin/login', form, (req, res) => {
    if (req.get('origin') !== undefined && req.get('origin') !== origin) return res.status(403).end();
    if (!sameToken((req.body as { token?: unknown }).token, token)) {
      return render(req, res, { signedIn: false, error: 'That is not the admin token.' }, 401);
    }
    req.session.regenerate(() => {
      req.session.exampleAdmin = true;
      req.session.save(() => res.redirect(303, '/admin'));
    });
  });

  // Everything below needs the token given in this browser session, and POSTs must come from this origin.
  router.use('/admin', (req: Request, res: Response, next: NextFunction) => {
    if (!req.session.exampleAdmin) return render(req, res, { signedIn: false }, 401);
    if (req.method === 'POST' && req.get('origin') !== origin) return res.status(403).end();
    next();
  });

  const view = async (email: string): Promise<AdminIdentityView | null> => {
    const [identity] = (await auth.admin.listIdentities({ identifier: email, pageSize: 1 })).identities;
    if (!identity) return null;
    return {
      id: identity.id,
      email: String(identity.traits.email ?? identity.identifier),
      state: identity.state,
      createdAt: identity.createdAt,
      passkeys: identity.passkeys.length,
    };
  };

  router.get('/admin', async (req, res) => {
    const email = typeof req.query.email === 'string' ? req.query.email.trim().slice(0, 320) : '';
    const saved = req.session.exampleAdminNotice;
    delete req.session.exampleAdminNotice;
    const notice = saved && {
      text: saved.text,
      ...(saved.recovery ? { recovery: { ...saved.recovery, expiresAt: new Date(saved.recovery.expiresAt) } } : {}),
    };
    render(req, res, { signedIn: true, query: email, ...(email ? { found: await view(email) } : {}), notice });
  });

  /**
   * Run an action on the identity of the URL, then redirect (303) to it, the outcome shown once: a reload or the back
   * button does not post the action again (nor make a second recovery code).
   */
  const act =
    (run: (id: string) => Promise<{ text: string; recovery?: { link: string; code: string; expiresAt: Date } }>) =>
    async (req: Request, res: Response) => {
      const id = String(req.params.id);
      const before = await auth.admin.getIdentity(id);
      if (!before) return render(req, res, { signedIn: true, query: '', found: null }, 404);
      const email = String(before.traits.email ?? before.identifier);
      try {
        const notice = await run(id);
        req.session.exampleAdminNotice = {
          text: notice.text,
          ...(notice.recovery
            ? { recovery: { ...notice.recovery, expiresAt: notice.recovery.expiresAt.toISOString() } }
            : {}),
        };
      } catch (error) {
        if (!(error instanceof IdentityNotFoundError)) throw error;
        return render(req, res, { signedIn: true, query: email, found: null }, 404);
      }
      req.session.save(() => res.redirect(303, `/admin?email=${encodeURIComponent(email)}`));
    };

  router.post(
    '/admin/identities/:id/disable',
    act(async (id) => {
      await auth.admin.updateIdentity(id, { state: 'inactive' });
      return { text: 'Account disabled. It was signed out everywhere and cannot sign in.' };
    }),
  );
  router.post(
    '/admin/identities/:id/enable',
    act(async (id) => {
      await auth.admin.updateIdentity(id, { state: 'active' });
      return { text: 'Account enabled. It can sign in again.' };
    }),
  );
  router.post(
    '/admin/identities/:id/recovery-code',
    act(async (id) => {
      const { recoveryLink, recoveryCode, expiresAt } = await auth.admin.createRecoveryCode(id);
      return {
        text: 'Recovery code made.',
        recovery: { link: new URL(recoveryLink, origin).href, code: recoveryCode, expiresAt },
      };
    }),
  );
  router.post(
    '/admin/identities/:id/delete',
    act(async (id) => {
      await auth.admin.deleteIdentity(id);
      return { text: 'Account deleted, with its passkeys, sessions and flows.' };
    }),
  );

  return router;
}
