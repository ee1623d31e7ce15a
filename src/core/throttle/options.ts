/**
 * The throttling policy: options as written (`throttle: {...}` in KeycardOptions), their defaults, and the
 * resolved form in milliseconds. The reasons for the numbers are in docs/security.md.
 */
import { type Duration, parseDuration } from '../duration.js';
import { configurationError } from '../errors.js';

export interface ThrottleOptions {
  /** Failed logins from one client address, whatever the account: a hard limit per fixed window. */
  address?: {
    /** Once this many failures are counted in the window, the address is refused until it ends. Default 20. */
    maxFailures?: number;
    /** Default `'15m'`. */
    window?: Duration;
  };
  /** Failed logins for one account: counted per (account, address) pair, and for the account as a whole. */
  account?: {
    /** Failures of a pair before delays start. Default 5. */
    freeFailures?: number;
    /** The first delay; each further failure doubles it. Default `'1s'`. */
    baseDelay?: Duration;
    /** No delay is ever longer: the bound on what an attacker can impose on a real user. Default `'5m'`. */
    maxDelay?: Duration;
    /** The fixed window of the pair and account counters. Default `'1h'`. */
    window?: Duration;
    /**
     * Failures of the account from all addresses in the window after which it counts as under attack:
     * an address that has not signed in to it lately is then delayed from its first failure. Default 20.
     */
    attackThreshold?: number;
    /** How long a successful sign-in makes its address "known" for the account. Default `'30d'`. */
    knownAddressTTL?: Duration;
  };
  /**
   * Refresh-token exchanges: failed ones from one client address (a hard limit per fixed window), and
   * successful ones per login in the same window.
   */
  refresh?: {
    /** Default 30. */
    maxFailures?: number;
    /**
     * Rotations one login may make per window (default 60: an access token refreshed every 15 s). A
     * client past it gets 429 until the window ends; its tokens stay valid.
     */
    maxPerLogin?: number;
    /** Default `'15m'`. */
    window?: Duration;
  };
}

export interface ThrottlePolicy {
  addressMaxFailures: number;
  addressWindowMs: number;
  accountFreeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  accountWindowMs: number;
  attackThreshold: number;
  knownAddressMs: number;
  refreshMaxFailures: number;
  refreshMaxPerLogin: number;
  refreshWindowMs: number;
}

export const DEFAULT_THROTTLE = Object.freeze({
  address: Object.freeze({ maxFailures: 20, window: '15m' }),
  account: Object.freeze({
    freeFailures: 5,
    baseDelay: '1s',
    maxDelay: '5m',
    window: '1h',
    attackThreshold: 20,
    knownAddressTTL: '30d',
  }),
  refresh: Object.freeze({ maxFailures: 30, maxPerLogin: 60, window: '15m' }),
} as const);

function count(value: unknown, fallback: number, name: string, min: number): number {
  const number = value ?? fallback;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > 1_000_000) {
    throw configurationError(`${name} must be a whole number from ${min} to 1000000`);
  }
  return number;
}

const ms = (value: unknown, fallback: Duration, name: string): number =>
  parseDuration(value ?? fallback, name) * 1000;

/** `false` turns throttling off; anything else is validated here, at construction. */
export function resolveThrottleOptions(options: ThrottleOptions | false | undefined): ThrottlePolicy | null {
  if (options === false) return null;
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw configurationError('throttle must be an object of throttling options, or false to turn it off');
  }
  const address = options?.address ?? {};
  const account = options?.account ?? {};
  const refresh = options?.refresh ?? {};
  const d = DEFAULT_THROTTLE;
  const policy: ThrottlePolicy = {
    addressMaxFailures: count(address.maxFailures, d.address.maxFailures, 'throttle.address.maxFailures', 1),
    addressWindowMs: ms(address.window, d.address.window, 'throttle.address.window'),
    accountFreeFailures: count(
      account.freeFailures,
      d.account.freeFailures,
      'throttle.account.freeFailures',
      0,
    ),
    baseDelayMs: ms(account.baseDelay, d.account.baseDelay, 'throttle.account.baseDelay'),
    maxDelayMs: ms(account.maxDelay, d.account.maxDelay, 'throttle.account.maxDelay'),
    accountWindowMs: ms(account.window, d.account.window, 'throttle.account.window'),
    attackThreshold: count(
      account.attackThreshold,
      d.account.attackThreshold,
      'throttle.account.attackThreshold',
      1,
    ),
    knownAddressMs: ms(
      account.knownAddressTTL,
      d.account.knownAddressTTL,
      'throttle.account.knownAddressTTL',
    ),
    refreshMaxFailures: count(refresh.maxFailures, d.refresh.maxFailures, 'throttle.refresh.maxFailures', 1),
    refreshMaxPerLogin: count(refresh.maxPerLogin, d.refresh.maxPerLogin, 'throttle.refresh.maxPerLogin', 1),
    refreshWindowMs: ms(refresh.window, d.refresh.window, 'throttle.refresh.window'),
  };
  if (policy.baseDelayMs > policy.maxDelayMs) {
    throw configurationError('throttle.account.baseDelay must not be longer than throttle.account.maxDelay');
  }
  return policy;
}
