/**
 * Operator actions are audited: every CLI command that changes something emits the same typed audit
 * events as the admin API (core emits them), written as JSON lines in the server's log shape — to stderr,
 * or to the file --audit-log / KEYCARD_AUDIT_LOG names — and never with a password or a secret.
 *
 * guards: issue 13 — `user block`, `passwd`, `sessions revoke` and `client …` from the CLI left no trace.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuthEvent } from 'keycard';
import {
  type AuditLine,
  assertOneLineFailure,
  assertSuccess,
  auditLines,
  type CLIResult,
  runCLI,
  type Workspace,
  workspace,
} from './helpers.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

/** The keys of the server's audit line (pino: level, time, pid, hostname; then event and msg). */
const SERVER_KEYS = ['level', 'time', 'pid', 'hostname', 'event', 'msg'];

/** Checks one line's shape and returns its event. */
function checkLine(line: AuditLine, command: string): AuthEvent {
  for (const key of SERVER_KEYS) assert.ok(key in line, `${command}: the server's ${key}`);
  assert.equal(line.level, 30, 'info, as the server logs audit events');
  assert.equal(typeof line.time, 'number');
  assert.equal(line.pid > 0, true);
  assert.equal(typeof line.hostname, 'string');
  assert.equal(line.msg, `audit: ${line.event.type}`);
  assert.equal(line.source, 'cli');
  assert.equal(line.command, command);
  assert.equal(typeof line.operator, 'string');
  assert.notEqual(line.operator, '');
  return line.event;
}

/**
 * Runs a command that must succeed, and returns the events of its audit lines (checked). In-process: the
 * lines go to the CLI's stderr stream either way; the file and stderr of a real process are checked
 * below.
 */
async function audited(
  space: Workspace,
  all: CLIResult[],
  args: string[],
  stdin?: string,
): Promise<AuthEvent[]> {
  const result = await space.runInProcess(args, stdin === undefined ? {} : { stdin });
  all.push(result);
  const lines = assertSuccess(result);
  const command = args.slice(0, 2).join(' ');
  return lines.map((line) => checkLine(line, command));
}

test("every change from the CLI emits the admin API's typed events, one JSON line each on stderr", async (t) => {
  const space = workspace(t);
  const all: CLIResult[] = [];
  const { keycard } = space.open();
  const loginsOf = async (id: string, count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { login: session } = await keycard.logins.create({ user: { id, username: 'bob', role: 'user' } });
      ids.push(session.id);
    }
    return ids;
  };

  const alice = await audited(
    space,
    all,
    ['user', 'add', 'alice', '--role', 'admin', '--password-stdin'],
    PASSWORD,
  );
  const aliceId = (await keycard.users.findByUsername('alice'))?.id as string;
  assert.deepEqual(alice, [{ type: 'user_created', userId: aliceId, role: 'admin' }]);
  await audited(space, all, ['user', 'add', 'bob', '--password-stdin'], PASSWORD);
  const bob = (await keycard.users.findByUsername('bob'))?.id as string;

  await loginsOf(bob, 2);
  assert.deepEqual(await audited(space, all, ['user', 'block', 'bob']), [
    { type: 'user_blocked', userId: bob },
    { type: 'sessions_revoked', userId: bob, count: 2, reason: 'blocked' },
  ]);
  assert.deepEqual(await audited(space, all, ['user', 'unblock', 'bob']), [
    { type: 'user_unblocked', userId: bob },
  ]);

  await loginsOf(bob, 1);
  assert.deepEqual(await audited(space, all, ['user', 'passwd', 'bob', '--password-stdin'], NEW_PASSWORD), [
    { type: 'password_changed', userId: bob },
    { type: 'sessions_revoked', userId: bob, count: 1, reason: 'password_changed' },
  ]);

  const [first] = await loginsOf(bob, 2);
  assert.deepEqual(await audited(space, all, ['sessions', 'revoke', 'bob', '--session', first as string]), [
    { type: 'session_revoked', userId: bob, sessionId: first, by: 'admin' },
  ]);
  assert.deepEqual(await audited(space, all, ['sessions', 'revoke', 'bob']), [
    { type: 'sessions_revoked', userId: bob, count: 1, reason: 'admin' },
  ]);

  const addClient = await space.runInProcess(['client', 'add', 'billing', '--scope', 'orders:read']);
  all.push(addClient);
  assert.equal(addClient.code, 0, addClient.stderr);
  const clientId = /client_id:\s+(\S+)/.exec(addClient.stdout)?.[1] as string;
  const secret = /client_secret:\s+(\S+)/.exec(addClient.stdout)?.[1] as string;
  assert.deepEqual(
    auditLines(addClient.stderr).map((line) => checkLine(line, 'client add')),
    [{ type: 'client_created', clientId, scopes: ['orders:read'] }],
  );
  const rotated = await space.runInProcess(['client', 'rotate-secret', clientId]);
  all.push(rotated);
  assert.deepEqual(
    assertSuccess(rotated).map((line) => checkLine(line, 'client rotate-secret')),
    [{ type: 'client_secret_rotated', clientId }],
  );
  const newSecret = /client_secret:\s+(\S+)/.exec(rotated.stdout)?.[1] as string;
  for (const action of ['disable', 'enable', 'remove'] as const) {
    const type = { disable: 'client_disabled', enable: 'client_enabled', remove: 'client_removed' }[action];
    assert.deepEqual(await audited(space, all, ['client', action, clientId]), [{ type, clientId }], action);
  }

  // Listing changes nothing and records nothing.
  for (const args of [
    ['user', 'list'],
    ['sessions', 'list', 'bob'],
    ['client', 'list'],
  ]) {
    assert.deepEqual(await audited(space, all, args), [], args.join(' '));
  }

  // guards: events never carry secrets — no password, and the client secrets only on stdout, once.
  for (const result of all) {
    for (const text of [result.stdout, result.stderr]) {
      assert.equal(text.includes(PASSWORD), false);
      assert.equal(text.includes(NEW_PASSWORD), false);
    }
    assert.equal(result.stderr.includes(secret), false);
    assert.equal(result.stderr.includes(newSecret), false);
    for (const line of auditLines(result.stderr)) assert.equal(JSON.stringify(line).includes('kcs_'), false);
  }
});

test('--audit-log FILE and KEYCARD_AUDIT_LOG append the lines to a file (mode 0600) instead of stderr', async (t) => {
  const space = workspace(t);
  const flagLog = join(space.dir, 'audit-flag.jsonl');
  const envLog = join(space.dir, 'audit-env.jsonl');
  await space.open().keycard.users.create({ username: 'bob', password: PASSWORD });

  const blocked = await space.run(['user', 'block', 'bob', '--audit-log', flagLog]);
  assert.equal(blocked.code, 0, blocked.stderr);
  assert.equal(blocked.stderr, '', 'nothing on stderr');
  const unblocked = await space.run(['user', 'unblock', 'bob', `--audit-log=${flagLog}`]);
  assert.equal(unblocked.stderr, '');
  assert.deepEqual(
    auditLines(readFileSync(flagLog, 'utf8')).map((line) => line.event.type),
    ['user_blocked', 'user_unblocked'],
    'appended, one line per event',
  );
  assert.equal(statSync(flagLog).mode & 0o777, 0o600);

  const viaEnv = await space.run(['user', 'block', 'bob'], { env: { KEYCARD_AUDIT_LOG: envLog } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(viaEnv.stderr, '');
  const [line, ...rest] = auditLines(readFileSync(envLog, 'utf8'));
  assert.deepEqual(rest, []);
  assert.equal(checkLine(line as AuditLine, 'user block').type, 'user_blocked');

  // '-' is stderr (a real process's), also over the environment's file.
  const dash = await space.run(['user', 'unblock', 'bob', '--audit-log', '-'], {
    env: { KEYCARD_AUDIT_LOG: envLog },
  });
  assert.deepEqual(
    assertSuccess(dash).map((entry) => entry.event.type),
    ['user_unblocked'],
  );
  assert.equal(auditLines(readFileSync(envLog, 'utf8')).length, 1);
});

test('an audit log that cannot be written stops the command before it changes anything', async (t) => {
  const space = workspace(t);
  await space.open().keycard.users.create({ username: 'bob', password: PASSWORD });
  const directory = join(space.dir, 'logs');
  mkdirSync(directory);
  const cases: [string, RegExp][] = [
    [join(space.dir, 'no-such-dir', 'audit.jsonl'), /its directory does not exist/],
    [directory, /it is a directory/],
  ];
  for (const [target, reason] of cases) {
    const result = await space.run(['user', 'block', 'bob', '--audit-log', target]);
    const line = assertOneLineFailure(result, 1);
    assert.match(line, /^keycard: cannot write the audit log /);
    assert.match(line, reason);
    assert.equal((await space.open().keycard.users.findByUsername('bob'))?.blocked, false, 'not blocked');
  }
  // Nor is a store opened: a new store's file is not even created.
  const fresh = join(space.dir, 'fresh');
  mkdirSync(fresh);
  const add = await runCLI(
    [
      'user',
      'add',
      'carol',
      '--password-stdin',
      '--audit-log',
      directory,
      '--store',
      `sqlite:${fresh}/keycard.db`,
    ],
    { cwd: fresh, stdin: PASSWORD },
  );
  assert.match(assertOneLineFailure(add, 1), /cannot write the audit log/);
  assert.equal(existsSync(join(fresh, 'keycard.db')), false);
});
