// The baseline of the login bench: what a developer writes by hand with Express 5, express-session and
// @simplewebauthn/server, without this library. Users and passkeys live in Maps (the app's "database").
//
//   GET  /register/options?username=   generateRegistrationOptions, the challenge kept in the session
//   POST /register/verify               verifyRegistrationResponse, the user and passkey saved, the session regenerated
//   GET  /login/options                 generateAuthenticationOptions (discoverable), the challenge in the session
//   POST /login/verify                  verifyAuthenticationResponse, the counter updated, the session regenerated

import type { AddressInfo } from 'node:net';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { RP } from './lib.js';

declare module 'express-session' {
  interface SessionData {
    /** Hand-written app: the pending ceremony. */
    handChallenge?: string;
    handRegistration?: { userId: string; username: string };
    handUserId?: string;
  }
}

interface User {
  id: string;
  username: string;
}

const ALGORITHMS = [-8, -7, -257];

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

const refuse = (res: Response, message: string) => res.status(400).json({ verified: false, error: message });

export interface HandWrittenServer {
  base: string;
  users: Map<string, User>;
  close(): Promise<void>;
}

/** Start the hand-written app on 127.0.0.1 (a free port), with express-session's MemoryStore. */
export async function startHandWritten(): Promise<HandWrittenServer> {
  const users = new Map<string, User>();
  const usernames = new Set<string>();
  const credentials = new Map<string, { userId: string; credential: WebAuthnCredential }>();

  const app = express();
  app.disable('x-powered-by');
  app.use(
    session({
      secret: 'bench secret',
      resave: false,
      saveUninitialized: false,
      name: 'sid',
      store: new session.MemoryStore(),
    }),
  );
  app.use(express.json());

  app.get('/register/options', async (req, res) => {
    const username = typeof req.query.username === 'string' ? req.query.username : '';
    if (!username || usernames.has(username)) return refuse(res, 'This username is taken.');
    const options = await generateRegistrationOptions({
      rpName: RP.displayName,
      rpID: RP.id,
      userName: username,
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    req.session.handChallenge = options.challenge;
    req.session.handRegistration = { userId: options.user.id, username };
    res.json(options);
  });

  app.post('/register/verify', async (req, res) => {
    const challenge = req.session.handChallenge;
    const pending = req.session.handRegistration;
    if (!challenge || !pending) return refuse(res, 'No registration is pending.');
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response: req.body as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: RP.origins,
        expectedRPID: RP.id,
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      });
    } catch (error) {
      return refuse(res, (error as Error).message);
    }
    const info = verification.registrationInfo;
    if (!verification.verified || !info) return refuse(res, 'The passkey could not be verified.');
    if (usernames.has(pending.username) || credentials.has(info.credential.id)) return refuse(res, 'Taken.');
    const user = { id: pending.userId, username: pending.username };
    users.set(user.id, user);
    usernames.add(user.username);
    credentials.set(info.credential.id, { userId: user.id, credential: info.credential });
    await regenerate(req);
    req.session.handUserId = user.id;
    res.json({ verified: true, user });
  });

  app.get('/login/options', async (req, res) => {
    const options = await generateAuthenticationOptions({ rpID: RP.id, userVerification: 'preferred' });
    req.session.handChallenge = options.challenge;
    res.json(options);
  });

  app.post('/login/verify', async (req, res) => {
    const challenge = req.session.handChallenge;
    if (!challenge) return refuse(res, 'No sign-in is pending.');
    const response = req.body as AuthenticationResponseJSON;
    const stored = typeof response?.id === 'string' ? credentials.get(response.id) : undefined;
    const user = stored ? users.get(stored.userId) : undefined;
    if (!stored || !user || response.response?.userHandle !== user.id) return refuse(res, 'Unknown passkey.');
    let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: RP.origins,
        expectedRPID: RP.id,
        credential: stored.credential,
        requireUserVerification: false,
      });
    } catch (error) {
      return refuse(res, (error as Error).message);
    }
    if (!verification.verified) return refuse(res, 'The passkey could not be verified.');
    stored.credential.counter = verification.authenticationInfo.newCounter;
    await regenerate(req);
    req.session.handUserId = user.id;
    res.json({ verified: true, user });
  });

  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 60_000;
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
