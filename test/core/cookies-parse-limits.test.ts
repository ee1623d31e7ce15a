/**
 * The Cookie header's limits in core (src/core/cookies/parse.ts) — the count and size caps both readers
 * enforce, the `=`-less pieces at the edges, and the one-scan guarantee: a header made to cost one scan
 * per piece (a complexity attack) is read in work linear in its length. Work is counted (characters
 * String.prototype.indexOf examines), never timed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkCookieHeader,
  MAX_COOKIE_HEADER_BYTES,
  MAX_COOKIES,
  readCookie,
} from '../../src/core/cookies/parse.js';
import { expectKeycardError, thrown } from './support.js';

const cookies = (count: number, extra = '') =>
  Array.from({ length: count }, (_, i) => `c${i}=${i}`).join('; ') + extra;

describe('limits', () => {
  test(`${MAX_COOKIES} cookies and ${MAX_COOKIE_HEADER_BYTES} bytes, the sizes RFC 6265 and proxies allow`, () => {
    assert.equal(MAX_COOKIES, 50);
    assert.equal(MAX_COOKIE_HEADER_BYTES, 8192);
  });

  test('checkCookieHeader: 50 cookies pass, 51 are invalid_request; empty and blank pieces do not count', () => {
    assert.equal(checkCookieHeader(undefined), undefined);
    assert.equal(checkCookieHeader(''), undefined);
    checkCookieHeader(cookies(MAX_COOKIES));
    checkCookieHeader(`${cookies(MAX_COOKIES)};;; ; \t;`);
    checkCookieHeader(`;${cookies(MAX_COOKIES)};`);
    const error = expectKeycardError(
      thrown(() => checkCookieHeader(cookies(MAX_COOKIES + 1))),
      'invalid_request',
    );
    assert.match(error.message, /more than 50 cookies/);
    // A piece without '=' is still a piece a parser must look at: it counts.
    expectKeycardError(
      thrown(() => checkCookieHeader(`${cookies(MAX_COOKIES)}; flag`)),
      'invalid_request',
    );
    expectKeycardError(
      thrown(() => checkCookieHeader(`${cookies(MAX_COOKIES)};x`)),
      'invalid_request',
    );
  });

  test('readCookie: the same count rule, wherever our cookie is', () => {
    assert.deepEqual(readCookie(cookies(MAX_COOKIES - 1, '; sid=a'), 'sid'), {
      status: 'present',
      value: 'a',
    });
    assert.deepEqual(readCookie(`${cookies(MAX_COOKIES)};;; ;\t;`, 'c0'), { status: 'present', value: '0' });
    assert.deepEqual(readCookie(`sid=a;${' ;'.repeat(100)}`, 'sid'), { status: 'present', value: 'a' });
    for (const header of [
      cookies(MAX_COOKIES, '; sid=a'),
      `sid=a; ${cookies(MAX_COOKIES)}`,
      `${cookies(MAX_COOKIES)}; x`,
    ]) {
      const error = expectKeycardError(
        thrown(() => readCookie(header, 'sid')),
        'invalid_request',
      );
      assert.match(error.message, /more than 50 cookies/);
    }
  });

  test(`both readers: exactly ${MAX_COOKIE_HEADER_BYTES} characters pass, one more is invalid_request`, () => {
    const at = `sid=${'a'.repeat(MAX_COOKIE_HEADER_BYTES - 4)}`;
    assert.equal(at.length, MAX_COOKIE_HEADER_BYTES);
    assert.equal(readCookie(at, 'sid').status, 'present');
    checkCookieHeader(at);
    for (const check of [(h: string) => readCookie(h, 'sid'), checkCookieHeader]) {
      const error = expectKeycardError(
        thrown(() => check(`${at}a`)),
        'invalid_request',
      );
      assert.match(error.message, /longer than 8192 bytes/);
    }
  });
});

describe('pieces without =', () => {
  test('a trailing =-less piece is not a cookie, however its name compares with ours', () => {
    for (const header of [
      'a=1; sidx',
      'a=1; sid',
      'a=1;sid',
      'sid',
      'sidx',
      'a=1; xsid',
      'a=1; sid ',
      'a=1; sid;',
    ]) {
      assert.deepEqual(readCookie(header, 'sid'), { status: 'absent' }, header);
    }
    assert.deepEqual(readCookie('sid=1; sid', 'sid'), { status: 'present', value: '1' }, 'not a duplicate');
    assert.deepEqual(readCookie('sid; sid=1', 'sid'), { status: 'present', value: '1' });
    assert.deepEqual(readCookie('sidx; a; sid=2', 'sid'), { status: 'present', value: '2' });
    assert.deepEqual(readCookie('flag; sid=1; other; sid=2', 'sid'), { status: 'duplicate' });
  });

  test('an = in a later piece is not borrowed by an =-less one', () => {
    assert.deepEqual(readCookie('sid; x=1', 'sid'), { status: 'absent' });
    assert.deepEqual(readCookie('s; id=1', 's'), { status: 'absent' });
    assert.deepEqual(readCookie('a; b; c; sid=v', 'sid'), { status: 'present', value: 'v' });
    assert.deepEqual(readCookie('a=; sid', 'a'), { status: 'present', value: '' });
  });

  test('values keep their inner spaces and lose only surrounding quotes of a quoted value', () => {
    assert.deepEqual(readCookie('sid=" a b "', 'sid'), { status: 'present', value: ' a b ' });
    assert.deepEqual(readCookie('sid="a', 'sid'), { status: 'present', value: '"a' });
    assert.deepEqual(readCookie('sid=a"', 'sid'), { status: 'present', value: 'a"' });
    assert.deepEqual(readCookie('sid=""', 'sid'), { status: 'present', value: '' });
  });
});

describe('one scan', () => {
  /** Runs `fn` counting the characters String.prototype.indexOf examines, the parser's only search. */
  function scanned(fn: () => void): number {
    const original = String.prototype.indexOf;
    let work = 0;
    String.prototype.indexOf = function (this: string, search: string, from = 0) {
      const found = original.call(this, search, from);
      work += (found === -1 ? this.length : found) - Math.min(from, this.length) + 1;
      return found;
    };
    try {
      fn();
    } finally {
      String.prototype.indexOf = original;
    }
    return work;
  }

  const attacks = (length: number) => [
    // Thousands of empty pieces before the only '=': a parser that looks for the next '=' from every
    // piece reads the rest of the header each time.
    `${';'.repeat(length - 5)}sid=1`,
    `${' ;'.repeat((length - 5) / 2)}sid=1`,
    // The most =-less pieces the count limit allows, then blank pieces, then the only '='.
    `${'x;'.repeat(MAX_COOKIES - 1)}${';'.repeat(length - 2 * (MAX_COOKIES - 1) - 5)}sid=1`,
  ];

  test('a header of many =-less pieces costs work linear in its length, not one scan per piece', () => {
    for (const length of [2048, 4096, MAX_COOKIE_HEADER_BYTES - 1]) {
      for (const header of attacks(length)) {
        let result: ReturnType<typeof readCookie> | undefined;
        const work = scanned(() => {
          result = readCookie(header, 'sid');
        });
        assert.deepEqual(result, { status: 'present', value: '1' });
        assert.ok(
          work <= 4 * header.length,
          `${work} characters examined for a ${header.length}-character header`,
        );
      }
    }
  });

  test('a header with no = at all is not searched again for every piece', () => {
    for (const header of [
      ';'.repeat(MAX_COOKIE_HEADER_BYTES),
      `${'x;'.repeat(MAX_COOKIES)}`.slice(0, -1) + ';'.repeat(MAX_COOKIE_HEADER_BYTES - 2 * MAX_COOKIES),
      ' ;'.repeat(MAX_COOKIE_HEADER_BYTES / 2),
    ]) {
      let result: ReturnType<typeof readCookie> | undefined;
      const work = scanned(() => {
        result = readCookie(header, 'sid');
      });
      assert.deepEqual(result, { status: 'absent' });
      assert.ok(
        work <= 4 * header.length,
        `${work} characters examined for a ${header.length}-character header`,
      );
    }
  });

  test('the count limit is enforced in the same single pass', () => {
    const header = `${'x;'.repeat(MAX_COOKIES)}${';'.repeat(4000)}sid=1`;
    let error: unknown;
    const work = scanned(() => {
      error = thrown(() => readCookie(header, 'sid'));
    });
    expectKeycardError(error, 'invalid_request');
    assert.ok(work <= 4 * header.length, `${work} characters examined`);
  });
});
