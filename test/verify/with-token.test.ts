/**
 * withToken (keycard/express, keycard/fastify): the typed route handler after verifyToken —
 * `req.token` is present in its type (the handlers below use it without `?.`, which `npm run typecheck`
 * checks), it is present at run time, and a route that forgot the verifier is refused, never served.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import * as forExpress from '../../src/adapters/express/index.js';
import * as forFastify from '../../src/adapters/fastify/index.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import { generateJWTKey, KeycardError } from '../../src/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';

const clock = new ManualClock(Date.now());
const key = generateJWTKey('EdDSA', 'typed');
const verifier = createVerifier({ keys: [key], clock });
const seconds = Math.floor(clock.now() / 1000);
const token = signJWT(
  {
    iss: 'keycard',
    aud: 'keycard',
    sub: 'user-1',
    iat: seconds,
    exp: seconds + 900,
    jti: 'j',
    sid: 's',
    username: 'alice',
    role: 'user',
  },
  key,
  { typ: 'at+jwt' },
);
const bearer = { authorization: `Bearer ${token}` };

// Plain handlers see `token` as optional: verifyToken may not have run on their route.
express().get('/plain', forExpress.verifyToken(verifier), (req, res) => {
  // @ts-expect-error req.token is optional outside withToken
  res.json(req.token.claims);
});

describe('withToken (express and fastify)', () => {
  const apps: { name: string; url: string; close(): Promise<void> }[] = [];
  before(async () => {
    const app = express();
    app.get(
      '/orders',
      forExpress.verifyToken(verifier),
      forExpress.withToken((req, res) => {
        res.json({ sub: req.token.claims.sub, kind: req.token.kind, user: req.token.user });
      }),
    );
    app.get(
      '/async-failure',
      forExpress.verifyToken(verifier),
      forExpress.withToken(async (req) => {
        throw new KeycardError('forbidden', `not for ${req.token.claims.sub}`);
      }),
    );
    app.get(
      '/forgot-the-verifier',
      forExpress.withToken((_req, res) => {
        res.json({ served: true });
      }),
    );
    app.use(forExpress.keycardErrors());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    apps.push({
      name: 'express',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const fastify = Fastify();
    fastify.setErrorHandler((error, _request, reply) =>
      error instanceof KeycardError ? reply.code(error.status).send(error.toJSON()) : reply.send(error),
    );
    fastify.get(
      '/orders',
      { preHandler: forFastify.verifyToken(verifier) },
      forFastify.withToken(async (request) => ({
        sub: request.token.claims.sub,
        kind: request.token.kind,
        user: request.token.user,
      })),
    );
    fastify.get(
      '/async-failure',
      { preHandler: forFastify.verifyToken(verifier) },
      forFastify.withToken(async (request) => {
        throw new KeycardError('forbidden', `not for ${request.token.claims.sub}`);
      }),
    );
    fastify.get(
      '/forgot-the-verifier',
      forFastify.withToken(async () => ({ served: true })),
    );
    apps.push({
      name: 'fastify',
      url: await fastify.listen({ port: 0, host: '127.0.0.1' }),
      close: () => fastify.close(),
    });
  });
  after(async () => {
    for (const app of apps) await app.close();
  });

  for (const index of [0, 1]) {
    test(`${index === 0 ? 'express' : 'fastify'}: the handler gets req.token; a missing verifier is a 500, never served`, async () => {
      const { url } = apps[index] as { url: string };
      const ok = await request(url, 'GET', '/orders', { headers: bearer });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json, {
        sub: 'user-1',
        kind: 'user',
        user: { id: 'user-1', username: 'alice', role: 'user' },
      });
      assert.equal((await request(url, 'GET', '/orders')).status, 401, 'the verifier still refuses first');
      const failed = await request(url, 'GET', '/async-failure', { headers: bearer });
      assert.equal(failed.status, 403, failed.text);
      assert.equal(failed.json.error.code, 'forbidden');
      // guards: a route that forgot verifyToken must not run its handler unauthenticated
      const forgot = await request(url, 'GET', '/forgot-the-verifier', { headers: bearer });
      assert.equal(forgot.status, 500);
      assert.equal(forgot.json.error.code, 'invalid_configuration');
      assert.doesNotMatch(forgot.text, /served/);
    });
  }
});
