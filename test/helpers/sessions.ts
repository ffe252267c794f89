// Session test plumbing: sign in on several "devices" (agents with their own user agent), native tokens, listing.

import assert from 'node:assert/strict';
import request from 'supertest';
import {
  type Agent,
  actionPath,
  creationOptionsOf,
  csrfOf,
  type FlowJson,
  initFlow,
  ORIGIN,
  requestOptionsOf,
} from './app.js';
import type { SoftwareAuthenticator } from './authenticator.js';

export const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

/** Sign the agent in with the authenticator's passkey (JSON), as a browser with this user agent; asserts 200. */
export async function signIn(
  agent: Agent,
  authenticator: SoftwareAuthenticator,
  opts: { userAgent?: string; credentialId?: string; refresh?: boolean; headers?: Record<string, string> } = {},
) {
  const flow = await initFlow(agent, 'login', opts.refresh ? '?refresh=true' : '');
  const assertion = authenticator.get(requestOptionsOf(flow), {
    origin: ORIGIN,
    ...(opts.credentialId ? { credentialId: opts.credentialId } : {}),
  });
  const res = await agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .set('User-Agent', opts.userAgent ?? CHROME_MAC)
    .set(opts.headers ?? {})
    .send({ method: 'passkey', csrf_token: csrfOf(flow), passkey_login: JSON.stringify(assertion) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { session: SessionJson };
}

/** Sign a native app in (API flow) with the authenticator's passkey; returns the session token and session. */
export async function signInNative(
  app: Parameters<typeof request>[0],
  authenticator: SoftwareAuthenticator,
  userAgent = 'ExampleApp/2.1 (iOS 18.1)',
) {
  const init = await request(app).get('/auth/self-service/login/api').expect(200);
  const flow = init.body as FlowJson;
  const assertion = authenticator.get(requestOptionsOf(flow), { origin: ORIGIN });
  const res = await request(app)
    .post(actionPath(flow))
    .set('User-Agent', userAgent)
    .send({ method: 'passkey', passkey_login: JSON.stringify(assertion) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { token: res.body.session_token as string, session: res.body.session as SessionJson };
}

/** Add a passkey in settings (JSON), from a fresh flow; asserts 200. */
export async function addPasskey(agent: Agent, authenticator: SoftwareAuthenticator) {
  const flow = await initFlow(agent, 'settings');
  const credential = authenticator.create(creationOptionsOf(flow), { origin: ORIGIN });
  const res = await agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', passkey_settings_register: JSON.stringify(credential) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return credential.id;
}

/** Remove a passkey in settings (JSON), from a fresh flow; returns the response. */
export async function removePasskey(agent: Agent, credentialId: string) {
  const flow = await initFlow(agent, 'settings');
  return agent
    .post(actionPath(flow))
    .set('Accept', 'application/json')
    .send({ csrf_token: csrfOf(flow), method: 'passkey', passkey_remove: credentialId });
}

export interface SessionJson {
  id: string;
  active: boolean;
  expires_at: string;
  issued_at: string;
  authenticated_at: string;
  authentication_methods: { method: string; aal: string; completed_at: string }[];
  devices: { id: string; ip_address: string; user_agent: string; location: string }[];
  identity: { id: string; traits: Record<string, unknown> };
}

/** The whoami status of an agent (200 or 401). */
export async function whoamiStatus(agent: Agent): Promise<number> {
  return (await agent.get('/auth/sessions/whoami').set('Accept', 'application/json')).status;
}
