/**
 * Differential property tests against `jose` (panva), the reference JOSE implementation for Node:
 * - tokens jose signs, we verify, with the same claims;
 * - tokens we sign, jose verifies;
 * - for random mutations of valid tokens, whenever we accept, jose accepts too (we may be stricter —
 *   e.g. non-canonical base64url — never laxer).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { jwtVerify, SignJWT } from 'jose';
import type { Algorithm } from '../../../src/core/jwt/algorithms.js';
import { createKeySet, generateJWTKey, type JWTKey } from '../../../src/core/jwt/keys.js';
import { signJWT } from '../../../src/core/jwt/sign.js';
import { keySetResolver, type VerifyOptions, verifyJWT } from '../../../src/core/jwt/verify.js';

const ALGS: Algorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const keys = new Map<Algorithm, JWTKey>(ALGS.map((alg) => [alg, generateJWTKey(alg, `k-${alg}`)]));
const keySet = createKeySet([...keys.values()]);
const resolve = keySetResolver(keySet);

const nowSeconds = Math.floor(Date.now() / 1000);
const options: VerifyOptions = {
  now: nowSeconds,
  typ: 'at+jwt',
  issuer: 'https://auth.example',
  audience: 'api',
  leewaySeconds: 0,
  maxTokenBytes: 16_384,
};

/** Arbitrary extra claims: JSON values under names that are not registered claims. */
const extraClaims = fc.dictionary(
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter((name) => !['iss', 'aud', 'sub', 'exp', 'nbf', 'iat', 'jti', '__proto__'].includes(name)),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 5 },
);

const claimsArbitrary = fc.record({
  sub: fc.string({ minLength: 1, maxLength: 40 }),
  exp: fc.integer({ min: nowSeconds + 1, max: nowSeconds + 10 ** 6 }),
  iat: fc.integer({ min: nowSeconds - 10 ** 6, max: nowSeconds }),
  extra: extraClaims,
});

const joseKey = (key: JWTKey) => (key.alg === 'HS256' ? key.verifyKey : (key.signKey as never));

async function joseAccepts(token: string, key: JWTKey): Promise<boolean> {
  try {
    await jwtVerify(token, key.verifyKey, {
      algorithms: [key.alg],
      typ: 'at+jwt',
      issuer: options.issuer,
      audience: options.audience,
      currentDate: new Date(options.now * 1000),
    });
    return true;
  } catch {
    return false;
  }
}

describe('differential: keycard vs jose', () => {
  for (const alg of ALGS) {
    const key = keys.get(alg) as JWTKey;

    test(`${alg}: what jose signs, keycard verifies with the same claims`, async () => {
      await fc.assert(
        fc.asyncProperty(claimsArbitrary, async ({ sub, exp, iat, extra }) => {
          const payload = { ...extra, iss: options.issuer, aud: options.audience, sub, exp, iat };
          const token = await new SignJWT(payload)
            .setProtectedHeader({ alg, typ: 'at+jwt', kid: key.kid })
            .sign(joseKey(key));
          const result = verifyJWT(token, resolve, options);
          assert.ok(result.ok, JSON.stringify(result));
          assert.deepEqual(result.claims, JSON.parse(JSON.stringify(payload)));
        }),
        { numRuns: alg === 'RS256' ? 25 : 60 },
      );
    });

    test(`${alg}: what keycard signs, jose verifies`, async () => {
      await fc.assert(
        fc.asyncProperty(claimsArbitrary, async ({ sub, exp, iat, extra }) => {
          const token = signJWT(
            { ...extra, iss: options.issuer, aud: options.audience, sub, exp, iat },
            key,
            { typ: 'at+jwt' },
          );
          assert.equal(await joseAccepts(token, key), true);
        }),
        { numRuns: alg === 'RS256' ? 25 : 60 },
      );
    });

    test(`${alg}: on mutated tokens keycard never accepts what jose refuses`, async () => {
      const valid = signJWT(
        { iss: options.issuer, aud: options.audience, sub: 'u', exp: nowSeconds + 60, iat: nowSeconds },
        key,
        {
          typ: 'at+jwt',
        },
      );
      const mutation = fc.oneof(
        // replace one character with any printable ASCII character
        fc
          .record({
            at: fc.nat(valid.length - 1),
            char: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
          })
          .map(({ at, char }) => valid.slice(0, at) + char + valid.slice(at + 1)),
        // drop a character, or insert one
        fc.nat(valid.length - 1).map((at) => valid.slice(0, at) + valid.slice(at + 1)),
        fc
          .record({ at: fc.nat(valid.length), char: fc.constantFrom('.', '=', 'A', '-', '_', ' ') })
          .map(({ at, char }) => valid.slice(0, at) + char + valid.slice(at)),
        // swap the segments around
        fc.constantFrom(...permutations(valid.split('.'))).map((parts) => parts.join('.')),
      );
      await fc.assert(
        fc.asyncProperty(mutation, async (token) => {
          const ours = verifyJWT(token, resolve, options).ok;
          const theirs = await joseAccepts(token, key);
          if (ours) assert.equal(theirs, true, `keycard accepted what jose refused: ${token}`);
        }),
        { numRuns: 300 },
      );
    });
  }
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}
