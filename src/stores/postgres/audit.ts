/**
 * The audit log on PostgreSQL: one row per record, its id the primary key (time-ordered, so pages, time
 * bounds and pruning are ranges of it), indexes by user and by type. A page's WHERE names only the
 * filters it has, so the planner picks the index for them (a generic "`$1 IS NULL OR`" defeats it).
 */
import type pg from 'pg';
import { checkAuditPrune, checkAuditQuery, checkAuditRecord } from '../../core/audit/query.js';
import { KeycardError } from '../../core/errors.js';
import type { AuditQuery, AuditRecord } from '../../core/store.js';
import { type AuditRow, auditFromRow } from '../audit-rows.js';
import { isUniqueViolation, toStoreError, unstorableData } from './errors.js';
import { TYPES } from './pool.js';

const COLUMNS = 'id, at, type, user_id, ip, user_agent, data';

export class PostgresAudit {
  private readonly table: string;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.table = `${schema}.audit`;
  }

  async append(record: AuditRecord): Promise<void> {
    checkAuditRecord(record);
    try {
      await this.pool.query(`INSERT INTO ${this.table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        record.id,
        record.at,
        record.type,
        record.userId,
        record.ip,
        record.userAgent,
        JSON.stringify(record.data),
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'audit_pkey')) {
        throw new KeycardError('invalid_request', `audit record ${record.id} exists`);
      }
      throw unstorableData(error) ?? toStoreError(error);
    }
  }

  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const range = checkAuditQuery(query);
    const values: unknown[] = [];
    const where: string[] = [];
    const bind = (value: unknown): string => {
      values.push(value);
      return `$${values.length}`;
    };
    if (range.userId !== null) where.push(`user_id = ${bind(range.userId)}`);
    if (range.types !== null) where.push(`type = ANY(${bind(range.types)}::text[])`);
    if (range.lower !== null) where.push(`id >= ${bind(range.lower)}`);
    if (range.upper !== null) where.push(`id < ${bind(range.upper)}`);
    const text = `SELECT ${COLUMNS} FROM ${this.table}
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id DESC LIMIT ${bind(range.limit)}`;
    try {
      return (await this.pool.query<AuditRow<AuditRecord['data']>>({ text, values, types: TYPES })).rows.map(
        (row) => auditFromRow(row, (data) => data),
      );
    } catch (error) {
      throw toStoreError(error);
    }
  }

  async prune(before: number): Promise<number> {
    const bound = checkAuditPrune(before);
    try {
      return (await this.pool.query(`DELETE FROM ${this.table} WHERE id < $1`, [bound])).rowCount ?? 0;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
