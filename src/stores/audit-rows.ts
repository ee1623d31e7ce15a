/** The SQL stores' audit row (SQLite, PostgreSQL: the same columns) and the record it holds. */
import type { AuditRecord } from '../core/store.js';

export interface AuditRow<Data> {
  id: string;
  at: number;
  type: string;
  user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** JSON text (SQLite) or the parsed `jsonb` (PostgreSQL). */
  data: Data;
}

export function auditFromRow<Data>(
  row: AuditRow<Data>,
  decode: (data: Data) => AuditRecord['data'],
): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    type: row.type,
    userId: row.user_id,
    ip: row.ip,
    userAgent: row.user_agent,
    data: decode(row.data),
  };
}
