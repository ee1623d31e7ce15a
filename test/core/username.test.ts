import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isValidRole, normalizeUsername, USERNAME_MAX_LENGTH } from '../../src/core/users/username.js';

function accepted(input: unknown): string {
  const result = normalizeUsername(input);
  assert.ok(result.ok, `expected ${JSON.stringify(input)} to be accepted: ${!result.ok && result.reason}`);
  return result.username;
}

function refused(input: unknown): string {
  const result = normalizeUsername(input);
  assert.ok(
    !result.ok,
    `expected ${JSON.stringify(input)} to be refused, got ${result.ok && result.username}`,
  );
  return result.reason;
}

/** A CJK Extension B ideograph: one code point, two UTF-16 units. */
const ASTRAL_LETTER = '\u{20000}';

describe('normalizeUsername: canonical forms', () => {
  const cases: Array<[string, string, string]> = [
    ['folds case', 'Alice', 'alice'],
    ['maps fullwidth letters (NFKC) and folds them', 'ＡＬＩＣＥ', 'alice'],
    ['maps the Kelvin sign to k', '\u212Aelvin', 'kelvin'],
    ['maps a ligature to its letters', '\uFB01sh', 'fish'],
    ['maps a Roman numeral to letters', '\u2168', 'ix'],
    ['composes a decomposed é', 'e\u0301', '\u00E9'],
    ['keeps a composed é', '\u00E9', '\u00E9'],
    ['lower-cases İ to i with a combining dot (not to plain i)', '\u0130', 'i\u0307'],
    ['keeps combining marks that do not compose', 'a\u0332', 'a\u0332'],
    ['splits a titlecase digraph (NFKC) and lower-cases it', '\u01C5', 'd\u017E'],
    ['keeps the allowed punctuation', 'Alice.Smith+Tag_1-x@example.com', 'alice.smith+tag_1-x@example.com'],
    ['keeps digits from other scripts', '\u0661\u0662', '\u0661\u0662'],
  ];
  for (const [label, input, expected] of cases) {
    test(`${label}: ${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(accepted(input), expected);
    });
  }

  test('makes Alice, alice and ＡＬＩＣＥ the same account', () => {
    assert.equal(accepted('Alice'), accepted('alice'));
    assert.equal(accepted('ＡＬＩＣＥ'), accepted('alice'));
  });

  test('counts the length in code points: 64 accepted, 65 refused', () => {
    assert.equal(accepted('a'.repeat(USERNAME_MAX_LENGTH)), 'a'.repeat(64));
    assert.match(refused('a'.repeat(USERNAME_MAX_LENGTH + 1)), /at most 64 characters/);
    assert.equal(accepted(ASTRAL_LETTER.repeat(64)), ASTRAL_LETTER.repeat(64));
    assert.match(refused(ASTRAL_LETTER.repeat(65)), /at most 64 characters/);
  });

  test('counts the length after normalisation, when NFKC expands the input', () => {
    // U+3392 SQUARE MHZ is one code point that NFKC turns into three letters.
    assert.equal(accepted('\u3392'), 'mhz');
    assert.match(refused('\u3392'.repeat(22)), /at most 64 characters/);
    assert.equal(accepted('\u3392'.repeat(21)), 'mhz'.repeat(21));
  });
});

describe('normalizeUsername: refusals', () => {
  const cases: Array<[string, unknown]> = [
    ['the empty string', ''],
    ['a leading space', ' alice'],
    ['an inner space', 'al ice'],
    ['a no-break space', 'al\u00A0ice'],
    ['a tab', 'alice\t'],
    ['a NUL', 'al\u0000ice'],
    ['a newline', 'alice\nadmin'],
    ['a zero-width joiner (U+200D)', 'al\u200Dice'],
    ['a zero-width space (U+200B)', 'al\u200Bice'],
    ['a bidi override (U+202E)', 'al\u202Eice'],
    ['an emoji', 'alice😀'],
    ['only an emoji', '😀'],
    ['a slash', 'alice/admin'],
    ['a quote', "alice'"],
    ['a lone surrogate', 'al\uD800ice'],
  ];
  for (const [label, input] of cases) {
    test(`refuses ${label}`, () => {
      refused(input);
    });
  }

  test('says why: empty, or which characters are allowed', () => {
    assert.match(refused(''), /must not be empty/);
    assert.match(refused('al ice'), /only letters, digits and \. _ - @ \+/);
  });

  for (const input of [42, null, undefined, {}, ['alice'], Symbol('alice')]) {
    test(`refuses the non-string ${typeof input === 'symbol' ? 'symbol' : JSON.stringify(input)}`, () => {
      assert.match(refused(input), /must be a string/);
    });
  }
});

describe('normalizeUsername: properties', () => {
  const nameLike = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 24 }),
    fc
      .array(
        fc.constantFrom(
          'A',
          'a',
          'İ',
          'ı',
          'ß',
          'ẞ',
          'Σ',
          'ς',
          'e\u0301',
          '\u212A',
          'ＡＢ',
          '\uFB01',
          '\u3392',
          '\u01C5',
          '\u0345',
          '.',
          '@',
        ),
        { minLength: 1, maxLength: 20 },
      )
      .map((parts) => parts.join('')),
  );

  test('is idempotent: normalising a normalised name returns it unchanged', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const first = normalizeUsername(input);
        if (!first.ok) return;
        assert.deepEqual(normalizeUsername(first.username), first);
      }),
      { numRuns: 2000 },
    );
  });

  test('yields names that are NFKC and lower case', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const result = normalizeUsername(input);
        if (!result.ok) return;
        assert.equal(result.username, result.username.normalize('NFKC'));
        assert.equal(result.username, result.username.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isValidRole', () => {
  for (const role of ['user', 'admin', 'support-agent', 'r2_d2', 'a']) {
    test(`accepts ${role}`, () => assert.equal(isValidRole(role), true));
  }
  for (const role of ['', 'Admin', '1admin', 'ad min', 'a'.repeat(33), 'admin\n', 42, null]) {
    test(`refuses ${JSON.stringify(role)}`, () => assert.equal(isValidRole(role), false));
  }
});
