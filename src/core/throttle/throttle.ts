/**
 * Brute-force throttling on the store's fixed-window counters, so that every instance sharing the store
 * sees the same counts. The policy and its numbers are explained in docs/security.md; in short:
 *
 * - **per address** (any account): after `addressMaxFailures` failed logins in a window, the address is
 *   refused until the window ends — the limit on one address spraying many accounts;
 * - **per account, from one address** (the pair): `accountFreeFailures` failures, then each failure makes
 *   the pair wait `baseDelay × 2^k`, never more than `maxDelay`; a success resets the pair;
 * - **per account, from every address**: once the account has more than `attackThreshold` failures in the
 *   window, an address that has not signed in to it within `knownAddressTTL` waits after every failure, the
 *   wait growing with the account's count (again at most `maxDelay`).
 *
 * Nothing ever locks an account as such: every wait belongs to one (account, address) pair and is bounded
 * by `maxDelay`, and a fresh address always gets its first attempt checked. An attacker elsewhere can
 * therefore cost the real user at most one `maxDelay` between attempts, and nothing at all from an address
 * the user has signed in from.
 *
 * Checking reads two counters and never writes, so a refused attempt costs no password hash and no store
 * write. Usernames are counted whether or not the account exists, so throttling reveals nothing about
 * existence. Counter keys hold a SHA-256 of the username and address, so the counter table is not a list
 * of attempted usernames (some of which are passwords typed into the wrong field).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CounterStore } from '../store.js';
import { normalizeUsername } from '../users/username.js';
import { addressBucket } from './address.js';
import type { ThrottlePolicy } from './options.js';

/** `address`: the client address is over its limit; `account`: this address must wait for this account. */
export type ThrottleScope = 'address' | 'account';

export type ThrottleVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly scope: ThrottleScope; readonly retryAfterSeconds: number };

export interface Throttle {
  readonly policy: ThrottlePolicy;
  /** Before checking a password: refused or not. Reads only; `username` as the client sent it. */
  checkLogin(username: unknown, ip: string | null): Promise<ThrottleVerdict>;
  /** Counts a wrong password (or unknown user); the verdict is what the next attempt will meet. */
  recordLoginFailure(username: unknown, ip: string | null): Promise<ThrottleVerdict>;
  /** Resets this address's count for the account and remembers the address as known for it. */
  recordLoginSuccess(username: unknown, ip: string | null): Promise<void>;
  /** Before exchanging a refresh token. Reads only. */
  checkRefresh(ip: string | null): Promise<ThrottleVerdict>;
  /** Counts a refused refresh token from this address. */
  recordRefreshFailure(ip: string | null): Promise<ThrottleVerdict>;
}

const ALLOWED: ThrottleVerdict = Object.freeze({ ok: true });

const digest = (...parts: string[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

/** The canonical username when it is one, else the string as sent: unknown names count like real ones. */
function accountName(username: unknown): string {
  const name = normalizeUsername(username);
  if (name.ok) return name.username;
  return typeof username === 'string' ? username.slice(0, 256) : '';
}

interface LoginKeys {
  /** Failed logins from the address, any account. */
  address: string;
  /** Failed logins for the account from the address. */
  pair: string;
  /** The pair's current wait: a counter whose window is the delay. */
  wait: string;
  /** Failed logins for the account from every address. */
  account: string;
  /** Present while the address counts as known for the account (it signed in from there). */
  known: string;
}

function loginKeys(username: unknown, ip: string | null): LoginKeys {
  const account = accountName(username);
  const bucket = addressBucket(ip);
  const pair = digest(account, bucket);
  return {
    address: `login:address:${digest(bucket)}`,
    pair: `login:pair:${pair}`,
    wait: `login:wait:${pair}`,
    account: `login:account:${digest(account)}`,
    known: `login:known:${pair}`,
  };
}

function refuse(scope: ThrottleScope, milliseconds: number): ThrottleVerdict {
  // Retry-After is in whole seconds (RFC 9110 §10.2.3); rounding up never invites an early retry.
  return { ok: false, scope, retryAfterSeconds: Math.max(1, Math.ceil(milliseconds / 1000)) };
}

/** The longer of two refusals (the client must wait for both). */
function longer(a: ThrottleVerdict, b: ThrottleVerdict): ThrottleVerdict {
  if (a.ok) return b;
  if (b.ok) return a;
  return b.retryAfterSeconds > a.retryAfterSeconds ? b : a;
}

export function createThrottle(store: CounterStore, policy: ThrottlePolicy, clock: Clock): Throttle {
  /** The k-th delay (k ≥ 0): base × 2^k, capped. */
  const delay = (k: number): number => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(k, 40));

  return {
    policy,

    async checkLogin(username, ip) {
      const now = clock.now();
      const keys = loginKeys(username, ip);
      const [address, wait] = await Promise.all([
        store.readCounter(keys.address, now),
        store.readCounter(keys.wait, now),
      ]);
      let verdict = ALLOWED;
      if (address && address.count >= policy.addressMaxFailures) {
        verdict = refuse('address', address.resetAt - now);
      }
      if (wait) verdict = longer(verdict, refuse('account', wait.resetAt - now));
      return verdict;
    },

    async recordLoginFailure(username, ip) {
      const now = clock.now();
      const keys = loginKeys(username, ip);
      const [address, pair, account] = await Promise.all([
        store.incrementCounter(keys.address, policy.addressWindowMs, now),
        store.incrementCounter(keys.pair, policy.accountWindowMs, now),
        store.incrementCounter(keys.account, policy.accountWindowMs, now),
      ]);
      let wait =
        pair.count > policy.accountFreeFailures ? delay(pair.count - policy.accountFreeFailures - 1) : 0;
      if (account.count > policy.attackThreshold && (await store.readCounter(keys.known, now)) === null) {
        wait = Math.max(wait, delay(account.count - policy.attackThreshold - 1));
      }
      if (wait > 0) {
        // A fresh window as long as the delay: reset first, since an increment never moves a live window.
        await store.resetCounter(keys.wait);
        await store.incrementCounter(keys.wait, wait, now);
      }
      let verdict = wait > 0 ? refuse('account', wait) : ALLOWED;
      if (address.count >= policy.addressMaxFailures) {
        verdict = longer(verdict, refuse('address', address.resetAt - now));
      }
      return verdict;
    },

    async recordLoginSuccess(username, ip) {
      const now = clock.now();
      const keys = loginKeys(username, ip);
      // The known-address window restarts at every success, so it means "signed in within the TTL".
      const renewKnown = async () => {
        await store.resetCounter(keys.known);
        await store.incrementCounter(keys.known, policy.knownAddressMs, now);
      };
      await Promise.all([store.resetCounter(keys.pair), renewKnown()]);
    },

    async checkRefresh(ip) {
      const now = clock.now();
      const counter = await store.readCounter(`refresh:address:${digest(addressBucket(ip))}`, now);
      return counter && counter.count >= policy.refreshMaxFailures
        ? refuse('address', counter.resetAt - now)
        : ALLOWED;
    },

    async recordRefreshFailure(ip) {
      const now = clock.now();
      const counter = await store.incrementCounter(
        `refresh:address:${digest(addressBucket(ip))}`,
        policy.refreshWindowMs,
        now,
      );
      return counter.count >= policy.refreshMaxFailures ? refuse('address', counter.resetAt - now) : ALLOWED;
    },
  };
}
