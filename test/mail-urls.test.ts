// Every URL that leaves the request comes from configuration (issue 14, finding 1): a client that forges `Host` (or
// `X-Forwarded-Host` behind a trusted proxy) cannot make the app mail a victim a link to its own host. Mail goes
// through the example's nodemailer courier to a real SMTP server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { compose } from '../examples/basic/mailer.js';
import { type Courier, MemoryStore, type PasskeysOptions, passkeys } from '../src/index.js';
import { resolveOptions } from '../src/options.js';
import { publicBaseUrl } from '../src/public-url.js';
import { type Agent, type FlowJson, makeApp, ORIGIN, RP, register } from './helpers/app.js';
import { postCode, SECRET } from './helpers/codes.js';
import { type Inbox, linkFrom, startSmtp } from './helpers/smtp.js';

let inbox: Inbox;
before(async () => {
  inbox = await startSmtp();
});
after(() => inbox.close());

/**
 * The example's courier, with every URL of the mail model written into the text too (`requestUrl`, the identity's
 * `schema_url`), so that the test reads them out of the delivered mail.
 */
function courier(): Courier {
  const transport = nodemailer.createTransport(inbox.url);
  return {
    async send(message) {
      const { subject, text } = compose(message);
      const urls = [
        `request: ${message.model.requestUrl}`,
        `schema: ${(message.model.identity as { schema_url?: string } | undefined)?.schema_url ?? '-'}`,
      ];
      await transport.sendMail({
        from: 'auth@localhost',
        to: message.to,
        subject,
        text: `${text}\n${urls.join('\n')}\n`,
      });
    },
  };
}

function app(overrides: Partial<PasskeysOptions> = {}, mount = '/auth') {
  return makeApp({ courier: courier(), secrets: [SECRET], ...overrides }, mount);
}

/** Every http(s) URL in a mail's text. */
const urlsIn = (text: string) => text.match(/https?:\/\/[^\s<>"]+/g) ?? [];

/** Ask for a verification code for `email` with extra request headers on both requests. */
async function verifyWithHeaders(agent: Agent, email: string, headers: Record<string, string>, mount = '/auth') {
  let init = agent.get(`${mount}/self-service/verification/browser`).set('Accept', 'application/json');
  for (const [k, v] of Object.entries(headers)) init = init.set(k, v);
  const flow = (await init.expect(200)).body as FlowJson;
  let post = postCode(agent, flow, { method: 'code', email });
  for (const [k, v] of Object.entries(headers)) post = post.set(k, v);
  const res = await post;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as FlowJson;
}

describe('URLs in mails and stored flows come from configuration', () => {
  it('Host: evil.example: the verification mail’s link, requestUrl and schema_url point at the first rp origin', async () => {
    const { agent } = app();
    const { email } = await register(agent(), 'host-victim@example.com');
    await inbox.waitForMail(email); // the sign-up's own verification mail
    const attacker = agent();
    const flow = await verifyWithHeaders(attacker, email, { Host: 'evil.example' });
    assert.ok(flow.request_url.startsWith(`${ORIGIN}/auth/`), `stored request_url: ${flow.request_url}`);
    const mail = await inbox.waitForMail(email);
    const urls = urlsIn(mail.text);
    assert.ok(urls.length >= 3, mail.text);
    for (const url of urls) assert.ok(url.startsWith(`${ORIGIN}/auth/`), `${url} must be on ${ORIGIN}/auth`);
    assert.ok(!mail.text.includes('evil.example'), mail.text);
    const link = new URL(linkFrom(mail, '/self-service/verification?'));
    assert.equal(link.searchParams.get('flow'), flow.id);
    assert.match(mail.text, new RegExp(`request: ${ORIGIN}/auth/self-service/verification/browser`));
    assert.match(mail.text, new RegExp(`schema: ${ORIGIN}/auth/schemas/`));
    // The link works (followed on the real server, whatever host the browser used).
    const res = await agent().get(link.pathname + link.search);
    assert.equal(res.status, 303);
  });

  it('X-Forwarded-Host behind a trusted proxy: the recovery mail’s URLs still point at the configured origin', async () => {
    const { app: express, agent } = app();
    express.set('trust proxy', 'loopback');
    const { email } = await register(agent(), 'xfh-victim@example.com');
    await inbox.waitForMail(email);
    const attacker = agent();
    const headers = { 'X-Forwarded-Host': 'evil.example' };
    let init = attacker.get('/auth/self-service/recovery/browser').set('Accept', 'application/json');
    for (const [k, v] of Object.entries(headers)) init = init.set(k, v);
    const flow = (await init.expect(200)).body as FlowJson;
    // The answer to the client itself may use the forwarded host (its own request); what is stored and mailed not.
    assert.ok(flow.request_url.startsWith(`${ORIGIN}/auth/`), flow.request_url);
    let post = postCode(attacker, flow, { method: 'code', email });
    for (const [k, v] of Object.entries(headers)) post = post.set(k, v);
    assert.equal((await post).status, 200);
    const mail = await inbox.waitForMail(email, { match: (m) => m.subject.includes('recovery') });
    const urls = urlsIn(mail.text);
    assert.equal(urls.length, 2, mail.text);
    for (const url of urls) assert.ok(url.startsWith(`${ORIGIN}/auth/`), url);
    // Verification by the forwarded host too.
    await verifyWithHeaders(attacker, email, headers);
    const verification = await inbox.waitForMail(email);
    for (const url of urlsIn(verification.text)) assert.ok(url.startsWith(`${ORIGIN}/auth/`), url);
  });

  it('urls.publicBase wins over the first origin', async () => {
    const { agent } = app({ urls: { publicBase: 'https://id.example.com/auth' } });
    const { email } = await register(agent(), 'public-base@example.com');
    const mail = await inbox.waitForMail(email);
    const urls = urlsIn(mail.text);
    assert.ok(urls.length >= 3);
    for (const url of urls) assert.ok(url.startsWith('https://id.example.com/auth/'), url);
  });

  it('a router mounted at two paths keeps the first mount path it saw, and warns once', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    // One router, two mounts: build it by hand (makeApp mounts once).
    const express = (await import('express')).default;
    const session = (await import('express-session')).default;
    const server = express();
    server.use(session({ secret: 'test', resave: false, saveUninitialized: false }));
    const router = passkeys({ rp: RP, store: new MemoryStore(), courier: courier(), secrets: [SECRET] });
    server.use(['/first', '/second'], router);
    const listening = server.listen(0, '127.0.0.1');
    listening.unref();
    try {
      const request = (await import('supertest')).default;
      const a = request.agent(listening) as Agent;
      const { email } = await register(a, 'two-mounts@example.com', { mount: '/first' });
      await inbox.waitForMail(email);
      await verifyWithHeaders(a, email, {}, '/second');
      const mail = await inbox.waitForMail(email);
      for (const url of urlsIn(mail.text)) assert.ok(url.startsWith(`${ORIGIN}/first/`), url);
      await verifyWithHeaders(a, email, {}, '/second');
      await inbox.waitForMail(email);
      const warnings = warn.mock.calls.map((c) => String(c.arguments[0]));
      assert.equal(warnings.filter((w) => w.includes('"/second" as well as "/first"')).length, 1, warnings.join('\n'));
    } finally {
      listening.close();
    }
  });

  it('config: a courier with no unambiguous public base is a TypeError; publicBaseUrl is there for other code', () => {
    const store = new MemoryStore();
    const android = 'android:apk-key-hash:abc';
    assert.throws(
      () => passkeys({ rp: { ...RP, origins: [android, ORIGIN] }, store, courier: courier() }),
      (error: unknown) =>
        error instanceof TypeError && /urls\.publicBase/.test(error.message) && error.message.includes(android),
    );
    // Either fix works.
    passkeys({ rp: { ...RP, origins: [ORIGIN, android] }, store, courier: courier() });
    passkeys({
      rp: { ...RP, origins: [android, ORIGIN] },
      store,
      courier: courier(),
      urls: { publicBase: 'https://localhost/auth' },
    });
    // Without a courier nothing is mailed: no error.
    passkeys({ rp: { ...RP, origins: [android, ORIGIN] }, store });
    // The function: configured base, or origin + learnt mount (undefined before any request).
    assert.equal(
      publicBaseUrl(resolveOptions({ rp: RP, store, urls: { publicBase: 'https://a.example/x/' } })),
      'https://a.example/x',
    );
    const config = resolveOptions({ rp: RP, store });
    assert.equal(publicBaseUrl(config), undefined, 'no request seen yet');
    assert.equal(publicBaseUrl(config, { baseUrl: '/auth' } as never), `${ORIGIN}/auth`);
    assert.equal(publicBaseUrl(config), `${ORIGIN}/auth`, 'learnt');
  });
});
