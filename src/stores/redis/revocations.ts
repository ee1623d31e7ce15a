/**
 * How the Redis store writes revocations down, and reads them back.
 *
 * - A record travels as its JSON, with the fields in a fixed order: the same string is the sorted set's
 *   member (so adding the same record twice keeps one member) and the pub/sub message.
 * - The per-request check reads `<at> <expiresAt>` from the login's and the user's key (decimal ms,
 *   written by the add script, which keeps the latest of each).
 *
 * Whatever comes back from Redis is checked before it is trusted: a malformed member or message (from a
 * foreign publisher on the channel, or a hand edit) is skipped, never turned into a revocation with NaN
 * times.
 */
import type { RevocationRecord } from '../../core/store.js';

export interface RevocationQuery {
  loginId: string;
  userId: string;
  issuedAt: number;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** True for a record the store can keep: a known kind, an id, and integer times in ms. */
export function isRevocationRecord(value: unknown): value is RevocationRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    (record.kind === 'login' || record.kind === 'user') &&
    typeof record.id === 'string' &&
    record.id !== '' &&
    isTime(record.at) &&
    isTime(record.expiresAt)
  );
}

export function encodeRevocation(record: RevocationRecord): string {
  return JSON.stringify({ kind: record.kind, id: record.id, at: record.at, expiresAt: record.expiresAt });
}

/** The record in a member or message, or null when it is not one. */
export function parseRevocation(text: string): RevocationRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRevocationRecord(value)) return null;
  return { kind: value.kind, id: value.id, at: value.at, expiresAt: value.expiresAt };
}

/** `<at> <expiresAt>` from a login's or user's key, or null for a missing or malformed value. */
function parseCutOff(value: string | null | undefined): { at: number; expiresAt: number } | null {
  if (value === null || value === undefined) return null;
  const [at, expiresAt] = value.split(' ').map(Number);
  return isTime(at) && isTime(expiresAt) ? { at, expiresAt } : null;
}

/**
 * The contract's decision from the two keys' values (login's, user's): the login is revoked, or the user
 * was revoked at or after the token was issued — counting only revocations that are still live at `now`.
 */
export function isRevokedBy(
  values: (string | null | undefined)[],
  query: RevocationQuery,
  now: number,
): boolean {
  const login = parseCutOff(values[0]);
  if (login && login.expiresAt > now) return true;
  const user = parseCutOff(values[1]);
  return user !== null && user.expiresAt > now && user.at >= query.issuedAt;
}
