/**
 * Which failures are the database's. Everything a driver call throws becomes `store_unavailable`, so a
 * request fails closed with 503: the driver's own errors (server selection, network, server errors, a
 * closed client), its BSON library's, and plain Node errors it lets through (a `mongodb+srv://` DNS lookup
 * that fails throws Node's `querySrv ENOTFOUND`, not a `MongoError`). The original is kept as `cause`, for
 * logs only; its messages name hosts, never credentials. A `KeycardError` we threw passes unchanged.
 */
import { MongoServerError } from 'mongodb';
import { KeycardError, storeUnavailable } from '../../core/errors.js';

export function toStoreError(error: unknown): KeycardError {
  return error instanceof KeycardError ? error : storeUnavailable('mongodb', error);
}

/** E11000: a unique index refused the write. */
export function isDuplicateKey(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === 11000;
}

/**
 * The fields of the unique index that refused a write (the server's `keyPattern`), `[]` when the server
 * did not say, or null when the error is not a duplicate key.
 */
export function duplicateKeyFields(error: unknown): string[] | null {
  if (!isDuplicateKey(error)) return null;
  const pattern: unknown = error.keyPattern;
  return typeof pattern === 'object' && pattern !== null ? Object.keys(pattern) : [];
}

/**
 * A duplicate key on the given field. The server names the refusing index's key in `keyPattern`; should it
 * be absent, the error is taken to be about this field.
 */
export function isDuplicateOf(error: unknown, field: string): boolean {
  if (!isDuplicateKey(error)) return false;
  const pattern: unknown = error.keyPattern;
  return typeof pattern !== 'object' || pattern === null || Object.hasOwn(pattern, field);
}

/** Two upserts racing to create one document: the loser gets E11000 and tries again. */
const UPSERT_ATTEMPTS = 3;

/**
 * Runs an upsert whose filter is an equality on `_id`, again if it lost a race to create the document.
 * The server retries such an upsert itself; this covers deployments where the duplicate-key error still
 * reaches the client.
 */
export async function retryUpsert<T>(upsert: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await upsert();
    } catch (error) {
      if (attempt < UPSERT_ATTEMPTS && isDuplicateKey(error)) continue;
      throw error;
    }
  }
}
