/**
 * The second factors' primitives against their standards and their abuse cases: TOTP (RFC 6238
 * Appendix B's SHA-1 vectors, as 6 digits), base32 (RFC 4648 §10), the secret box that seals TOTP secrets
 * (tampering, another row, key rotation), recovery codes (format, single use by bit, generations).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { base32Decode, base32Encode } from '../../src/core/mfa/base32.js';
import {
  generateRecoveryCodes,
  isRecoveryCode,
  matchRecoveryCode,
  nextRecoveryGeneration,
  remainingRecoveryCodes,
} from '../../src/core/mfa/recovery.js';
import { createSecretBox } from '../../src/core/mfa/secret-box.js';
import { hotp, matchTotp, totpStep } from '../../src/core/mfa/totp.js';

test('TOTP: RFC 6238 Appendix B (SHA-1), the last six digits', () => {
  const secret = Buffer.from('12345678901234567890');
  const vectors: [number, string][] = [
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
    [20000000000, '353130'],
  ];
  for (const [seconds, code] of vectors) {
    assert.equal(hotp(secret, totpStep(seconds * 1000)), code, `T=${seconds}`);
    assert.equal(matchTotp(secret, code, seconds * 1000, -1), totpStep(seconds * 1000));
    // Once a step is accepted, neither it nor any earlier one is.
    assert.equal(matchTotp(secret, code, seconds * 1000, totpStep(seconds * 1000)), null);
  }
});

test('base32: RFC 4648 §10, and typing tolerance', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(Buffer.from(plain)), encoded);
    assert.equal(base32Decode(encoded)?.toString(), plain);
  }
  assert.equal(base32Decode('mzxw 6ytb oi======')?.toString(), 'foobar');
  assert.equal(base32Decode('MZXW1'), null, '1 is not base32');
});

test('the secret box: opens what it sealed, for the same row only; tampering and lost keys open nothing', () => {
  const old = randomBytes(32);
  const box = createSecretBox([old]);
  const plain = randomBytes(20);
  const sealed = box.seal(plain, 'user-1');
  assert.deepEqual(box.open(sealed, 'user-1'), plain);
  assert.equal(box.open(sealed, 'user-2'), null, "copied onto another user's row, it does not open");
  const parts = sealed.split('.');
  const body = Buffer.from(parts[3] as string, 'base64url');
  body[0] = (body[0] as number) ^ 1;
  parts[3] = body.toString('base64url');
  assert.equal(box.open(parts.join('.'), 'user-1'), null, 'a flipped bit');
  assert.equal(box.open('v1.nope.a.b.c', 'user-1'), null);
  assert.equal(box.open('garbage', 'user-1'), null);
  // Rotation: a newer secret first; the old value still opens and is not current; the old secret gone,
  // it does not open.
  const rotated = createSecretBox([randomBytes(32), old]);
  assert.deepEqual(rotated.open(sealed, 'user-1'), plain);
  assert.equal(rotated.isCurrent(sealed), false);
  assert.equal(rotated.isCurrent(rotated.seal(plain, 'user-1')), true);
  assert.equal(createSecretBox([randomBytes(32)]).open(sealed, 'user-1'), null);
  // Two seals of one secret differ (a fresh IV each time).
  assert.notEqual(box.seal(plain, 'user-1'), box.seal(plain, 'user-1'));
});

test('recovery codes: ten distinct 80-bit codes, each accepted once, any case and spacing', () => {
  const { codes, secret } = generateRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
  assert.equal(secret.includes(codes[0] as string), false, 'only hashes are stored');
  const third = codes[2] as string;
  assert.equal(isRecoveryCode(third.toUpperCase().replaceAll('-', ' ')), true);
  assert.equal(matchRecoveryCode(secret, 0, third.toUpperCase().replaceAll('-', ' ')), 2);
  const used = 1 << 2;
  assert.equal(matchRecoveryCode(secret, used, third), null, 'used');
  assert.equal(remainingRecoveryCodes(secret, used), 9);
  assert.equal(matchRecoveryCode(secret, 0, 'aaaa-bbbb-cccc-dddd'), null);
  // A new generation: no code used, and a counter that differs from every earlier one.
  const next = nextRecoveryGeneration(used | (1 << 9));
  assert.equal(remainingRecoveryCodes(secret, next), 10);
  assert.notEqual(next, 0);
  assert.ok(nextRecoveryGeneration(next) > next);
});
