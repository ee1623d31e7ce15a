/**
 * Single-use links: a token of 256 random bits goes into the link, only its SHA-256 into the store
 * (`AccountTokenStore`), so neither a leaked table nor a log of store calls can be followed.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { generateToken, hashToken, isWellFormedToken } from '../random-tokens.js';
import type { AccountTokenKind, AccountTokenRecord, AccountTokenStore } from '../store.js';

/**
 * What a reset link is bound to: a fingerprint of the password hash it was issued against. Every
 * password change writes a new hash (a new salt), so it voids every reset link sent before it.
 */
export function passwordStamp(passwordHash: string | null): string {
  return createHash('sha256')
    .update(`keycard reset v1\0${passwordHash ?? ''}`)
    .digest('base64url')
    .slice(0, 22);
}

export interface IssuedLink {
  token: string;
  record: AccountTokenRecord;
}

export async function issueLink(
  store: AccountTokenStore,
  clock: Clock,
  fields: Omit<AccountTokenRecord, 'hash' | 'createdAt' | 'expiresAt'>,
  lifetimeMs: number,
): Promise<IssuedLink> {
  const token = generateToken();
  const now = clock.now();
  const record: AccountTokenRecord = {
    hash: hashToken(token),
    ...fields,
    createdAt: now,
    expiresAt: now + lifetimeMs,
  };
  await store.putAccountToken(record);
  return { token, record };
}

/** The hash to look a presented token up by; null when it cannot be one keycard issued (no store read). */
export function linkHash(token: unknown): string | null {
  return typeof token === 'string' && isWellFormedToken(token) ? hashToken(token) : null;
}

/** The link a mail carries: `<baseUrl><path>?token=…`. */
export function linkURL(baseUrl: string, path: string, token: string): string {
  const url = new URL(`${baseUrl.replace(/\/$/, '')}${path}`);
  url.searchParams.set('token', token);
  return url.href;
}

export type { AccountTokenKind };
