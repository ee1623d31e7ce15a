import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  asyncHandler,
  csrfToken,
  keycardErrors,
  keycardExpress,
  requireAuth,
  requireRole,
} from '../../src/adapters/express/index.js';
import { KeycardError } from '../../src/index.js';
import { describeAdapterScenarios } from './scenarios.js';

describeAdapterScenarios('express', async (keycard) => {
  const app = express();
  app.use(express.json({ limit: 16_384 }));
  app.use(keycardExpress(keycard));
  app.post(
    '/login',
    asyncHandler(async (req, res) => {
      const result = await keycard.signIn(req.auth, req.body);
      if (!result.ok) throw new KeycardError(result.reason, 'wrong username or password');
      res.json({ user: req.auth.user });
    }),
  );
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ user: req.auth.user, data: { ...req.session } });
  });
  app.post('/data', (req, res) => {
    req.session[req.body.key] = req.body.value;
    res.json({ ok: true });
  });
  app.post('/logout', async (req, res) => {
    await req.auth.logout();
    res.json({ ok: true });
  });
  app.post('/regenerate', async (req, res) => {
    await req.session.regenerate();
    res.json({ ok: true });
  });
  app.get('/auth/csrf', csrfToken());
  app.get('/admin', requireRole('admin'), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(keycardErrors());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
