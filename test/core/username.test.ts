import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  isValidRole,
  lookupUsername,
  normalizeUsername,
  USERNAME_MAX_LENGTH,
} from '../../src/core/users/username.js';

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
    ['composes conjoining Hangul jamo into their syllable', '\u1100\u1161', '\uAC00'],
    ['keeps U+3007 IDEOGRAPHIC NUMBER ZERO (PVALID by RFC 5892 §2.6)', '\u3007', '\u3007'],
    ['keeps a spacing mark after its letter', '\u0915\u093E', '\u0915\u093E'],
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

/** `U+034F`, as the messages name a character. */
const label = (codePoint: number): string => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/** `alice` with `char` inside, as an attacker would register a twin of alice. */
const twin = (char: string): string => `ali${char}ce`;

describe('normalizeUsername: invisible characters (RFC 8264 §9.13, RFC 8265 §3.4)', () => {
  // guards: the nine invisible characters that a letters-and-marks pattern let through (issue 12, point 8)
  const INVISIBLE: Array<[number, string]> = [
    [0x034f, 'COMBINING GRAPHEME JOINER'],
    [0xfe00, 'VARIATION SELECTOR-1'],
    [0xfe0f, 'VARIATION SELECTOR-16'],
    [0xe0100, 'VARIATION SELECTOR-17'],
    [0x3164, 'HANGUL FILLER'],
    [0x115f, 'HANGUL CHOSEONG FILLER'],
    [0x17b4, 'KHMER VOWEL INHERENT AQ'],
    [0x17b5, 'KHMER VOWEL INHERENT AA'],
    [0x180b, 'MONGOLIAN FREE VARIATION SELECTOR ONE'],
  ];
  for (const [codePoint, name] of INVISIBLE) {
    test(`refuses ${label(codePoint)} ${name} inside alice, naming it and saying why`, () => {
      const char = String.fromCodePoint(codePoint);
      const reason = refused(twin(char));
      assert.ok(reason.includes(label(codePoint)), reason);
      assert.match(reason, /invisible/);
      assert.ok(!reason.includes(char), 'the message never contains the invisible character itself');
    });
  }

  test('refuses every Default_Ignorable_Code_Point, anywhere in the name, by its U+ number', () => {
    const ignorable = /^\p{Default_Ignorable_Code_Point}$/u;
    let checked = 0;
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
      const char = String.fromCodePoint(codePoint);
      if (!ignorable.test(char)) continue;
      checked++;
      for (const input of [twin(char), `${char}alice`, `alice${char}`]) {
        const reason = refused(input);
        assert.ok(reason.includes(label(codePoint)), `${label(codePoint)}: ${reason}`);
        assert.ok(!reason.includes(char), `${label(codePoint)}: the message contains the character`);
      }
    }
    // Unicode 17 has 4,174; a runtime with another Unicode version has about as many.
    assert.ok(checked > 4000, `only ${checked} default-ignorable code points found`);
  });

  test('names the Hangul fillers as such, as typed (U+3164 and U+FFA0 become U+1160 under NFKC)', () => {
    for (const codePoint of [0x115f, 0x1160, 0x3164, 0xffa0]) {
      const reason = refused(twin(String.fromCodePoint(codePoint)));
      assert.ok(reason.includes(`${label(codePoint)}, a Hangul filler`), reason);
    }
    assert.ok(refused('\u3164').includes('U+3164'), 'a name that is only a filler');
  });
});

describe('normalizeUsername: what else IdentifierClass disallows (RFC 8264 §9, RFC 5892)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a conjoining jamo left alone (U+1100)', '\u1100', /U\+1100, a Hangul jamo/],
    [
      'a compatibility jamo, which NFKC turns into a conjoining one (U+3131)',
      '\u3131',
      /U\+1100, a Hangul jamo/,
    ],
    ['a trailing conjoining jamo after a syllable', '\uAC00\u11FF', /U\+11FF, a Hangul jamo/],
    ['U+0640 ARABIC TATWEEL, which stretches letters', '\u0645\u062D\u0640\u0645\u062F', /U\+0640, a mark/],
    ['U+07FA NKO LAJANYAN', '\u07CA\u07FA\u07CB', /U\+07FA, a mark/],
    ['U+302E HANGUL SINGLE DOT TONE MARK', '\uAC00\u302E', /U\+302E, a mark/],
    ['U+3031 VERTICAL KANA REPEAT MARK', '\u3042\u3031', /U\+3031, a mark/],
    ['U+303B VERTICAL IDEOGRAPHIC ITERATION MARK', '\u4EBA\u303B', /U\+303B, a mark/],
    ['an enclosing mark (U+20DD COMBINING ENCLOSING CIRCLE)', 'a\u20DD', /U\+20DD \(an enclosing mark\)/],
    ['a number that is not a digit (U+0F2A TIBETAN DIGIT HALF ONE)', 'a\u0F2A', /U\+0F2A \(a number/],
    ['a letter number (U+16EE RUNIC ARLAUG SYMBOL)', 'a\u16EE', /U\+16EE \(a number/],
    ['a combining mark first (U+0301)', '\u0301alice', /must not start with U\+0301, a combining mark/],
    ['a spacing mark first (U+093E)', '\u093E\u0915', /must not start with U\+093E/],
    ['Arabic-Indic and Extended Arabic-Indic digits together', '\u0661\u06F1', /must not mix Arabic-Indic/],
  ];
  for (const [name, input, reason] of cases) {
    test(`refuses ${name}`, () => {
      assert.match(refused(input), reason);
    });
  }

  test('names the character that is not allowed and what kind it is', () => {
    assert.match(refused('al ice'), /only letters, digits and \. _ - @ \+, not U\+0020 \(a space\)/);
    assert.match(refused('alice😀'), /not U\+1F600 \(a symbol\)/);
    assert.match(refused('alice/admin'), /not U\+002F \(punctuation\)/);
    assert.match(refused('al\u0000ice'), /not U\+0000 \(a control character\)/);
    assert.match(refused('al\uD800ice'), /not U\+D800 \(half of a surrogate pair\)/);
    assert.match(refused('al\uE000ice'), /not U\+E000 \(a private-use character\)/);
  });

  test('accepts only IdentifierClass letters and digits, . _ - @ +, and U+3007', () => {
    // RFC 8264 §9.1 LetterDigits (Ll Lu Lo Lm Mn Mc Nd), after a letter so a mark is not first.
    const letterDigits = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}._@+\-\u3007]+$/u;
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      const result = normalizeUsername(`a${String.fromCodePoint(codePoint)}`);
      if (result.ok) assert.match(result.username, letterDigits, label(codePoint));
    }
  });
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
          '\u034F',
          '\u3164',
          '\uFE0F',
          '\u0301',
          '\u0640',
          '\u1100',
          '\u1161',
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

  test('yields names without an invisible character, whatever the input', () => {
    const invisible = /[\p{Default_Ignorable_Code_Point}\u115F\u1160\u3164\uFFA0]/u;
    fc.assert(
      fc.property(fc.oneof(nameLike, fc.string({ unit: 'binary', maxLength: 24 })), (input) => {
        const result = normalizeUsername(input);
        if (result.ok) assert.doesNotMatch(result.username, invisible);
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

describe('lookupUsername: accounts created under the earlier rules can still sign in', () => {
  test('a valid name looks up its canonical form', () => {
    assert.equal(lookupUsername('ALICE'), 'alice');
  });
  test('a name the earlier rules stored (now refused for new users) is found as it was stored', () => {
    // U+034F was let through before RFC 8265's rules: such an account exists in old databases.
    assert.equal(normalizeUsername('ali\u034fce').ok, false);
    assert.equal(lookupUsername('ALI\u034fCE'), 'ali\u034fce');
  });
  test('what no version ever accepted finds nothing', () => {
    for (const input of ['', 'has space', 'a/b', 42, null, 'x'.repeat(300)])
      assert.equal(lookupUsername(input), null);
  });
});
