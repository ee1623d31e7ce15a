/**
 * No CLI path prints a stack trace (2 of 3: stores and config files). Every command that opens a store
 * runs as a real process against what goes wrong outside the CLI: stores that cannot be reached (drivers'
 * own errors and late events included), malformed store URLs, a config file that is garbage, missing or
 * of the wrong shape. Each must fail with a non-zero exit and one line on stderr — no stack trace
 * anywhere, and never the password of a store URL. (test/cli/usage-errors.test.ts: usage;
 * test/cli/failures-files.test.ts: key files and directories.)
 *
 * guards: issue 13 — "No CLI path prints a stack trace, ever."
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkFailures, type FailureCase, tempDir } from './helpers.js';

const SECRET = 'Sup3rSecretPw';
const PASSWORD = 'correct horse battery';

/** What each kind of bad store looks like; each URL carries a password that must never be shown. */
const STORES: Record<string, string> = {
  'unreachable postgres': `postgres://keycard:${SECRET}@127.0.0.1:1/keycard`,
  'unreachable redis': `redis://:${SECRET}@127.0.0.1:1`,
  'unreachable mongodb': `mongodb://keycard:${SECRET}@127.0.0.1:1/keycard`,
  'redis URL without a host': `redis://:${SECRET}@`,
  'postgres URL without a host': 'postgres://',
  'unknown scheme': `mysql://root:${SECRET}@127.0.0.1/keycard`,
  'sqlite URL without a path': 'sqlite:',
  'unknown sqlite option': `sqlite:./k.db?password=${SECRET}`,
};

/** Every command that opens the store, with arguments that pass its parser. */
const STORE_COMMANDS: { args: string[]; stdin?: string }[] = [
  { args: ['user', 'add', 'carol', '--password-stdin'], stdin: PASSWORD },
  { args: ['user', 'list'] },
  { args: ['user', 'block', 'bob'] },
  { args: ['user', 'unblock', 'bob'] },
  { args: ['user', 'passwd', 'bob', '--password-stdin'], stdin: PASSWORD },
  { args: ['sessions', 'list', 'bob'] },
  { args: ['sessions', 'revoke', 'bob'] },
  { args: ['client', 'add', 'billing', '--scope', 'orders:read'] },
  { args: ['client', 'list'] },
  { args: ['client', 'rotate-secret', 'kc_0000000000000000000000'] },
  { args: ['client', 'disable', 'kc_0000000000000000000000'] },
  { args: ['client', 'enable', 'kc_0000000000000000000000'] },
  { args: ['client', 'remove', 'kc_0000000000000000000000'] },
  { args: ['migrate'] },
  { args: ['serve', '--port', '0'] },
];

const check = (cases: FailureCase[]) => checkFailures(cases, [SECRET, PASSWORD]);

test('every store command, given a store that is unreachable or misspelt, fails in one line without its password', async (t) => {
  const dir = tempDir(t);
  const kinds = Object.keys(STORES);
  const cases: FailureCase[] = [
    // Every command meets one kind of bad store (in turn, so that every kind is met) …
    ...STORE_COMMANDS.map(({ args, stdin }, index) => {
      const kind = kinds[index % kinds.length] as string;
      return {
        label: `${args.slice(0, 2).join(' ')} with ${kind}`,
        args: [...args, '--store', STORES[kind] as string],
        options: { cwd: dir, stdin },
      };
    }),
    // … and one command meets every kind, given by KEYCARD_STORE as well as by --store.
    ...kinds.map((kind) => ({
      label: `user list with ${kind} from KEYCARD_STORE`,
      args: ['user', 'list'],
      options: { cwd: dir, env: { KEYCARD_STORE: STORES[kind] as string } },
    })),
  ];
  await check(cases);
});

test('a config file that is garbage, missing or of the wrong shape fails in one line, never quoting it', async (t) => {
  const dir = tempDir(t);
  const garbage = join(dir, 'garbage.json');
  // A config file cut short in the middle of a store URL's password: JSON.parse's message would quote it.
  writeFileSync(garbage, `{"store": "postgres://keycard:${SECRET}`);
  const array = join(dir, 'array.json');
  writeFileSync(array, `["postgres://keycard:${SECRET}@db/keycard"]`);
  const unknown = join(dir, 'unknown.json');
  writeFileSync(unknown, `{"stroe": "postgres://keycard:${SECRET}@db/keycard"}`);
  const missing = join(dir, 'missing.json');
  const cases: FailureCase[] = [];
  for (const [name, file, expect] of [
    ['garbage', garbage, /is not valid JSON/],
    ['an array', array, /must hold a JSON object/],
    ['an unknown setting', unknown, /unknown setting 'stroe'/],
    ['missing', missing, /does not exist/],
  ] as const) {
    for (const { args, stdin } of [
      { args: ['user', 'add', 'carol', '--password-stdin'], stdin: PASSWORD },
      { args: ['client', 'list'] },
      { args: ['token', 'inspect', 'eyJhbGciOiJFZERTQSJ9.e30.c2ln'] },
      { args: ['serve', '--port', '0'] },
    ]) {
      cases.push({
        label: `${args.slice(0, 2).join(' ')} --config ${name}`,
        args: [...args, '--config', file],
        options: { cwd: dir, stdin },
        expect,
      });
    }
    cases.push({
      label: `user list with KEYCARD_CONFIG ${name}`,
      args: ['user', 'list'],
      options: { cwd: dir, env: { KEYCARD_CONFIG: file } },
      expect,
    });
  }
  await check(cases);
  assert.equal(existsSync(join(dir, 'keycard.db')), false, 'no store was opened');
});
