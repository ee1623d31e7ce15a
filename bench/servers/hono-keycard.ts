/**
 * keycard on Hono's Node server (@hono/node-server), session strategy on keycard's MemoryStore, two ways
 * (BENCH_MODE): `fetch`, the Fetch handler alone answering keycard's own routes (POST /auth/login,
 * GET /auth/verify, as keycard serve is measured); `hono`, the Hono middleware (keycard/hono) in front of
 * an app route (GET /me with requireAuth), as the Express adapter is measured.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createKeycard } from 'keycard';
import { createFetchHandler } from 'keycard/fetch';
import { type KeycardEnv, keycardHono, requireAuth } from 'keycard/hono';
import { MemoryStore } from 'keycard/stores/memory';
import { announce, BENCH_PASSWORD, BENCH_USER, env } from './common.js';

const store = new MemoryStore();
const keycard = createKeycard({ store, preset: 'web-app' });
const mode = env('BENCH_MODE');
let fetch: (
  request: Request,
  connection: { incoming: { socket: { remoteAddress?: string } } },
) => Promise<Response>;
if (mode === 'fetch') {
  await keycard.users.create({ username: 'alice', password: BENCH_PASSWORD, role: 'user' });
  const handler = createFetchHandler(keycard);
  fetch = (request, connection) => handler(request, { ip: connection.incoming.socket.remoteAddress ?? null });
} else {
  const app = new Hono<KeycardEnv>();
  app.use(keycardHono(keycard, { api: false }));
  app.post('/login', async (c) => {
    await c.get('auth').login({ ...BENCH_USER });
    return c.json({ ok: true });
  });
  app.get('/me', requireAuth(), (c) => c.json({ user: c.get('auth').user }));
  fetch = app.fetch as typeof fetch;
}
const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announce(info.port, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });
});
