/**
 * Throttling of second factors, on the store's counters: a 6-digit code has a million values, so wrong
 * ones are counted per user — at sign-in and at step-up alike, whatever the client — and past the limit
 * nothing is checked until the window ends. A pending sign-in also dies after a few wrong codes.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CounterStore } from '../store.js';
import { addressBucket } from '../throttle/address.js';

/** Wrong codes per user in a window: 10 per 15 minutes, so guessing a TOTP code takes years. */
export const MFA_USER_LIMIT = { max: 10, windowMs: 15 * 60_000 };
/**
 * Passwordless passkey requests per client address (options, which store a challenge, and sign-ins): an
 * anonymous endpoint that writes must be bounded, or it fills the store.
 */
export const PASSWORDLESS_ADDRESS_LIMIT = { max: 30, windowMs: 15 * 60_000 };
/** Wrong codes one pending sign-in survives. */
export const MFA_PENDING_ATTEMPTS = 5;

const key = (kind: string, id: string): string =>
  `mfa:${kind}:${createHash('sha256').update(id).digest('base64url')}`;

/** A code's attempt, counted before it is checked (`reserve`). */
export interface CodeAttempt {
  /** Seconds to wait: the user is over the limit, and this code is not checked. Null: check it. */
  wait: number | null;
  /** How many codes this pending sign-in has had, this one included (0 without one). */
  pendingAttempts: number;
  /** The code was right: it does not count. */
  release(): Promise<void>;
}

export interface MfaThrottle {
  /**
   * Counts a code before it is checked — so that simultaneous guesses cannot all pass under the limit,
   * as a sign-in's password is counted (throttle/throttle.ts) — against the user and the pending sign-in.
   */
  reserve(userId: string, pending: { hash: string; expiresAt: number } | null): Promise<CodeAttempt>;
  /** Seconds to wait before this user's codes are checked again, or null. Reads only. */
  check(userId: string): Promise<number | null>;
  /** Counts a wrong code; returns how many this pending sign-in (if any) has had. */
  recordFailure(userId: string, pendingHash: string | null, pendingExpiresAt: number | null): Promise<number>;
  /** Counts a passwordless request from this address; over the limit, the seconds to wait. */
  countPasswordless(ip: string | null): Promise<number | null>;
}

export function createMfaThrottle(store: CounterStore, clock: Clock): MfaThrottle {
  return {
    async reserve(userId, pending) {
      const now = clock.now();
      const userKey = key('user', userId);
      const pendingKey = pending ? key('pending', pending.hash) : null;
      const [user, attempts] = await Promise.all([
        store.incrementCounter(userKey, MFA_USER_LIMIT.windowMs, now),
        pendingKey && pending
          ? store.incrementCounter(pendingKey, Math.max(1, pending.expiresAt - now), now)
          : Promise.resolve(null),
      ]);
      return {
        wait: user.count > MFA_USER_LIMIT.max ? Math.max(1, Math.ceil((user.resetAt - now) / 1000)) : null,
        pendingAttempts: attempts?.count ?? 0,
        async release() {
          const at = clock.now();
          await Promise.all([
            store.releaseCounter(userKey, user.resetAt, at),
            pendingKey && attempts ? store.releaseCounter(pendingKey, attempts.resetAt, at) : undefined,
          ]);
        },
      };
    },
    async check(userId) {
      const now = clock.now();
      const counter = await store.readCounter(key('user', userId), now);
      return counter && counter.count >= MFA_USER_LIMIT.max
        ? Math.max(1, Math.ceil((counter.resetAt - now) / 1000))
        : null;
    },
    async recordFailure(userId, pendingHash, pendingExpiresAt) {
      const now = clock.now();
      const user = store.incrementCounter(key('user', userId), MFA_USER_LIMIT.windowMs, now);
      if (pendingHash === null || pendingExpiresAt === null) {
        await user;
        return 0;
      }
      const [, pending] = await Promise.all([
        user,
        store.incrementCounter(key('pending', pendingHash), Math.max(1, pendingExpiresAt - now), now),
      ]);
      return pending.count;
    },
    async countPasswordless(ip) {
      const now = clock.now();
      const counter = await store.incrementCounter(
        key('passwordless', addressBucket(ip)),
        PASSWORDLESS_ADDRESS_LIMIT.windowMs,
        now,
      );
      return counter.count > PASSWORDLESS_ADDRESS_LIMIT.max
        ? Math.max(1, Math.ceil((counter.resetAt - now) / 1000))
        : null;
    },
  };
}
