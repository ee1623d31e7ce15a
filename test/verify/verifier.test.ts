/**
 * keycard/verify: local keys, a remote JWKS (fetched, cached, refetched for unknown kids at most once per
 * cooldown, surviving the auth service going away), and verifyToken in keycard/express and keycard/fastify.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import * as forExpress from '../../src/adapters/express/index.js';
import * as forFastify from '../../src/adapters/fastify/index.js';
import { exportPublicJWK } from '../../src/core/jwt/keys.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import { generateJWTKey, type JWTKey } from '../../src/index.js';
import { createVerifier } from '../../src/verify/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';

const clock = new ManualClock(Date.now());
const now = () => Math.floor(clock.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: 'keycard',
  aud: 'keycard',
  sub: 'user-1',
  iat: now(),
  exp: now() + 900,
  jti: 'j',
  sid: 's',
  username: 'alice',
  role: 'user',
  ...extra,
});
const sign = (key: JWTKey, extra?: Record<string, unknown>, typ = 'at+jwt') =>
  signJWT(claims(extra), key, { typ });

/** A JWKS endpoint whose keys and availability the test controls; it counts fetches. */
class JWKSServer {
  keys: JWTKey[] = [];
  up = true;
  fetches = 0;
  server: Server = createServer((_req, res) => {
    this.fetches++;
    if (!this.up) {
      res.statusCode = 503;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: this.keys.map(exportPublicJWK) }));
  });
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }
  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
}

describe('createVerifier with local keys', () => {
  const key = generateJWTKey('EdDSA', 'k1');

  test('accepts our access tokens and refuses the wrong audience, issuer or token type', async () => {
    const verifier = createVerifier({ keys: [exportPublicJWK(key) as never], clock });
    assert.equal((await verifier.verify(sign(key))).ok, true);
    for (const token of [
      sign(key, { aud: 'other' }),
      sign(key, { iss: 'evil' }),
      sign(key, {}, 'client+jwt'),
    ]) {
      const result = await verifier.verify(token);
      assert.equal(result.ok, false);
    }
  });

  test('an algorithm allow-list excludes keys of other algorithms', async () => {
    const verifier = createVerifier({ keys: [key], algorithms: ['ES256'], clock });
    const result = await verifier.verify(sign(key));
    assert.equal(result.ok, false);
  });

  test('exactly one of jwksURL and keys; an http JWKS URL is refused outside localhost', () => {
    assert.throws(() => createVerifier({}), /exactly one/);
    assert.throws(() => createVerifier({ keys: [], jwksURL: 'https://a/jwks' }), /exactly one/);
    assert.throws(() => createVerifier({ jwksURL: 'http://auth.example/jwks.json' }), /https/);
  });
});

describe('createVerifier with a remote JWKS', () => {
  const jwks = new JWKSServer();
  const first = generateJWTKey('EdDSA', 'first');

  before(async () => {
    jwks.keys = [first];
    await jwks.listen();
  });
  after(() => {
    jwks.server.close();
  });

  test('fetches once, then verifies from the cache', async () => {
    jwks.fetches = 0;
    const verifier = createVerifier({ jwksURL: jwks.url, clock });
    for (let i = 0; i < 5; i++) assert.equal((await verifier.verify(sign(first))).ok, true);
    assert.equal(jwks.fetches, 1);
  });

  test('an unknown kid refetches at most once per cooldown, so garbage kids cannot flood the auth service', async () => {
    jwks.fetches = 0;
    const verifier = createVerifier({ jwksURL: jwks.url, clock, jwksCooldown: '30s' });
    await verifier.verify(sign(first));
    const stranger = generateJWTKey('EdDSA', 'stranger');
    for (let i = 0; i < 20; i++) assert.equal((await verifier.verify(sign(stranger))).ok, false);
    assert.equal(jwks.fetches, 1, 'within the cooldown of the first fetch: no refetch');
    clock.advanceSeconds(31);
    for (let i = 0; i < 20; i++) assert.equal((await verifier.verify(sign(stranger))).ok, false);
    assert.equal(jwks.fetches, 2, 'after it: one refetch for the unknown kid, not twenty');
  });

  test('a rotated key is picked up on first sight of its kid', async () => {
    const verifier = createVerifier({ jwksURL: jwks.url, clock, jwksCooldown: '1s' });
    assert.equal((await verifier.verify(sign(first))).ok, true);
    const second = generateJWTKey('ES256', 'second');
    jwks.keys = [second, first];
    clock.advanceSeconds(2);
    assert.equal((await verifier.verify(sign(second))).ok, true);
    assert.equal((await verifier.verify(sign(first))).ok, true);
  });

  test('when the auth service is down, known keys keep working; with no keys at all → jwks_unavailable', async () => {
    const verifier = createVerifier({ jwksURL: jwks.url, clock, jwksCooldown: '1s' });
    jwks.keys = [first];
    jwks.up = true;
    assert.equal((await verifier.verify(sign(first))).ok, true);
    jwks.up = false;
    clock.advanceSeconds(3600);
    const later = await verifier.verify(sign(first));
    assert.equal(later.ok, true, 'the cached key still verifies');
    const cold = createVerifier({ jwksURL: jwks.url, clock });
    const result = await cold.verify(sign(first));
    assert.equal(result.ok === false && result.code, 'jwks_unavailable');
    jwks.up = true;
  });
});

describe('verifyToken (express and fastify)', () => {
  const key = generateJWTKey('EdDSA', 'mw');
  const verifier = createVerifier({ keys: [key], clock });
  const apps: { url: string; close(): Promise<void> }[] = [];

  before(async () => {
    const app = express();
    app.get('/orders', forExpress.verifyToken(verifier), (req, res) => {
      res.json({ user: req.token?.user, sub: req.token?.claims.sub });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    apps.push({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    const fastify = Fastify();
    fastify.get('/orders', { preHandler: forFastify.verifyToken(verifier) }, async (request) => ({
      user: request.token?.user,
      sub: request.token?.claims.sub,
    }));
    apps.push({ url: await fastify.listen({ port: 0, host: '127.0.0.1' }), close: () => fastify.close() });
  });
  after(async () => {
    for (const app of apps) await app.close();
  });

  for (const index of [0, 1]) {
    const name = index === 0 ? 'express' : 'fastify';
    test(`${name}: 200 with req.token for a valid token; 401 with a Bearer challenge otherwise`, async () => {
      const { url } = apps[index] as { url: string };
      const ok = await request(url, 'GET', '/orders', { headers: { authorization: `Bearer ${sign(key)}` } });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json, { user: { id: 'user-1', username: 'alice', role: 'user' }, sub: 'user-1' });
      const missing = await request(url, 'GET', '/orders');
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      const expired = await request(url, 'GET', '/orders', {
        headers: { authorization: `Bearer ${sign(key, { exp: now() - 60 })}` },
      });
      assert.equal(expired.status, 401);
      assert.equal(expired.json.error.code, 'token_expired');
      assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
      const garbage = await request(url, 'GET', '/orders', { headers: { authorization: 'Bearer x.y.z' } });
      assert.equal(garbage.status, 401);
      assert.equal(garbage.json.error.code, 'token_invalid');
    });
  }
});
