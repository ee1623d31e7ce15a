import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkNewPassword,
  DEFAULT_PASSWORD_POLICY,
  type PasswordPolicy,
  resolvePasswordPolicy,
} from '../../src/core/passwords/policy.js';
import { expectKeycardError, thrown } from './support.js';

const policy = resolvePasswordPolicy();

describe('checkNewPassword', () => {
  test('uses a minimum of 8 and a maximum of 1024 characters by default', () => {
    assert.deepEqual(policy, { minLength: 8, maxLength: 1024 });
    assert.deepEqual({ ...DEFAULT_PASSWORD_POLICY }, policy);
  });

  test('refuses 7 characters and accepts 8', () => {
    assert.equal(checkNewPassword('1234567', policy), 'password must be at least 8 characters');
    assert.equal(checkNewPassword('12345678', policy), null);
  });

  test('allows 64 characters and more, with no composition rules', () => {
    assert.equal(checkNewPassword('a'.repeat(64), policy), null);
    assert.equal(checkNewPassword('a'.repeat(1024), policy), null);
    assert.equal(checkNewPassword('aaaaaaaa', policy), null);
  });

  test('refuses one character over the maximum', () => {
    assert.equal(checkNewPassword('a'.repeat(1025), policy), 'password must be at most 1024 characters');
  });

  test('counts an emoji as one character', () => {
    assert.match(checkNewPassword('😀'.repeat(7), policy) ?? '', /at least 8/);
    assert.equal(checkNewPassword('😀'.repeat(8), policy), null);
    const tight: PasswordPolicy = { minLength: 8, maxLength: 64 };
    assert.equal(checkNewPassword('😀'.repeat(64), tight), null);
    assert.match(checkNewPassword('😀'.repeat(65), tight) ?? '', /at most 64/);
  });

  test('counts characters after NFKC normalisation', () => {
    // Seven decomposed é are fourteen code points as typed, seven after NFKC.
    assert.match(checkNewPassword('e\u0301'.repeat(7), policy) ?? '', /at least 8/);
    assert.equal(checkNewPassword('e\u0301'.repeat(8), policy), null);
  });

  test('refuses a password that is not a string', () => {
    for (const value of [undefined, null, 12345678, ['password'], { length: 8 }]) {
      assert.equal(checkNewPassword(value, policy), 'password must be a string');
    }
  });

  test('applies a configured minimum', () => {
    const strict = resolvePasswordPolicy({ minLength: 12 });
    assert.match(checkNewPassword('a'.repeat(11), strict) ?? '', /at least 12/);
    assert.equal(checkNewPassword('a'.repeat(12), strict), null);
  });
});

describe('resolvePasswordPolicy', () => {
  test('keeps defaults for what is not given', () => {
    assert.deepEqual(resolvePasswordPolicy({ minLength: 12 }), { minLength: 12, maxLength: 1024 });
    assert.deepEqual(resolvePasswordPolicy({ maxLength: 64 }), { minLength: 8, maxLength: 64 });
  });

  const refusals: Array<[string, Partial<PasswordPolicy>, RegExp]> = [
    ['a minimum under 8', { minLength: 7 }, /minLength must be a whole number of at least 8/],
    ['a fractional minimum', { minLength: 8.5 }, /minLength must be a whole number/],
    ['a NaN minimum', { minLength: Number.NaN }, /minLength/],
    ['a maximum under 64', { maxLength: 63 }, /maxLength must be from 64/],
    ['a maximum over 2048', { maxLength: 2049 }, /maxLength must be from 64 .* to 2048/],
    ['a fractional maximum', { maxLength: 100.5 }, /maxLength/],
    ['a maximum under the minimum', { minLength: 100, maxLength: 80 }, /at least minLength/],
  ];
  for (const [label, input, message] of refusals) {
    test(`refuses ${label}`, () => {
      const error = expectKeycardError(
        thrown(() => resolvePasswordPolicy(input)),
        'invalid_configuration',
      );
      assert.match(error.message, message);
      assert.match(error.message, /^passwords\./);
    });
  }
});
