// Test harness: an Express app with express-session and the passkeys router, plus flow-driving helpers.

import assert from 'node:assert/strict';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { MemoryStore, type PasskeysOptions, passkeys } from '../../src/index.js';
import { type CoseAlg, SoftwareAuthenticator } from './authenticator.js';

export const ORIGIN = 'http://localhost:3000';
export const RP = { id: 'localhost', displayName: 'Test App', origins: [ORIGIN] };

export type Agent = InstanceType<typeof TestAgent>;

/** Build an app mounted at `/auth` (or `mount`) with a fresh MemoryStore unless one is given. */
export function makeApp(overrides: Partial<PasskeysOptions> = {}, mount = '/auth') {
  const store = (overrides.store as MemoryStore | undefined) ?? new MemoryStore();
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(mount, passkeys({ rp: RP, ...overrides, store }));
  app.get('/', (_req, res) => {
    res.send('home');
  });
  // One server for the app's lifetime, as in production: every request sees the same host and port. Unref'd, so an
  // unclosed one does not keep the test process alive.
  const server = app.listen(0, '127.0.0.1');
  server.unref();
  return { app, server, store, agent: () => request.agent(server) as Agent };
}

export type FlowJson = {
  id: string;
  type: string;
  state: string;
  expires_at: string;
  issued_at: string;
  request_url: string;
  return_to?: string;
  ui: { action: string; method: string; nodes: NodeJson[]; messages?: MessageJson[] };
  [key: string]: unknown;
};
export type MessageJson = { id: number; text: string; type: string; context?: Record<string, unknown> };
export type NodeJson = {
  type: string;
  group: string;
  attributes: Record<string, unknown> & { name?: string; value?: unknown };
  messages: MessageJson[];
  meta: { label?: MessageJson };
};

/** The node with this name, or fail. */
export function node(flow: FlowJson, name: string): NodeJson {
  const found = flow.ui.nodes.find((n) => n.attributes.name === name);
  assert.ok(found, `node ${name} missing; nodes: ${flow.ui.nodes.map((n) => n.attributes.name ?? n.attributes.id)}`);
  return found;
}

export const csrfOf = (flow: FlowJson) => String(node(flow, 'csrf_token').attributes.value);

/** Path + query of a flow's `ui.action`, for supertest. */
export const actionPath = (flow: FlowJson) => {
  const url = new URL(flow.ui.action);
  return url.pathname + url.search;
};

export async function initFlow(agent: Agent, kind: 'registration' | 'login' | 'settings', query = '', mount = '/auth') {
  const res = await agent
    .get(`${mount}/self-service/${kind}/browser${query}`)
    .set('Accept', 'application/json')
    .expect(200);
  return res.body as FlowJson;
}

export function creationOptionsOf(flow: FlowJson) {
  const data = JSON.parse(String(node(flow, 'passkey_create_data').attributes.value));
  return data.credentialOptions?.publicKey ?? data.publicKey;
}

export function requestOptionsOf(flow: FlowJson) {
  return JSON.parse(String(node(flow, 'passkey_challenge').attributes.value)).publicKey;
}

/** Register a new identity end to end (JSON), returning the authenticator holding the passkey. */
export async function register(
  agent: Agent,
  email = `user${Math.random().toString(36).slice(2)}@example.com`,
  opts: { authenticator?: SoftwareAuthenticator; alg?: CoseAlg; mount?: string } = {},
) {
  const authenticator = opts.authenticator ?? new SoftwareAuthenticator({ alg: opts.alg ?? -7 });
  const flow = await initFlow(agent, 'registration', '', opts.mount);
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const res = await agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({
      method: 'passkey',
      csrf_token: csrfOf(flow),
      traits: { email },
      passkey_register: JSON.stringify(credential),
    });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { authenticator, email, body: res.body, credential };
}

/** Post an assertion (object or JSON string) to a login flow as JSON, with the flow's CSRF token. */
export function submitAssertion(agent: Agent, flow: FlowJson, assertion: unknown) {
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({
      csrf_token: csrfOf(flow),
      passkey_login: typeof assertion === 'string' ? assertion : JSON.stringify(assertion),
    });
}

/** Sign in with the authenticator's passkey (JSON). Returns the response, asserting nothing. */
export async function login(agent: Agent, authenticator: SoftwareAuthenticator, ctx: { credentialId?: string } = {}) {
  const flow = await initFlow(agent, 'login');
  const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN, ...ctx });
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
}

/** Log the agent out through the logout URL. */
export async function logout(agent: Agent) {
  const { body } = await agent.get('/auth/self-service/logout/browser').set('Accept', 'application/json').expect(200);
  await agent.get(actionPathOf(body.logout_url)).set('Accept', 'application/json').expect(204);
}

export const actionPathOf = (url: string) => {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
};
