/**
 * requireScope from keycard/fastify and keycard/express on real servers: the same routes, the same tokens, the same
 * answers — 403 insufficient_scope with an RFC 6750 §3.1 challenge naming the scopes, 401 with a Bearer
 * challenge when there is no verified token, and user tokens (which carry no scopes) never admitted.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import * as forExpress from '../../src/adapters/express/index.js';
import * as forFastify from '../../src/adapters/fastify/index.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import { generateJWTKey } from '../../src/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';

const clock = new ManualClock(Date.now());
const key = generateJWTKey('EdDSA', 'scope');
const now = () => Math.floor(clock.now() / 1000);
const base = () => ({ iss: 'keycard', aud: 'keycard', iat: now(), exp: now() + 900, jti: 'j' });

/** A client-credentials token as the auth service mints it (typ client-at+jwt, docs/api-clients.md). */
const clientToken = (scope: string) =>
  signJWT(
    { ...base(), sub: 'kc_billing', client_id: 'kc_billing', scope, sid: 'client:kc_billing:g1' },
    key,
    {
      typ: 'client-at+jwt',
    },
  );
/** A user's access token: no scope claim. */
const userToken = () =>
  signJWT({ ...base(), sub: 'user-1', sid: 's', username: 'alice', role: 'admin' }, key, { typ: 'at+jwt' });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

// Routes, identical in both frameworks:
//   /reports  client tokens only (accept: ['client']) + orders:read
//   /mixed    user or client tokens + orders:read
//   /both     client tokens + orders:read and orders:write
//   /bare     requireScope without a verifier before it (no req.token)
const clients = createVerifier({ keys: [key], accept: ['client'], clock });
const anyone = createVerifier({ keys: [key], accept: ['user', 'client'], clock });
const report = { orders: 3 };

async function startFastify(): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify();
  app.get(
    '/reports',
    { preHandler: [forFastify.verifyToken(clients), forFastify.requireScope('orders:read')] },
    async (r) => ({
      ...report,
      client: r.token?.client?.id,
    }),
  );
  app.get(
    '/mixed',
    { preHandler: [forFastify.verifyToken(anyone), forFastify.requireScope('orders:read')] },
    async () => report,
  );
  app.get(
    '/both',
    { preHandler: [forFastify.verifyToken(clients), forFastify.requireScope('orders:read', 'orders:write')] },
    async () => report,
  );
  app.get('/bare', { preHandler: forFastify.requireScope('orders:read') }, async () => report);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function startExpress(): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.get('/reports', forExpress.verifyToken(clients), forExpress.requireScope('orders:read'), (req, res) => {
    res.json({ ...report, client: req.token?.client?.id });
  });
  app.get('/mixed', forExpress.verifyToken(anyone), forExpress.requireScope('orders:read'), (_req, res) => {
    res.json(report);
  });
  app.get(
    '/both',
    forExpress.verifyToken(clients),
    forExpress.requireScope('orders:read', 'orders:write'),
    (_req, res) => {
      res.json(report);
    },
  );
  app.get('/bare', forExpress.requireScope('orders:read'), (_req, res) => {
    res.json(report);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const [name, start] of [
  ['fastify', startFastify],
  ['express', startExpress],
] as const) {
  describe(`requireScope (${name})`, () => {
    let server: { url: string; close(): Promise<void> };
    before(async () => {
      server = await start();
    });
    after(async () => {
      await server?.close();
    });

    test('a client token with the scope gets 200 and the handler sees the client', async () => {
      const ok = await request(
        server.url,
        'GET',
        '/reports',
        bearer(clientToken('orders:read orders:write')),
      );
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json, { orders: 3, client: 'kc_billing' });
      const both = await request(server.url, 'GET', '/both', bearer(clientToken('orders:write orders:read')));
      assert.equal(both.status, 200, both.text);
    });

    test('a client token without the scope gets 403 insufficient_scope with the RFC 6750 challenge', async () => {
      const refused = await request(server.url, 'GET', '/reports', bearer(clientToken('orders:write')));
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, 'insufficient_scope');
      assert.equal(refused.json.error.message, 'this needs the scope orders:read');
      assert.equal(
        refused.headers['www-authenticate'],
        'Bearer error="insufficient_scope", scope="orders:read"',
      );
      // Every listed scope is required; the message names the missing one, the challenge all of them.
      const partial = await request(server.url, 'GET', '/both', bearer(clientToken('orders:read')));
      assert.equal(partial.status, 403);
      assert.equal(partial.json.error.message, 'this needs the scope orders:write');
      assert.equal(
        partial.headers['www-authenticate'],
        'Bearer error="insufficient_scope", scope="orders:read orders:write"',
      );
      // A scope is a whole word: orders:readonly is not orders:read.
      const lookalike = await request(server.url, 'GET', '/reports', bearer(clientToken('orders:readonly')));
      assert.equal(lookalike.status, 403);
    });

    test('a user token is refused: 401 on a client-only route, 403 where users pass the verifier', async () => {
      const user = userToken();
      const clientOnly = await request(server.url, 'GET', '/reports', bearer(user));
      assert.equal(clientOnly.status, 401);
      assert.equal(clientOnly.json.error.code, 'token_invalid');
      assert.match(String(clientOnly.headers['www-authenticate']), /^Bearer error="invalid_token"/);
      // Past a verifier that accepts users, the scope check itself refuses: user tokens carry no scopes.
      const mixed = await request(server.url, 'GET', '/mixed', bearer(user));
      assert.equal(mixed.status, 403);
      assert.equal(mixed.json.error.code, 'insufficient_scope');
      const client = await request(server.url, 'GET', '/mixed', bearer(clientToken('orders:read')));
      assert.equal(client.status, 200);
    });

    test('no token gets 401 with a plain Bearer challenge, from the verifier or from requireScope alone', async () => {
      const missing = await request(server.url, 'GET', '/reports');
      assert.equal(missing.status, 401);
      assert.equal(missing.json.error.code, 'unauthenticated');
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      // guards: a route that forgot the verifier must not let requests through
      const bare = await request(server.url, 'GET', '/bare', bearer(clientToken('orders:read')));
      assert.equal(bare.status, 401);
      assert.equal(bare.json.error.code, 'unauthenticated');
      assert.equal(bare.headers['www-authenticate'], 'Bearer');
    });
  });
}

test('requireScope refuses a missing or malformed scope list at set-up', () => {
  for (const make of [forFastify.requireScope, forExpress.requireScope]) {
    assert.throws(() => make(), /requireScope needs scope names/);
    assert.throws(() => make('orders read'), /requireScope needs scope names/);
    assert.throws(() => make('say"hi'), /requireScope needs scope names/);
  }
});
