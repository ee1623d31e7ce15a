/**
 * jwt.claims: configured extra claims in access tokens — carried exactly, signed with the rest, never
 * able to override keycard's own claims, never larger than a verifier accepts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKeySet, generateJWTKey } from '../../../src/core/jwt/keys.js';
import { type ExtraClaims, type JWTDefaults, resolveJWTOptions } from '../../../src/core/jwt/options.js';
import { createTokenService } from '../../../src/core/jwt/token-service.js';
import type { AuthUser, LoginRecord } from '../../../src/core/store.js';
import { MemoryStore } from '../../../src/stores/memory/index.js';
import { ManualClock } from '../../helpers/clock.js';

const defaults: JWTDefaults = {
  transport: 'header',
  accessTokenTTL: '15m',
  refreshTokenTTL: '7d',
  loginTTL: '30d',
  requireAsymmetric: false,
};

function service(claims: ExtraClaims | undefined, maxTokenBytes?: number) {
  const clock = new ManualClock(Date.now());
  const options = resolveJWTOptions(
    { keys: createKeySet([generateJWTKey('EdDSA', 'k')]), claims, maxTokenBytes },
    defaults,
    'development',
  );
  return createTokenService(new MemoryStore({ clock }), options, clock, null);
}

const alice: AuthUser = { id: 'u1', username: 'alice', role: 'admin' };
function login(user: AuthUser = alice): LoginRecord {
  const now = Date.now();
  return {
    id: 'login-1',
    user,
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + 86_400_000,
    absoluteExpiresAt: now + 86_400_000,
    refresh: null,
    data: {},
    userAgent: null,
    ip: null,
  };
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'));
}

describe('jwt.claims', () => {
  test('extra claims are signed into the token and come back from verification as given', () => {
    const tokens = service((user) => ({
      tenant: `t-${user.id}`,
      plan: { tier: 'pro', seats: 5 },
      flags: [1, 'a'],
    }));
    const { token } = tokens.signAccessToken(login());
    const result = tokens.verifyAccessToken(token);
    assert.equal(result.ok, true);
    assert.ok(result.ok);
    assert.equal(result.claims.tenant, 't-u1');
    assert.deepEqual(result.claims.plan, { tier: 'pro', seats: 5 });
    assert.deepEqual(result.claims.flags, [1, 'a']);
    assert.equal(result.claims.sub, 'u1', "keycard's own claims are untouched");
    assert.equal(result.claims.role, 'admin');
  });

  test('the hook sees each user, and is asked again for every token (a change shows at the next refresh)', () => {
    let tier = 'free';
    const seen: string[] = [];
    const tokens = service((user) => {
      seen.push(user.username);
      return { tier };
    });
    assert.equal(claimsOf(tokens.signAccessToken(login()).token).tier, 'free');
    tier = 'pro';
    assert.equal(claimsOf(tokens.signAccessToken(login({ ...alice, username: 'bob' })).token).tier, 'pro');
    assert.deepEqual(seen, ['alice', 'bob']);
  });

  test("keycard's own claim names cannot be set — a user token can never pose as another user or a client", () => {
    for (const name of [
      'sub',
      'role',
      'username',
      'exp',
      'aud',
      'iss',
      'sid',
      'jti',
      'nbf',
      'scope',
      'client_id',
    ]) {
      const tokens = service(() => ({ [name]: 'x' }));
      assert.throws(
        () => tokens.signAccessToken(login()),
        (error: Error & { code?: string }) =>
          error.code === 'invalid_configuration' && error.message.includes(`'${name}'`),
        name,
      );
    }
  });

  test('values that are not JSON are refused; undefined values are left out', () => {
    for (const value of [() => 1, Symbol('s')]) {
      const tokens = service(() => ({ bad: value }));
      assert.throws(() => tokens.signAccessToken(login()), /'bad' is not a JSON value/);
    }
    const bigint = service(() => ({ big: 1n }));
    assert.throws(() => bigint.signAccessToken(login()), /'big' is not a JSON value/);
    const tokens = service(() => ({ gone: undefined, kept: null }));
    const claims = claimsOf(tokens.signAccessToken(login()).token);
    assert.equal(Object.hasOwn(claims, 'gone'), false);
    assert.equal(claims.kept, null);
  });

  test('a hook that returns no object is a configuration error', () => {
    for (const result of [null, 'tenant', [1, 2], 42]) {
      const tokens = service(() => result as unknown as Record<string, unknown>);
      assert.throws(() => tokens.signAccessToken(login()), /jwt\.claims must return an object/);
    }
    assert.throws(
      () =>
        resolveJWTOptions(
          {
            keys: createKeySet([generateJWTKey('EdDSA', 'k')]),
            claims: { tenant: 'x' } as unknown as ExtraClaims,
          },
          defaults,
          'development',
        ),
      /jwt\.claims must be a function/,
    );
  });

  test('`__proto__` is an ordinary claim name: carried as data, nothing polluted', () => {
    const tokens = service(() => JSON.parse('{"__proto__": {"polluted": true}}'));
    const { token } = tokens.signAccessToken(login());
    const result = tokens.verifyAccessToken(token);
    assert.ok(result.ok);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((result.claims as Record<string, unknown>).polluted, undefined);
  });

  test('claims that would make a token larger than verifiers accept fail at signing, not at every request', () => {
    const tokens = service(() => ({ blob: 'x'.repeat(2000) }), 1024);
    assert.throws(() => tokens.signAccessToken(login()), /jwt\.maxTokenBytes \(1024\)/);
  });
});
