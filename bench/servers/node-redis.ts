/**
 * Floor: node:http + one Redis GET per request (ioredis, keycard's driver). The cookie is a random token;
 * Redis holds the user's JSON under it. No hashing, no expiry checks, no cookie-parsing edge cases: the
 * least a Redis-backed session check can do.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { BENCH_USER, countOperation, env, listen } from './common.js';

const prefix = env('BENCH_REDIS_PREFIX');
const redis = new Redis(env('BENCH_REDIS_URL'));
const send = redis.sendCommand.bind(redis);
redis.sendCommand = ((...args: Parameters<typeof send>) => {
  countOperation();
  return send(...args);
}) as typeof redis.sendCommand;

function json(response: import('node:http').ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

const server = createServer(async (request, response) => {
  try {
    if (request.method === 'POST' && request.url === '/login') {
      const token = randomBytes(32).toString('base64url');
      await redis.set(`${prefix}:${token}`, JSON.stringify(BENCH_USER), 'PX', 86_400_000);
      response.setHeader('set-cookie', `sid=${token}; Path=/; HttpOnly; SameSite=Lax`);
      json(response, 200, { ok: true });
      return;
    }
    if (request.method === 'GET' && request.url === '/me') {
      const cookie = request.headers.cookie ?? '';
      const at = cookie.indexOf('sid=');
      const end = cookie.indexOf(';', at);
      const token = at === -1 ? '' : cookie.slice(at + 4, end === -1 ? undefined : end);
      const stored = token ? await redis.get(`${prefix}:${token}`) : null;
      if (!stored) return json(response, 401, { error: 'unauthenticated' });
      json(response, 200, { user: JSON.parse(stored) });
      return;
    }
    response.writeHead(404).end();
  } catch {
    json(response, 503, { error: 'store_unavailable' });
  }
});
listen(server, async () => {
  redis.disconnect();
});
