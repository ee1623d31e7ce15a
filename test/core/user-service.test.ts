import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthEvent } from '../../src/core/events.js';
import { createLoginRegistry } from '../../src/core/logins/registry.js';
import { createPasswordHasher } from '../../src/core/passwords/hash.js';
import { resolvePasswordPolicy } from '../../src/core/passwords/policy.js';
import { createUserService, toPublicUser } from '../../src/core/users/service.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { expectKeycardError, FAST_ARGON2, rejected } from './support.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';

function setup(policy = resolvePasswordPolicy(), roles?: readonly string[]) {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const sessions = createLoginRegistry(
    store,
    {
      idleTimeoutMs: 3_600_000,
      absoluteTimeoutMs: 86_400_000,
      touchIntervalMs: 360_000,
      maxDataBytes: 16_384,
      maxLoginsPerUser: 100,
    },
    clock,
  );
  const passwords = createPasswordHasher(FAST_ARGON2);
  const events: AuthEvent[] = [];
  const users = createUserService({
    store,
    logins: sessions,
    passwords,
    policy,
    clock,
    emit: (event) => events.push(event),
    roles,
  });
  const loginsOf = async (userId: string, username = 'alice') => {
    const created = [];
    for (let i = 0; i < 3; i++) {
      created.push(await sessions.create({ user: { id: userId, username, role: 'user' } }));
    }
    return created;
  };
  return { clock, store, sessions, passwords, users, events, loginsOf };
}

describe('UserService.create', () => {
  test('stores the canonical username, the default role and an Argon2id hash, never the password', async () => {
    const { clock, store, passwords, users, events } = setup();
    const user = await users.create({ username: 'Alice', password: PASSWORD }, { ip: '203.0.113.7' });
    assert.equal(user.username, 'alice');
    assert.equal(user.role, 'user');
    assert.equal(user.blocked, false);
    assert.equal(user.createdAt, clock.now());
    assert.match(user.passwordHash ?? '', /^\$argon2id\$/);
    assert.equal(await passwords.verify(user.passwordHash ?? '', PASSWORD), true);
    assert.deepEqual(await store.getUserByUsername('alice'), user);
    assert.equal(JSON.stringify(user).includes(PASSWORD), false);
    assert.deepEqual(events, [{ type: 'user_created', userId: user.id, role: 'user', ip: '203.0.113.7' }]);
    assert.equal('passwordHash' in toPublicUser(user), false);
  });

  test('accepts a common password when the policy turns the blocklist off', async () => {
    const { users } = setup(resolvePasswordPolicy({ blocklist: false }));
    const user = await users.create({ username: 'alice', password: 'Password1' });
    assert.equal((await users.verifyCredentials('alice', 'Password1')).ok, true);
    assert.equal(user.username, 'alice');
  });

  test('keeps a given role', async () => {
    const { users } = setup();
    assert.equal((await users.create({ username: 'root', password: PASSWORD, role: 'admin' })).role, 'admin');
  });

  const invalid: Array<[string, { username: unknown; password: unknown; role?: unknown }, string, RegExp]> = [
    ['an empty username', { username: '', password: PASSWORD }, 'username', /must not be empty/],
    ['a username with a space', { username: 'al ice', password: PASSWORD }, 'username', /only letters/],
    ['a non-string username', { username: 42, password: PASSWORD }, 'username', /must be a string/],
    [
      'an upper-case role',
      { username: 'alice', password: PASSWORD, role: 'Admin' },
      'role',
      /role must be one of: user, admin/,
    ],
    ['an empty role', { username: 'alice', password: PASSWORD, role: '' }, 'role', /one of: user, admin/],
    // guards: issue 13 — roles are a closed set; a well-formed name outside it (a typo) is refused too.
    ['a role outside the set', { username: 'alice', password: PASSWORD, role: 'admn' }, 'role', /one of/],
    ['a short password', { username: 'alice', password: 'short' }, 'password', /at least 8 characters/],
    ['a non-string password', { username: 'alice', password: 12345678 }, 'password', /must be a string/],
    ['a common password', { username: 'alice', password: 'Password1' }, 'password', /too common/],
    [
      'a password built on the username',
      { username: 'alice', password: 'Alice-2024' },
      'password',
      /too close to your username/,
    ],
    [
      'a password built on the canonical username',
      { username: 'ＷＩＮＴＥＲＭＯＴＨ', password: 'wintermoth1' },
      'password',
      /too close to your username/,
    ],
    ['a repeated character', { username: 'alice', password: 'zzzzzzzzzz' }, 'password', /repeated/],
  ];
  for (const [label, input, field, message] of invalid) {
    test(`refuses ${label} with invalid_request on field ${field}, storing nothing`, async () => {
      const { users } = setup();
      const error = expectKeycardError(
        await rejected(() => users.create(input as { username: string; password: string })),
        'invalid_request',
      );
      assert.equal(error.field, field);
      assert.match(error.message, message);
      assert.equal(await users.count(), 0);
    });
  }

  for (const duplicate of ['alice', 'Alice', 'ALICE', 'ＡＬＩＣＥ']) {
    test(`refuses ${duplicate} as username_taken once alice exists`, async () => {
      const { users } = setup();
      await users.create({ username: 'alice', password: PASSWORD });
      expectKeycardError(
        await rejected(() => users.create({ username: duplicate, password: PASSWORD })),
        'username_taken',
      );
      assert.equal(await users.count(), 1);
    });
  }
});

describe('UserService lookups', () => {
  test('finds users by any form of their name, lists them in order and counts them', async () => {
    const { users } = setup();
    const bob = await users.create({ username: 'bob', password: PASSWORD });
    const alice = await users.create({ username: 'alice', password: PASSWORD });
    assert.equal((await users.findByUsername('ＡＬＩＣＥ'))?.id, alice.id);
    assert.equal(await users.findByUsername('nobody'), null);
    assert.equal(await users.findByUsername('not valid!'), null);
    assert.equal((await users.get(bob.id))?.username, 'bob');
    assert.deepEqual(
      (await users.list()).map((u) => u.username),
      ['alice', 'bob'],
    );
    assert.deepEqual(
      (await users.list({ after: 'alice' })).map((u) => u.username),
      ['bob'],
    );
    assert.equal(await users.count(), 2);
  });
});

describe('UserService.verifyCredentials', () => {
  test('accepts the right password and refuses a wrong one or an unknown user alike', async () => {
    const { users } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const ok = await users.verifyCredentials('Alice', PASSWORD);
    assert.ok(ok.ok);
    assert.equal(ok.user.id, user.id);
    assert.deepEqual(await users.verifyCredentials('alice', 'wrong password'), {
      ok: false,
      reason: 'invalid_credentials',
    });
    assert.deepEqual(await users.verifyCredentials('bob', PASSWORD), {
      ok: false,
      reason: 'invalid_credentials',
    });
    assert.deepEqual(await users.verifyCredentials('not valid!', PASSWORD), {
      ok: false,
      reason: 'invalid_credentials',
    });
  });

  test('refuses a password longer than 4096 characters, even the right one, without hashing it', async () => {
    const { store, passwords, users } = setup();
    const long = 'x'.repeat(4097);
    await store.createUser({
      id: 'long-user',
      username: 'long',
      skeleton: usernameSkeleton('long'),
      passwordHash: await passwords.hash(long),
      role: 'user',
      blocked: false,
      createdAt: 0,
      updatedAt: 0,
    });
    assert.deepEqual(await users.verifyCredentials('long', long), {
      ok: false,
      reason: 'invalid_credentials',
    });
  });
});

describe('UserService changes that end logins', () => {
  test('setPassword ends the other sessions and keeps keepSessionId', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const [first, kept, third] = await loginsOf(user.id);
    assert.ok(first && kept && third);
    await users.setPassword(user.id, NEW_PASSWORD, { keepSessionId: kept.login.id });
    assert.deepEqual(
      (await sessions.listForUser(user.id)).map((s) => s.id),
      [kept.login.id],
    );
    assert.equal((await sessions.validate(first.token)).ok, false);
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, false);
    assert.equal((await users.verifyCredentials('alice', NEW_PASSWORD)).ok, true);
    assert.deepEqual(events.slice(1), [
      { type: 'password_changed', userId: user.id },
      { type: 'sessions_revoked', userId: user.id, count: 2, reason: 'password_changed' },
    ]);
  });

  test('setPassword without keepSessionId ends every session', async () => {
    const { sessions, users, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    await users.setPassword(user.id, NEW_PASSWORD);
    assert.deepEqual(await sessions.listForUser(user.id), []);
  });

  test('setPassword refuses a password the policy refuses, and ends no session', async () => {
    const { sessions, users, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    const error = expectKeycardError(
      await rejected(() => users.setPassword(user.id, 'short')),
      'invalid_request',
    );
    assert.equal(error.field, 'password');
    assert.equal((await sessions.listForUser(user.id)).length, 3);
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, true);
  });

  for (const [label, password, message] of [
    ['a common password', 'ｉｌｏｖｅｙｏｕ', /too common/],
    ["a password built on the user's username", 'ALICE-2024', /too close to your username/],
  ] as const) {
    test(`setPassword refuses ${label}, and ends no session`, async () => {
      const { sessions, users, loginsOf } = setup();
      const user = await users.create({ username: 'alice', password: PASSWORD });
      await loginsOf(user.id);
      const error = expectKeycardError(
        await rejected(() => users.setPassword(user.id, password)),
        'invalid_request',
      );
      assert.equal(error.field, 'password');
      assert.match(error.message, message);
      assert.equal(error.message.includes(password), false);
      assert.equal((await sessions.listForUser(user.id)).length, 3);
      assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, true);
    });
  }

  test('changePassword with the current password: the new one works, the other logins end, this one stays', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const [first, kept] = await loginsOf(user.id);
    assert.ok(first && kept);
    await users.changePassword(user.id, PASSWORD, NEW_PASSWORD, { keepSessionId: kept.login.id });
    assert.deepEqual(
      (await sessions.listForUser(user.id)).map((s) => s.id),
      [kept.login.id],
    );
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, false);
    assert.equal((await users.verifyCredentials('alice', NEW_PASSWORD)).ok, true);
    assert.deepEqual(events.at(-2), { type: 'password_changed', userId: user.id });
  });

  test('changePassword refuses a wrong, missing or oversized current password, and changes nothing', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    const eventsBefore = events.length;
    for (const current of ['wrong password', '', undefined, 42, `${PASSWORD}${'x'.repeat(5000)}`]) {
      const error = expectKeycardError(
        await rejected(() => users.changePassword(user.id, current, NEW_PASSWORD)),
        'invalid_credentials',
      );
      assert.equal(error.field, 'current_password', String(current));
    }
    assert.equal((await sessions.listForUser(user.id)).length, 3);
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, true);
    assert.equal(events.length, eventsBefore, 'no event: nothing changed');
  });

  test('changePassword applies the policy to the new password and refuses the same one', async () => {
    const { users } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    for (const [next, message] of [
      ['short', /at least/],
      ['alice-alice-alice', /too close to your username/],
      [PASSWORD, /must differ/],
    ] as const) {
      const error = expectKeycardError(
        await rejected(() => users.changePassword(user.id, PASSWORD, next)),
        'invalid_request',
      );
      assert.equal(error.field, 'new_password');
      assert.match(error.message, message);
    }
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, true);
  });

  test('changePassword of a blocked user is account_blocked, only after the password matched', async () => {
    const { users } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await users.block(user.id);
    expectKeycardError(
      await rejected(() => users.changePassword(user.id, 'wrong password', NEW_PASSWORD)),
      'invalid_credentials',
    );
    expectKeycardError(
      await rejected(() => users.changePassword(user.id, PASSWORD, NEW_PASSWORD)),
      'account_blocked',
    );
    expectKeycardError(
      await rejected(() => users.changePassword('nobody', PASSWORD, NEW_PASSWORD)),
      'not_found',
    );
  });

  test('setPassword on an unknown user is not_found', async () => {
    const { users } = setup();
    expectKeycardError(await rejected(() => users.setPassword('nobody', NEW_PASSWORD)), 'not_found');
  });

  test('setRole changes the role and ends every session, so none carries the old role', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    const updated = await users.setRole(user.id, 'admin');
    assert.equal(updated.role, 'admin');
    assert.equal((await users.get(user.id))?.role, 'admin');
    assert.deepEqual(await sessions.listForUser(user.id), []);
    assert.deepEqual(events.slice(1), [
      { type: 'role_changed', userId: user.id, role: 'admin', previousRole: 'user' },
      { type: 'sessions_revoked', userId: user.id, count: 3, reason: 'role_changed' },
    ]);
  });

  test('setRole to the role the user has changes nothing and ends no login', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    assert.equal((await users.setRole(user.id, 'user')).role, 'user');
    assert.equal((await sessions.listForUser(user.id)).length, 3);
    assert.equal(events.length, 1, 'only user_created');
    expectKeycardError(await rejected(() => users.setRole('nobody', 'admin')), 'not_found');
  });

  test('setRole refuses an invalid role and ends no session', async () => {
    const { sessions, users, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    await loginsOf(user.id);
    const error = expectKeycardError(
      await rejected(() => users.setRole(user.id, 'Super Admin')),
      'invalid_request',
    );
    assert.equal(error.field, 'role');
    assert.equal((await sessions.listForUser(user.id)).length, 3);
    assert.equal((await users.get(user.id))?.role, 'user');
  });

  test('setRole refuses a role outside the closed set', async () => {
    const { users } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const error = expectKeycardError(
      await rejected(() => users.setRole(user.id, 'editor')),
      'invalid_request',
    );
    assert.match(error.message, /role must be one of: user, admin/);
    assert.equal((await users.get(user.id))?.role, 'user');
  });

  test('an app that lists its own roles can give exactly those', async () => {
    const { users } = setup(resolvePasswordPolicy(), ['user', 'editor']);
    const editor = await users.create({ username: 'erin', password: PASSWORD, role: 'editor' });
    assert.equal(editor.role, 'editor');
    const error = expectKeycardError(
      await rejected(() => users.create({ username: 'adam', password: PASSWORD, role: 'admin' })),
      'invalid_request',
    );
    assert.match(error.message, /one of: user, editor/);
  });

  test('block ends every session and refuses the right password as account_blocked; unblock lifts it', async () => {
    const { clock, sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const bob = await users.create({ username: 'bob', password: PASSWORD });
    const logins = await loginsOf(user.id);
    const bobLogins = await loginsOf(bob.id, 'bob');
    clock.advance(1000);
    const blocked = await users.block(user.id, { ip: '203.0.113.9' });
    assert.equal(blocked.blocked, true);
    assert.equal(blocked.updatedAt, clock.now());
    assert.deepEqual(await sessions.listForUser(user.id), []);
    for (const login of logins) assert.equal((await sessions.validate(login.token)).ok, false);
    assert.equal(
      (await sessions.listForUser(bob.id)).length,
      bobLogins.length,
      "bob's sessions are untouched",
    );
    assert.deepEqual(await users.verifyCredentials('alice', PASSWORD), {
      ok: false,
      reason: 'account_blocked',
    });
    assert.deepEqual(events.slice(2), [
      { type: 'user_blocked', userId: user.id, ip: '203.0.113.9' },
      { type: 'sessions_revoked', userId: user.id, count: 3, reason: 'blocked', ip: '203.0.113.9' },
    ]);

    const unblocked = await users.unblock(user.id);
    assert.equal(unblocked.blocked, false);
    assert.equal((await users.get(user.id))?.blocked, false);
    assert.equal((await users.verifyCredentials('alice', PASSWORD)).ok, true);
    assert.deepEqual(events.at(-1), { type: 'user_unblocked', userId: user.id });
  });

  test('block of an unknown user is not_found', async () => {
    const { users } = setup();
    expectKeycardError(await rejected(() => users.block('nobody')), 'not_found');
    expectKeycardError(await rejected(() => users.unblock('nobody')), 'not_found');
  });
});

describe('UserService.delete', () => {
  test('deletes the record, ends every login and frees the name', async () => {
    const { sessions, users, events, loginsOf } = setup();
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const bob = await users.create({ username: 'bob', password: PASSWORD });
    await loginsOf(user.id);
    await loginsOf(bob.id, 'bob');
    const deleted = await users.delete(user.id, { ip: '203.0.113.9' });
    assert.equal(deleted.id, user.id);
    assert.equal(await users.get(user.id), null);
    assert.equal(await users.findByUsername('alice'), null);
    assert.deepEqual(await sessions.listForUser(user.id), []);
    assert.equal((await sessions.listForUser(bob.id)).length, 3, "bob's logins are untouched");
    assert.deepEqual(await users.verifyCredentials('alice', PASSWORD), {
      ok: false,
      reason: 'invalid_credentials',
    });
    assert.deepEqual(events.slice(2), [
      { type: 'user_deleted', userId: user.id, role: 'user', ip: '203.0.113.9' },
      { type: 'sessions_revoked', userId: user.id, count: 3, reason: 'deleted', ip: '203.0.113.9' },
    ]);
    const again = await users.create({ username: 'Alice', password: PASSWORD });
    assert.notEqual(again.id, user.id, 'the name can be taken again, by a new account');
  });

  test('an unknown user, and the loser of two concurrent deletes, is not_found', async () => {
    const { users } = setup();
    expectKeycardError(await rejected(() => users.delete('nobody')), 'not_found');
    const user = await users.create({ username: 'alice', password: PASSWORD });
    const results = await Promise.allSettled([users.delete(user.id), users.delete(user.id)]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    const failed = results.find((result) => result.status === 'rejected');
    expectKeycardError(failed?.status === 'rejected' ? failed.reason : null, 'not_found');
  });
});
