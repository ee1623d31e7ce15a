/**
 * No CLI path prints a stack trace (1 of 2: usage). Every command and subcommand — enumerated from the
 * same tables the parser and the help read, so a new one is covered without touching this file — is run
 * with each kind of bad input: an unknown flag, a missing argument, an extra argument, a flag without its
 * value, a value for a flag that takes none, and the bad values each one can be given. Each must fail
 * with a non-zero exit and one line on stderr, with no stack trace and no secret.
 *
 * The cases run in-process (`run`, the very function the `keycard` binary calls), a hundred of them in
 * the time of a few processes; a sample runs as real processes too, and test/cli/failures.test.ts runs
 * bad stores, files and directories — where drivers and the file system can misbehave — as processes.
 *
 * guards: issue 13 — "No CLI path prints a stack trace, ever."
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Subcommand } from '../../src/cli/args.js';
import { CLIENT_COMMANDS } from '../../src/cli/commands/client.js';
import { KEYS_COMMANDS } from '../../src/cli/commands/keys.js';
import { MIGRATE_COMMAND } from '../../src/cli/commands/migrate.js';
import { SESSIONS_COMMANDS } from '../../src/cli/commands/sessions.js';
import { TOKEN_COMMANDS } from '../../src/cli/commands/token.js';
import { USER_COMMANDS } from '../../src/cli/commands/user.js';
import { assertCleanFailure, pool, runCLI, runInProcess, tempDir, workspace } from './helpers.js';

const TABLES = [USER_COMMANDS, SESSIONS_COMMANDS, CLIENT_COMMANDS, KEYS_COMMANDS, TOKEN_COMMANDS];
const PASSWORD = 'correct horse battery';

interface Case {
  args: string[];
  expect: RegExp;
  code?: 1 | 2;
  stdin?: string;
  secrets?: string[];
}

/** Placeholder values for a subcommand's arguments (they are never reached: the flags fail first). */
const filler = (spec: Subcommand): string[] => spec.args.filter((arg) => !arg.startsWith('[')).map(() => 'x');

/** The usage mistakes any subcommand can be given, from its description. */
function usageCases(spec: Subcommand): Case[] {
  const words = spec.name.split(' ');
  const cases: Case[] = [
    { args: [...words, ...filler(spec), '--bogus'], expect: /unknown option '--bogus'/, code: 2 },
    { args: [...words, ...filler(spec), '-z'], expect: /unknown option '-z'/, code: 2 },
    {
      args: [...words, ...filler(spec), 'one-too-many'],
      expect: /unexpected argument 'one-too-many'/,
      code: 2,
    },
  ];
  const required = spec.args.filter((arg) => !arg.startsWith('['));
  if (required.length > 0) {
    cases.push({
      args: words,
      expect: new RegExp(`missing ${required[0]?.replace(/[|]/g, '\\|')}`),
      code: 2,
    });
  }
  const stringFlag = Object.entries(spec.flags).find(([, flag]) => flag.type === 'string');
  if (stringFlag) {
    cases.push({
      args: [...words, ...filler(spec), `--${stringFlag[0]}`],
      expect: /argument missing/,
      code: 2,
    });
    cases.push({
      args: [...words, ...filler(spec), `--${stringFlag[0]}=`],
      expect: /needs a value/,
      code: 2,
    });
    // A value forgotten before another option: parseArgs explains it over three lines, the CLI in one.
    cases.push({
      args: [...words, ...filler(spec), `--${stringFlag[0]}`, `--${stringFlag[0]}`],
      expect: /is ambiguous/,
      code: 2,
    });
  }
  const booleanFlag = Object.entries(spec.flags).find(([, flag]) => flag.type === 'boolean');
  if (booleanFlag) {
    cases.push({
      args: [...words, ...filler(spec), `--${booleanFlag[0]}=yes`],
      expect: /does not take an argument/,
      code: 2,
    });
  }
  return cases;
}

test('every subcommand, given each usage mistake, fails in one line that points to its --help', async () => {
  const cases: Case[] = [
    { args: ['frobnicate'], expect: /unknown command 'frobnicate' \(see keycard --help\)/, code: 2 },
    { args: ['--bogus'], expect: /unknown command '--bogus'/, code: 2 },
    ...TABLES.flatMap((table) => [
      { args: [table.name], expect: new RegExp(`${table.name}: missing <command>`), code: 2 as const },
      { args: [table.name, 'frob'], expect: /unknown command 'frob'/, code: 2 as const },
      ...table.subcommands.flatMap(usageCases),
    ]),
    ...usageCases(MIGRATE_COMMAND),
    { args: ['serve', '--bogus'], expect: /unknown option '--bogus'/, code: 2 },
    { args: ['serve', 'extra'], expect: /unexpected argument 'extra'/, code: 2 },
    { args: ['serve', '--port'], expect: /argument missing/, code: 2 },
  ];
  const results = await pool(cases, 1, (item) => runInProcess(item.args, { stdin: item.stdin }));
  cases.forEach((item, index) => {
    const result = results[index];
    assert.ok(result);
    const label = item.args.join(' ');
    const line = assertCleanFailure(result, label);
    assert.match(line, item.expect, label);
    if (item.code) assert.equal(result.code, item.code, label);
    if (item.code === 2) assert.match(line, /--help\)$/, `${label}: points to --help`);
  });
});

test('a usage mistake of each command, as a real process: one line, exit 2, no stack trace', async (t) => {
  const dir = tempDir(t);
  const cases = [
    ['user', 'add'],
    ['sessions', 'revoke', 'bob', '--session'],
    ['client', 'add', 'x', '--bogus'],
    ['keys', 'rotate', 'extra'],
    ['token', 'inspect'],
    ['migrate', '--store='],
    ['serve', '--bogus'],
    ['nope'],
  ];
  const results = await pool(cases, 2, (args) => runCLI(args, { cwd: dir }));
  cases.forEach((args, index) => {
    const result = results[index];
    assert.ok(result);
    assertCleanFailure(result, args.join(' '));
    assert.equal(result.code, 2, args.join(' '));
  });
});

test('bad values for each command fail in one line naming what is wrong', async (t) => {
  const space = workspace(t);
  const { keycard } = space.open();
  await keycard.users.create({ username: 'bob', password: PASSWORD });
  const existing = join(space.dir, 'exists.json');
  writeFileSync(existing, '{}');
  const store = space.storeFlag;
  const cases: Case[] = [
    // user
    {
      args: ['user', 'add', 'a b', '--password-stdin'],
      stdin: PASSWORD,
      expect: /user add: username/,
      code: 2,
    },
    {
      args: ['user', 'add', 'x'.repeat(300), '--password-stdin'],
      stdin: PASSWORD,
      expect: /username/,
      code: 2,
    },
    {
      args: ['user', 'add', 'carol', '--role', 'root', '--password-stdin'],
      stdin: PASSWORD,
      expect: /--role must be one of: user, admin/,
      code: 2,
    },
    { args: ['user', 'add', 'carol'], expect: /--password-stdin/, code: 2 },
    {
      args: ['user', 'add', 'carol', '--password-stdin'],
      stdin: '',
      expect: /password must be at least 8/,
      code: 1,
    },
    {
      args: ['user', 'add', 'carol', '--password-stdin'],
      stdin: 'x'.repeat(70_000),
      expect: /longer than 64 KiB/,
      code: 2,
    },
    { args: ['user', 'add', 'bob', '--password-stdin'], stdin: 'short', expect: /'bob' is taken/, code: 1 },
    { args: ['user', 'block', 'nobody'], expect: /no user named 'nobody'/, code: 1 },
    { args: ['user', 'unblock', 'nobody'], expect: /no user named 'nobody'/, code: 1 },
    {
      args: ['user', 'passwd', 'nobody', '--password-stdin'],
      stdin: PASSWORD,
      expect: /no user named/,
      code: 1,
    },
    {
      args: ['user', 'passwd', 'bob', '--password-stdin'],
      stdin: 'qwertyuiop',
      expect: /password is too common|consecutive/,
      code: 1,
      secrets: ['qwertyuiop'],
    },
    { args: ['user', 'role', 'bob', 'root'], expect: /the role must be one of: user, admin/, code: 2 },
    { args: ['user', 'role', 'nobody', 'admin'], expect: /no user named 'nobody'/, code: 1 },
    {
      args: ['user', 'delete', 'bob'],
      expect: /not in a terminal, so nothing can be confirmed: add --yes/,
      code: 2,
    },
    { args: ['user', 'delete', 'nobody', '--yes'], expect: /no user named 'nobody'/, code: 1 },
    { args: ['user', 'list', '--search', 'a b'], expect: /user list: --search: username/, code: 2 },
    // sessions
    { args: ['sessions', 'list', 'nobody'], expect: /no user named 'nobody'/, code: 1 },
    {
      args: ['sessions', 'revoke', 'bob', '--session', 'nope'],
      expect: /bob has no session with id nope/,
      code: 1,
    },
    // client
    { args: ['client', 'add', 'billing'], expect: /at least one --scope/, code: 2 },
    {
      args: ['client', 'add', 'billing', '--scope', 'a b'],
      expect: /a scope is 1–64 printable characters/,
      code: 1,
    },
    { args: ['client', 'add', ' ', '--scope', 'a'], expect: /name must be 1–100 characters/, code: 1 },
    { args: ['client', 'rotate-secret', 'kc_nope'], expect: /no such client/, code: 1 },
    {
      args: ['client', 'rotate-secret', 'kc_nope', '--overlap', '0h'],
      expect: /--overlap must be a duration/,
      code: 2,
    },
    { args: ['client', 'disable', 'nope'], expect: /no such client/, code: 1 },
    { args: ['client', 'enable', 'nope'], expect: /no such client/, code: 1 },
    { args: ['client', 'remove', 'nope'], expect: /no client with id nope/, code: 1 },
    // keys
    { args: ['keys', 'generate', '--alg', 'none'], expect: /--alg must be one of EdDSA/, code: 2 },
    { args: ['keys', 'generate', '--out', existing], expect: /exists; it was not overwritten/, code: 1 },
    { args: ['keys', 'rotate', '--keys', join(space.dir, 'none.json')], expect: /does not exist/, code: 1 },
    { args: ['keys', 'list', '--keys', join(space.dir, 'none.json')], expect: /does not exist/, code: 1 },
    // token
    { args: ['token', 'inspect', 'not-a-jwt'], expect: /this is not a JWT/, code: 2 },
    { args: ['token', 'inspect', '-'], stdin: '', expect: /not a JWT/, code: 2 },
  ];
  const results = await pool(cases, 1, (item) =>
    runInProcess([...item.args, ...(item.args[0] === 'keys' || item.args[0] === 'token' ? [] : store)], {
      stdin: item.stdin,
    }),
  );
  cases.forEach((item, index) => {
    const result = results[index];
    assert.ok(result);
    const label = item.args.join(' ').slice(0, 80);
    const line = assertCleanFailure(result, label, {
      secrets: [PASSWORD, ...(item.secrets ?? [])],
    });
    assert.match(line, item.expect, label);
    if (item.code) assert.equal(result.code, item.code, label);
  });
  // None of it changed anything.
  assert.equal(await keycard.users.findByUsername('carol'), null);
  assert.equal((await keycard.users.verifyCredentials('bob', PASSWORD)).ok, true);
  assert.equal((await keycard.users.findByUsername('bob'))?.role, 'user');
});

test('bad settings for keycard serve, as a real process: refused in one line before it serves', async (t) => {
  const dir = tempDir(t);
  const cases: [string[], RegExp][] = [
    [['--port', '99999'], /--port/],
    [['--port', 'http'], /--port/],
    [['--preset', 'nope'], /preset/],
    [['--strategy', 'nope'], /strategy/],
    [['--log-level', 'loud'], /log/],
    [['--body-limit', '-1'], /body/],
    [['--trust-proxy', 'not an address'], /trust/],
    [['--trusted-origin', 'not a url'], /origin/],
  ];
  const results = await pool(cases, 2, ([args]) =>
    runCLI(
      ['serve', ...args, '--store', 'memory:', '--port', args[0] === '--port' ? (args[1] as string) : '0'],
      {
        cwd: dir,
        timeoutMs: 30_000,
      },
    ),
  );
  cases.forEach(([args, message], index) => {
    const result = results[index];
    assert.ok(result);
    const label = `serve ${args.join(' ')}`;
    const line = assertCleanFailure(result, label, { logsOnStdout: true });
    assert.match(line, message, label);
  });
});
