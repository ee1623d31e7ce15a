import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  foldPassword,
  isBlocklisted,
  isOnExtraBlocklist,
  loadBlocklist,
} from '../../src/core/passwords/blocklist.js';
import { BLOCKLIST_SIZE, BLOCKLIST_SOURCE, BLOCKLIST_TEXT } from '../../src/core/passwords/blocklist-data.js';

const PASSWORDS_DIR = new URL('../../src/core/passwords/', import.meta.url);

describe('the shipped blocklist', () => {
  test('holds the 17,950 entries of 8 or more characters of @zxcvbn-ts/language-common 4.1.3', () => {
    assert.equal(BLOCKLIST_SOURCE, '@zxcvbn-ts/language-common 4.1.3');
    assert.equal(BLOCKLIST_SIZE, 17_950);
    assert.equal(loadBlocklist().size, BLOCKLIST_SIZE, 'one entry per line, no duplicates');
    assert.equal(BLOCKLIST_TEXT.split('\n').length, BLOCKLIST_SIZE);
  });

  test('keeps the source order, most common first, and contains well-known leaked passwords', () => {
    assert.deepEqual(BLOCKLIST_TEXT.split('\n', 5), [
      'password',
      '12345678',
      '123456789',
      'baseball',
      'football',
    ]);
    for (const entry of [
      'iloveyou',
      'trustno1',
      'sunshine',
      'qwertyuiop',
      'password1',
      'p@ssw0rd',
      'superman',
    ]) {
      assert.equal(isBlocklisted(entry), true, entry);
    }
    assert.equal(isBlocklisted('tangerine submarine orchestra'), false);
  });

  test('holds only folded entries of at least 8 characters, which the minimum length would not already refuse', () => {
    for (const entry of loadBlocklist()) {
      assert.equal(foldPassword(entry), entry);
      assert.ok([...entry].length >= 8, entry);
    }
  });

  test('is parsed once, on first use, and then shared', () => {
    assert.equal(loadBlocklist(), loadBlocklist());
  });

  test('carries the licence of its source next to it and inside the module, so dist/ keeps the notice', () => {
    const licence = readFileSync(new URL('BLOCKLIST-LICENSE.txt', PASSWORDS_DIR), 'utf8');
    const module = readFileSync(new URL('blocklist-data.ts', PASSWORDS_DIR), 'utf8');
    for (const text of [licence, module]) {
      assert.match(text, /Copyright \(c\) 2012-2016 Dan Wheeler and Dropbox, Inc\./);
      assert.match(text, /Copyright \(c\) 2021 @zxcvbn-ts/);
      assert.match(text, /Permission is hereby granted, free of charge/);
    }
    assert.match(licence, /@zxcvbn-ts\/language-common 4\.1\.3/);
    // The notice must sit in a comment that `tsc` keeps: the leading block comment of the module.
    assert.ok(module.startsWith('/**'));
  });
});

describe('foldPassword', () => {
  test('maps case and compatibility forms to one form', () => {
    assert.equal(foldPassword('Password1'), 'password1');
    assert.equal(foldPassword('ＰＡＳＳＷＯＲＤ１'), 'password1');
    assert.equal(foldPassword('ﬁre'), 'fire');
    assert.equal(foldPassword('Ｓｔｒａßｅ'), 'straße');
    assert.equal(foldPassword('e\u0301'), '\u00e9');
  });
});

describe('isOnExtraBlocklist', () => {
  test('folds the extra entries as passwords are folded', () => {
    const extra = ['Acme Corp', 'ＢＡＬＬＯＯＮ-42'];
    assert.equal(isOnExtraBlocklist(foldPassword('ACME CORP'), extra), true);
    assert.equal(isOnExtraBlocklist(foldPassword('balloon-42'), extra), true);
    assert.equal(isOnExtraBlocklist(foldPassword('acme corp!'), extra), false);
    assert.equal(isOnExtraBlocklist(foldPassword('acme corp'), []), false);
  });
});
