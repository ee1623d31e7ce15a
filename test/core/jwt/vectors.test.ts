/**
 * The JWS layer against the RFC 7520 ("JOSE Cookbook") examples in test/vectors/jose-cookbook (public
 * domain, see its LICENSE): the reproducible signatures must be reproduced byte for byte, every example
 * in an algorithm we support must verify, and the others must be refused rather than misread.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { signBytes } from '../../../src/core/jwt/algorithms.js';
import { importJWK } from '../../../src/core/jwt/keys.js';
import { verifyJWS } from '../../../src/core/jwt/verify.js';

interface Vector {
  title: string;
  reproducible: boolean;
  input: { key: Record<string, string>; alg: string };
  signing: { 'sig-input': string; sig: string };
  output: { compact?: string };
}

const load = (path: string): Vector =>
  JSON.parse(readFileSync(new URL(`../../vectors/jose-cookbook/${path}`, import.meta.url), 'utf8'));

const supported = [
  ['jws/4_1.rsa_v15_signature.json', 'RS256'],
  ['jws/4_4.hmac-sha2_integrity_protection.json', 'HS256'],
  ['jws/4_6.protecting_specific_header_fields.json', 'HS256'],
  ['jws/4_7.protecting_content_only.json', 'HS256'],
  ['curve25519/jws.json', 'EdDSA'],
] as const;

describe('RFC 7520 cookbook vectors', () => {
  for (const [path, alg] of supported) {
    const vector = load(path);
    test(`${vector.title} (${alg}): verifies, and reproduces the signature when deterministic`, () => {
      const key = importJWK({ ...vector.input.key, kid: vector.input.key.kid ?? 'cookbook' }, path);
      assert.equal(key.alg, alg);
      if (vector.reproducible) {
        const signature = signBytes(
          key.alg,
          key.signKey as never,
          Buffer.from(vector.signing['sig-input'], 'latin1'),
        );
        assert.equal(signature.toString('base64url'), vector.signing.sig);
      }
      const compact = vector.output.compact;
      if (compact === undefined) return; // 4.7 protects content only: there is no compact form
      const result = verifyJWS(compact, () => key, 100_000);
      assert.equal(result.ok, true, JSON.stringify(result));
      const at = compact.lastIndexOf('.') + 5; // a character inside the signature
      const tampered = `${compact.slice(0, at)}${compact[at] === 'A' ? 'B' : 'A'}${compact.slice(at + 1)}`;
      assert.notEqual(tampered, compact);
      assert.equal(verifyJWS(tampered, () => key, 100_000).ok, false, 'a changed signature is refused');
    });
  }

  test('4.7 (content only, JSON serialization): the detached signature verifies over its signing input', () => {
    const vector = load('jws/4_7.protecting_content_only.json');
    const key = importJWK({ ...vector.input.key, kid: 'k' });
    assert.equal(
      signBytes(key.alg, key.signKey as never, Buffer.from(vector.signing['sig-input'], 'latin1')).toString(
        'base64url',
      ),
      vector.signing.sig,
    );
  });

  for (const path of ['jws/4_2.rsa-pss_signature.json', 'jws/4_3.ecdsa_signature.json']) {
    const vector = load(path);
    test(`${vector.title} (${vector.input.alg}, unsupported): refused, never misread`, () => {
      const compact = vector.output.compact as string;
      // The key imports under the algorithm its type implies (RS256, or nothing for P-521) …
      let key: ReturnType<typeof importJWK> | undefined;
      try {
        key = importJWK({ ...vector.input.key, kid: 'k' });
      } catch {
        key = undefined;
      }
      // … and a token whose header names another algorithm is refused.
      const result = verifyJWS(compact, () => key, 100_000);
      assert.equal(result.ok, false);
    });
  }
});
