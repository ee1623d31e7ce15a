/**
 * Users: create (unique canonical username and skeleton), find, update, list by page, count.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/store.js';
import { type Conformance, userFixture } from './fixtures.js';

export function describeUserConformance(ctx: Conformance): void {
  describe('users', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    test('creates a user and finds it by id and by username', async () => {
      const user = userFixture(clock);
      await store.createUser(user);
      assert.deepEqual(await store.getUserById(user.id), user);
      assert.deepEqual(await store.getUserByUsername(user.username), user);
      assert.equal(await store.getUserByUsername('no-such-user'), null);
      assert.equal(await store.getUserById('no-such-id'), null);
    });

    test('refuses a second user with the same username', async () => {
      const user = userFixture(clock, { username: 'carol' });
      await store.createUser(user);
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'carol' })),
        (error) => error instanceof KeycardError && error.code === 'username_taken',
      );
      assert.equal(await store.countUsers(), 1);
    });

    test('updates password, role and blocked independently', async () => {
      const user = userFixture(clock);
      await store.createUser(user);
      clock.advance(1000);
      const blocked = await store.updateUser(user.id, { blocked: true, updatedAt: clock.now() });
      assert.equal(blocked?.blocked, true);
      assert.equal(blocked?.role, 'user');
      assert.equal(blocked?.passwordHash, user.passwordHash);
      assert.equal(blocked?.updatedAt, clock.now());
      const promoted = await store.updateUser(user.id, {
        role: 'admin',
        passwordHash: '$2b$new',
        updatedAt: clock.now(),
      });
      assert.equal(promoted?.role, 'admin');
      assert.equal(promoted?.passwordHash, '$2b$new');
      assert.equal(promoted?.blocked, true);
      const unblocked = await store.updateUser(user.id, { blocked: false, updatedAt: clock.now() });
      assert.equal(unblocked?.blocked, false);
      assert.deepEqual(await store.getUserById(user.id), unblocked);
    });

    const emailTaken = (error: unknown) => error instanceof KeycardError && error.code === 'email_taken';

    test('an email address: stored, found by address, unique, changed, verified, removed', async () => {
      const ada = userFixture(clock, { email: 'ada@example.com' });
      await store.createUser(ada);
      assert.deepEqual(await store.getUserByEmail('ada@example.com'), ada);
      assert.equal(await store.getUserByEmail('nobody@example.com'), null);
      // Another user cannot be created with it, nor take it by an update; nothing changes then.
      await assert.rejects(store.createUser(userFixture(clock, { email: 'ada@example.com' })), emailTaken);
      assert.equal(await store.countUsers(), 1);
      const bob = userFixture(clock, { email: 'bob@example.com' });
      await store.createUser(bob);
      await assert.rejects(
        store.updateUser(bob.id, { email: 'ada@example.com', role: 'admin', updatedAt: clock.now() }),
        emailTaken,
      );
      assert.deepEqual(await store.getUserById(bob.id), bob);
      // Changing the address frees the old one; the verification time is set and cleared on its own.
      clock.advance(1000);
      const moved = await store.updateUser(ada.id, { email: 'ada@new.example', updatedAt: clock.now() });
      assert.equal(moved?.email, 'ada@new.example');
      assert.equal(await store.getUserByEmail('ada@example.com'), null);
      assert.equal((await store.getUserByEmail('ada@new.example'))?.id, ada.id);
      const verified = await store.updateUser(ada.id, {
        emailVerifiedAt: clock.now(),
        updatedAt: clock.now(),
      });
      assert.equal(verified?.emailVerifiedAt, clock.now());
      assert.equal(verified?.email, 'ada@new.example', 'an update without email leaves it');
      await store.updateUser(bob.id, { email: 'ada@example.com', updatedAt: clock.now() });
      assert.equal(
        (await store.getUserByEmail('ada@example.com'))?.id,
        bob.id,
        'the freed address can be taken',
      );
      // Setting the same address again is no conflict with itself.
      assert.equal(
        (await store.updateUser(bob.id, { email: 'ada@example.com', updatedAt: clock.now() }))?.email,
        'ada@example.com',
      );
      const removed = await store.updateUser(ada.id, {
        email: null,
        emailVerifiedAt: null,
        updatedAt: clock.now(),
      });
      assert.equal(removed?.email, null);
      assert.equal(removed?.emailVerifiedAt, null);
      assert.equal(await store.getUserByEmail('ada@new.example'), null);
      // Users without an address do not conflict with each other.
      await store.createUser(userFixture(clock));
      await store.createUser(userFixture(clock));
      assert.equal(await store.countUsers(), 4);
    });

    test('of simultaneous claims of one address, exactly one wins', async () => {
      const users = Array.from({ length: 6 }, () => userFixture(clock));
      for (const user of users) await store.createUser(user);
      const results = await Promise.allSettled(
        users.map((user) => store.updateUser(user.id, { email: 'race@example.com', updatedAt: clock.now() })),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(emailTaken(result.reason), String(result.reason));
      }
      const creations = await Promise.allSettled(
        Array.from({ length: 6 }, () => store.createUser(userFixture(clock, { email: 'new@example.com' }))),
      );
      assert.equal(creations.filter((result) => result.status === 'fulfilled').length, 1);
    });

    test('update of an unknown user returns null', async () => {
      assert.equal(await store.updateUser('missing', { role: 'admin', updatedAt: clock.now() }), null);
    });

    test('lists users by username, page by page, and counts them', async () => {
      for (const username of ['dave', 'alice', 'carol', 'bob', 'erin']) {
        await store.createUser(userFixture(clock, { username }));
      }
      assert.equal(await store.countUsers(), 5);
      const page1 = await store.listUsers({ limit: 2 });
      assert.deepEqual(
        page1.map((user) => user.username),
        ['alice', 'bob'],
      );
      const page2 = await store.listUsers({ limit: 2, after: 'bob' });
      assert.deepEqual(
        page2.map((user) => user.username),
        ['carol', 'dave'],
      );
      const page3 = await store.listUsers({ limit: 2, after: 'dave' });
      assert.deepEqual(
        page3.map((user) => user.username),
        ['erin'],
      );
    });

    test('stores non-ASCII canonical usernames exactly', async () => {
      const user = userFixture(clock, { username: 'zoë.ångström' });
      await store.createUser(user);
      assert.equal((await store.getUserByUsername('zoë.ångström'))?.id, user.id);
    });

    test('refuses a name whose skeleton another user has, and says how it conflicts', async () => {
      const original = userFixture(clock, { username: 'paypal', skeleton: 'skeleton-of-paypal' });
      await store.createUser(original);
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'pаypal', skeleton: 'skeleton-of-paypal' })),
        (error) =>
          error instanceof KeycardError &&
          error.code === 'username_taken' &&
          /looks like an existing username/.test(error.message) &&
          !error.message.includes("'paypal'"),
      );
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'paypal', skeleton: 'another-skeleton' })),
        (error) =>
          error instanceof KeycardError && error.code === 'username_taken' && /is taken/.test(error.message),
      );
      assert.equal(await store.countUsers(), 1);
      assert.equal((await store.getUserByUsername('paypal'))?.skeleton, 'skeleton-of-paypal');
    });
  });
}
