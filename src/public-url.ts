// Where URLs that leave the request (mails, stored flows) point: configuration only, never the request's Host.

import createDebug from 'debug';
import type { Request } from 'express';
import type { ResolvedOptions } from './options.js';

const log = createDebug('express-passkeys:urls');

/** Per configuration (one `passkeys()` router): the mount path learnt from the first request, and whether we warned. */
interface Learnt {
  mount: string;
  warned: boolean;
}
const learnt = new WeakMap<ResolvedOptions, Learnt>();

/**
 * The public base URL of the router's mount path, for every URL that leaves the request (a link or `requestUrl` in a
 * mail, a flow's stored `request_url`, `identity.schema_url` in a mail): `urls.publicBase` when set, else the first of
 * `rp.origins` plus the mount path (`req.baseUrl`) learnt from the first request the router handled. Never the
 * request's `Host` or `X-Forwarded-Host`, which the client chooses.
 *
 * A router mounted at several paths (or at a path with parameters) keeps the first one it saw and warns once when
 * another shows up: set `urls.publicBase` for such apps. Pass `req` to learn (or check) the mount path; without it
 * the answer is what is configured or learnt so far. `undefined` when neither gives a base: no `urls.publicBase`, the
 * first origin is not a web origin (an Android app origin), or no request has been seen yet. Apps with a `courier`
 * always get a string from a call with `req` (their configuration is checked for it).
 */
export function publicBaseUrl(config: ResolvedOptions, req?: Request): string | undefined {
  if (config.urls.publicBase) return config.urls.publicBase;
  const origin = config.urls.publicOrigin;
  if (!origin) return undefined;
  let state = learnt.get(config);
  if (req) {
    const mount = req.baseUrl ?? '';
    if (!state) {
      state = { mount, warned: false };
      learnt.set(config, state);
      log('mount path learnt from the first request: "%s"', mount);
    } else if (state.mount !== mount && !state.warned) {
      state.warned = true;
      console.warn(
        `express-passkeys: the router is reached under "${mount}" as well as "${state.mount}"; links in mails and stored flows keep "${state.mount}". Set \`urls.publicBase\` to choose.`,
      );
    }
  }
  return state ? `${origin}${state.mount}` : undefined;
}

/** {@link publicBaseUrl} for a request of an app with a `courier`, where it is always defined (checked at config). */
export function mailBaseUrl(config: ResolvedOptions, req: Request): string {
  const base = publicBaseUrl(config, req);
  if (base === undefined) throw new Error('express-passkeys: no public base URL for a mail (urls.publicBase unset).');
  return base;
}
