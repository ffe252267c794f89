// Admin test plumbing: an app whose passkeys router is kept (for `auth.admin`), with `adminRouter()` mounted behind a
// bearer-token guard, and an old "hand-written SimpleWebAuthn" registration to import from.

import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { MemoryStore, type PasskeysOptions, type PasskeysRouter, passkeys } from '../../src/index.js';
import { type Agent, ORIGIN, RP } from './app.js';
import { SoftwareAuthenticator } from './authenticator.js';
import { RecordingCourier, SECRET } from './codes.js';

export const ADMIN_TOKEN = 'admin-test-token';

/** An app with recovery on, `auth` kept, and `auth.adminRouter()` at `/admin-api` behind `Authorization: Bearer`. */
export function makeAdminApp(overrides: Partial<PasskeysOptions> = {}) {
  const store = (overrides.store as MemoryStore | undefined) ?? new MemoryStore();
  const courier = new RecordingCourier();
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, name: 'sid' }));
  const auth: PasskeysRouter = passkeys({
    rp: RP,
    courier,
    secrets: [SECRET],
    urls: { publicBase: `${ORIGIN}/auth` },
    ...overrides,
    store,
  });
  app.use('/auth', auth);
  app.use(
    '/admin-api',
    function staffOnly(req: Request, res: Response, next: NextFunction) {
      if (req.get('authorization') !== `Bearer ${ADMIN_TOKEN}`) {
        res.status(401).json({ error: 'staff only' });
        return;
      }
      next();
    },
    auth.adminRouter(),
  );
  const server = app.listen(0, '127.0.0.1');
  server.unref();
  return {
    app,
    server,
    store,
    auth,
    courier,
    /** The port the server listens on, once it does. */
    async port(): Promise<number> {
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
    agent: () => request.agent(server) as Agent,
    /** A supertest request to the admin API with the staff token. */
    admin: (method: 'get' | 'post' | 'patch' | 'put' | 'delete', path: string) =>
      request(server)[method](`/admin-api${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`),
  };
}

/**
 * What a hand-written SimpleWebAuthn setup stored for one user: it ran `generateRegistrationOptions` and
 * `verifyRegistrationResponse` and kept the credential's id, public key (base64url), counter, transports, the
 * `webAuthnUserID` and the device type, as SimpleWebAuthn's guide suggests.
 */
export async function simpleWebAuthnRegistration(email: string, authenticator = new SoftwareAuthenticator()) {
  const options = await generateRegistrationOptions({
    rpName: 'Old App',
    rpID: RP.id,
    userName: email,
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  const response = authenticator.create(options, { origin: ORIGIN });
  const verified = await verifyRegistrationResponse({
    response,
    expectedChallenge: options.challenge,
    expectedOrigin: ORIGIN,
    expectedRPID: RP.id,
  });
  if (!verified.verified || !verified.registrationInfo) throw new Error('the old setup could not register');
  const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
  const row = {
    id: credential.id,
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports ?? [],
    webAuthnUserID: options.user.id,
    deviceType: credentialDeviceType,
    backedUp: credentialBackedUp,
  };
  return { authenticator, row };
}
