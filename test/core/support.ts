/**
 * Small builders shared by the core unit tests. Not a test file: the runner only picks up `*.test.ts`.
 */
import assert from 'node:assert/strict';
import { type ErrorCode, KeycardError } from '../../src/core/errors.js';
import type { RequestInfo } from '../../src/core/http/request.js';
import type { Argon2Parameters } from '../../src/core/passwords/hash.js';

/** Argon2id parameters small enough for unit tests; the OWASP defaults are tested once, in passwords.test.ts. */
export const FAST_ARGON2: Argon2Parameters = Object.freeze({
  memoryKiB: 1024,
  iterations: 1,
  parallelism: 1,
});

export interface RequestSpec {
  method?: string;
  /** Header names in any case; read back by lower-case name as `RequestInfo.header` promises. */
  headers?: Record<string, string | undefined>;
  secure?: boolean;
  ip?: string | null;
}

/** A `RequestInfo` built by hand, as an adapter would build it from its framework's request. */
export function requestInfo(spec: RequestSpec = {}): RequestInfo {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    if (value !== undefined) headers.set(name.toLowerCase(), value);
  }
  return {
    method: spec.method ?? 'GET',
    header: (name) => headers.get(name),
    secure: spec.secure ?? true,
    ip: spec.ip === undefined ? '203.0.113.7' : spec.ip,
  };
}

/** Asserts that `error` is a KeycardError with this code, and returns it typed. */
export function expectKeycardError(error: unknown, code: ErrorCode): KeycardError {
  assert.ok(error instanceof KeycardError, `expected a KeycardError, got ${String(error)}`);
  assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
  return error;
}

/** Runs `fn` and returns what it threw; fails when it returned normally. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a throw');
}

/** Awaits `fn` and returns what it rejected with; fails when it resolved. */
export async function rejected(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/**
 * A sign-in result without its `error`, after checking that the error is the answer the reason calls for:
 * a KeycardError with that code (and, for throttling, the same Retry-After).
 */
export function outcome(
  result: Awaited<ReturnType<import('../../src/core/keycard.js').Keycard['signIn']>>,
): Record<string, unknown> {
  if (result.ok) return result;
  const { error, ...rest } = result;
  assert.ok(error instanceof KeycardError, 'a failed sign-in carries the error to send');
  assert.equal(error.code, result.reason);
  assert.equal(error.retryAfterSeconds, 'retryAfterSeconds' in result ? result.retryAfterSeconds : undefined);
  return rest;
}
