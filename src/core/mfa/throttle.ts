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

export interface MfaThrottle {
  /** Seconds to wait before this user's codes are checked again, or null. Reads only. */
  check(userId: string): Promise<number | null>;
  /** Counts a wrong code; returns how many this pending sign-in (if any) has had. */
  recordFailure(userId: string, pendingHash: string | null, pendingExpiresAt: number | null): Promise<number>;
  /** Counts a passwordless request from this address; over the limit, the seconds to wait. */
  countPasswordless(ip: string | null): Promise<number | null>;
}

export function createMfaThrottle(store: CounterStore, clock: Clock): MfaThrottle {
  return {
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
