/**
 * Peer: Fastify + @fastify/cookie + @fastify/session with connect-redis on node-redis (the store its
 * README shows). Options: saveUninitialized false, a 24 h cookie, otherwise its defaults (which include
 * rolling: true).
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import { announce, BENCH_USER, env } from './common.js';
import { countedRedisClient } from './redis-client.js';

declare module 'fastify' {
  interface Session {
    user?: typeof BENCH_USER;
  }
}

const client = await countedRedisClient(env('BENCH_REDIS_URL'));
const app = Fastify({ logger: false });
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: 'bench-only-secret-0123456789abcdef0123456789abcdef',
  store: new RedisStore({ client, prefix: `${env('BENCH_REDIS_PREFIX')}:fsess:` }),
  saveUninitialized: false,
  cookie: { secure: false, httpOnly: true, sameSite: 'lax', maxAge: 86_400_000 },
});

// keycard/fastify also declares request.session (its own session object); this file uses @fastify/session's.
type FastifySession = import('@fastify/session').FastifySessionObject;

app.post('/login', async (request) => {
  await (request.session as unknown as FastifySession).regenerate();
  // regenerate() replaces request.session.
  (request.session as unknown as FastifySession).set('user', { ...BENCH_USER });
  return { ok: true };
});
app.get('/me', async (request, reply) => {
  const user = (request.session as unknown as FastifySession).get('user');
  if (!user) return reply.code(401).send({ error: 'unauthenticated' });
  return { user };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
announce(Number(new URL(address).port), async () => {
  await app.close();
  await client.quit();
});
