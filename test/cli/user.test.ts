/** keycard user add|list|block|unblock|passwd, against a SQLite file also opened in this process. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertOneLineFailure, assertSuccess, lines, type Workspace, workspace } from './helpers.js';

const PASSWORD = 'correct horse battery';

async function addUser(space: Workspace, username: string, role = 'user', password = PASSWORD) {
  return space.open().keycard.users.create({ username, password, role });
}

test('user add reads the password from stdin; user list shows the user, and --json parses', async (t) => {
  const space = workspace(t);
  const added = await space.run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], {
    stdin: `${PASSWORD}\n`,
  });
  assertSuccess(added);
  assert.match(added.stdout, /^created user alice \(role admin, id [A-Za-z0-9_-]+\)\n$/);

  // The piped password (without its trailing newline) is the one that signs in.
  const { keycard } = space.open();
  const check = await keycard.users.verifyCredentials('alice', PASSWORD);
  assert.equal(check.ok, true);
  assert.equal(check.ok && check.user.role, 'admin');
  assert.equal((await keycard.users.verifyCredentials('alice', `${PASSWORD}\n`)).ok, false);

  const list = await space.run(['user', 'list']);
  assertSuccess(list);
  const [header, row, ...rest] = lines(list.stdout);
  assert.match(header ?? '', /^USERNAME\s+ROLE\s+STATUS\s+CREATED$/);
  assert.match(row ?? '', /^alice\s+admin\s+active\s+\d{4}-\d\d-\d\dT/);
  assert.deepEqual(rest, []);

  const json = await space.run(['user', 'list', '--json']);
  assertSuccess(json);
  const users = JSON.parse(json.stdout) as Record<string, unknown>[];
  assert.equal(users.length, 1);
  assert.equal(users[0]?.username, 'alice');
  assert.equal(users[0]?.role, 'admin');
  assert.equal(users[0]?.blocked, false);
  assert.equal(users[0]?.id, check.ok && check.user.id);
  assert.equal('passwordHash' in (users[0] ?? {}), false, 'never the password hash');
});

test('user list on an empty store says how to create the first user', async (t) => {
  const space = workspace(t);
  const list = await space.run(['user', 'list']);
  assertSuccess(list);
  assert.match(list.stdout, /no users yet.*keycard user add/);
  const json = await space.run(['user', 'list', '--json']);
  assertSuccess(json);
  assert.deepEqual(JSON.parse(json.stdout), []);
});

test('adding a taken username (in any case) fails with exit 1 and one line naming it', async (t) => {
  const space = workspace(t);
  await addUser(space, 'alice', 'admin');
  // guards: issue 13 — the name is checked before the password, so a password that would be refused does
  // not hide that the name is taken ("password must be at least 8 characters" for a taken name).
  for (const [name, password] of [
    ['alice', 'another password'],
    ['ALICE', 'short'],
  ] as const) {
    const result = await space.run(['user', 'add', name, '--password-stdin'], { stdin: password });
    const line = assertOneLineFailure(result, 1);
    assert.match(line, /'alice'/, name);
    assert.match(line, /taken/, name);
  }
  const users = await space.open().keycard.users.list();
  assert.deepEqual(
    users.map((user) => [user.username, user.role]),
    [['alice', 'admin']],
  );
  // The first alice's password still works: nothing was overwritten.
  assert.equal((await space.open().keycard.users.verifyCredentials('alice', PASSWORD)).ok, true);
});

test('roles are a closed set: --role outside it is refused before anything is created', async (t) => {
  const space = workspace(t);
  for (const role of ['superuser', 'Admin', 'admn']) {
    const result = await space.run(['user', 'add', 'carol', '--role', role, '--password-stdin'], {
      stdin: PASSWORD,
    });
    assert.match(assertOneLineFailure(result, 2), /user add: --role must be one of: user, admin$/, role);
  }
  assert.equal(await space.open().keycard.users.findByUsername('carol'), null);
  const user = await space.run(['user', 'add', 'carol', '--role', 'user', '--password-stdin'], {
    stdin: PASSWORD,
  });
  assertSuccess(user);
  assert.match(user.stdout, /role user/);
});

test('a password shorter than 8 characters is refused with a clear line', async (t) => {
  const space = workspace(t);
  const result = await space.run(['user', 'add', 'carol', '--password-stdin'], { stdin: 'short7!\n' });
  const line = assertOneLineFailure(result, 1);
  assert.match(line, /password must be at least 8 characters/);
  assert.equal(await space.open().keycard.users.findByUsername('carol'), null);
});

test('user add without --password-stdin on a non-terminal stdin exits 2 and says to use --password-stdin', async (t) => {
  const space = workspace(t);
  const result = await space.run(['user', 'add', 'bob'], { stdin: `${PASSWORD}\n` });
  const line = assertOneLineFailure(result, 2);
  assert.match(line, /--password-stdin/);
  assert.equal(await space.open().keycard.users.findByUsername('bob'), null);
});

test('user block ends every session of the user; unblock allows logins again', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob');
  const alice = await addUser(space, 'alice', 'admin');
  const { keycard } = space.open();
  const user = (record: typeof bob) => ({ id: record.id, username: record.username, role: record.role });
  await keycard.logins.create({ user: user(bob) });
  await keycard.logins.create({ user: user(bob) });
  await keycard.logins.create({ user: user(alice) });

  const block = await space.run(['user', 'block', 'bob']);
  assertSuccess(block);
  assert.match(block.stdout, /^blocked bob/);
  assert.equal((await keycard.users.get(bob.id))?.blocked, true);
  assert.deepEqual(await keycard.logins.listForUser(bob.id), []);
  assert.equal((await keycard.logins.listForUser(alice.id)).length, 1, "alice's session is untouched");
  assert.deepEqual(await keycard.users.verifyCredentials('bob', PASSWORD), {
    ok: false,
    reason: 'account_blocked',
  });
  const listed = await space.run(['user', 'list']);
  assert.match(listed.stdout, /^bob\s+user\s+blocked\s/m);
  assert.match(listed.stdout, /^alice\s+admin\s+active\s/m);

  const unblock = await space.run(['user', 'unblock', 'BOB']);
  assertSuccess(unblock);
  assert.match(unblock.stdout, /^unblocked bob\n$/);
  assert.equal((await keycard.users.get(bob.id))?.blocked, false);
  assert.equal((await keycard.users.verifyCredentials('bob', PASSWORD)).ok, true);
});

test('user block and unblock of a missing user fail with one line naming it', async (t) => {
  const space = workspace(t);
  await addUser(space, 'alice');
  for (const action of ['block', 'unblock']) {
    const result = await space.run(['user', action, 'nobody']);
    assert.match(assertOneLineFailure(result, 1), /no user named 'nobody'/, action);
  }
  assert.equal((await space.open().keycard.users.findByUsername('alice'))?.blocked, false);
});

test('user passwd sets a new password from stdin and ends the user’s sessions', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob');
  const { keycard } = space.open();
  await keycard.logins.create({ user: { id: bob.id, username: bob.username, role: bob.role } });

  const tooShort = await space.run(['user', 'passwd', 'bob', '--password-stdin'], { stdin: 'short' });
  assert.match(assertOneLineFailure(tooShort, 1), /at least 8 characters/);
  assert.equal((await keycard.users.verifyCredentials('bob', PASSWORD)).ok, true, 'unchanged');
  assert.equal((await keycard.logins.listForUser(bob.id)).length, 1, 'sessions kept on failure');

  const changed = await space.run(['user', 'passwd', 'bob', '--password-stdin'], {
    stdin: 'a brand new password\n',
  });
  assertSuccess(changed);
  assert.match(changed.stdout, /^password changed for bob/);
  assert.equal((await keycard.users.verifyCredentials('bob', 'a brand new password')).ok, true);
  assert.equal((await keycard.users.verifyCredentials('bob', PASSWORD)).ok, false);
  assert.deepEqual(await keycard.logins.listForUser(bob.id), []);

  const missing = await space.run(['user', 'passwd', 'nobody', '--password-stdin'], {
    stdin: 'a brand new password',
  });
  assert.match(assertOneLineFailure(missing, 1), /no user named 'nobody'/);

  const noStdin = await space.run(['user', 'passwd', 'bob']);
  assert.match(assertOneLineFailure(noStdin, 2), /--password-stdin/);
});

test('user add --email: normalized and stored (unverified unless --email-verified); a taken or malformed address fails with one line', async (t) => {
  const space = workspace(t);
  const added = await space.run(['user', 'add', 'ada', '--email', ' Ada@Example.COM ', '--password-stdin'], {
    stdin: `${PASSWORD}\n`,
  });
  assertSuccess(added);
  assert.match(added.stdout, /^created user ada \(role user, id [A-Za-z0-9_-]+, email ada@example\.com\)\n$/);
  const vouched = await space.run(
    ['user', 'add', 'bea', '--email', 'bea@example.com', '--email-verified', '--password-stdin'],
    { stdin: `${PASSWORD}\n` },
  );
  assertSuccess(vouched);
  assert.match(vouched.stdout, /email bea@example\.com \(verified\)\)\n$/);
  const json = await space.run(['user', 'list', '--json']);
  const users = JSON.parse(json.stdout) as { username: string; email: string; emailVerified: boolean }[];
  assert.deepEqual(
    users.map(({ username, email, emailVerified }) => ({ username, email, emailVerified })),
    [
      { username: 'ada', email: 'ada@example.com', emailVerified: false },
      { username: 'bea', email: 'bea@example.com', emailVerified: true },
    ],
  );
  const taken = await space.run(['user', 'add', 'cleo', '--email', 'ADA@example.com', '--password-stdin'], {
    stdin: `${PASSWORD}\n`,
  });
  assert.match(assertOneLineFailure(taken, 1), /email address belongs to another account/);
  for (const bad of ['not-an-address', 'a@b.example, c@d.example', 'x@y.example\nBcc: z@z.example']) {
    const result = await space.run(['user', 'add', 'dora', '--email', bad, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    assert.match(assertOneLineFailure(result, 2), /user add: --email must be/, bad);
  }
  const alone = await space.run(['user', 'add', 'dora', '--email-verified', '--password-stdin'], {
    stdin: `${PASSWORD}\n`,
  });
  assert.match(assertOneLineFailure(alone, 2), /--email-verified needs --email/);
  assert.equal(await space.open().keycard.users.findByUsername('cleo'), null, 'nothing was created');
});

test('user role changes the role and ends the user’s logins; the same role or a bad one changes nothing', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob');
  const { keycard } = space.open();
  await keycard.logins.create({ user: { id: bob.id, username: bob.username, role: bob.role } });
  await keycard.logins.create({ user: { id: bob.id, username: bob.username, role: bob.role } });

  const bad = await space.run(['user', 'role', 'bob', 'root']);
  assert.match(assertOneLineFailure(bad, 2), /the role must be one of: user, admin/);
  const same = await space.run(['user', 'role', 'bob', 'user']);
  assertSuccess(same);
  assert.match(same.stdout, /bob already has the role user; nothing changed/);
  assert.equal((await keycard.logins.listForUser(bob.id)).length, 2, 'nothing ended');

  const changed = await space.run(['user', 'role', 'BOB', 'admin']);
  const audit = assertSuccess(changed);
  assert.match(changed.stdout, /^bob is now admin \(was user\); ended their 2 logins\n$/);
  assert.equal((await keycard.users.get(bob.id))?.role, 'admin');
  assert.deepEqual(await keycard.logins.listForUser(bob.id), []);
  assert.ok(audit.some((line) => line.event.type === 'role_changed'));

  const missing = await space.run(['user', 'role', 'nobody', 'admin']);
  assert.match(assertOneLineFailure(missing, 1), /no user named 'nobody'/);
});

test('user delete --yes deletes the user and ends their logins; the name can be used again', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob');
  const alice = await addUser(space, 'alice', 'admin');
  const { keycard } = space.open();
  await keycard.logins.create({ user: { id: bob.id, username: bob.username, role: bob.role } });
  await keycard.logins.create({ user: { id: alice.id, username: alice.username, role: alice.role } });

  const deleted = await space.run(['user', 'delete', 'bob', '--yes']);
  const audit = assertSuccess(deleted);
  assert.match(deleted.stdout, /^deleted bob; ended their 1 login\n$/);
  assert.equal(await keycard.users.get(bob.id), null);
  assert.deepEqual(await keycard.logins.listForUser(bob.id), []);
  assert.equal((await keycard.logins.listForUser(alice.id)).length, 1, "alice's login is untouched");
  assert.ok(audit.some((line) => line.event.type === 'user_deleted'));
  await addUser(space, 'bob');

  const missing = await space.run(['user', 'delete', 'nobody', '--yes']);
  assert.match(assertOneLineFailure(missing, 1), /no user named 'nobody'/);
});

test('user delete without --yes, not in a terminal, refuses with a usage error and deletes nothing', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob');
  const result = await space.run(['user', 'delete', 'bob']);
  const line = assertOneLineFailure(result, 2);
  assert.match(line, /not in a terminal.*--yes/);
  assert.equal((await space.open().keycard.users.get(bob.id))?.username, 'bob');
});

test('user list --search shows only usernames that begin with the prefix, in any case', async (t) => {
  const space = workspace(t);
  for (const name of ['ann', 'anna', 'bob', 'an_x', 'anx']) await addUser(space, name);
  const listed = await space.run(['user', 'list', '--search', 'AN', '--json']);
  assertSuccess(listed);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { username: string }[]).map((user) => user.username),
    ['an_x', 'ann', 'anna', 'anx'],
  );
  const literal = await space.run(['user', 'list', '--search', 'an_', '--json']);
  assert.deepEqual(
    (JSON.parse(literal.stdout) as { username: string }[]).map((user) => user.username),
    ['an_x'],
    '_ is no wildcard',
  );
  const none = await space.run(['user', 'list', '--search', 'zed']);
  assertSuccess(none);
  assert.match(none.stdout, /no username begins with 'zed'/);
  const bad = await space.run(['user', 'list', '--search', 'a b']);
  assert.match(assertOneLineFailure(bad, 2), /--search/);
});

test('user reset-factors removes every second factor of the user, audited; the others keep theirs', async (t) => {
  const space = workspace(t);
  const bob = await addUser(space, 'bob', 'admin');
  const alice = await addUser(space, 'alice');
  const { keycard } = space.open();
  const factor = (userId: string, id: string) => ({
    id,
    userId,
    kind: 'recovery' as const,
    name: 'Recovery codes',
    credentialId: null,
    secret: '[]',
    counter: 0,
    confirmedAt: Date.now(),
    createdAt: Date.now(),
    lastUsedAt: null,
  });
  await keycard.store.createFactor({ ...factor(bob.id, 'f1'), kind: 'totp', name: 'Phone', secret: 'v1.x' });
  await keycard.store.createFactor(factor(bob.id, 'f2'));
  await keycard.store.createFactor(factor(alice.id, 'f3'));

  const reset = await space.run(['user', 'reset-factors', 'bob']);
  const audit = assertSuccess(reset);
  assert.match(reset.stdout, /^removed all 2 factors of bob \(recovery codes count as one\)/);
  assert.deepEqual(await keycard.store.listFactors(bob.id), []);
  assert.equal((await keycard.store.listFactors(alice.id)).length, 1, "alice's are untouched");
  assert.ok(audit.some((line) => line.event.type === 'mfa_removed' && line.event.by === 'admin'));

  const again = await space.run(['user', 'reset-factors', 'bob']);
  assertSuccess(again);
  assert.match(again.stdout, /^bob has no second factor; nothing changed\n$/);
  const missing = await space.run(['user', 'reset-factors', 'nobody']);
  assert.match(assertOneLineFailure(missing, 1), /no user named 'nobody'/);
});
