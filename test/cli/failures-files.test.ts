/**
 * No CLI path prints a stack trace (3 of 3: files and directories). The commands that read or write key
 * files, stores and audit logs run as real processes against a corrupt key file and a directory that
 * cannot be written. Each must fail with a non-zero exit and one line on stderr — no stack trace
 * anywhere, and never the contents of a key file. (test/cli/usage-errors.test.ts: usage;
 * test/cli/failures.test.ts: stores and config files.)
 *
 * guards: issue 13 — "No CLI path prints a stack trace, ever."
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkFailures, type FailureCase, type RunOptions, tempDir } from './helpers.js';

const SECRET = 'Sup3rSecretPw';
const PASSWORD = 'correct horse battery';

const check = (cases: FailureCase[]) => checkFailures(cases, [SECRET, PASSWORD]);

test('a corrupt key file fails in one line that never quotes it', async (t) => {
  const dir = tempDir(t);
  const files: [string, string][] = [
    ['cut short', `{"version": 1, "secrets": ["${SECRET}`],
    ['not JSON', `secrets: ${SECRET}\n`],
    ['the wrong shape', `{"version": 1, "secrets": "${SECRET}", "signingKeys": []}`],
    [
      'a broken signing key',
      `{"version": 1, "secrets": ["${'a'.repeat(43)}"], "signingKeys": [{"kid": "k1", "alg": "EdDSA", "privateKey": "${SECRET}"}]}`,
    ],
    ['empty', ''],
  ];
  const cases: FailureCase[] = [];
  for (const [name, contents] of files) {
    const path = join(dir, `${name.replaceAll(' ', '-')}.json`);
    writeFileSync(path, contents);
    // Every reader of the key file meets two of them; keys list meets them all.
    const readers = [
      ['keys', 'list', '--keys', path],
      ['keys', 'rotate', '--keys', path],
      ['token', 'inspect', '-', '--keys', path],
      ['serve', '--port', '0', '--store', 'memory:', '--strategy', 'jwt', '--keys', path],
    ];
    for (const args of name === 'cut short' || name === 'a broken signing key'
      ? readers
      : readers.slice(0, 1)) {
      cases.push({
        label: `${args.slice(0, 2).join(' ')} with a key file ${name}`,
        args,
        options: { cwd: dir, stdin: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' },
        expect: /key file|keys/i,
        secrets: name === 'empty' ? [] : [SECRET, 'a'.repeat(43)],
      });
    }
  }
  await check(cases);
});

test('a directory that cannot be written: one line, and nothing half-made', async (t) => {
  const dir = tempDir(t);
  const locked = join(dir, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  chmodSync(dir, 0o755);
  // root writes anywhere; the CLI then runs as nobody, as an operator without the rights would.
  const asUser: RunOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const notADirectory = join(dir, 'file');
  writeFileSync(notADirectory, '');
  const cases: FailureCase[] = [
    {
      label: 'user add to a SQLite store in a read-only directory',
      args: ['user', 'add', 'carol', '--password-stdin', '--store', `sqlite:${join(locked, 'keycard.db')}`],
      options: { cwd: dir, stdin: PASSWORD, ...asUser },
    },
    {
      label: 'user list with the default store, from a read-only working directory',
      args: ['user', 'list'],
      options: { cwd: locked, ...asUser },
    },
    {
      label: 'migrate a SQLite store under a file',
      args: ['migrate', '--store', `sqlite:${join(notADirectory, 'keycard.db')}`],
      options: { cwd: dir },
    },
    {
      label: 'keys generate --out in a read-only directory',
      args: ['keys', 'generate', '--out', join(locked, 'keys.json')],
      options: { cwd: dir, ...asUser },
      secrets: [],
    },
    {
      label: 'user block with its audit log in a read-only directory',
      args: ['user', 'block', 'bob', '--store', 'memory:', '--audit-log', join(locked, 'audit.jsonl')],
      options: { cwd: dir, ...asUser },
      expect: /cannot write the audit log/,
    },
    {
      label: 'serve generating its keys in a read-only directory',
      args: [
        'serve',
        '--port',
        '0',
        '--store',
        'memory:',
        '--strategy',
        'jwt',
        '--keys',
        join(locked, 'keys.json'),
      ],
      options: { cwd: dir, ...asUser },
    },
  ];
  await check(cases);
  chmodSync(locked, 0o755);
  assert.equal(existsSync(join(locked, 'keycard.db')), false);
  assert.equal(existsSync(join(locked, 'keys.json')), false);
});
