import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  checkNewPassword,
  DEFAULT_PASSWORD_POLICY,
  type PasswordPolicy,
  resolvePasswordPolicy,
} from '../../src/core/passwords/policy.js';
import { expectKeycardError, thrown } from './support.js';

const policy = resolvePasswordPolicy();

const TOO_COMMON = 'password is too common: it appears in lists of leaked passwords';
const ON_EXTRA_LIST = "password is on this service's list of refused passwords";
const NEAR_USERNAME = 'password is too close to your username';
const NEAR_SERVICE = 'password is too close to the name of this service';
const REPEATED = 'password must not be a character or short pattern repeated';
const SEQUENCE = 'password must not be a run of consecutive characters';

/** `length` characters with no pattern: base64url digits of successive SHA-256 hashes. */
function randomLooking(length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) {
    text += createHash('sha256').update(`keycard test ${i}`).digest('base64url');
  }
  return text.slice(0, length);
}

/** `count` distinct emoji seven code points apart: neither repeated nor a run. */
function distinctEmoji(count: number): string {
  return Array.from({ length: count }, (_, i) => String.fromCodePoint(0x1f600 + ((i * 7) % 80))).join('');
}

describe('checkNewPassword: length', () => {
  test('uses a minimum of 8 and a maximum of 1024 characters by default, with the blocklist on', () => {
    assert.deepEqual(policy, { minLength: 8, maxLength: 1024 });
    assert.deepEqual({ ...DEFAULT_PASSWORD_POLICY }, policy);
    assert.equal(checkNewPassword('Password1', policy), TOO_COMMON);
  });

  test('refuses 7 characters and accepts 8', () => {
    assert.equal(checkNewPassword('tq7#mzp', policy), 'password must be at least 8 characters');
    assert.equal(checkNewPassword('tq7#mzp2', policy), null);
  });

  test('allows 64 and 1024 characters, with no composition rules', () => {
    assert.equal(checkNewPassword(randomLooking(64), policy), null);
    assert.equal(checkNewPassword(randomLooking(1024), policy), null);
    // Lower-case letters only: no rule asks for a digit, a capital or a symbol.
    assert.equal(checkNewPassword('tangerine submarine orchestra', policy), null);
  });

  test('refuses one character over the maximum', () => {
    assert.equal(checkNewPassword(randomLooking(1025), policy), 'password must be at most 1024 characters');
  });

  test('counts an emoji as one character', () => {
    assert.match(checkNewPassword(distinctEmoji(7), policy) ?? '', /at least 8/);
    assert.equal(checkNewPassword(distinctEmoji(8), policy), null);
    const tight: PasswordPolicy = { minLength: 8, maxLength: 64 };
    assert.equal(checkNewPassword(distinctEmoji(64), tight), null);
    assert.match(checkNewPassword(distinctEmoji(65), tight) ?? '', /at most 64/);
  });

  test('counts characters after NFKC normalisation', () => {
    // Seven letters with a combining acute accent are fourteen code points as typed, seven after NFKC.
    const accented = (letters: string) => Array.from(letters, (letter) => `${letter}\u0301`).join('');
    assert.match(checkNewPassword(accented('aeiouyc'), policy) ?? '', /at least 8/);
    assert.equal(checkNewPassword(accented('aeiouycn'), policy), null);
  });

  test('refuses a password that is not a string', () => {
    for (const value of [undefined, null, 12345678, ['password'], { length: 8 }]) {
      assert.equal(checkNewPassword(value, policy), 'password must be a string');
    }
  });

  test('applies a configured minimum', () => {
    const strict = resolvePasswordPolicy({ minLength: 12 });
    assert.match(checkNewPassword('tangerine-o', strict) ?? '', /at least 12/);
    assert.equal(checkNewPassword('tangerine-ox', strict), null);
  });
});

describe('checkNewPassword: the shipped blocklist', () => {
  const common = [
    'password',
    'Password1',
    'PASSWORD1',
    'ＰＡＳＳＷＯＲＤ',
    'Ｐａｓｓｗｏｒｄ１',
    'iloveyou',
    'Trustno1',
    'p@ssw0rd',
    'Qwerty123',
    '1q2w3e4r5t',
  ];
  for (const password of common) {
    test(`refuses ${password} as too common, in any case and width`, () => {
      assert.equal(checkNewPassword(password, policy), TOO_COMMON);
    });
  }

  test('accepts long passphrases and Unicode ones', () => {
    for (const password of [
      'tangerine submarine orchestra velvet',
      'correct horse battery staple',
      'mot de passe très sûr',
      'パスワードはとても長い',
      'Пароль — это длинная фраза',
      '🍋🚲🎻🌋🦉📎🧭🪁',
    ]) {
      assert.equal(checkNewPassword(password, policy), null, password);
    }
  });

  test('compares whole passwords: a common password with more added is not refused', () => {
    // guards: the documented choice of exact matching after folding, not substring or stem matching.
    assert.equal(checkNewPassword('letmein1', policy), TOO_COMMON);
    assert.equal(checkNewPassword('letmein!', policy), null);
    assert.equal(checkNewPassword('password tangerine', policy), null);
  });

  test('blocklist: false accepts them, and also turns off the username, pattern and sequence rules', () => {
    const off = resolvePasswordPolicy({ blocklist: false });
    assert.deepEqual(off, { minLength: 8, maxLength: 1024, blocklist: false });
    for (const password of [
      'Password1',
      'ＰＡＳＳＷＯＲＤ',
      'aaaaaaaa',
      'abcdefgh',
      'Keycard2024',
      'wintermoth1',
    ]) {
      assert.equal(checkNewPassword(password, off, { username: 'wintermoth' }), null, password);
    }
    assert.match(checkNewPassword('short', off) ?? '', /at least 8/);
  });
});

describe('checkNewPassword: extraBlocklist', () => {
  const extra = resolvePasswordPolicy({ extraBlocklist: ['Acme Corp 2024', 'ＳＥＣＲＥＴ-ＢＡＬＬＯＯＮ'] });

  test('refuses its entries after the same folding as the shipped list', () => {
    for (const password of [
      'Acme Corp 2024',
      'acme corp 2024',
      'ＡＣＭＥ ＣＯＲＰ ２０２４',
      'secret-balloon',
    ]) {
      assert.equal(checkNewPassword(password, extra), ON_EXTRA_LIST, password);
    }
    assert.equal(checkNewPassword('acme corp 2025', extra), null);
    assert.equal(checkNewPassword('Password1', extra), TOO_COMMON);
  });

  test('still applies when the shipped list is turned off', () => {
    const only = resolvePasswordPolicy({ blocklist: false, extraBlocklist: ['tangerine-ox'] });
    assert.equal(checkNewPassword('TANGERINE-OX', only), ON_EXTRA_LIST);
    assert.equal(checkNewPassword('Password1', only), null);
  });

  test('keeps a frozen copy, so changing the array given has no effect', () => {
    const entries = ['tangerine-ox'];
    const resolved = resolvePasswordPolicy({ extraBlocklist: entries });
    entries.push('submarine-ox');
    assert.ok(Object.isFrozen(resolved.extraBlocklist));
    assert.deepEqual(resolved.extraBlocklist, ['tangerine-ox']);
    assert.equal(checkNewPassword('submarine-ox', resolved), null);
  });
});

describe('checkNewPassword: context-specific words', () => {
  test('refuses the username, or the username with too little added, in any case and width', () => {
    for (const password of [
      'wintermoth',
      'Wintermoth1',
      'WINTERMOTH2024!',
      'ｗｉｎｔｅｒｍｏｔｈ!',
      'xwintermothx',
    ]) {
      assert.equal(checkNewPassword(password, policy, { username: 'wintermoth' }), NEAR_USERNAME, password);
      // The same password without the context is accepted: the refusal comes from the username.
      assert.equal(checkNewPassword(password, policy), null, password);
    }
  });

  test('accepts a password that contains the username and enough besides', () => {
    assert.equal(
      checkNewPassword('wintermoth rides a purple tandem', policy, { username: 'wintermoth' }),
      null,
    );
    // A short username does not forbid its letters.
    assert.equal(checkNewPassword('almond pastel', policy, { username: 'al' }), null);
  });

  test('refuses passwords built on the service name, keycard', () => {
    for (const password of ['Keycard2024', 'KEYCARD!!', 'ｋｅｙｃａｒｄ-42']) {
      assert.equal(checkNewPassword(password, policy), NEAR_SERVICE, password);
    }
    assert.equal(checkNewPassword('my keycard opens the blue door', policy), null);
  });
});

describe('checkNewPassword: repetitive and sequential characters', () => {
  for (const password of [
    'aaaaaaaa',
    'ZZZZZZZZZZZZ',
    '........',
    '😀😀😀😀😀😀😀😀',
    'abcabcabcabc',
    'xyzxyzxyz',
    '19641964',
  ]) {
    test(`refuses ${password} as a short pattern repeated`, () => {
      assert.equal(checkNewPassword(password, policy), REPEATED);
    });
  }

  test('accepts a repeated block that is itself long enough, and refuses it under a longer minimum', () => {
    assert.equal(checkNewPassword('tangerinetangerine', policy), null);
    assert.equal(checkNewPassword('tangerinetangerine', resolvePasswordPolicy({ minLength: 12 })), REPEATED);
  });

  for (const password of [
    'abcdefgh',
    'ABCDEFGHIJ',
    'zyxwvuts',
    '0123456789',
    '9876543210',
    'αβγδεζηθ',
    'ghijklmnop',
  ]) {
    test(`refuses ${password} as a run of consecutive characters`, () => {
      assert.equal(checkNewPassword(password, policy), SEQUENCE);
    });
  }

  for (const password of ['wertyuio', 'sdfghjkl', 'lkjhgfdsa', 'poiuytrewq']) {
    test(`refuses ${password} as a run along a keyboard row`, () => {
      assert.equal(checkNewPassword(password, policy), SEQUENCE);
    });
  }
});

describe('checkNewPassword: reasons', () => {
  test('never contain the password nor the username', () => {
    // ('password' itself is left out: every reason starts with the word.)
    const cases: Array<[string, string | undefined]> = [
      ['Password1', undefined],
      ['ＴＲＵＳＴＮＯ１', undefined],
      ['Wintermoth1', 'wintermoth'],
      ['Keycard2024', undefined],
      ['19641964', undefined],
      ['abcdefgh', undefined],
    ];
    for (const [password, username] of cases) {
      const reason =
        checkNewPassword(password, policy, { username }) ?? assert.fail(`${password} was accepted`);
      for (const secret of [
        password,
        password.toLowerCase(),
        password.normalize('NFKC').toLowerCase(),
        username,
      ]) {
        if (secret) assert.equal(reason.includes(secret), false, `${reason} contains ${secret}`);
      }
    }
  });

  test('come from a closed set that depends on the policy only, for any password and username', () => {
    const strict = resolvePasswordPolicy({ minLength: 10, maxLength: 64, extraBlocklist: ['tangerine-ox'] });
    const allowed = new Set([
      'password must be a string',
      'password must be at least 10 characters',
      'password must be at most 64 characters',
      TOO_COMMON,
      ON_EXTRA_LIST,
      NEAR_USERNAME,
      NEAR_SERVICE,
      REPEATED,
      SEQUENCE,
      null,
    ]);
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.string({ maxLength: 12 }),
        (password, username) => {
          assert.ok(allowed.has(checkNewPassword(password, strict, { username })));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('resolvePasswordPolicy', () => {
  test('keeps defaults for what is not given', () => {
    assert.deepEqual(resolvePasswordPolicy({ minLength: 12 }), { minLength: 12, maxLength: 1024 });
    assert.deepEqual(resolvePasswordPolicy({ maxLength: 64 }), { minLength: 8, maxLength: 64 });
    assert.deepEqual(resolvePasswordPolicy({ blocklist: true, extraBlocklist: ['acme'] }), {
      minLength: 8,
      maxLength: 1024,
      blocklist: true,
      extraBlocklist: ['acme'],
    });
  });

  const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a minimum under 8', { minLength: 7 }, /minLength must be a whole number of at least 8/],
    ['a fractional minimum', { minLength: 8.5 }, /minLength must be a whole number/],
    ['a NaN minimum', { minLength: Number.NaN }, /minLength/],
    ['a maximum under 64', { maxLength: 63 }, /maxLength must be from 64/],
    ['a maximum over 2048', { maxLength: 2049 }, /maxLength must be from 64 .* to 2048/],
    ['a fractional maximum', { maxLength: 100.5 }, /maxLength/],
    ['a maximum under the minimum', { minLength: 100, maxLength: 80 }, /at least minLength/],
    ['a blocklist flag that is not a boolean', { blocklist: 'no' }, /blocklist must be true .* or false/],
    ['an extraBlocklist that is a string', { extraBlocklist: 'acme' }, /extraBlocklist must be a list/],
    ['an extraBlocklist with an empty entry', { extraBlocklist: ['acme', ''] }, /non-empty strings/],
    ['an extraBlocklist with a number', { extraBlocklist: [12345678] }, /non-empty strings/],
  ];
  for (const [label, input, message] of refusals) {
    test(`refuses ${label}`, () => {
      const error = expectKeycardError(
        thrown(() => resolvePasswordPolicy(input as Partial<PasswordPolicy>)),
        'invalid_configuration',
      );
      assert.match(error.message, message);
      assert.match(error.message, /^passwords\./);
    });
  }
});
