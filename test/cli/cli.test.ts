/** The `keycard` command line: help, usage mistakes and bad settings, each answered in one line. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertOneLineFailure, assertSuccess, runCLI, tempDir } from './helpers.js';

test('--help of keycard and of each command exits 0 and prints its usage on stdout', async () => {
  const cases: [string[], RegExp][] = [
    [['--help'], /^Usage: keycard <command>/],
    [['help'], /^Usage: keycard <command>/],
    [['serve', '--help'], /^Usage: keycard serve /],
    [['user', '--help'], /^Usage: keycard user </],
    [['user', 'add', '--help'], /^Usage: keycard user add <username> \[options\]\n/],
    [['sessions', '--help'], /^Usage: keycard sessions </],
    [['keys', '--help'], /^Usage: keycard keys <command>[\s\S]*rotate/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCLI(args)));
  cases.forEach(([args, usage], index) => {
    const result = results[index];
    assert.ok(result);
    assertSuccess(result);
    assert.match(result.stdout, usage, args.join(' '));
  });
  // Each command's help lists what it offers.
  assert.match(results[0]?.stdout ?? '', /serve[\s\S]*user[\s\S]*sessions[\s\S]*keys generate/);
  assert.match(results[2]?.stdout ?? '', /--port N/);
  assert.match(results[3]?.stdout ?? '', /add <username>[\s\S]*passwd <username>/);
  assert.match(results[5]?.stdout ?? '', /revoke <username>/);
});

test('usage mistakes exit 2 with exactly one line on stderr and nothing on stdout', async (t) => {
  const dir = tempDir(t);
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['user', 'frob'], /unknown command 'frob'/],
    [['user', 'add', 'x', '--bogus'], /unknown option '--bogus'/],
    [['user', 'add'], /user add: missing <username>/],
    [['user', 'block'], /user block: missing <username>/],
    [['user', 'add', 'x', 'y'], /unexpected argument 'y'/],
    [['sessions', 'list'], /sessions list: missing <username>/],
    [['sessions', 'revoke'], /sessions revoke: missing <username>/],
    [['keys', 'revoke'], /unknown command 'revoke'/],
    [['serve', '--bogus'], /unknown option '--bogus'/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCLI(args, { cwd: dir })));
  cases.forEach(([args, message], index) => {
    const result = results[index];
    assert.ok(result);
    const line = assertOneLineFailure(result, 2);
    assert.match(line, message, args.join(' '));
    assert.match(line, /--help/, 'points to --help');
  });
  // A usage mistake never touched a store: no default ./keycard.db appeared.
  assert.equal(existsSync(join(dir, 'keycard.db')), false);
});

test('keycard with no command prints the usage on stderr and exits 2', async () => {
  const result = await runCLI([]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^Usage: keycard <command>/);
});

test('a bad store URL fails with one clear line', async (t) => {
  const dir = tempDir(t);
  const [scheme, empty] = await Promise.all([
    runCLI(['user', 'list', '--store', 'nosuch://x'], { cwd: dir }),
    runCLI(['user', 'list', '--store', 'sqlite:'], { cwd: dir }),
  ]);
  assert.match(assertOneLineFailure(scheme, [1, 2]), /unsupported store URL scheme 'nosuch:'/);
  assert.match(assertOneLineFailure(empty, [1, 2]), /sqlite store URL needs a file path/);
});

test('serve --port notaport fails with one line naming the port setting', async (t) => {
  const dir = tempDir(t);
  const result = await runCLI(['serve', '--port', 'notaport', '--store', 'memory:'], { cwd: dir });
  const line = assertOneLineFailure(result, [1, 2]);
  assert.match(line, /--port/);
  assert.match(line, /whole number/);
  // It failed before doing anything: no key file was generated.
  assert.equal(existsSync(join(dir, 'keycard.keys.json')), false);
});
