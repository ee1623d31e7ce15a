/**
 * The verified-token cache: a hit never outlives exp, never survives the removal of its key, and never
 * lets a caller change what later hits see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VerifiedTokenCache } from '../../../src/core/jwt/cache.js';
import { createKeySet, createMutableKeySet, generateJWTKey } from '../../../src/core/jwt/keys.js';
import { resolveJWTOptions } from '../../../src/core/jwt/options.js';
import { signJWT } from '../../../src/core/jwt/sign.js';
import { createTokenService } from '../../../src/core/jwt/token-service.js';
import { keySetResolver, verifyJWT } from '../../../src/core/jwt/verify.js';
import { MemoryStore } from '../../../src/stores/memory/index.js';
import { ManualClock } from '../../helpers/clock.js';

const base = {
  iss: 'keycard',
  aud: 'keycard',
  sub: 'u1',
  username: 'alice',
  role: 'user',
  sid: 's1',
  jti: 'j',
};

function service(keys: ReturnType<typeof createMutableKeySet>, clock: ManualClock, cacheSize = 10) {
  const options = resolveJWTOptions(
    { keys, verifiedTokenCacheSize: cacheSize },
    {
      transport: 'header',
      accessTokenTTL: '15m',
      refreshTokenTTL: '7d',
      loginTTL: '30d',
      requireAsymmetric: false,
    },
    'development',
  );
  return createTokenService(new MemoryStore({ clock }), options, clock, null);
}

describe('verified-token cache', () => {
  test('a cached token is refused once it expires, exactly as an uncached one', () => {
    const clock = new ManualClock(Date.now());
    const key = generateJWTKey('EdDSA', 'k');
    const tokens = service(createMutableKeySet(createKeySet([key])), clock);
    const now = Math.floor(clock.now() / 1000);
    const token = signJWT({ ...base, iat: now, exp: now + 60 }, key, { typ: 'at+jwt' });
    assert.equal(tokens.verifyAccessToken(token).ok, true);
    assert.equal(tokens.verifyAccessToken(token).ok, true, 'a hit');
    clock.advanceSeconds(71); // past exp + the 10 s leeway
    const result = tokens.verifyAccessToken(token);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'token_expired');
  });

  test('removing a key from the set (rotation) refuses tokens it verified, cached or not', () => {
    const clock = new ManualClock(Date.now());
    const old = generateJWTKey('EdDSA', 'old');
    const fresh = generateJWTKey('EdDSA', 'new');
    const keys = createMutableKeySet(createKeySet([old]));
    const tokens = service(keys, clock);
    const now = Math.floor(clock.now() / 1000);
    const token = signJWT({ ...base, iat: now, exp: now + 600 }, old, { typ: 'at+jwt' });
    assert.equal(tokens.verifyAccessToken(token).ok, true);
    keys.replace(createKeySet([fresh]));
    const result = tokens.verifyAccessToken(token);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'unknown_key');
  });

  test('cached claims are frozen: a caller cannot change what the next request sees', () => {
    const clock = new ManualClock(Date.now());
    const key = generateJWTKey('ES256', 'k');
    const tokens = service(createMutableKeySet(createKeySet([key])), clock);
    const now = Math.floor(clock.now() / 1000);
    const token = signJWT({ ...base, iat: now, exp: now + 600, aud: ['keycard', 'x'] }, key, {
      typ: 'at+jwt',
    });
    const first = tokens.verifyAccessToken(token);
    assert.ok(first.ok);
    assert.throws(() => {
      (first.claims as Record<string, unknown>).role = 'admin';
    }, TypeError);
    assert.throws(() => (first.claims.aud as string[]).push('evil'), TypeError);
    const second = tokens.verifyAccessToken(token);
    assert.ok(second.ok);
    assert.equal(second.claims.role, 'user');
  });

  test('is bounded (oldest out first), holds HS256 tokens too, and only ever holds successes', () => {
    const clock = new ManualClock(Date.now());
    const cache = new VerifiedTokenCache(2, 10);
    const ed = generateJWTKey('EdDSA', 'ed');
    const hs = generateJWTKey('HS256', 'hs');
    const resolve = keySetResolver(createKeySet([ed, hs]));
    const now = Math.floor(clock.now() / 1000);
    const options = {
      now,
      typ: 'at+jwt',
      issuer: 'keycard',
      audience: 'keycard',
      leewaySeconds: 10,
      maxTokenBytes: 8192,
    };
    const tokens = [1, 2, 3].map((n) =>
      signJWT({ ...base, jti: String(n), iat: now, exp: now + 600 }, ed, { typ: 'at+jwt' }),
    );
    for (const token of tokens) cache.set(token, verifyJWT(token, resolve, options));
    assert.equal(cache.size, 2);
    const lookup = (kid: string) => (kid === 'ed' ? ed : undefined);
    assert.equal(cache.get(tokens[0] as string, now, lookup), undefined, 'the oldest was evicted');
    assert.ok(cache.get(tokens[2] as string, now, lookup));
    const hsToken = signJWT({ ...base, iat: now, exp: now + 600 }, hs, { typ: 'at+jwt' });
    cache.set(hsToken, verifyJWT(hsToken, resolve, options));
    assert.ok(
      cache.get(hsToken, now, () => hs),
      'an HS256 token is remembered',
    );
    assert.equal(
      cache.get(hsToken, now, () => undefined),
      undefined,
      'until its secret is removed',
    );
    assert.equal(
      cache.get(hsToken, now, () => hs),
      undefined,
      'and then it is forgotten',
    );
    const bad = `${tokens[1]?.slice(0, -4)}AAAA`;
    cache.set(bad, verifyJWT(bad, resolve, options));
    assert.equal(cache.get(bad, now, lookup), undefined);
  });
});
