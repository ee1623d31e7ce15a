import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import {
  csrfToken,
  type KeycardEnv,
  keycardErrors,
  keycardHono,
  requireAuth,
  requireRole,
} from '../../src/adapters/hono/index.js';
import { describeAdapterScenarios } from './scenarios.js';

// The same scenarios as Express and Fastify, on Hono over @hono/node-server; the app mounts keycard
// without the auth API (api: false) so that its own routes are the ones the scenarios call.
describeAdapterScenarios('hono', async (keycard) => {
  const app = new Hono<KeycardEnv>();
  app.onError(keycardErrors());
  app.use(
    keycardHono(keycard, {
      api: false,
      clientAddress: (c) =>
        (c.env as { incoming?: { socket: { remoteAddress?: string } } }).incoming?.socket.remoteAddress,
    }),
  );
  app.post('/login', async (c) => {
    const result = await keycard.signIn(c.get('auth'), c.get('body'));
    if (!result.ok) throw result.error;
    return c.json({ user: c.get('auth').user });
  });
  app.get('/me', requireAuth(), (c) => c.json({ user: c.get('auth').user, data: { ...c.get('auth').data } }));
  app.post('/data', async (c) => {
    const { key, value } = c.get('body') as { key: string; value: unknown };
    c.get('auth').data[key] = value;
    return c.json({ ok: true });
  });
  app.post('/logout', async (c) => {
    await c.get('auth').logout();
    return c.json({ ok: true });
  });
  app.post('/regenerate', async (c) => {
    await c.get('auth').data.regenerate();
    return c.json({ ok: true });
  });
  app.get('/auth/csrf', csrfToken());
  app.get('/admin', requireRole('admin'), (c) => c.json({ ok: true }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
