/**
 * How driver failures become keycard's errors. Everything pg throws means "the store cannot be used right
 * now" (`store_unavailable`, 503) — refused or dropped connections, timeouts, a server shutting down or in
 * recovery, a pool with no free connection, missing tables — except two SQLSTATE classes that describe the
 * values sent, which the caller turns into a precise error or lets through as the bug it is:
 * - class 23 (integrity constraint violation): a taken or look-alike username (`users_username_unique`,
 *   `users_skeleton_unique`) is `username_taken`, a taken address (`users_email_unique`) `email_taken`, a
 *   taken client id `invalid_request`;
 * - class 22 (data exception): session data PostgreSQL cannot represent (see `unstorableData`).
 */
import pg from 'pg';
import { KeycardError, storeUnavailable } from '../../core/errors.js';

/** The SQLSTATE of an error the server sent; undefined for network, timeout and client-side errors. */
export function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/**
 * True when the server refused a statement but the connection is healthy (a transaction can be rolled back
 * on it). Class 08 (connection exception) and 57P (shutdown) are sent by the server as it drops us.
 */
export function isStatementError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && !state.startsWith('08') && !state.startsWith('57P');
}

/** Turns a driver failure into `store_unavailable`, keeping KeycardErrors and value errors as they are. */
export function toStoreError(error: unknown): unknown {
  if (error instanceof KeycardError) return error;
  const state = sqlState(error);
  if (state?.startsWith('22') || state?.startsWith('23')) return error;
  return storeUnavailable('postgres', error);
}

/** SQLSTATE 23505 (unique_violation) on the named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return sqlState(error) === '23505' && (error as pg.DatabaseError).constraint === constraint;
}

/**
 * jsonb cannot hold U+0000 (22P05) or an unpaired surrogate (22P02), which JSON.stringify writes as \u
 * escapes; such data is refused with a message saying why (400) rather than failing as a 500.
 */
export function unstorableData(error: unknown): KeycardError | undefined {
  const state = sqlState(error);
  const json = state === '22P02' && /\bjson\b/.test((error as Error).message);
  if (state !== '22P05' && !json) return undefined;
  return new KeycardError(
    'invalid_request',
    'session data holds a string PostgreSQL cannot store (U+0000 or an unpaired surrogate)',
    { cause: error },
  );
}
