/**
 * keycard/verify's Web build (WebCrypto) against the Node one (node:crypto), run here on Node's WebCrypto:
 * for every algorithm, valid and mutated tokens get the same result from both (code and reason), and the
 * Web build's own option rules (no revocation feed, bad keys refused at construction, verify-only keys).
 * workerd itself is tested in test/runtimes/workers.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { exportPublicJWK } from '../../src/core/jwt/keys.js';
import { signJWT } from '../../src/core/jwt/sign.js';
import { type Algorithm, exportPrivateJWK, generateJWTKey, type JWTKey } from '../../src/index.js';
import { createVerifier as createNodeVerifier } from '../../src/verify/index.js';
import { createVerifier as createWebVerifier } from '../../src/verify/web/index.js';
import { ManualClock } from '../helpers/clock.js';

const clock = new ManualClock(Date.now());
const now = () => Math.floor(clock.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: 'keycard',
  aud: 'keycard',
  sub: 'user-1',
  iat: now(),
  exp: now() + 900,
  sid: 's',
  jti: 'j',
  ...extra,
});
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The JWK a verifier is given: the public half, or the secret for HS256. */
const verifyingJWK = (key: JWTKey) =>
  (key.alg === 'HS256' ? exportPrivateJWK(key) : exportPublicJWK(key)) as unknown as Record<string, unknown>;

function tokensFor(key: JWTKey, other: JWTKey): string[] {
  const good = signJWT(claims(), key, { typ: 'at+jwt' });
  const [header, payload, signature] = good.split('.') as [string, string, string];
  const decoded = JSON.parse(Buffer.from(header, 'base64url').toString());
  return [
    good,
    signJWT(claims({ role: 'admin', scope: 'a b' }), key, { typ: 'application/AT+JWT' }),
    signJWT(claims(), key, { typ: 'client-at+jwt' }),
    signJWT(claims({ iss: 'evil' }), key, { typ: 'at+jwt' }),
    signJWT(claims({ aud: ['x', 'keycard'] }), key, { typ: 'at+jwt' }),
    signJWT(claims({ aud: 'x' }), key, { typ: 'at+jwt' }),
    signJWT(claims({ exp: now() - 60 }), key, { typ: 'at+jwt' }),
    signJWT(claims({ exp: now() - 5 }), key, { typ: 'at+jwt' }), // within the leeway
    signJWT(claims({ nbf: now() + 600 }), key, { typ: 'at+jwt' }),
    signJWT(claims({ iat: now() + 600 }), key, { typ: 'at+jwt' }),
    signJWT(claims({ exp: '9999999999' }), key, { typ: 'at+jwt' }),
    signJWT(claims({ sub: 42 }), key, { typ: 'at+jwt' }),
    signJWT(claims({ pad: 'x'.repeat(9000) }), key, { typ: 'at+jwt' }),
    signJWT(claims(), other, { typ: 'at+jwt' }),
    `${b64({ ...decoded, alg: 'none' })}.${payload}.${signature}`,
    `${b64({ ...decoded, alg: 'none' })}.${payload}.`,
    `${b64({ ...decoded, alg: key.alg === 'HS256' ? 'RS256' : 'HS256' })}.${payload}.${signature}`,
    `${b64({ ...decoded, crit: ['exp'] })}.${payload}.${signature}`,
    `${b64({ ...decoded, b64: false })}.${payload}.${signature}`,
    `${b64({ ...decoded, kid: 42 })}.${payload}.${signature}`,
    `${header}.${payload}.${signature}=`,
    `${header}.${payload}`,
    `${header}.${b64([1, 2])}.${signature}`,
    `${header}.${b64({ ...claims(), sub: 'other' })}.${signature}`,
    `${header}.${payload}.${signature.slice(0, -2)}`,
    '',
    'not a token',
  ];
}

describe('the Web verifier gives the Node verifier’s results', () => {
  for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256'] as Algorithm[]) {
    test(`${alg}: valid, mutated and forged tokens`, async () => {
      const key = generateJWTKey(alg, `${alg}-1`);
      const other = generateJWTKey(alg, `${alg}-2`);
      const options = { keys: [verifyingJWK(key)], clock, cacheSize: 0 };
      const node = createNodeVerifier(options);
      const web = createWebVerifier(options);
      await web.ready();
      const tokens = tokensFor(key, other);
      for (const [index, token] of tokens.entries()) {
        assert.deepEqual(await web.verify(token), await node.verify(token), `token ${index}`);
      }
      assert.equal((await web.verify(tokens[0] as string)).ok, true, 'the good token passes');
      // Random single-character changes: never accepted by either, and refused for the same reason.
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.constantFrom(...'AQgw-_.x'), async (at, character) => {
          const token = tokens[0] as string;
          const position = at % token.length;
          if (token[position] === character) return;
          const mutated = token.slice(0, position) + character + token.slice(position + 1);
          const result = await web.verify(mutated);
          assert.deepEqual(result, await node.verify(mutated));
        }),
        { numRuns: 60 },
      );
    });
  }

  test('the verified-token cache re-checks expiry on the Web too', async () => {
    const key = generateJWTKey('EdDSA', 'cache');
    const local = new ManualClock(Date.now());
    const web = createWebVerifier({ keys: [verifyingJWK(key)], clock: local });
    const at = Math.floor(local.now() / 1000);
    const token = signJWT({ ...claims(), iat: at, exp: at + 60 }, key, { typ: 'at+jwt' });
    assert.equal((await web.verify(token)).ok, true);
    assert.equal((await web.verify(token)).ok, true);
    local.advanceSeconds(120);
    assert.deepEqual(await web.verify(token), { ok: false, code: 'token_expired', reason: 'exp' });
  });
});

describe('the Web verifier’s options', () => {
  test('the revocation feed is refused with a configuration error', () => {
    const key = generateJWTKey('EdDSA', 'k');
    assert.throws(
      () => createWebVerifier({ keys: [verifyingJWK(key)], revocations: 'redis://localhost' as never }),
      (error: { code?: string; message: string }) =>
        error.code === 'invalid_configuration' && /revocations is not available/.test(error.message),
    );
  });

  test('bad keys are refused at construction, by the same rules as on Node', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ kty: 'oct', k: Buffer.alloc(16, 1).toString('base64url') }, /has 16 bytes/],
      [
        { kty: 'oct', k: Buffer.from('secret-secret-secret-secret-secret!').toString('base64url') },
        /placeholder/,
      ],
      [{ ...verifyingJWK(generateJWTKey('EdDSA', 'e')), use: 'enc' }, /not for signatures/],
      [{ ...verifyingJWK(generateJWTKey('EdDSA', 'e')), alg: 'ES256' }, /does not fit/],
      [{ kty: 'EC', crv: 'P-384', x: 'AA', y: 'AA' }, /unsupported key type/],
      [{ ...verifyingJWK(generateJWTKey('EdDSA', 'e')), x: 'AAAA' }, /not a valid EdDSA key/],
    ];
    for (const [jwk, message] of cases) {
      assert.throws(() => createWebVerifier({ keys: [jwk] }), message);
      assert.throws(() => createNodeVerifier({ keys: [jwk] }), message);
    }
    assert.throws(() => createWebVerifier({}), /exactly one of jwksURL or keys/);
    assert.throws(() => createWebVerifier({ jwksURL: 'http://auth.example/jwks' }), /https/);
  });

  test('a private JWK verifies its own tokens and nothing is kept that could sign', async () => {
    const key = generateJWTKey('ES256', 'p');
    const web = createWebVerifier({ keys: [exportPrivateJWK(key) as never], clock });
    assert.equal((await web.verify(signJWT(claims(), key, { typ: 'at+jwt' }))).ok, true);
  });

  test('a key refused after import rejects ready() and every verification that needs a key', async () => {
    // A 1024-bit RSA modulus: its size is read from the imported CryptoKey.
    const n = Buffer.concat([Buffer.from([0xc1]), Buffer.alloc(127, 0x35)]).toString('base64url');
    const web = createWebVerifier({ keys: [{ kty: 'RSA', n, e: 'AQAB', kid: 'short' }], onError: () => {} });
    await assert.rejects(web.ready(), /keys\[0\]: RSA keys need at least 2048 bits \(this one has 1024\)/);
    const token = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'short' })}.${b64(claims())}.AAAA`;
    await assert.rejects(web.verify(token), /RSA keys need at least 2048 bits/);
    assert.throws(() => createNodeVerifier({ keys: [{ kty: 'RSA', n, e: 'AQAB' }] }), /at least 2048 bits/);
  });

  test('authenticate reads the Bearer header and says what to answer', async () => {
    const key = generateJWTKey('EdDSA', 'a');
    const web = createWebVerifier({ keys: [verifyingJWK(key)], clock });
    const token = signJWT(claims(), key, { typ: 'at+jwt' });
    const ok = await web.authenticate(
      new Request('http://x/', { headers: { authorization: `Bearer ${token}` } }),
    );
    assert.equal(ok.ok && ok.claims.sub, 'user-1');
    const none = await web.authenticate(new Request('http://x/'));
    assert.ok(!none.ok);
    assert.deepEqual([none.status, none.code, none.challenge], [401, 'unauthenticated', 'Bearer']);
    const expired = await web.authenticate(
      new Request('http://x/', {
        headers: { authorization: `bearer ${signJWT(claims({ exp: now() - 60 }), key, { typ: 'at+jwt' })}` },
      }),
    );
    assert.ok(!expired.ok);
    assert.equal(expired.body.error.code, 'token_expired');
    assert.match(expired.challenge, /^Bearer error="invalid_token"/);
  });
});
