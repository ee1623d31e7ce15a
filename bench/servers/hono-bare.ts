/** Floor: Hono on @hono/node-server answering the same JSON with no authentication. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { announce, BENCH_USER } from './common.js';

const app = new Hono();
app.get('/me', (c) => c.json({ user: BENCH_USER }));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  announce(info.port, () => new Promise<void>((resolve) => server.close(() => resolve())));
});
