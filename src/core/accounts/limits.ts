/**
 * Throttling for the account links, on the store's counters like sign-in throttling: how often one
 * address may ask for reset mail, how often one email address may be sent one, and how many unusable
 * tokens one client address may present. Counted whether or not the account exists, so a 429 says
 * nothing about it.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CounterStore } from '../store.js';
import { addressBucket } from '../throttle/address.js';

export interface LinkLimits {
  /** Reset mails asked for from one client address. */
  forgotPerAddress: { max: number; windowMs: number };
  /** Reset mails sent to one email address. */
  forgotPerEmail: { max: number; windowMs: number };
  /** Verification mails sent for one user. */
  verifyPerUser: { max: number; windowMs: number };
  /** Open sign-ups from one client address. */
  signupsPerAddress: { max: number; windowMs: number };
  /** Unusable (unknown, expired, used) link tokens presented from one client address. */
  badTokensPerAddress: { max: number; windowMs: number };
}

const MINUTE = 60_000;

export const DEFAULT_LINK_LIMITS: LinkLimits = Object.freeze({
  forgotPerAddress: { max: 10, windowMs: 15 * MINUTE },
  forgotPerEmail: { max: 3, windowMs: 60 * MINUTE },
  verifyPerUser: { max: 5, windowMs: 60 * MINUTE },
  signupsPerAddress: { max: 5, windowMs: 60 * MINUTE },
  badTokensPerAddress: { max: 20, windowMs: 15 * MINUTE },
});

const digest = (...parts: string[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

/** Seconds to wait, or null when allowed. */
export type LimitVerdict = number | null;

export interface LinkThrottle {
  /** Counts one request; over a limit, the seconds to wait (and it counts anyway: a flood stays refused). */
  countForgot(ip: string | null, email: string): Promise<LimitVerdict>;
  countVerify(userId: string): Promise<LimitVerdict>;
  countSignup(ip: string | null): Promise<LimitVerdict>;
  /** Before looking a token up: the seconds to wait, or null. Reads only. */
  checkToken(ip: string | null): Promise<LimitVerdict>;
  /** A token that could not be used. */
  recordBadToken(ip: string | null): Promise<void>;
}

export function createLinkThrottle(
  store: CounterStore,
  clock: Clock,
  limits = DEFAULT_LINK_LIMITS,
): LinkThrottle {
  const count = async (key: string, limit: { max: number; windowMs: number }): Promise<LimitVerdict> => {
    const now = clock.now();
    const counter = await store.incrementCounter(key, limit.windowMs, now);
    return counter.count > limit.max ? Math.max(1, Math.ceil((counter.resetAt - now) / 1000)) : null;
  };
  const tokenKey = (ip: string | null) => `link:bad:${digest(addressBucket(ip))}`;
  return {
    async countForgot(ip, email) {
      const [address, mailbox] = await Promise.all([
        count(`forgot:address:${digest(addressBucket(ip))}`, limits.forgotPerAddress),
        count(`forgot:email:${digest(email)}`, limits.forgotPerEmail),
      ]);
      return address ?? mailbox;
    },
    countVerify: (userId) => count(`verify:user:${digest(userId)}`, limits.verifyPerUser),
    countSignup: (ip) => count(`signup:address:${digest(addressBucket(ip))}`, limits.signupsPerAddress),
    async checkToken(ip) {
      const now = clock.now();
      const counter = await store.readCounter(tokenKey(ip), now);
      return counter && counter.count >= limits.badTokensPerAddress.max
        ? Math.max(1, Math.ceil((counter.resetAt - now) / 1000))
        : null;
    },
    async recordBadToken(ip) {
      await store.incrementCounter(tokenKey(ip), limits.badTokensPerAddress.windowMs, clock.now());
    },
  };
}
