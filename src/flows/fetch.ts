// `GET /self-service/<kind>/flows?id=`: a flow's JSON; 404 if unknown, 410 (with its successor) if expired.

import type { Request, Response } from 'express';
import { identityMismatch, sessionInactive } from '../errors.js';
import { queryParam } from '../http.js';
import type { ResolvedOptions } from '../options.js';
import { currentSession } from '../session.js';
import { claimFlow } from './binding.js';
import {
  expiredFlowError,
  type FlowKind,
  type FlowRenderer,
  isCodeFlow,
  isExpired,
  loadFlow,
  renderFlow,
  renewCeremony,
  saveFlow,
} from './flow.js';

/** The flow-fetch handler for a flow kind. */
export function fetchFlow(kind: FlowKind, renderer: FlowRenderer) {
  return async function fetchFlowHandler(config: ResolvedOptions, req: Request, res: Response): Promise<void> {
    const flow = await loadFlow(config, kind, queryParam(req, 'id'));
    // Flows of a session (settings, refresh login) show its identity's passkeys: only to that session.
    if (flow.data.identityId) {
      const session = currentSession(req);
      if (!session) throw sessionInactive();
      if (session.identityId !== flow.data.identityId) {
        throw identityMismatch();
      }
    }
    if (isExpired(flow)) throw (await expiredFlowError(config, flow)).error;
    await claimFlow(config, req, res, flow);
    // A page rendered long after the flow was created gets a fresh challenge rather than a doomed ceremony.
    const ceremony = !isCodeFlow(flow.data.kind) && flow.data.state !== 'success';
    if (ceremony && (!flow.challenge || Date.now() > flow.data.ceremonyExpiresAt)) {
      renewCeremony(config, flow);
      await saveFlow(config, flow);
    }
    res.status(200).json(await renderFlow(config, req, res, flow, renderer));
  };
}
