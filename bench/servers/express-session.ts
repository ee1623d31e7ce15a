/**
 * Peer: Express 5 + express-session, with its MemoryStore (BENCH_STORE=memory) or connect-redis on
 * node-redis (BENCH_STORE=redis). Options as its README recommends: resave false, saveUninitialized false,
 * a 24 h cookie; everything else is express-session's default.
 */
import { createServer } from 'node:http';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { BENCH_USER, env, listen } from './common.js';
import { countedRedisClient } from './redis-client.js';

declare module 'express-session' {
  interface SessionData {
    user: typeof BENCH_USER;
  }
}

const kind = env('BENCH_STORE');
const client = kind === 'redis' ? await countedRedisClient(env('BENCH_REDIS_URL')) : null;
const store = client
  ? new RedisStore({ client, prefix: `${env('BENCH_REDIS_PREFIX')}:sess:` })
  : new session.MemoryStore();

const app = express();
app.use(
  session({
    secret: 'bench-only-secret-0123456789abcdef0123456789abcdef',
    resave: false,
    saveUninitialized: false,
    store,
    cookie: { maxAge: 86_400_000, httpOnly: true, sameSite: 'lax', secure: false },
  }),
);
app.post('/login', express.json(), (req, res, next) => {
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.user = { ...BENCH_USER };
    res.json({ ok: true });
  });
});
app.get('/me', (req, res) => {
  if (!req.session.user) {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  res.json({ user: req.session.user });
});
listen(createServer(app), async () => {
  await client?.quit();
});
