/**
 * Users: create (unique canonical username and skeleton), find, update, list by page and by username
 * prefix, count, delete (freeing the name and its skeleton).
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

    test('deletes a user: gone by id and by name, not listed or counted; false when unknown', async () => {
      const kept = userFixture(clock, { username: 'kept' });
      const doomed = userFixture(clock, { username: 'doomed' });
      await store.createUser(kept);
      await store.createUser(doomed);
      assert.equal(await store.deleteUser(doomed.id), true);
      assert.equal(await store.getUserById(doomed.id), null);
      assert.equal(await store.getUserByUsername('doomed'), null);
      assert.equal(await store.countUsers(), 1);
      assert.deepEqual(
        (await store.listUsers({ limit: 10 })).map((user) => user.username),
        ['kept'],
      );
      assert.equal(await store.updateUser(doomed.id, { role: 'admin', updatedAt: clock.now() }), null);
      assert.equal(await store.deleteUser(doomed.id), false, 'a second delete finds nothing');
      assert.equal(await store.deleteUser('no-such-id'), false);
      assert.deepEqual(await store.getUserById(kept.id), kept, 'the other user is untouched');
    });

    test('deleting a user frees its email address, and only its own', async () => {
      const doomed = userFixture(clock, { email: 'doomed@example.com' });
      const other = userFixture(clock, { email: 'other@example.com' });
      await store.createUser(doomed);
      await store.createUser(other);
      assert.equal(await store.deleteUser(doomed.id), true);
      assert.equal(await store.getUserByEmail('doomed@example.com'), null);
      assert.equal((await store.getUserByEmail('other@example.com'))?.id, other.id);
      const next = userFixture(clock, { email: 'doomed@example.com' });
      await store.createUser(next);
      assert.equal((await store.getUserByEmail('doomed@example.com'))?.id, next.id);
    });

    test('deleting a user frees its username and its skeleton for a new user', async () => {
      const original = userFixture(clock, { username: 'paypal', skeleton: 'skeleton-of-paypal' });
      await store.createUser(original);
      await store.deleteUser(original.id);
      // The same name again, under a new id.
      const again = userFixture(clock, { username: 'paypal', skeleton: 'skeleton-of-paypal' });
      await store.createUser(again);
      assert.equal((await store.getUserByUsername('paypal'))?.id, again.id);
      await store.deleteUser(again.id);
      // A look-alike of the deleted name (another name, the same skeleton).
      const lookalike = userFixture(clock, { username: 'pаypal', skeleton: 'skeleton-of-paypal' });
      await store.createUser(lookalike);
      assert.equal((await store.getUserByUsername('pаypal'))?.id, lookalike.id);
      assert.equal(await store.countUsers(), 1);
    });

    test('a delete does not free a name that another user holds now', async () => {
      // guards: a delete that frees names by the deleted record's fields must not free them for another id
      const first = userFixture(clock, { username: 'erin', skeleton: 'skeleton-of-erin' });
      await store.createUser(first);
      await store.deleteUser(first.id);
      const second = userFixture(clock, { username: 'erin', skeleton: 'skeleton-of-erin' });
      await store.createUser(second);
      assert.equal(await store.deleteUser(first.id), false);
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'erin', skeleton: 'skeleton-of-erin' })),
        (error) => error instanceof KeycardError && error.code === 'username_taken',
      );
      await assert.rejects(
        store.createUser(userFixture(clock, { username: 'erin2', skeleton: 'skeleton-of-erin' })),
        (error) => error instanceof KeycardError && error.code === 'username_taken',
      );
    });

    test('concurrent deletes of one user: exactly one reports it; delete racing a re-creation leaves one user', async () => {
      const user = userFixture(clock, { username: 'frank' });
      await store.createUser(user);
      const results = await Promise.all(Array.from({ length: 5 }, () => store.deleteUser(user.id)));
      assert.equal(results.filter(Boolean).length, 1);
      const victim = userFixture(clock, { username: 'gus' });
      await store.createUser(victim);
      // Deletes of the old user and creations of its name at once: at most one creation is admitted (the
      // name is one, whatever the order), and what is left is consistent — found by name and by id alike.
      const creations = Array.from({ length: 4 }, () => userFixture(clock, { username: 'gus' }));
      const outcomes = await Promise.allSettled([
        store.deleteUser(victim.id),
        ...creations.map((candidate) => store.createUser(candidate)),
      ]);
      const created = creations.filter((_, i) => outcomes[i + 1]?.status === 'fulfilled');
      assert.ok(created.length <= 1, `${created.length} users named gus were created`);
      for (const outcome of outcomes.slice(1)) {
        if (outcome.status === 'rejected') {
          assert.ok(outcome.reason instanceof KeycardError && outcome.reason.code === 'username_taken');
        }
      }
      assert.equal(await store.getUserById(victim.id), null);
      const holder = await store.getUserByUsername('gus');
      assert.equal(holder?.id, created[0]?.id);
      assert.equal(await store.countUsers(), created.length);
    });

    test('lists by username prefix, page by page with after', async () => {
      for (const username of ['ann', 'anna', 'annabel', 'anne', 'ant', 'bob', 'an', 'zoë', 'zoë.ångström']) {
        await store.createUser(userFixture(clock, { username }));
      }
      const names = async (options: { limit: number; after?: string; prefix?: string }) =>
        (await store.listUsers(options)).map((user) => user.username);
      assert.deepEqual(await names({ limit: 10, prefix: 'ann' }), ['ann', 'anna', 'annabel', 'anne']);
      assert.deepEqual(await names({ limit: 2, prefix: 'ann' }), ['ann', 'anna']);
      assert.deepEqual(await names({ limit: 2, prefix: 'ann', after: 'anna' }), ['annabel', 'anne']);
      assert.deepEqual(await names({ limit: 2, prefix: 'ann', after: 'anne' }), []);
      // An `after` before the prefix's range starts at the prefix; one past it finds nothing.
      assert.deepEqual(await names({ limit: 10, prefix: 'ann', after: 'a' }), [
        'ann',
        'anna',
        'annabel',
        'anne',
      ]);
      assert.deepEqual(await names({ limit: 10, prefix: 'ann', after: 'b' }), []);
      assert.deepEqual(await names({ limit: 10, prefix: 'annabel' }), ['annabel']);
      assert.deepEqual(await names({ limit: 10, prefix: 'annabelle' }), []);
      assert.deepEqual(await names({ limit: 10, prefix: 'zoë' }), ['zoë', 'zoë.ångström']);
      assert.deepEqual(await names({ limit: 10, prefix: 'zoë.å' }), ['zoë.ångström']);
      assert.deepEqual(await names({ limit: 10, prefix: 'b' }), ['bob']);
      assert.deepEqual(await names({ limit: 10, prefix: 'c' }), []);
      assert.equal((await names({ limit: 100, prefix: '' })).length, 9, 'an empty prefix is no filter');
    });

    test('a prefix is literal: no wildcard or pattern character matches anything but itself', async () => {
      for (const username of ['a_b', 'axb', 'a%c', 'abc', 'a\\d', 'a.e', 'aze', 'a*', 'a[1]', 'a^', 'a$']) {
        await store.createUser(userFixture(clock, { username }));
      }
      const names = async (prefix: string) =>
        (await store.listUsers({ limit: 100, prefix })).map((user) => user.username).sort();
      assert.deepEqual(await names('a_'), ['a_b'], '_ is not a one-character wildcard');
      assert.deepEqual(await names('a%'), ['a%c'], '% is not a wildcard');
      assert.deepEqual(await names('%'), []);
      assert.deepEqual(await names('_'), []);
      assert.deepEqual(await names('\\'), []);
      assert.deepEqual(await names('a\\'), ['a\\d'], 'a backslash escapes nothing');
      assert.deepEqual(await names('a.'), ['a.e'], '. is not a regular-expression wildcard');
      assert.deepEqual(await names('a*'), ['a*']);
      assert.deepEqual(await names('a['), ['a[1]']);
      assert.deepEqual(await names('a^'), ['a^']);
      assert.deepEqual(await names('a$'), ['a$']);
      assert.deepEqual(await names('.*'), []);
    });
  });
}
