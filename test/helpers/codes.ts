// Recovery/verification test plumbing: an app with a courier that keeps what it was given, and flow helpers.

import assert from 'node:assert/strict';
import type { CourierMessage, PasskeysOptions } from '../../src/index.js';
import { type Agent, actionPath, csrfOf, type FlowJson, makeApp } from './app.js';

/** A courier that keeps every message handed to it (the HTTP tests' mailbox; e2e tests use real SMTP). */
export class RecordingCourier {
  readonly messages: CourierMessage[] = [];
  fail = false;

  send = async (message: CourierMessage) => {
    if (this.fail) throw new Error('SMTP down (test)');
    this.messages.push(message);
  };

  /**
   * Messages to `to` of one kind (`recovery_*` by default), after letting the courier run (it is called after the
   * answer is sent).
   */
  async to(to: string, kind: 'recovery' | 'verification' = 'recovery'): Promise<CourierMessage[]> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    return this.messages.filter((m) => m.to === to && m.template.startsWith(kind));
  }

  /** The code of the last message of this kind to `to`. */
  async lastCode(to: string, kind: 'recovery' | 'verification' = 'recovery'): Promise<string> {
    const list = await this.to(to, kind);
    const last = list[list.length - 1];
    assert.ok(last, `no message to ${to}`);
    const code = last.model.recoveryCode ?? last.model.verificationCode;
    assert.match(String(code), /^[0-9]{6}$/);
    return String(code);
  }
}

export const SECRET = 'a test secret that is long enough for the code HMAC';

/** An app with recovery and verification on (a recording courier, MemoryStore). */
export function makeCodeApp(overrides: Partial<PasskeysOptions> = {}) {
  const courier = new RecordingCourier();
  const app = makeApp({ courier, ...overrides });
  return { ...app, courier };
}

export type CodeKind = 'recovery' | 'verification';

export async function initCodeFlow(agent: Agent, kind: CodeKind, query = ''): Promise<FlowJson> {
  const res = await agent.get(`/auth/self-service/${kind}/browser${query}`).set('Accept', 'application/json');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as FlowJson;
}

/** Post to a code flow as JSON with its CSRF token. */
export function postCode(agent: Agent, flow: FlowJson, body: Record<string, unknown>) {
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), ...body });
}

/** Start a flow and ask for a code for `email`; returns the flow in `sent_email`. */
export async function requestCode(agent: Agent, kind: CodeKind, email: string): Promise<FlowJson> {
  const flow = await initCodeFlow(agent, kind);
  const res = await postCode(agent, flow, { method: 'code', email });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.state, 'sent_email');
  return res.body as FlowJson;
}

export const messageIds = (flow: { ui: { messages?: { id: number }[] } }) => (flow.ui.messages ?? []).map((m) => m.id);
