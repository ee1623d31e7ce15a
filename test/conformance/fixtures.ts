/**
 * What the conformance sub-suites share: the harness a store provides, the context each sub-suite reads,
 * and record fixtures.
 */

import { generateId, generateToken, hashToken } from '../../src/core/random-tokens.js';
import type { LoginRecord, RefreshState, Store, UserRecord } from '../../src/core/store.js';
import { usernameSkeleton } from '../../src/core/users/skeleton.js';
import type { ManualClock } from '../helpers/clock.js';

export interface StoreHarness {
  store: Store;
  /**
   * Another instance on the same backend (another process would open it the same way), for the
   * revocation feed's cross-instance delivery. Omitted where one instance is all there is (memory).
   */
  openAnother?(): Promise<Store>;
  /** Removes everything the suite wrote (tables truncated, keys deleted). */
  reset(): Promise<void>;
  /**
   * How many records the store holds right now, all kinds together (rows of every table, keys under the
   * prefix, documents, map entries): what "a login holds O(1) records" is measured by.
   */
  recordCount(): Promise<number>;
  close(): Promise<void>;
}

export type StoreFactory = (clock: ManualClock) => Promise<StoreHarness>;

/** What each sub-suite reads; `store` and `harness` are set once the factory has run. */
export interface Conformance {
  readonly clock: ManualClock;
  readonly store: Store;
  readonly harness: StoreHarness;
}

export const HOUR = 3_600_000;

export function sessionFixture(clock: ManualClock, overrides: Partial<LoginRecord> = {}): LoginRecord {
  const now = clock.now();
  return {
    id: hashToken(generateToken()),
    user: { id: 'user-1', username: 'alice', role: 'user' },
    createdAt: now,
    lastActiveAt: now,
    expiresAt: now + HOUR,
    absoluteExpiresAt: now + 24 * HOUR,
    data: {},
    userAgent: 'test-agent',
    ip: '127.0.0.1',
    refresh: null,
    ...overrides,
  };
}

export function refreshFixture(clock: ManualClock, overrides: Partial<RefreshState> = {}): RefreshState {
  const now = clock.now();
  return {
    generation: 0,
    nonce: generateToken(),
    rotatedAt: now,
    windowStartedAt: now,
    rotationsInWindow: 0,
    revocationTTLMs: 960_000,
    ...overrides,
  };
}

/** A login of the jwt and hybrid strategies: a random id and refresh state. */
export function tokenLoginFixture(clock: ManualClock, overrides: Partial<LoginRecord> = {}): LoginRecord {
  return sessionFixture(clock, { id: generateId(), refresh: refreshFixture(clock), ...overrides });
}

export function userFixture(clock: ManualClock, overrides: Partial<UserRecord> = {}): UserRecord {
  const now = clock.now();
  const username = overrides.username ?? `user-${generateId().slice(0, 8).toLowerCase()}`;
  return {
    id: generateId(),
    username,
    skeleton: usernameSkeleton(username),
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    role: 'user',
    blocked: false,
    email: null,
    emailVerifiedAt: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
