// Browser flows made for someone else (a recovery code from `auth.admin`): the first browser that opens or submits
// the flow binds it to itself by its CSRF cookie, so that a leaked link is of no use in another browser.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { csrfViolation } from '../errors.js';
import { csrfSecret } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { type Flow, updateFlow } from './flow.js';

/** What the flow keeps of the browser: a keyed hash of its CSRF cookie and the flow id, never the cookie itself. */
function browserTag(secret: string, flowId: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64url')).update(`bind:${flowId}`).digest('base64url');
}

/**
 * For a flow marked `bindToBrowser`: bind it to this browser when no browser has it yet (the first writer wins, even
 * against a racing one), else refuse any other browser with 403 `security_csrf_violation`. `flow` is updated in
 * place. Other flows: nothing to do.
 */
export async function claimFlow(config: ResolvedOptions, req: Request, res: Response, flow: Flow): Promise<void> {
  if (flow.data.type !== 'browser' || !flow.data.bindToBrowser) return;
  const tag = browserTag(csrfSecret(req, res), flow.id);
  const current = flow.data.browser
    ? flow
    : await updateFlow(config, flow, (f) => {
        if (f.data.browser) return false;
        f.data.browser = tag;
      });
  if (current !== flow) Object.assign(flow, current);
  const bound = Buffer.from(flow.data.browser ?? '');
  const mine = Buffer.from(tag);
  if (bound.length !== mine.length || !timingSafeEqual(bound, mine)) throw csrfViolation();
}
