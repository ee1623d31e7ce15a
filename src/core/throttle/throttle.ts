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
 * An attempt is counted *before* its password is checked (`reserveLogin`: atomic increments in the store),
 * and taken back if it turns out not to be a failure; so attempts that arrive together are each counted,
 * and a burst checks no more passwords than the budgets allow, on one instance or many. A refused attempt
 * costs no password hash. Usernames are counted whether or not the account exists, so throttling reveals nothing about
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

/**
 * One login attempt's place in the budgets, taken before its password is checked. Hand it back with
 * exactly one of `recordLoginFailure`, `recordLoginSuccess` or `releaseLogin`.
 */
export interface LoginTicket {
  readonly keys: LoginKeys;
  /** The windows the reservation went into (for releasing it from exactly those). */
  readonly addressResetAt: number;
  readonly pairResetAt: number;
  readonly accountResetAt: number;
  /** Failures of the address counted with this one (for the verdict after a failure). */
  readonly addressCount: number;
  /** When this attempt holds the pair's wait: when that wait ends. */
  readonly waitEndsAt: number | null;
}

export type LoginReservation =
  | { readonly ok: true; readonly ticket: LoginTicket }
  | { readonly ok: false; readonly scope: ThrottleScope; readonly retryAfterSeconds: number };

export interface Throttle {
  readonly policy: ThrottlePolicy;
  /**
   * Before checking a password: counts the attempt in every budget at once — atomically in the store,
   * so simultaneous attempts each get their own place — and refuses it when it would exceed one. A
   * refused attempt is taken back. `username` as the client sent it.
   */
  reserveLogin(username: unknown, ip: string | null): Promise<LoginReservation>;
  /** The password was wrong (or the user unknown): the reservation stays as a failure. The verdict is what the next attempt will meet. */
  recordLoginFailure(ticket: LoginTicket): Promise<ThrottleVerdict>;
  /** The password was right: the reservation is taken back, the pair's count reset and the address remembered as known. */
  recordLoginSuccess(ticket: LoginTicket): Promise<void>;
  /** The attempt does not count (a right password for a blocked account): the reservation is taken back. */
  releaseLogin(ticket: LoginTicket): Promise<void>;
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
  /** Login attempts from the address, any account (failures, and attempts still being checked). */
  address: string;
  /** Attempts for the account from the address. */
  pair: string;
  /** The pair's current wait: a counter whose window is the delay; held by one attempt at a time. */
  wait: string;
  /** Attempts for the account from every address. */
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

function refuse(scope: ThrottleScope, milliseconds: number): ThrottleVerdict & { ok: false } {
  // Retry-After is in whole seconds (RFC 9110 §10.2.3); rounding up never invites an early retry.
  return { ok: false, scope, retryAfterSeconds: Math.max(1, Math.ceil(milliseconds / 1000)) };
}

export function createThrottle(store: CounterStore, policy: ThrottlePolicy, clock: Clock): Throttle {
  /** The k-th delay (k ≥ 0): base × 2^k, capped. */
  const delay = (k: number): number => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(k, 40));

  /** Takes back a reservation's increments (what is no longer in a live window is left alone). */
  const release = (ticket: LoginTicket, now: number, parts: { pair: boolean }): Promise<unknown> =>
    Promise.all([
      store.releaseCounter(ticket.keys.address, ticket.addressResetAt, now),
      store.releaseCounter(ticket.keys.account, ticket.accountResetAt, now),
      parts.pair ? store.releaseCounter(ticket.keys.pair, ticket.pairResetAt, now) : undefined,
      ticket.waitEndsAt !== null ? store.resetCounter(ticket.keys.wait) : undefined,
    ]);

  return {
    policy,

    async reserveLogin(username, ip) {
      const now = clock.now();
      const keys = loginKeys(username, ip);
      // One round trip for the common case: the three budgets and the known-address mark together.
      const [address, pair, account, known] = await Promise.all([
        store.incrementCounter(keys.address, policy.addressWindowMs, now),
        store.incrementCounter(keys.pair, policy.accountWindowMs, now),
        store.incrementCounter(keys.account, policy.accountWindowMs, now),
        store.readCounter(keys.known, now),
      ]);
      const ticket: LoginTicket = {
        keys,
        addressResetAt: address.resetAt,
        pairResetAt: pair.resetAt,
        accountResetAt: account.resetAt,
        addressCount: address.count,
        waitEndsAt: null,
      };
      // The address budget: attempts still being checked count, so a burst gets no more than the budget.
      if (address.count > policy.addressMaxFailures) {
        await release(ticket, now, { pair: true });
        return refuse('address', address.resetAt - now);
      }
      // Past the free attempts (or on an account under attack, from an address not known for it), an
      // attempt needs the pair's wait: it takes a fresh window as long as the delay its failure would
      // impose, and holds it while its password is checked. Only one attempt can take a fresh window
      // (the increment that starts it answers 1), so every other attempt of the pair, simultaneous or
      // later, is refused until the wait is over — the k-th delay between the k-th and the next attempt.
      let waitMs =
        pair.count > policy.accountFreeFailures ? delay(pair.count - policy.accountFreeFailures - 1) : 0;
      if (account.count > policy.attackThreshold && known === null) {
        waitMs = Math.max(waitMs, delay(account.count - policy.attackThreshold - 1));
      }
      if (waitMs === 0) return { ok: true, ticket };
      const wait = await store.incrementCounter(keys.wait, waitMs, now);
      if (wait.count === 1) return { ok: true, ticket: { ...ticket, waitEndsAt: wait.resetAt } };
      await release(ticket, now, { pair: true });
      return refuse('account', wait.resetAt - now);
    },

    async recordLoginFailure(ticket) {
      const now = clock.now();
      // Nothing to write: the reservation already counted the failure. Say when the next attempt may come.
      let verdict: ThrottleVerdict = ALLOWED;
      if (ticket.waitEndsAt !== null && ticket.waitEndsAt > now)
        verdict = refuse('account', ticket.waitEndsAt - now);
      if (ticket.addressCount >= policy.addressMaxFailures) {
        const address = refuse('address', ticket.addressResetAt - now);
        if (verdict.ok || address.retryAfterSeconds > verdict.retryAfterSeconds) verdict = address;
      }
      return verdict;
    },

    async recordLoginSuccess(ticket) {
      const now = clock.now();
      const { keys } = ticket;
      // The known-address window restarts at every success, so it means "signed in within the TTL".
      const renewKnown = async () => {
        await store.resetCounter(keys.known);
        await store.incrementCounter(keys.known, policy.knownAddressMs, now);
      };
      await Promise.all([release(ticket, now, { pair: false }), store.resetCounter(keys.pair), renewKnown()]);
    },

    async releaseLogin(ticket) {
      await release(ticket, clock.now(), { pair: true });
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
