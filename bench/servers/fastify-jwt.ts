/**
 * Peer: Fastify + @fastify/jwt (fast-jwt underneath), HS256 (BENCH_ALG=HS256, a 32-byte secret) or
 * EdDSA (BENCH_ALG=EdDSA, an Ed25519 key pair). Defaults otherwise, as its README shows them.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fastifyJWT from '@fastify/jwt';
import Fastify from 'fastify';
import { announce, BENCH_USER, env } from './common.js';

const alg = env('BENCH_ALG');
const app = Fastify({ logger: false });
if (alg === 'HS256') {
  await app.register(fastifyJWT, {
    secret: randomBytes(32).toString('base64url'),
    sign: { algorithm: 'HS256' },
  });
} else {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await app.register(fastifyJWT, {
    secret: {
      private: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      public: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    },
    sign: { algorithm: 'EdDSA' },
  });
}

app.post('/login', async (_request, reply) => {
  const { id, username, role } = BENCH_USER;
  return { access_token: await reply.jwtSign({ sub: id, username, role }, { expiresIn: '15m' }) };
});
app.get('/me', async (request, reply) => {
  try {
    await request.jwtVerify();
  } catch {
    return reply.code(401).send({ error: 'unauthenticated' });
  }
  const claims = request.user as { sub: string; username: string; role: string };
  return { user: { id: claims.sub, username: claims.username, role: claims.role } };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
announce(Number(new URL(address).port), () => app.close());
