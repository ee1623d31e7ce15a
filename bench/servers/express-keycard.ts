/**
 * keycard's Express adapter (keycard/express) in session mode, on the same Express 5 as the
 * express-session peer and with the same kind of store: keycard's MemoryStore (BENCH_STORE=memory) or
 * RedisStore (BENCH_STORE=redis, ioredis; its commands are counted).
 */
import { createServer } from 'node:http';
import express from 'express';
import { Redis } from 'ioredis';
import { createKeycard, type Store } from 'keycard';
import { keycardErrors, keycardExpress, requireAuth } from 'keycard/express';
import { MemoryStore } from 'keycard/stores/memory';
import { RedisStore } from 'keycard/stores/redis';
import { BENCH_USER, countOperation, env, listen } from './common.js';

const kind = env('BENCH_STORE');
let store: Store;
let client: Redis | null = null;
if (kind === 'redis') {
  client = new Redis(env('BENCH_REDIS_URL'));
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<typeof send>) => {
    countOperation();
    return send(...args);
  }) as typeof client.sendCommand;
  store = new RedisStore({ client, prefix: env('BENCH_REDIS_PREFIX') });
} else {
  store = new MemoryStore();
}
const keycard = createKeycard({ store, preset: 'web-app' });

const app = express();
app.use(keycardExpress(keycard));
app.post('/login', express.json(), async (req, res) => {
  await req.auth.login({ ...BENCH_USER });
  res.json({ ok: true });
});
app.get('/me', requireAuth(), (req, res) => {
  res.json({ user: req.auth.user });
});
app.use(keycardErrors());
listen(createServer(app), async () => {
  await store.close();
  client?.disconnect();
});
