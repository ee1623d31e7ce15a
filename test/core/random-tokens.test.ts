import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  constantTimeEqual,
  generateId,
  generateToken,
  hashToken,
  isWellFormedToken,
  TOKEN_LENGTH,
} from '../../src/core/random-tokens.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('generateToken', () => {
  test('always yields a well-formed 43-character token that encodes 32 bytes', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const token = generateToken();
        assert.equal(token.length, TOKEN_LENGTH);
        assert.equal(TOKEN_LENGTH, 43);
        assert.ok(isWellFormedToken(token), token);
        const bytes = Buffer.from(token, 'base64url');
        assert.equal(bytes.length, 32);
        assert.equal(bytes.toString('base64url'), token);
      }),
      { numRuns: 500 },
    );
  });

  test('never repeats a token', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    assert.equal(tokens.size, 1000);
  });
});

describe('isWellFormedToken', () => {
  const token = Buffer.alloc(32, 7).toString('base64url');

  test('accepts the canonical encoding of any 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.ok(isWellFormedToken(Buffer.from(bytes).toString('base64url')));
      }),
    );
  });

  test('accepts exactly the 43-character strings that are canonical base64url of 32 bytes', () => {
    const alphabetString = fc
      .array(fc.constantFrom(...BASE64URL), { minLength: 43, maxLength: 43 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(alphabetString, (candidate) => {
        const canonical = Buffer.from(candidate, 'base64url').toString('base64url') === candidate;
        assert.equal(isWellFormedToken(candidate), canonical);
      }),
      { numRuns: 1000 },
    );
  });

  const refused: Array<[string, string]> = [
    ['the empty string', ''],
    ['a 42-character prefix', token.slice(0, 42)],
    ['a 44-character string', `${token}A`],
    ['a padded encoding', `${token}=`],
    ['a standard-base64 +', `+${token.slice(1)}`],
    ['a standard-base64 /', `/${token.slice(1)}`],
    ['a space', ` ${token.slice(1)}`],
    ['a non-ASCII character', `é${token.slice(1)}`],
    ['a non-canonical last character (padding bits set)', `${token.slice(0, 42)}B`],
    ['a non-canonical last character _', `${token.slice(0, 42)}_`],
    ['a token followed by a newline', `${token.slice(0, 42)}\n`],
  ];
  for (const [label, value] of refused) {
    test(`rejects ${label}`, () => {
      assert.equal(isWellFormedToken(value), false);
    });
  }

  test('accepts the fixture the refusals above are derived from', () => {
    assert.equal(isWellFormedToken(token), true);
  });
});

describe('hashToken', () => {
  test('is SHA-256 of the token, base64url, as node:crypto computes it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (value) => {
        assert.equal(hashToken(value), createHash('sha256').update(value).digest('base64url'));
      }),
    );
    const token = generateToken();
    assert.equal(hashToken(token), createHash('sha256').update(token, 'utf8').digest('base64url'));
  });

  test('is deterministic and differs from the token itself', () => {
    const token = generateToken();
    assert.equal(hashToken(token), hashToken(token));
    assert.notEqual(hashToken(token), token);
    assert.notEqual(hashToken(token), hashToken(generateToken()));
    assert.equal(hashToken('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('constantTimeEqual', () => {
  const cases: Array<[string, string, boolean]> = [
    ['abc', 'abc', true],
    ['', '', true],
    ['abc', 'abd', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['é', 'è', false],
    ['é', 'e\u0301', false],
  ];
  for (const [a, b, expected] of cases) {
    test(`${JSON.stringify(a)} vs ${JSON.stringify(b)} is ${expected}`, () => {
      assert.equal(constantTimeEqual(a, b), expected);
    });
  }

  test('agrees with === on any pair of strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(constantTimeEqual(a, b), a === b);
        assert.equal(constantTimeEqual(a, a), true);
      }),
    );
  });
});

describe('generateId', () => {
  test('yields 128-bit base64url identifiers that do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, generateId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.equal(Buffer.from(id, 'base64url').length, 16);
  });
});
