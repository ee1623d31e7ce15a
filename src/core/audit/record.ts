/**
 * An `AuthEvent` as the audit log keeps it. Events never carry a token, a secret or a password
 * (events.ts); on top of that, a typed username (`login_failed`, `throttled`) is kept only as a truncated
 * keyed hash — anyone can type anything in the username field, including a password by mistake, and a
 * log of what people typed would keep those — and every string is cut to a bounded length, so whoever
 * sends a request cannot make a record large.
 */
import { createHash, createHmac } from 'node:crypto';
import type { AuthEvent } from '../events.js';
import type { AuditRecord, AuditValue } from '../store.js';
import { auditId } from './query.js';

const MAX_USER_AGENT = 256;
const MAX_IP = 64;
const MAX_STRING = 256;
const MAX_LIST = 50;
/** 96 bits of the digest: enough to tell attempts on one name from another, too few to be a full hash. */
const DIGEST_BYTES = 12;

/** How a typed username is kept: `hmac-sha256:<16 base64url chars>`, or `sha256:…` without a secret. */
export type UsernameDigest = (username: string) => string;

/**
 * With a secret, an HMAC under a key derived from it (so this use of the secret cannot be confused with
 * another): a leaked log cannot be searched for a guessed name without the secret. Without one, SHA-256:
 * names are few and guessable, so this only keeps them out of plain sight.
 */
export function usernameDigest(secret: Buffer | null): UsernameDigest {
  if (secret === null) {
    return (username) =>
      `sha256:${createHash('sha256').update(username).digest().subarray(0, DIGEST_BYTES).toString('base64url')}`;
  }
  const key = createHmac('sha256', secret).update('keycard audit username v1').digest();
  return (username) =>
    `hmac-sha256:${createHmac('sha256', key).update(username).digest().subarray(0, DIGEST_BYTES).toString('base64url')}`;
}

/** Control characters out (they have no place in a log line), then at most `max` characters. */
function clip(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return value.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, max);
}

function scalar(value: unknown): string | number | boolean | null | undefined {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') return clip(value, MAX_STRING);
  return undefined;
}

/** A field of the event as JSON-safe data; undefined for anything else (dropped). */
function auditValue(value: unknown): AuditValue | undefined {
  if (Array.isArray(value)) {
    return value
      .slice(0, MAX_LIST)
      .map(scalar)
      .filter((item) => item !== undefined);
  }
  return scalar(value);
}

export function toAuditRecord(event: AuthEvent, at: number, digest: UsernameDigest): AuditRecord {
  const { type, ip, userAgent, ...fields } = event;
  const data: Record<string, AuditValue> = {};
  let userId: string | null = null;
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'userId') {
      userId = typeof value === 'string' ? value : null;
    } else if (name === 'username') {
      if (typeof value === 'string') data.usernameHash = digest(value);
    } else {
      const kept = auditValue(value);
      if (kept !== undefined) data[name] = kept;
    }
  }
  return {
    id: auditId(at),
    at,
    type,
    userId,
    ip: typeof ip === 'string' ? clip(ip, MAX_IP) : null,
    userAgent: typeof userAgent === 'string' ? clip(userAgent, MAX_USER_AGENT) : null,
    data,
  };
}
