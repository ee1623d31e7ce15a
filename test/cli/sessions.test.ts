/** keycard sessions list|revoke, on sessions created in this process in the same SQLite file. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserRecord } from 'keycard';
import { assertOneLineFailure, assertSuccess, lines, type Workspace, workspace } from './helpers.js';

async function signIn(space: Workspace, user: UserRecord, device: { userAgent: string; ip: string }) {
  const { login: session } = await space.open().keycard.logins.create({
    user: { id: user.id, username: user.username, role: user.role },
    ...device,
  });
  return session.id;
}

async function setUp(space: Workspace) {
  const { keycard } = space.open();
  const bob = await keycard.users.create({ username: 'bob', password: 'correct horse battery' });
  const alice = await keycard.users.create({ username: 'alice', password: 'correct horse battery' });
  const laptop = await signIn(space, bob, { userAgent: 'Laptop Firefox', ip: '192.0.2.10' });
  const phone = await signIn(space, bob, { userAgent: 'Phone Safari', ip: '192.0.2.20' });
  const alicesSession = await signIn(space, alice, { userAgent: 'Alice Chrome', ip: '192.0.2.30' });
  return { keycard, bob, alice, laptop, phone, alicesSession };
}

test("sessions list shows the user's sessions, and only theirs", async (t) => {
  const space = workspace(t);
  const { laptop, phone, alicesSession } = await setUp(space);

  const list = await space.run(['sessions', 'list', 'bob']);
  assertSuccess(list);
  const [header, ...rows] = lines(list.stdout);
  // guards: issue 13 — a header row names the columns, as user list has one.
  assert.match(header ?? '', /^ID\s+CREATED\s+LAST ACTIVE\s+ADDRESS\s+DEVICE$/);
  assert.equal(rows.length, 2);
  const laptopRow = rows.find((row) => row.startsWith(laptop));
  assert.match(laptopRow ?? '', /^\S+\s+\d{4}-\S+\s+\d{4}-\S+\s+192\.0\.2\.10\s+Laptop Firefox$/);
  // The columns line up under the header.
  for (const title of ['CREATED', 'LAST ACTIVE', 'ADDRESS', 'DEVICE']) {
    const column = (header ?? '').indexOf(title);
    for (const row of rows) assert.match(row.slice(column - 2, column), /^ {2}$/, `${title} column`);
  }
  assert.ok(rows.some((row) => row.startsWith(phone)));
  assert.equal(list.stdout.includes(alicesSession), false);

  const json = await space.run(['sessions', 'list', 'BOB', '--json']);
  assertSuccess(json);
  const sessions = JSON.parse(json.stdout) as { id: string; userAgent: string; ip: string }[];
  assert.deepEqual(sessions.map((session) => session.id).sort(), [laptop, phone].sort());
  assert.deepEqual(sessions.map((session) => session.userAgent).sort(), ['Laptop Firefox', 'Phone Safari']);
});

test('sessions revoke --session ends one session; sessions revoke ends the rest, and the store agrees', async (t) => {
  const space = workspace(t);
  const { keycard, bob, alice, laptop, phone, alicesSession } = await setUp(space);

  const one = await space.run(['sessions', 'revoke', 'bob', '--session', phone]);
  assertSuccess(one);
  assert.match(one.stdout, new RegExp(`^ended login ${phone} of bob\\n$`));
  assert.deepEqual(
    (await keycard.logins.listForUser(bob.id)).map((session) => session.id),
    [laptop],
  );
  assert.equal(await keycard.store.getLogin(phone), null);

  // Another user's session id cannot be revoked through bob.
  const foreign = await space.run(['sessions', 'revoke', 'bob', '--session', alicesSession]);
  assert.match(assertOneLineFailure(foreign, 1), /bob has no session with id/);
  assert.notEqual(await keycard.store.getLogin(alicesSession), null);

  const all = await space.run(['sessions', 'revoke', 'bob']);
  assertSuccess(all);
  assert.match(all.stdout, /^bob: ended their 1 login\n$/);
  assert.deepEqual(await keycard.logins.listForUser(bob.id), []);
  assert.equal(await keycard.store.getLogin(laptop), null);
  assert.equal((await keycard.logins.listForUser(alice.id)).length, 1, "alice's session survives");

  const empty = await space.run(['sessions', 'list', 'bob']);
  assertSuccess(empty);
  assert.equal(empty.stdout, 'bob has no live sessions\n');
});

test('sessions list and revoke of a missing user fail with one line naming it', async (t) => {
  const space = workspace(t);
  const { keycard, bob } = await setUp(space);
  for (const sub of ['list', 'revoke']) {
    const result = await space.run(['sessions', sub, 'nobody']);
    assert.match(assertOneLineFailure(result, 1), /no user named 'nobody'/, sub);
  }
  assert.equal((await keycard.logins.listForUser(bob.id)).length, 2);
});

// guards: a session id is base64url, and one in 64 begins with '-', which parseArgs would take for an
// option ("--session is ambiguous") — so revoking that login failed now and then.
test('a session whose id begins with "-" is revoked with --session ID as with any other', async (t) => {
  const space = workspace(t);
  const { keycard, bob } = await setUp(space);
  let id = '';
  for (let tries = 0; tries < 5000 && !id.startsWith('-'); tries++) {
    const { login: session } = await keycard.logins.create({
      user: { id: bob.id, username: bob.username, role: bob.role },
    });
    id = session.id;
  }
  assert.ok(id.startsWith('-'), 'a session id beginning with "-"');
  const result = await space.runInProcess(['sessions', 'revoke', 'bob', '--session', id]);
  assertSuccess(result);
  assert.equal(result.stdout, `ended login ${id} of bob\n`);
  assert.equal(await keycard.store.getLogin(id), null);
  // A value forgotten before another option is still a usage mistake, in one line.
  const forgotten = await space.runInProcess(['sessions', 'revoke', 'bob', '--session', '--audit-log']);
  assert.match(assertOneLineFailure(forgotten, 2), /'--session' argument is ambiguous/);
});
