// The router mounted in an Express 4 app: sign-up, sign-in, whoami and logout still work.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import session from 'express-session';
// Express 4, installed under an alias (`express4@npm:express@^4`) next to Express 5.
import express4 from 'express4';
import request from 'supertest';
import { MemoryStore, passkeys } from '../src/index.js';
import { type Agent, login, logout, RP, register } from './helpers/app.js';

describe('Express 4', () => {
  it('runs registration, login, whoami and logout', async () => {
    const app = express4();
    app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
    app.use('/auth', passkeys({ rp: RP, store: new MemoryStore() }));
    const a = request.agent(app) as unknown as Agent;
    const { authenticator, body } = await register(a);
    await logout(a);
    await a.get('/auth/sessions/whoami').expect(401);
    const res = await login(a, authenticator);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const who = await a.get('/auth/sessions/whoami').expect(200);
    assert.equal(who.body.identity.id, body.identity.id);
    const bad = await a.post('/auth/self-service/login?flow=nope').set('Accept', 'application/json').send({});
    assert.equal(bad.status, 404);
  });
});
