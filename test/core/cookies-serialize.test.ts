import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type CookieAttributes,
  MAX_SET_COOKIE_BYTES,
  serializeCookie,
} from '../../src/core/cookies/serialize.js';
import { KeycardError } from '../../src/core/errors.js';
import { thrown } from './support.js';

const SECURE: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };
const PLAIN: CookieAttributes = { httpOnly: true, secure: false, sameSite: 'lax', path: '/' };

/** The attributes of a Set-Cookie header, as written, in order. */
function attributesOf(header: string): string[] {
  return header.split('; ').slice(1);
}

function refusal(fn: () => unknown): KeycardError {
  const error = thrown(fn);
  assert.ok(error instanceof KeycardError, `expected a KeycardError, got ${String(error)}`);
  assert.match(error.message, /^cookie refused: /);
  return error;
}

describe('serializeCookie: the happy path', () => {
  test('emits HttpOnly, Secure, SameSite, Path and Max-Age as asked', () => {
    const header = serializeCookie('__Host-sid', 'abc', { ...SECURE, maxAgeSeconds: 3600 });
    assert.ok(header.startsWith('__Host-sid=abc; '));
    assert.deepEqual(attributesOf(header).sort(), [
      'HttpOnly',
      'Max-Age=3600',
      'Path=/',
      'SameSite=Lax',
      'Secure',
    ]);
  });

  test('omits Max-Age for a browser-session cookie and writes Max-Age=0 to delete', () => {
    assert.ok(!serializeCookie('sid', 'abc', SECURE).includes('Max-Age'));
    assert.ok(
      attributesOf(serializeCookie('sid', '', { ...SECURE, maxAgeSeconds: 0 })).includes('Max-Age=0'),
    );
  });

  test('omits HttpOnly and Secure when they are false', () => {
    const attributes = attributesOf(serializeCookie('sid', 'abc', { ...PLAIN, httpOnly: false }));
    assert.ok(!attributes.includes('HttpOnly'));
    assert.ok(!attributes.includes('Secure'));
  });

  test('writes each SameSite value', () => {
    assert.ok(
      attributesOf(serializeCookie('sid', 'a', { ...SECURE, sameSite: 'strict' })).includes(
        'SameSite=Strict',
      ),
    );
    assert.ok(
      attributesOf(serializeCookie('sid', 'a', { ...SECURE, sameSite: 'lax' })).includes('SameSite=Lax'),
    );
    assert.ok(
      attributesOf(serializeCookie('sid', 'a', { ...SECURE, sameSite: 'none' })).includes('SameSite=None'),
    );
  });

  test('writes Domain only when given', () => {
    assert.ok(!serializeCookie('__Secure-sid', 'a', SECURE).includes('Domain'));
    const header = serializeCookie('__Secure-sid', 'a', { ...SECURE, domain: 'example.com' });
    assert.ok(attributesOf(header).includes('Domain=example.com'));
  });

  test('writes any cookie-octet value unchanged', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]{0,200}$/),
        (value) => {
          assert.ok(serializeCookie('sid', value, SECURE).startsWith(`sid=${value}; `));
        },
      ),
    );
  });
});

describe('serializeCookie: refusals', () => {
  for (const name of ['', 'a b', 'a;b', 'a=b', 'a,b', '"a"', 'a\tb', 'a\u0000b', 'é', 'sid\u00A0', 'a(b)']) {
    test(`refuses the cookie name ${JSON.stringify(name)}`, () => {
      refusal(() => serializeCookie(name, 'abc', SECURE));
    });
  }

  const badValues: Array<[string, string]> = [
    ['a semicolon', ';'],
    ['a comma', ','],
    ['a space', ' '],
    ['a double quote', '"'],
    ['a backslash', '\\'],
    ['a NUL', '\u0000'],
    ['a tab', '\t'],
    ['a newline', '\n'],
    ['DEL', '\u007F'],
    ['a non-ASCII character', 'é'],
  ];
  for (const [label, character] of badValues) {
    test(`refuses a value with ${label}, without echoing the value`, () => {
      const value = `SECRET-TOKEN-VALUE${character}tail`;
      const error = refusal(() => serializeCookie('sid', value, SECURE));
      assert.ok(!error.message.includes('SECRET-TOKEN-VALUE'), error.message);
      assert.ok(!JSON.stringify(error.toJSON()).includes('SECRET-TOKEN-VALUE'));
    });
  }

  test('refuses a __Host- cookie without Secure', () => {
    refusal(() => serializeCookie('__Host-sid', 'a', { ...SECURE, secure: false }));
  });

  test('refuses a __Host- cookie with a Domain', () => {
    refusal(() => serializeCookie('__Host-sid', 'a', { ...SECURE, domain: 'example.com' }));
  });

  test('refuses a __Host- cookie whose Path is not /', () => {
    refusal(() => serializeCookie('__Host-sid', 'a', { ...SECURE, path: '/app' }));
  });

  test('refuses a __Secure- cookie without Secure, and accepts it with Secure', () => {
    refusal(() => serializeCookie('__Secure-sid', 'a', { ...SECURE, secure: false }));
    assert.ok(serializeCookie('__Secure-sid', 'a', { ...SECURE, path: '/app', domain: 'example.com' }));
  });

  test('refuses SameSite=None without Secure', () => {
    refusal(() => serializeCookie('sid', 'a', { ...PLAIN, sameSite: 'none' }));
  });

  for (const maxAgeSeconds of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 0.1]) {
    test(`refuses Max-Age ${maxAgeSeconds}`, () => {
      refusal(() => serializeCookie('sid', 'a', { ...SECURE, maxAgeSeconds }));
    });
  }
});

describe('serializeCookie: the 4096-byte limit', () => {
  const base = Buffer.byteLength(serializeCookie('sid', '', SECURE));
  const valueOfLength = (length: number): string => 'Q'.repeat(length);

  test('accepts a header of exactly 4096 bytes', () => {
    const header = serializeCookie('sid', valueOfLength(MAX_SET_COOKIE_BYTES - base), SECURE);
    assert.equal(Buffer.byteLength(header), 4096);
  });

  test('refuses a header of 4097 bytes, counting the attributes too, without echoing the value', () => {
    const error = refusal(() =>
      serializeCookie('sid', valueOfLength(MAX_SET_COOKIE_BYTES - base + 1), SECURE),
    );
    assert.match(error.message, /4097 bytes/);
    assert.ok(!error.message.includes('QQQQ'));
  });

  test('counts attributes: a value that fits alone is refused once a Max-Age is added', () => {
    const value = valueOfLength(MAX_SET_COOKIE_BYTES - base);
    refusal(() => serializeCookie('sid', value, { ...SECURE, maxAgeSeconds: 60 }));
  });
});
