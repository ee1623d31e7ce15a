/**
 * Canonical base64url (RFC 4648 §5 unpadded, RFC 7515 §2): exactly one spelling per byte string. Checked
 * exhaustively over the last character for every remainder, against Node's own encoder as the oracle —
 * a string is canonical when decoding and re-encoding gives it back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeBase64url, encodeBase64url, isCanonicalBase64url } from '../../../src/core/jwt/base64url.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const roundTrips = (value: string) => Buffer.from(value, 'base64url').toString('base64url') === value;

describe('isCanonicalBase64url', () => {
  test('length ≡ 2 (mod 4): one byte in the last two characters, the last one’s 4 low bits unused', () => {
    for (const prefix of ['', 'AAAA', 'eyJh']) {
      const accepted: string[] = [];
      for (const last of ALPHABET) {
        const value = `${prefix}Q${last}`;
        assert.equal(isCanonicalBase64url(value), roundTrips(value), value);
        if (isCanonicalBase64url(value)) accepted.push(last);
      }
      // Each of the 4 unused bits matters: only the characters whose index is a multiple of 16.
      assert.deepEqual(accepted, ['A', 'Q', 'g', 'w'], prefix);
    }
  });

  test('length ≡ 3 (mod 4): two bytes, the last character’s 2 low bits unused (an HS256 signature is 43 characters)', () => {
    for (const prefix of ['', 'AAAA']) {
      const accepted: string[] = [];
      for (const last of ALPHABET) {
        const value = `${prefix}QU${last}`;
        assert.equal(isCanonicalBase64url(value), roundTrips(value), value);
        if (isCanonicalBase64url(value)) accepted.push(last);
      }
      assert.deepEqual(accepted.join(''), 'AEIMQUYcgkosw048', prefix);
    }
    const mac = Buffer.alloc(32, 0xa5).toString('base64url');
    assert.equal(mac.length, 43);
    assert.equal(isCanonicalBase64url(mac), true);
    const last = ALPHABET.indexOf(mac[42] as string);
    for (const bit of [1, 2]) {
      const sibling = `${mac.slice(0, 42)}${ALPHABET[last ^ bit]}`;
      assert.deepEqual(Buffer.from(sibling, 'base64url'), Buffer.from(mac, 'base64url'), 'decodes the same');
      assert.equal(isCanonicalBase64url(sibling), false, `a second spelling with bit ${bit} set`);
    }
  });

  test('length ≡ 0 (mod 4): every character of the alphabet ends a canonical string', () => {
    for (const last of ALPHABET) assert.equal(isCanonicalBase64url(`AAA${last}`), true, last);
    assert.equal(isCanonicalBase64url(''), true, 'the empty string encodes no bytes');
  });

  test('length ≡ 1 (mod 4) is never base64url, whatever the characters', () => {
    for (const value of ['A', 'AAAAA', 'QUJDR', 'AAAAAAAAA', '-', '_____']) {
      assert.equal(isCanonicalBase64url(value), false, value);
      assert.equal(decodeBase64url(value), null, value);
    }
  });

  test('only the URL-safe alphabet: no padding, +, /, whitespace or other characters anywhere', () => {
    for (const value of [
      'QQ==',
      'QQ=',
      'A+AA',
      'A/AA',
      'AA A',
      ' AAAA',
      'AAAA\n',
      'AAÄA',
      'AA.A',
      'AA\u0000A',
    ]) {
      assert.equal(isCanonicalBase64url(value), false, JSON.stringify(value));
    }
  });
});

describe('decodeBase64url and encodeBase64url', () => {
  test('decoding gives the bytes for a canonical string and null for anything else', () => {
    assert.deepEqual(decodeBase64url('AQID_-8'), Buffer.from([1, 2, 3, 255, 239]));
    assert.deepEqual(decodeBase64url(''), Buffer.alloc(0));
    assert.equal(decodeBase64url('AQID_-9'), null, 'stray bits');
    assert.equal(decodeBase64url('AQID/+8'), null, 'base64, not base64url');
  });

  test('encoding takes bytes or UTF-8 text, unpadded and URL-safe', () => {
    assert.equal(encodeBase64url(Buffer.from([1, 2, 3, 255, 239])), 'AQID_-8');
    assert.equal(encodeBase64url('é?>'), 'w6k_Pg');
    assert.equal(encodeBase64url(''), '');
  });
});
