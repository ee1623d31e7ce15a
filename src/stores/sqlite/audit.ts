/**
 * The audit log on SQLite: one row per record, its id the primary key (time-ordered, so pages, time
 * bounds and pruning are ranges of it), indexes by user and by type. A page's statement depends on which
 * filters it has (16 shapes, each prepared once), so each one uses its index rather than a generic
 * "`? IS NULL OR`" that no planner can.
 */
import { checkAuditPrune, checkAuditQuery, checkAuditRecord } from '../../core/audit/query.js';
import { KeycardError } from '../../core/errors.js';
import type { AuditQuery, AuditRecord, AuditStore } from '../../core/store.js';
import { type AuditRow, auditFromRow } from '../audit-rows.js';
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase, SQLiteStatement } from './driver.js';

/** The page statement for a shape: bit 1 user, 2 types, 4 lower bound, 8 upper bound. */
function pageSQL(shape: number): string {
  const where = ['1'];
  if (shape & 1) where.push('user_id = @user');
  if (shape & 2) where.push('type IN (SELECT value FROM json_each(@types))');
  if (shape & 4) where.push('id >= @lower');
  if (shape & 8) where.push('id < @upper');
  return `SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
}

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(
      `INSERT INTO audit (id, at, type, user_id, ip, user_agent, data)
       VALUES (@id, @at, @type, @user_id, @ip, @user_agent, @data)`,
    ),
    pages: Array.from({ length: 16 }, (_, shape) => db.prepare(pageSQL(shape))),
    prune: db.prepare('DELETE FROM audit WHERE id < ?'),
  };
}

export class SQLiteAudit implements AuditStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    checkAuditRecord(record);
    try {
      this.connection.run(() =>
        this.statements().insert.run({
          id: record.id,
          at: record.at,
          type: record.type,
          user_id: record.userId,
          ip: record.ip,
          user_agent: record.userAgent,
          data: JSON.stringify(record.data),
        }),
      );
    } catch (error) {
      if (this.connection.errorCode(error) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeycardError('invalid_request', `audit record ${record.id} exists`);
      }
      throw error;
    }
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const range = checkAuditQuery(query);
    const shape =
      (range.userId === null ? 0 : 1) |
      (range.types === null ? 0 : 2) |
      (range.lower === null ? 0 : 4) |
      (range.upper === null ? 0 : 8);
    const parameters: Record<string, string | number> = { limit: range.limit };
    if (range.userId !== null) parameters.user = range.userId;
    if (range.types !== null) parameters.types = JSON.stringify(range.types);
    if (range.lower !== null) parameters.lower = range.lower;
    if (range.upper !== null) parameters.upper = range.upper;
    const rows = this.connection.run(
      () => (this.statements().pages[shape] as SQLiteStatement).all(parameters) as AuditRow<string>[],
    );
    return rows.map((row) => auditFromRow(row, (data) => JSON.parse(data)));
  }

  async pruneAudit(before: number): Promise<number> {
    const bound = checkAuditPrune(before);
    return this.connection.run(() => this.statements().prune.run(bound).changes);
  }
}
