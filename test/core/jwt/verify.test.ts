/**
 * The attacks a JWT verifier must refuse, one by one, and the claim checks at their edges.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { type Algorithm, signBytes } from '../../../src/core/jwt/algorithms.js';
import { createHeaderParser } from '../../../src/core/jwt/checks.js';
import {
  createKeySet,
  exportPublicJWK,
  generateJWTKey,
  importJWK,
  type JWTKey,
} from '../../../src/core/jwt/keys.js';
import { signJWT } from '../../../src/core/jwt/sign.js';
import { keySetResolver, type VerifyOptions, verifyJWT } from '../../../src/core/jwt/verify.js';

const NOW = 1_800_000_000;
const options: VerifyOptions = {
  now: NOW,
  typ: 'at+jwt',
  issuer: 'https://auth.example',
  audience: 'api',
  leewaySeconds: 10,
  maxTokenBytes: 8192,
};
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: 'https://auth.example',
  aud: 'api',
  sub: 'user-1',
  iat: NOW - 60,
  exp: NOW + 600,
  jti: 'j1',
  sid: 's1',
  ...extra,
});

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token with any header and payload, signed by `key` over exactly what is given. */
function forge(header: unknown, payload: unknown, key?: JWTKey, alg?: Algorithm): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (!key?.signKey) return `${input}.`;
  return `${input}.${signBytes(alg ?? key.alg, key.signKey, Buffer.from(input)).toString('base64url')}`;
}

const keys: Record<Algorithm, JWTKey> = {
  EdDSA: generateJWTKey('EdDSA', 'ed'),
  ES256: generateJWTKey('ES256', 'es'),
  RS256: generateJWTKey('RS256', 'rs'),
  HS256: generateJWTKey('HS256', 'hs'),
};
const keySet = createKeySet(Object.values(keys));
const resolve = keySetResolver(keySet);
const verify = (token: string, overrides: Partial<VerifyOptions> = {}) =>
  verifyJWT(token, resolve, { ...options, ...overrides });

function refused(token: string, reason?: string, overrides: Partial<VerifyOptions> = {}) {
  const result = verify(token, overrides);
  assert.equal(result.ok, false, `accepted: ${reason}`);
  if (!result.ok && reason) assert.equal(result.reason, reason);
  // Every refusal but expiry is `token_invalid`: the code is what callers map to a status.
  if (!result.ok) assert.equal(result.code, result.reason === 'exp' ? 'token_expired' : 'token_invalid');
  const payload = token.split('.')[1] ?? '';
  if (payload.length > 8)
    assert.equal(JSON.stringify(result).includes(payload), false, 'the result never echoes the token');
  return result;
}

describe('verifyJWT: round trips', () => {
  for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256'] as const) {
    test(`${alg}: a token signed by a key in the set verifies, with its claims`, () => {
      const token = signJWT(claims(), keys[alg], { typ: 'at+jwt' });
      const result = verify(token);
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.claims.sub, 'user-1');
      assert.equal(result.key.kid, keys[alg].kid);
      assert.deepEqual(result.header, { alg, typ: 'at+jwt', kid: keys[alg].kid });
    });
  }
});

describe('verifyJWT: algorithm attacks', () => {
  test('alg none in any spelling is refused, with or without a signature', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      refused(forge({ alg, typ: 'at+jwt', kid: 'ed' }, claims()));
      refused(`${b64({ alg, typ: 'at+jwt', kid: 'ed' })}.${b64(claims())}.c2ln`, 'alg_none');
    }
  });

  test('HS256 signed with the RS256 public key as secret is refused (algorithm confusion)', () => {
    const publicPEM = keys.RS256.verifyKey.export({ type: 'spki', format: 'pem' });
    const publicJWK = JSON.stringify(exportPublicJWK(keys.RS256));
    for (const secret of [publicPEM, publicJWK]) {
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'rs' })}.${b64(claims())}`;
      const signature = createHmac('sha256', secret).update(input).digest('base64url');
      refused(`${input}.${signature}`, 'alg_mismatch');
    }
  });

  test('a header alg other than the key’s is refused even when the signature matches that alg', () => {
    refused(forge({ alg: 'ES256', typ: 'at+jwt', kid: 'ed' }, claims(), keys.ES256), 'alg_mismatch');
    refused(forge({ alg: 'RS256', typ: 'at+jwt', kid: 'hs' }, claims(), keys.RS256), 'alg_mismatch');
    refused(`${forge({ alg: 'HS512', typ: 'at+jwt', kid: 'hs' }, claims())}c2ln`, 'alg_mismatch');
  });

  test('an unknown kid is refused; a missing kid is refused when the set has more than one key', () => {
    refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'nope' }, claims(), keys.EdDSA), 'unknown_key');
    refused(forge({ alg: 'EdDSA', typ: 'at+jwt' }, claims(), keys.EdDSA), 'unknown_key');
    refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 7 }, claims(), keys.EdDSA), 'unknown_key');
    const single = createKeySet([keys.EdDSA]);
    const result = verifyJWT(
      forge({ alg: 'EdDSA', typ: 'at+jwt' }, claims(), keys.EdDSA),
      keySetResolver(single),
      options,
    );
    assert.equal(result.ok, true, 'without kid, a single-key set is unambiguous');
    for (const kid of [7, null, ['ed'], { kid: 'ed' }, true]) {
      const odd = verifyJWT(
        forge({ alg: 'EdDSA', typ: 'at+jwt', kid }, claims(), keys.EdDSA),
        keySetResolver(single),
        options,
      );
      assert.deepEqual(
        odd,
        { ok: false, code: 'token_invalid', reason: 'unknown_key' },
        `a non-string kid (${JSON.stringify(kid)}) is not "no kid", even with one key`,
      );
    }
  });

  test('a key embedded in the header (jwk) or pointed at (jku, x5u, x5c) is never used or fetched', async () => {
    let fetched = 0;
    const server = createServer((_req, res) => {
      fetched++;
      res.end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Closed whatever happens: a failing assertion must fail the test, not leave the file hanging on an
    // open server.
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
      const attacker = generateJWTKey('EdDSA', 'ed'); // same kid as ours, different key
      const jwk = exportPublicJWK(attacker);
      for (const extra of [{ jwk }, { jku: url }, { x5u: url }, { x5c: ['MIIB'] }]) {
        refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', ...extra }, claims(), attacker), 'signature');
      }
      const ours = verify(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', jku: url }, claims(), keys.EdDSA));
      assert.equal(ours.ok, true, 'the header members are ignored, not a reason to fail a genuine token');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(fetched, 0, 'nothing was fetched');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('any crit header is refused, and b64=false payloads too', () => {
    for (const crit of [['exp'], [], ['b64'], 'exp']) {
      refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', crit }, claims(), keys.EdDSA), 'crit');
    }
    refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', b64: false }, claims(), keys.EdDSA), 'b64');
  });

  test('a signature from another key of the same algorithm is refused', () => {
    const other = generateJWTKey('HS256', 'hs');
    refused(signJWT(claims(), other, { typ: 'at+jwt' }), 'signature');
  });
});

describe('verifyJWT: structure', () => {
  const good = signJWT(claims(), keys.EdDSA, { typ: 'at+jwt' });
  const [h, p, s] = good.split('.') as [string, string, string];

  test('the size is capped before decoding', () => {
    refused(good, 'too_large', { maxTokenBytes: good.length - 1 });
    assert.equal(verify(good, { maxTokenBytes: good.length }).ok, true);
    refused(`${h}.${b64(claims({ pad: 'x'.repeat(10_000) }))}.${s}`, 'too_large');
  });

  test('a token that is not a string is refused as token_invalid, never thrown on', () => {
    for (const token of [undefined, null, 42, {}, ['a.b.c'], Buffer.from(good)]) {
      assert.deepEqual(verifyJWT(token as never, resolve, options), {
        ok: false,
        code: 'token_invalid',
        reason: 'empty',
      });
    }
  });

  test('an HS256 signature (43 characters) has one spelling: its 2 unused bits set are refused', () => {
    const token = signJWT(claims(), keys.HS256, { typ: 'at+jwt' });
    assert.equal(verify(token).ok, true);
    const signature = token.split('.')[2] as string;
    assert.equal(signature.length, 43);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature[42] as string);
    for (const bits of [1, 2, 3]) {
      const other = `${token.slice(0, -1)}${alphabet[last ^ bits]}`;
      const decoded = (t: string) => Buffer.from(t.split('.')[2] as string, 'base64url');
      assert.deepEqual(decoded(other), decoded(token), 'the same signature bytes');
      refused(other, 'malformed');
    }
  });

  test('anything but three non-empty segments is refused', () => {
    for (const token of [
      '',
      h,
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `.${p}.${s}`,
      `${h}..${s}`,
      `${h}.${p}.`,
      '..',
    ]) {
      refused(token);
    }
  });

  test('the structure is judged first, as malformed, before the header is even decoded', () => {
    refused('', 'empty');
    // A header that would be refused for itself (alg none) shows the structure check ran before it.
    const none = b64({ alg: 'none', typ: 'at+jwt', kid: 'ed' });
    refused(`${none}.${p}.${s}`, 'alg_none');
    for (const token of [
      h,
      none,
      `${none}.${p}`,
      `${none}.${p}.${s}.${s}`,
      `${none}.${p}.${s}.`,
      `.${p}.${s}`,
      `${none}..${s}`,
      `${none}.${p}.`,
      '..',
      '...',
    ]) {
      refused(token, 'malformed');
    }
  });

  test('only canonical base64url: no padding, no +/, no stray bits, no whitespace', () => {
    refused(`${h}.${p}.${s}=`);
    refused(`${h}=.${p}.${s}`);
    refused(
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}${s.includes('-') || s.includes('_') ? '' : '+'}`,
    );
    refused(`${h}.${p} .${s}`);
    refused(`${h}.${p}.${s}\n`);
    // An Ed25519 signature is 64 bytes: 86 characters whose last carries 2 unused bits. Setting them
    // decodes to the same bytes, which a lax decoder would accept.
    const last = s[s.length - 1] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1] as string;
    assert.deepEqual(Buffer.from(`${s.slice(0, -1)}${sibling}`, 'base64url'), Buffer.from(s, 'base64url'));
    refused(`${h}.${p}.${s.slice(0, -1)}${sibling}`, 'malformed');
  });

  test('header and payload must be JSON objects', () => {
    for (const header of ['"x"', '[]', 'null', '1', '{', 'not json']) {
      refused(`${b64(header)}.${p}.${s}`, 'malformed_header');
    }
    for (const payload of ['[]', '"x"', 'null', '12', '{']) {
      refused(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, payload, keys.EdDSA), 'malformed_payload');
    }
    refused(`${b64({ typ: 'at+jwt', kid: 'ed' })}.${p}.${s}`, 'malformed_header');
  });
});

describe('verifyJWT: claims', () => {
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed', ...header }, payload, keys.EdDSA);

  test('exp is required and must be a finite number; expired tokens say so', () => {
    const { exp: _exp, ...noExp } = claims();
    refused(sign(noExp), 'exp_missing');
    refused(sign(claims({ exp: String(NOW + 600) })), 'exp_missing');
    refused(sign(claims({ exp: null })), 'exp_missing');
    const infinite = forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }, `{"sub":"u","exp":1e400}`, keys.EdDSA);
    refused(infinite, 'exp_missing');
    const expired = refused(sign(claims({ exp: NOW - 11 })), 'exp');
    assert.equal(!expired.ok && expired.code, 'token_expired');
    assert.equal(verify(sign(claims({ exp: NOW - 9 }))).ok, true, 'within the leeway');
    refused(sign(claims({ exp: NOW - 10 })), 'exp');
  });

  test('nbf and iat: finite numbers, not in the future beyond the leeway', () => {
    refused(sign(claims({ nbf: NOW + 11 })), 'nbf');
    refused(sign(claims({ nbf: NOW + 10.001 })), 'nbf');
    assert.equal(verify(sign(claims({ nbf: NOW + 9 }))).ok, true);
    assert.equal(verify(sign(claims({ nbf: NOW + 10 }))).ok, true, 'nbf exactly at now + leeway');
    assert.equal(verify(sign(claims({ iat: NOW + 10 }))).ok, true, 'iat exactly at now + leeway');
    refused(sign(claims({ iat: NOW + 10.001 })), 'iat_future');
    refused(sign(claims({ nbf: 'now' })), 'nbf_type');
    refused(sign(claims({ iat: NOW + 11 })), 'iat_future');
    assert.equal(verify(sign(claims({ iat: NOW + 9 }))).ok, true);
    refused(sign(claims({ iat: [NOW] })), 'iat_type');
  });

  test('iss and aud must match; aud may be a list that includes ours', () => {
    refused(sign(claims({ iss: 'https://evil.example' })), 'iss');
    refused(sign(claims({ iss: undefined })), 'iss');
    refused(sign(claims({ aud: 'other' })), 'aud');
    refused(sign(claims({ aud: ['other', 'x'] })), 'aud');
    refused(sign(claims({ aud: { api: true } })), 'aud');
    assert.equal(verify(sign(claims({ aud: ['other', 'api'] }))).ok, true);
  });

  test('typ is required and must be the expected one; media-type forms are accepted', () => {
    refused(sign(claims(), { typ: undefined }), 'typ');
    refused(sign(claims(), { typ: 'JWT' }), 'typ');
    refused(sign(claims(), { typ: 'client+jwt' }), 'typ');
    assert.equal(verify(sign(claims(), { typ: 'application/at+jwt' })).ok, true);
    assert.equal(verify(sign(claims(), { typ: 'AT+JWT' })).ok, true);
  });

  test('sub, when present, must be a string', () => {
    refused(sign(claims({ sub: 42 })), 'sub_type');
  });

  test('exp is the only claim required: no iat, nbf or sub is no refusal', () => {
    const result = verify(sign({ iss: 'https://auth.example', aud: 'api', exp: NOW + 600 }));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.claims, { iss: 'https://auth.example', aud: 'api', exp: NOW + 600 });
  });

  test('iss and aud are checked only when the verifier expects them', () => {
    const open = { issuer: undefined, audience: undefined };
    for (const extra of [{}, { iss: 'https://other.example', aud: 'other' }, { aud: ['x', 'y'] }]) {
      const result = verify(sign(claims(extra)), open);
      assert.ok(result.ok, JSON.stringify(result));
    }
    refused(sign(claims({ aud: 'other' })), 'aud', { issuer: undefined });
    refused(sign(claims({ iss: 'https://other.example' })), 'iss', { audience: undefined });
  });
});

describe('keys', () => {
  test('short or placeholder HS256 secrets are refused', () => {
    assert.throws(
      () => importJWK({ kty: 'oct', k: Buffer.alloc(31, 7).toString('base64url') }),
      /at least 32/,
    );
    assert.throws(
      () =>
        importJWK({
          kty: 'oct',
          k: Buffer.from('change-me-change-me-change-me-change-me').toString('base64url'),
        }),
      /placeholder/,
    );
    assert.throws(
      () => importJWK({ kty: 'oct', k: Buffer.from('a'.repeat(64)).toString('base64url') }),
      /placeholder/,
    );
  });

  test('a JWK whose alg does not fit its type is refused', () => {
    const jwk = { ...exportPublicJWK(keys.EdDSA), alg: 'HS256' };
    assert.throws(() => importJWK(jwk as never), /does not fit/);
    assert.throws(() => importJWK({ kty: 'EC', crv: 'P-384', x: 'x', y: 'y' }), /unsupported key type/);
  });

  test('the JWKS holds public members only and no HS256 secret', () => {
    const jwks = keySet.toJWKS();
    assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), ['ed', 'es', 'rs']);
    const text = JSON.stringify(jwks);
    for (const member of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', '"k"'])
      assert.equal(text.includes(member), false, member);
  });

  test('public JWKs import as verify-only keys that verify what the private key signed', () => {
    for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
      const publicOnly = importJWK(exportPublicJWK(keys[alg]) as never);
      assert.equal(publicOnly.signKey, undefined);
      const token = signJWT(claims(), keys[alg], { typ: 'at+jwt' });
      assert.equal(verifyJWT(token, () => publicOnly, options).ok, true, alg);
    }
  });
});

describe('the header cache', () => {
  test('each encoded header is decoded once, and the cache holds at most 1024 of them', () => {
    const decoded = new Map<string, number>();
    const parse = createHeaderParser((segment) => {
      decoded.set(segment, (decoded.get(segment) ?? 0) + 1);
      return Buffer.from(segment, 'base64url').toString('utf8');
    });
    const header = (i: number) => b64({ alg: 'EdDSA', kid: `k${i}` });
    const first = header(0);
    assert.equal(parse(first)?.kid, 'k0');
    assert.equal(parse(first)?.kid, 'k0');
    assert.equal(decoded.get(first), 1, 'a repeated header is parsed once');
    // 1024 entries fit: the first is still cached after 1023 more.
    for (let i = 1; i < 1024; i++) parse(header(i));
    parse(first);
    assert.equal(decoded.get(first), 1, 'still cached with 1024 entries');
    // The 1025th distinct header empties the cache instead of growing it: attacker-chosen headers
    // cannot grow memory without bound.
    parse(header(1024));
    parse(first);
    assert.equal(decoded.get(first), 2, 'decoded again after the cache was emptied');
    assert.equal(parse(b64({ typ: 'JWT' })), null, 'no alg');
    assert.equal(parse(`${first}=`), null, 'not canonical');
  });
});
