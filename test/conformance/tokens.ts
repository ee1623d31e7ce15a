/**
 * Single-use account tokens (password reset, email verification, invitation, a sign-in waiting for its
 * second factor, a WebAuthn challenge): put, read without using, use once — atomically, of a given kind,
 * before expiry.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { KeycardError } from '../../src/core/errors.js';
import { generateToken, hashToken } from '../../src/core/random-tokens.js';
import type { AccountTokenRecord, Store } from '../../src/core/store.js';
import { type Conformance, HOUR } from './fixtures.js';

export function describeAccountTokenConformance(ctx: Conformance): void {
  describe('account tokens', () => {
    const { clock } = ctx;
    let store: Store;
    beforeEach(() => {
      store = ctx.store;
    });
    const token = (overrides: Partial<AccountTokenRecord> = {}): AccountTokenRecord => ({
      hash: hashToken(generateToken()),
      kind: 'password_reset',
      userId: 'user-1',
      email: 'ada@example.com',
      role: null,
      stamp: 'stamp-1',
      createdAt: clock.now(),
      expiresAt: clock.now() + HOUR / 2,
      ...overrides,
    });

    test('a token is read without being used, then used exactly once', async () => {
      const record = token();
      await store.putAccountToken(record);
      assert.deepEqual(await store.getAccountToken(record.hash, 'password_reset', clock.now()), record);
      assert.deepEqual(await store.getAccountToken(record.hash, 'password_reset', clock.now()), record);
      assert.deepEqual(await store.takeAccountToken(record.hash, 'password_reset', clock.now()), record);
      assert.equal(await store.takeAccountToken(record.hash, 'password_reset', clock.now()), null);
      assert.equal(await store.getAccountToken(record.hash, 'password_reset', clock.now()), null);
    });

    test('every field round-trips, nulls included', async () => {
      const invitation = token({ kind: 'invitation', userId: null, email: null, role: 'admin', stamp: null });
      await store.putAccountToken(invitation);
      assert.deepEqual(await store.takeAccountToken(invitation.hash, 'invitation', clock.now()), invitation);
    });

    test('a token of another kind is neither returned nor used up', async () => {
      const record = token({ kind: 'verify_email' });
      await store.putAccountToken(record);
      assert.equal(await store.getAccountToken(record.hash, 'password_reset', clock.now()), null);
      assert.equal(await store.takeAccountToken(record.hash, 'password_reset', clock.now()), null);
      assert.deepEqual(await store.takeAccountToken(record.hash, 'verify_email', clock.now()), record);
    });

    test('a sign-in waiting for its second factor is taken once, and is no WebAuthn challenge', async () => {
      const pending = token({ kind: 'mfa_pending', email: null, stamp: 'password-fingerprint' });
      await store.putAccountToken(pending);
      assert.equal(await store.getAccountToken(pending.hash, 'webauthn_challenge', clock.now()), null);
      assert.equal(await store.takeAccountToken(pending.hash, 'webauthn_challenge', clock.now()), null);
      assert.deepEqual(await store.takeAccountToken(pending.hash, 'mfa_pending', clock.now()), pending);
      assert.equal(await store.takeAccountToken(pending.hash, 'mfa_pending', clock.now()), null);
      const challenge = token({ kind: 'webauthn_challenge', userId: null, email: null, stamp: null });
      await store.putAccountToken(challenge);
      assert.equal(await store.takeAccountToken(challenge.hash, 'mfa_pending', clock.now()), null);
      assert.deepEqual(
        await store.takeAccountToken(challenge.hash, 'webauthn_challenge', clock.now()),
        challenge,
      );
    });

    test('an unknown hash is null', async () => {
      assert.equal(
        await store.getAccountToken(hashToken(generateToken()), 'password_reset', clock.now()),
        null,
      );
      assert.equal(
        await store.takeAccountToken(hashToken(generateToken()), 'password_reset', clock.now()),
        null,
      );
    });

    test('an expired token is never returned, at its expiry or after', async () => {
      const record = token();
      await store.putAccountToken(record);
      assert.equal(await store.getAccountToken(record.hash, 'password_reset', record.expiresAt), null);
      assert.equal(await store.takeAccountToken(record.hash, 'password_reset', record.expiresAt + 1), null);
      // One millisecond before, it still is (the expiry is the store's clock's, not the server's).
      const fresh = token();
      await store.putAccountToken(fresh);
      assert.deepEqual(
        await store.takeAccountToken(fresh.hash, 'password_reset', fresh.expiresAt - 1),
        fresh,
      );
    });

    test('a hash that exists is refused, and the first token stays', async () => {
      const record = token();
      await store.putAccountToken(record);
      await assert.rejects(
        store.putAccountToken({ ...record, userId: 'someone-else' }),
        (error) => error instanceof KeycardError && error.code === 'invalid_request',
      );
      assert.equal(
        (await store.getAccountToken(record.hash, 'password_reset', clock.now()))?.userId,
        'user-1',
      );
    });

    test('of 20 simultaneous uses of one token, exactly one gets it', async () => {
      const record = token();
      await store.putAccountToken(record);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.takeAccountToken(record.hash, 'password_reset', clock.now())),
      );
      assert.equal(results.filter((result) => result !== null).length, 1);
    });
  });
}
