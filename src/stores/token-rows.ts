/** The SQL stores' account-token row (SQLite, PostgreSQL: the same columns) and the record it holds. */
import type { AccountTokenKind, AccountTokenRecord } from '../core/store.js';

export interface AccountTokenRow {
  hash: string;
  kind: string;
  user_id: string | null;
  email: string | null;
  role: string | null;
  stamp: string | null;
  created_at: number;
  expires_at: number;
}

export function accountTokenFromRow(row: AccountTokenRow): AccountTokenRecord {
  return {
    hash: row.hash,
    kind: row.kind as AccountTokenKind,
    userId: row.user_id,
    email: row.email,
    role: row.role,
    stamp: row.stamp,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
