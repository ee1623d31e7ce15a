import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import { normalizeUsername } from '../../src/core/users/username.js';

/** The canonical form of a name that must be accepted. */
function canonical(input: string): string {
  const result = normalizeUsername(input);
  assert.ok(result.ok, `expected ${JSON.stringify(input)} to be accepted: ${!result.ok && result.reason}`);
  return result.username;
}

/** The skeleton as it is meant to be used: of the canonical form. */
const skeletonOf = (input: string): string => usernameSkeleton(canonical(input));

describe('usernameSkeleton: look-alike names share a skeleton (UTS #39 §4)', () => {
  const alike: Array<[string, string, string]> = [
    ['a Cyrillic а (U+0430) for a', 'alice', '\u0430lice'],
    ['a Cyrillic а in the middle', 'paypal', 'p\u0430ypal'],
    ['a capital Cyrillic А, lower-cased first', 'ALICE', '\u0410LICE'],
    ['rn for m', 'm', 'rn'],
    ['rn for m inside a name', 'modern', 'rnodern'],
    ['the digit 1 for l', 'paypal', 'paypa1'],
    ['a Greek ο and a Cyrillic о for o', 'google', 'g\u03BF\u043Egle'],
    ['a Cyrillic і (U+0456) for i', 'admin', 'adm\u0456n'],
    ['Cyrillic е р с ѕ for e p c s', 'epcs', '\u0435\u0440\u0441\u0455'],
    ['a Latin alpha ɑ (U+0251) for a', 'dad', 'd\u0251d'],
    ['U+01C0 LATIN LETTER DENTAL CLICK for l', 'lily', '\u01C0ily'],
    ['an Arabic-Indic five ٥ (U+0665) for o', 'bob', 'b\u0665b'],
    // guards: one pass of the table leaves ҋ as й̦, whose и is itself mapped (see skeleton.ts)
    ['ҋ (U+048B) and й̦, which takes a second pass of the table', '\u048B', '\u0439\u0326'],
  ];
  for (const [label, first, second] of alike) {
    test(`${label}: ${JSON.stringify(first)} ~ ${JSON.stringify(second)}`, () => {
      assert.notEqual(canonical(first), canonical(second), 'two different accounts');
      assert.equal(skeletonOf(first), skeletonOf(second));
    });
  }

  // What confusables.txt does not map, checked rather than assumed: these stay distinct.
  const distinct: Array<[string, string, string]> = [
    ['a different letter', 'alice', 'alicf'],
    [
      'the digit 0 and o: confusables.txt maps 0 to a capital O, which no canonical name has',
      'google',
      'g00gle',
    ],
    ['cl and d (not in confusables.txt)', 'dad', 'clacl'],
    ['vv and w (not in confusables.txt)', 'www', 'vvvvvv'],
    ['an accent', 'cafe', 'café'],
  ];
  for (const [label, first, second] of distinct) {
    test(`keeps apart ${label}: ${JSON.stringify(first)} ≁ ${JSON.stringify(second)}`, () => {
      assert.notEqual(skeletonOf(first), skeletonOf(second));
    });
  }

  test('of the characters of an ASCII name, confusables.txt maps only 0, 1 and m', () => {
    const ascii = 'abcdefghijklmnopqrstuvwxyz0123456789._-@+';
    const mapped = [...ascii].filter((char) => usernameSkeleton(char) !== char);
    assert.deepEqual(mapped, ['m', '0', '1']);
    assert.equal(usernameSkeleton('0'), 'O');
    assert.equal(usernameSkeleton('1'), 'l');
    assert.equal(usernameSkeleton('m'), 'rn');
  });

  test('drops default-ignorable code points, as UTS #39 §4 does (normalizeUsername refuses them anyway)', () => {
    assert.equal(usernameSkeleton('ali\u034Fce'), 'alice');
    assert.equal(usernameSkeleton('ali\u200Bce'), 'alice');
  });
});

describe('usernameSkeleton: properties', () => {
  const letters = [
    'a',
    'm',
    'r',
    'n',
    'l',
    '1',
    '0',
    'o',
    'i',
    'é',
    'e\u0301',
    '\u0430',
    '\u0439',
    '\u0438\u0306',
    '\u048B',
    '\u0326',
    '\u03BF',
    '\u1E9B\u0323',
    'ǆ',
    '\uAC00',
    '\u0665',
    '.',
    '_',
  ];
  const nameLike = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 16 }),
    fc.array(fc.constantFrom(...letters), { minLength: 1, maxLength: 16 }).map((parts) => parts.join('')),
  );

  test('is idempotent on every one-letter name: skeleton(skeleton(x)) = skeleton(x)', () => {
    let checked = 0;
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      const result = normalizeUsername(`a${String.fromCodePoint(codePoint)}`);
      if (!result.ok) continue;
      checked++;
      const skeleton = usernameSkeleton(result.username);
      assert.equal(usernameSkeleton(skeleton), skeleton, `U+${codePoint.toString(16).toUpperCase()}`);
    }
    assert.ok(checked > 100_000, `only ${checked} names checked`);
  });

  test('is idempotent on any string', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const skeleton = usernameSkeleton(input);
        assert.equal(usernameSkeleton(skeleton), skeleton);
      }),
      { numRuns: 2000 },
    );
  });

  test('does not depend on the normalisation form of its input (NFC, NFD, NFKC of the canonical form)', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const skeleton = usernameSkeleton(input);
        assert.equal(usernameSkeleton(input.normalize('NFC')), skeleton);
        assert.equal(usernameSkeleton(input.normalize('NFD')), skeleton);
        const name = normalizeUsername(input);
        if (name.ok)
          assert.equal(usernameSkeleton(name.username.normalize('NFD')), usernameSkeleton(name.username));
      }),
      { numRuns: 2000 },
    );
  });

  test('is in NFD', () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const skeleton = usernameSkeleton(input);
        assert.equal(skeleton, skeleton.normalize('NFD'));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('usernameSkeleton: the table', () => {
  test("is Unicode 17.0.0's confusables.txt, with every mapping line well formed", () => {
    const text = readFileSync(new URL('../../src/core/users/confusables.txt', import.meta.url), 'utf8');
    assert.match(text, /^# Unicode confusables\.txt \(UTS #39\), Version: 17\.0\.0,/);
    const mappings = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    assert.equal(mappings.length, 6565);
    for (const line of mappings) assert.match(line, /^[0-9A-F]{4,6};[0-9A-F]{4,6}( [0-9A-F]{4,6})*$/);
  });
});
