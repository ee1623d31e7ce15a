/**
 * The signature primitives under verifyJWT: each algorithm verifies what it signed, refuses any other
 * signature or length, and fails closed — false, never an exception — when node:crypto would throw (a key
 * of the wrong type for the algorithm, which only a resolver outside keycard's key import can produce).
 */
import assert from 'node:assert/strict';
import { createSecretKey, sign as derSign } from 'node:crypto';
import { describe, test } from 'node:test';
import { type Algorithm, signBytes, verifyBytes } from '../../../src/core/jwt/algorithms.js';
import { generateJWTKey, type JWTKey } from '../../../src/core/jwt/keys.js';

const ALGS: Algorithm[] = ['HS256', 'EdDSA', 'ES256', 'RS256'];
const keys = Object.fromEntries(ALGS.map((alg) => [alg, generateJWTKey(alg, alg)])) as Record<
  Algorithm,
  JWTKey
>;
const INPUT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiLDqSJ9'; // ASCII, as a JWS signing input is
const LENGTHS: Record<Algorithm, number> = { HS256: 32, EdDSA: 64, ES256: 64, RS256: 256 };

const signed = (alg: Algorithm) => signBytes(alg, keys[alg].signKey as never, Buffer.from(INPUT, 'latin1'));

describe('signBytes and verifyBytes', () => {
  for (const alg of ALGS) {
    test(`${alg}: verifies its own signature (${LENGTHS[alg]} bytes), refuses a changed one or another input`, () => {
      const signature = signed(alg);
      assert.equal(signature.length, LENGTHS[alg]);
      assert.equal(verifyBytes(alg, keys[alg].verifyKey, INPUT, signature), true);
      assert.equal(verifyBytes(alg, keys[alg].verifyKey, `${INPUT}x`, signature), false);
      const flipped = Buffer.from(signature);
      flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
      assert.equal(verifyBytes(alg, keys[alg].verifyKey, INPUT, flipped), false);
      const other = generateJWTKey(alg, 'other');
      assert.equal(verifyBytes(alg, other.verifyKey, INPUT, signature), false, 'another key');
    });

    test(`${alg}: a signature of the wrong length is false, not an exception`, () => {
      const signature = signed(alg);
      for (const length of [0, LENGTHS[alg] - 1, LENGTHS[alg] + 1, 2 * LENGTHS[alg]]) {
        const resized = Buffer.alloc(length);
        signature.copy(resized);
        assert.equal(verifyBytes(alg, keys[alg].verifyKey, INPUT, resized), false, `${length} bytes`);
      }
    });
  }

  test('HS256 is HMAC-SHA256 of the ASCII input', async () => {
    const { createHmac } = await import('node:crypto');
    const secret = createSecretKey(Buffer.alloc(32, 9));
    const expected = createHmac('sha256', Buffer.alloc(32, 9)).update(INPUT).digest();
    assert.deepEqual(signBytes('HS256', secret, Buffer.from(INPUT)), expected);
    assert.equal(verifyBytes('HS256', secret, INPUT, expected), true);
  });

  test('the input is read one byte per character (latin1), as the signing side encodes it', () => {
    // A JWS signing input is ASCII, where latin1 and UTF-8 agree; past ASCII they differ, and the verifier
    // must read the string exactly as signBytes was given it.
    const input = 'eyJ\u00e9\u00ff.x';
    for (const alg of ALGS) {
      const signature = signBytes(alg, keys[alg].signKey as never, Buffer.from(input, 'latin1'));
      assert.equal(verifyBytes(alg, keys[alg].verifyKey, input, signature), true, alg);
      const utf8 = signBytes(alg, keys[alg].signKey as never, Buffer.from(input, 'utf8'));
      assert.equal(verifyBytes(alg, keys[alg].verifyKey, input, utf8), false, `${alg}: not UTF-8`);
    }
  });

  test('ES256 signatures are JOSE r||s (64 bytes), never DER', () => {
    const der = derSign('sha256', Buffer.from(INPUT), keys.ES256.signKey as never);
    assert.notEqual(der.length, 64);
    assert.equal(verifyBytes('ES256', keys.ES256.verifyKey, INPUT, der), false);
    const padded = Buffer.alloc(64);
    der.copy(padded, 0, 0, Math.min(64, der.length));
    assert.equal(verifyBytes('ES256', keys.ES256.verifyKey, INPUT, padded), false);
  });

  test('a key of the wrong type for the algorithm fails closed: false, not an exception', () => {
    // keycard's key import binds each key to its algorithm, so this needs a hand-made resolver; the
    // catch in verifyBytes is what keeps such a mistake from turning into a 500 or an accepted token.
    const secret = createSecretKey(Buffer.alloc(32, 1));
    const cases: [Algorithm, JWTKey['verifyKey'], Buffer][] = [
      ['HS256', keys.EdDSA.verifyKey, Buffer.alloc(32)],
      ['EdDSA', secret, Buffer.alloc(64)],
      ['ES256', secret, Buffer.alloc(64)],
      ['RS256', secret, Buffer.alloc(256)],
      ['ES256', keys.EdDSA.verifyKey, Buffer.alloc(64)],
    ];
    for (const [alg, key, signature] of cases) {
      assert.doesNotThrow(() => verifyBytes(alg, key, INPUT, signature), alg);
      assert.equal(verifyBytes(alg, key, INPUT, signature), false, alg);
    }
  });
});
