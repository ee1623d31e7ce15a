/**
 * Second factors in an app built on the library (docs/mfa.md, "In your app"): an Express app that calls
 * `keycard.signIn`, throws `result.error` as the adapter's docs say, and finishes with
 * `keycard.completeSignIn`. The 401 `mfa_required` reaches the client with its pending token through the
 * adapter's error handler; the second step makes the login; the app's own sensitive route uses
 * `requireStepUp`. The password alone never makes a login.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import express from 'express';
import { generateSync } from 'otplib';
import {
  asyncHandler,
  keycardErrors,
  keycardExpress,
  requireAuth,
} from '../../src/adapters/express/index.js';
import { createKeycard, type Keycard } from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { FAST_ARGON2 } from '../core/support.js';
import { ManualClock } from '../helpers/clock.js';
import { Client } from '../helpers/http.js';

const clock = new ManualClock(Date.now());
let keycard: Keycard;
let url: string;
let close: () => Promise<void>;

before(async () => {
  keycard = createKeycard({
    store: new MemoryStore({ clock }),
    clock,
    passwords: { argon2: FAST_ARGON2 },
    mfa: { secrets: [randomBytes(32)], issuer: 'Acme' },
  });
  const app = express();
  app.use(express.json());
  app.use(keycardExpress(keycard));
  app.post(
    '/login',
    asyncHandler(async (req, res) => {
      const result = await keycard.signIn(req.auth, req.body);
      if (!result.ok) throw result.error;
      res.json({ user: req.auth.user });
    }),
  );
  app.post(
    '/login/mfa',
    asyncHandler(async (req, res) => {
      const result = await keycard.completeSignIn(req.auth, req.body);
      if (!result.ok) throw result.error;
      res.json({ user: req.auth.user });
    }),
  );
  app.post(
    '/enroll',
    requireAuth(),
    asyncHandler(async (req, res) => {
      await keycard.requireStepUp(req.auth, { enrolling: true });
      const { secret } = await keycard.mfa.beginTotp(req.auth.user as NonNullable<typeof req.auth.user>);
      res.json({ secret });
    }),
  );
  app.post(
    '/enroll/confirm',
    requireAuth(),
    asyncHandler(async (req, res) => {
      const { recoveryCodes } = await keycard.confirmTotp(req.auth, req.body.code);
      res.json({ recoveryCodes });
    }),
  );
  app.post(
    '/transfer',
    requireAuth(),
    asyncHandler(async (req, res) => {
      await keycard.requireStepUp(req.auth);
      res.json({ ok: true });
    }),
  );
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ user: req.auth.user });
  });
  app.use(keycardErrors());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
after(async () => {
  await close?.();
  await keycard?.close();
});

const code = (secret: string) => generateSync({ secret, epoch: Math.floor(clock.now() / 1000) });

test('an Express app: mfa_required with its token through the error handler, then the second step signs in', async () => {
  await keycard.users.create({ username: 'ada', password: 'ada-long-password' });
  const first = new Client(url);
  assert.equal(
    (await first.post('/login', { json: { username: 'ada', password: 'ada-long-password' } })).status,
    200,
  );
  const { secret } = (await first.post('/enroll', { json: {} })).json;
  const confirmed = await first.post('/enroll/confirm', { json: { code: code(secret) } });
  assert.equal(confirmed.status, 200, confirmed.text);
  assert.equal(confirmed.json.recoveryCodes.length, 10);
  clock.advance(30_000);

  const client = new Client(url);
  const pending = await client.post('/login', { json: { username: 'ada', password: 'ada-long-password' } });
  assert.equal(pending.status, 401, pending.text);
  assert.equal(pending.json.error.code, 'mfa_required');
  assert.deepEqual(pending.json.factors, ['totp', 'recovery']);
  assert.equal(typeof pending.json.mfa_token, 'string');
  assert.equal((await client.get('/me')).status, 401, 'the password alone made no login');
  const wrong = await client.post('/login/mfa', {
    json: { mfa_token: pending.json.mfa_token, code: '000000' },
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.error.code, 'invalid_code');
  const done = await client.post('/login/mfa', {
    json: { mfa_token: pending.json.mfa_token, code: code(secret) },
  });
  assert.equal(done.status, 200, done.text);
  assert.equal((await client.get('/me')).json.user.username, 'ada');
  assert.equal((await client.post('/transfer', { json: {} })).status, 200, 'fresh from the second factor');
  clock.advance(11 * 60_000);
  const stale = await client.post('/transfer', { json: {} });
  assert.equal(stale.status, 403);
  assert.equal(stale.json.error.code, 'step_up_required');
});
