/** The SQL stores' second-factor row (SQLite, PostgreSQL: the same columns) and the record it holds. */
import type { FactorKind, FactorRecord } from '../core/store.js';

export const FACTOR_COLUMNS =
  'id, user_id, kind, name, credential_id, secret, counter, confirmed_at, created_at, last_used_at';

export interface FactorRow {
  id: string;
  user_id: string;
  kind: string;
  name: string;
  credential_id: string | null;
  secret: string;
  counter: number;
  confirmed_at: number | null;
  created_at: number;
  last_used_at: number | null;
}

export function factorFromRow(row: FactorRow): FactorRecord {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind as FactorKind,
    name: row.name,
    credentialId: row.credential_id,
    secret: row.secret,
    counter: row.counter,
    confirmedAt: row.confirmed_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The record's values in FACTOR_COLUMNS order, as both stores bind them on insert. */
export function factorValues(record: FactorRecord): (string | number | null)[] {
  return [
    record.id,
    record.userId,
    record.kind,
    record.name,
    record.credentialId,
    record.secret,
    record.counter,
    record.confirmedAt,
    record.createdAt,
    record.lastUsedAt,
  ];
}
