/**
 * The names keycard/verify exported before its middleware moved into keycard/express and keycard/fastify
 * (verifyExpress, withTokenExpress, requireScopeExpress and the Fastify trio) still work, as the adapters'
 * verifyToken / withToken / requireScope do — so apps written against them keep running.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { signJWT } from '../../src/core/jwt/sign.js';
import { generateJWTKey } from '../../src/index.js';
import {
  createVerifier,
  requireScopeExpress,
  requireScopeFastify,
  type VerifiedExpressRequest,
  type VerifiedFastifyRequest,
  verifyExpress,
  verifyFastify,
  withTokenExpress,
  withTokenFastify,
} from '../../src/verify/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';

const clock = new ManualClock(Date.now());
const key = generateJWTKey('EdDSA', 'old-names');
const verifier = createVerifier({ keys: [key], accept: ['user', 'client'], clock });
const now = () => Math.floor(clock.now() / 1000);
const base = () => ({ iss: 'keycard', aud: 'keycard', iat: now(), exp: now() + 900, jti: 'j' });
const userToken = signJWT({ ...base(), sub: 'user-1', sid: 's', username: 'alice', role: 'user' }, key, {
  typ: 'at+jwt',
});
const clientToken = signJWT(
  {
    ...base(),
    sub: 'kc_billing',
    client_id: 'kc_billing',
    scope: 'orders:read',
    sid: 'client:kc_billing:g1',
  },
  key,
  { typ: 'client-at+jwt' },
);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

// The old request types still name a request with `token` present.
const expressSub = (req: VerifiedExpressRequest) => req.token.claims.sub;
const fastifySub = (request: VerifiedFastifyRequest) => request.token.claims.sub;

describe('the deprecated keycard/verify middleware names', () => {
  const apps: { name: string; url: string; close(): Promise<void> }[] = [];
  before(async () => {
    const app = express();
    app.get(
      '/me',
      verifyExpress(verifier),
      withTokenExpress((req, res) => {
        res.json({ sub: expressSub(req) });
      }),
    );
    app.get('/reports', verifyExpress(verifier), requireScopeExpress('orders:read'), (_req, res) => {
      res.json({ orders: 3 });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    apps.push({
      name: 'express',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const fastify = Fastify();
    fastify.get(
      '/me',
      { preHandler: verifyFastify(verifier) },
      withTokenFastify(async (request) => ({ sub: fastifySub(request) })),
    );
    fastify.get(
      '/reports',
      { preHandler: [verifyFastify(verifier), requireScopeFastify('orders:read')] },
      async () => ({ orders: 3 }),
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

  for (const name of ['express', 'fastify']) {
    test(`${name}: verify, the typed handler and the scope check answer as before`, async () => {
      const { url } = apps.find((app) => app.name === name) as { url: string };
      const me = await request(url, 'GET', '/me', bearer(userToken));
      assert.equal(me.status, 200, me.text);
      assert.deepEqual(me.json, { sub: 'user-1' });
      const anonymous = await request(url, 'GET', '/me');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], 'Bearer');
      const report = await request(url, 'GET', '/reports', bearer(clientToken));
      assert.equal(report.status, 200, report.text);
      const userReport = await request(url, 'GET', '/reports', bearer(userToken));
      assert.equal(userReport.status, 403);
      assert.equal(userReport.json.error.code, 'insufficient_scope');
    });
  }

  test('requireScope*Express/Fastify still refuse a malformed scope list at set-up', () => {
    assert.throws(() => requireScopeExpress('orders read'), /requireScope needs scope names/);
    assert.throws(() => requireScopeFastify(), /requireScope needs scope names/);
  });
});
