import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CookieRead, parseCookieHeader, readCookie } from '../../src/core/cookies/parse.js';

const absent: CookieRead = { status: 'absent' };
const duplicate: CookieRead = { status: 'duplicate' };
const present = (value: string): CookieRead => ({ status: 'present', value });

/** cookie-name = token (RFC 9110 §5.6.2). */
const cookieName = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
/** cookie-octet (RFC 6265 §4.1.1). */
const cookieValue = fc.stringMatching(/^[\u0021\u0023-\u002B\u002D-\u003A\u003C-\u005B\u005D-\u007E]{0,20}$/);

/** Arbitrary headers biased towards the characters that matter to a cookie parser. */
const hostileHeader = fc
  .array(
    fc.oneof(
      fc.constantFrom(';', '=', ' ', '\t', '"', '%', '%E0%A4%A', '%ZZ', '%', '\uD800', '\uDC00', '\u0000'),
      fc.constantFrom('sid', '__proto__', 'constructor', 'toString', 'prototype'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('readCookie', () => {
  const cases: Array<[string, string | undefined, CookieRead]> = [
    ['reports an absent header as absent', undefined, absent],
    ['reports an empty header as absent', '', absent],
    ['reports a header without our cookie as absent', 'other=1; more=2', absent],
    ['reads our cookie alone', 'sid=abc', present('abc')],
    ['reads our cookie among others', 'a=1; sid=abc; b=2', present('abc')],
    ['reads our cookie last, without a space after the separator', 'a=1;sid=abc', present('abc')],
    ['strips the double quotes RFC 6265 allows around a value', 'sid="abc"', present('abc')],
    ['keeps a lone double quote as the value', 'sid="', present('"')],
    ['trims whitespace around the name and the value', '  sid =  abc  ; a=1', present('abc')],
    ['reads an empty value', 'sid=', present('')],
    ['reads an empty value followed by another pair', 'sid=; a=1', present('')],
    ['keeps an = inside the value', 'sid=a=b', present('a=b')],
    ['skips a pair without = before ours', 'flag; sid=abc', present('abc')],
    ['rejects a cookie header with our name twice', 'sid=a; sid=b', duplicate],
    ['rejects our name twice even with the same value', 'sid=a; sid=a', duplicate],
    ['rejects our name twice when the first is empty', 'sid=; sid=b', duplicate],
    ['rejects our name twice when other cookies sit between', 'sid=a; x=1; y=2; sid=b', duplicate],
    ['does not take a name that has ours as a prefix', 'sidx=1', absent],
    ['does not take a name that has ours as a suffix', 'xsid=1', absent],
    ['reads ours between prefix and suffix look-alikes', 'xsid=1; sid=abc; sidx=2', present('abc')],
    ['does not take our name inside another cookie value', 'a=sid=evil', absent],
    ['compares names case-sensitively', 'SID=abc', absent],
  ];
  for (const [name, header, expected] of cases) {
    test(name, () => {
      assert.deepEqual(readCookie(header, 'sid'), expected);
    });
  }

  test('reads a cookie named __proto__ or constructor as an ordinary name', () => {
    assert.deepEqual(readCookie('__proto__=x; constructor=y', '__proto__'), present('x'));
    assert.deepEqual(readCookie('__proto__=x; constructor=y', 'constructor'), present('y'));
    assert.deepEqual(readCookie('a=1', 'constructor'), absent);
    assert.deepEqual(readCookie('a=1', '__proto__'), absent);
  });

  test('finds every cookie of a header built from distinct names and valid values', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(cookieName, cookieValue), { selector: ([n]) => n }), (pairs) => {
        const header = pairs.map(([n, v]) => `${n}=${v}`).join('; ');
        for (const [n, v] of pairs) {
          const expected = v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
          assert.deepEqual(readCookie(header, n), present(expected));
        }
      }),
    );
  });

  test('reports a duplicate wherever the second occurrence is', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(cookieName, cookieValue)),
        cookieValue,
        cookieValue,
        (others, first, second) => {
          const middle = others.map(([n, v]) => `${n}=${v}`);
          const header = [`sid=${first}`, ...middle, `sid=${second}`].join('; ');
          assert.deepEqual(readCookie(header, 'sid'), duplicate);
        },
      ),
    );
  });

  test('never throws and always answers one of its three statuses', () => {
    fc.assert(
      fc.property(hostileHeader, fc.constantFrom('sid', '__proto__', 'constructor'), (header, name) => {
        const result = readCookie(header, name);
        assert.ok(['absent', 'present', 'duplicate'].includes(result.status));
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseCookieHeader', () => {
  test('returns an object with no Object.prototype behind it', () => {
    for (const header of [undefined, '', 'a=1; b=2']) {
      const cookies = parseCookieHeader(header);
      assert.equal(Object.prototype.isPrototypeOf.call(Object.prototype, cookies), false, String(header));
      assert.equal('toString' in cookies, false);
      assert.equal('hasOwnProperty' in cookies, false);
    }
  });

  test('keeps the first occurrence of a repeated name', () => {
    assert.equal(parseCookieHeader('a=1; a=2').a, '1');
  });

  test('returns values as sent, without percent-decoding', () => {
    const cookies = parseCookieHeader('a=%41; b=%E0%A4%A; c=%');
    assert.equal(cookies.a, '%41');
    assert.equal(cookies.b, '%E0%A4%A');
    assert.equal(cookies.c, '%');
  });

  test('stores __proto__ and constructor as own keys, without polluting Object.prototype', () => {
    const cookies = parseCookieHeader('__proto__=polluted; constructor=x; toString=y');
    assert.equal(Object.hasOwn(cookies, '__proto__'), true);
    assert.equal(Object.getOwnPropertyDescriptor(cookies, '__proto__')?.value, 'polluted');
    assert.equal(cookies.constructor, 'x');
    assert.equal(cookies.toString, 'y');
    assert.equal(Object.prototype.isPrototypeOf.call(Object.prototype, cookies), false);
    assert.deepEqual(Object.keys(Object.prototype), []);
    assert.equal(typeof {}.toString, 'function');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('never throws on any string, lone surrogates and broken % sequences included', () => {
    fc.assert(
      fc.property(fc.oneof(hostileHeader, fc.string({ unit: 'binary' })), (header) => {
        const cookies = parseCookieHeader(header);
        assert.equal(Object.prototype.isPrototypeOf.call(Object.prototype, cookies), false);
        for (const key of Object.keys(cookies)) assert.equal(typeof cookies[key], 'string');
      }),
      { numRuns: 1000 },
    );
    assert.deepEqual(Object.keys(Object.prototype), []);
  });

  test('round-trips a header built from distinct names and valid values, quotes kept', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(cookieName, cookieValue), { selector: ([n]) => n }), (pairs) => {
        const cookies = parseCookieHeader(pairs.map(([n, v]) => `${n}=${v}`).join('; '));
        for (const [n, v] of pairs) assert.equal(cookies[n], v);
        assert.equal(Object.keys(cookies).length, pairs.length);
      }),
    );
  });
});
