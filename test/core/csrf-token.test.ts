/**
 * Session-bound CSRF tokens (src/core/csrf/token.ts): `nonce.HMAC-SHA256(secret, "keycard-csrf" ‖ binding ‖
 * nonce)`, valid only for its binding, under any listed secret (rotation), with exactly one spelling, and
 * false — never an exception — for anything else a client may send.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { createCSRFToken, verifyCSRFToken } from '../../src/core/csrf/token.js';

const NEW = Buffer.alloc(32, 1);
const OLD = Buffer.alloc(32, 2);
const OTHER = Buffer.alloc(32, 3);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('createCSRFToken', () => {
  test('a 24-character random nonce, a dot and the 43-character MAC over the binding and the nonce', () => {
    const token = createCSRFToken(NEW, 'login-1');
    assert.match(token, /^[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}$/);
    const [nonce, mac] = token.split('.') as [string, string];
    const expected = createHmac('sha256', NEW).update(`keycard-csrf\u0000login-1\u0000${nonce}`).digest();
    assert.equal(mac, expected.toString('base64url'));
    assert.notEqual(createCSRFToken(NEW, 'login-1').split('.')[0], nonce, 'a fresh nonce every time');
  });
});

describe('verifyCSRFToken', () => {
  test('valid for its binding and secret only', () => {
    const token = createCSRFToken(NEW, 'login-1');
    assert.equal(verifyCSRFToken([NEW], 'login-1', token), true);
    assert.equal(verifyCSRFToken([NEW], 'login-2', token), false, 'another login');
    assert.equal(verifyCSRFToken([OTHER], 'login-1', token), false, 'another secret');
    assert.equal(verifyCSRFToken([], 'login-1', token), false, 'no secret');
  });

  test('rotation: a token signed with any listed secret is valid, newest first or not', () => {
    const fresh = createCSRFToken(NEW, 'login-1');
    const older = createCSRFToken(OLD, 'login-1');
    assert.equal(verifyCSRFToken([NEW, OLD], 'login-1', fresh), true);
    assert.equal(verifyCSRFToken([NEW, OLD], 'login-1', older), true, 'signed with the older secret');
    assert.equal(verifyCSRFToken([OTHER, NEW, OLD], 'login-1', older), true, 'third in the list');
    assert.equal(verifyCSRFToken([NEW], 'login-1', older), false, 'the older secret was dropped');
    assert.equal(verifyCSRFToken([NEW, OTHER], 'login-2', older), false);
  });

  test('the MAC covers the nonce and the binding, each delimited', () => {
    const a = createCSRFToken(NEW, 'login-1');
    const b = createCSRFToken(NEW, 'login-1');
    const swapped = `${b.split('.')[0]}.${a.split('.')[1]}`;
    assert.equal(verifyCSRFToken([NEW], 'login-1', swapped), false, 'another token’s nonce');
    const [nonce] = a.split('.') as [string];
    // A binding that ends where the nonce would begin cannot borrow it: the NUL delimiters keep them apart.
    const shifted = createHmac('sha256', NEW).update(`keycard-csrf\u0000login-1${nonce}`).digest('base64url');
    assert.equal(verifyCSRFToken([NEW], 'login-1', `${nonce}.${shifted}`), false);
  });

  test('anything else is false, never an exception: suffixes, prefixes, truncation, other types', () => {
    const token = createCSRFToken(NEW, 'login-1');
    const variants: unknown[] = [
      `${token}A`,
      `${token}AA`,
      `${token}=`,
      `${token}.`,
      `${token}\n`,
      `${token} `,
      ` ${token}`,
      `A${token}`,
      token.slice(0, -1),
      token.slice(1),
      token.replace('.', ''),
      token.replace('.', ':'),
      `${token.split('.')[0]}.${token.split('.')[1]}.${token.split('.')[1]}`,
      '',
      undefined,
      null,
      42,
      [token],
      { token },
      Buffer.from(token),
      // Objects that turn into the token when coerced to a string are still not strings.
      new String(token),
      { toString: () => token },
    ];
    for (const variant of variants) {
      let result: boolean | undefined;
      assert.doesNotThrow(() => {
        result = verifyCSRFToken([NEW, OLD], 'login-1', variant);
      }, JSON.stringify(variant));
      assert.equal(result, false, JSON.stringify(variant));
    }
  });

  test('one spelling: the MAC’s 2 unused bits set are refused though they decode to the same bytes', () => {
    const token = createCSRFToken(NEW, 'login-1');
    const last = ALPHABET.indexOf(token[token.length - 1] as string);
    for (const bits of [1, 2, 3]) {
      const other = `${token.slice(0, -1)}${ALPHABET[last ^ bits]}`;
      assert.deepEqual(
        Buffer.from(other.split('.')[1] as string, 'base64url'),
        Buffer.from(token.split('.')[1] as string, 'base64url'),
      );
      assert.equal(verifyCSRFToken([NEW], 'login-1', other), false);
    }
  });
});
