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
