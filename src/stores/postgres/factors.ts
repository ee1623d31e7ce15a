/**
 * Second factors on PostgreSQL: one row per factor, a unique partial index on the passkey credential id,
 * and the per-user index in listing order. Every operation is one statement. `advanceFactor` is an
 * `UPDATE … WHERE counter = $2`: PostgreSQL locks the row, and an advance that waited for a concurrent one
 * re-evaluates the WHERE on the row the winner left (READ COMMITTED), whose counter has moved on — so of
 * simultaneous advances from one counter exactly one updates a row.
 */
import type pg from 'pg';
import { KeycardError } from '../../core/errors.js';
import type { FactorAdvance, FactorKind, FactorRecord, FactorStore } from '../../core/store.js';
import { FACTOR_COLUMNS, type FactorRow, factorFromRow, factorValues } from '../factor-rows.js';
import { isUniqueViolation, toStoreError } from './errors.js';
import { TYPES } from './pool.js';
import { quoteIdentifier } from './queries.js';

function statements(table: string) {
  return {
    insert: `INSERT INTO ${table} (${FACTOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    get: `SELECT ${FACTOR_COLUMNS} FROM ${table} WHERE id = $1`,
    getByCredential: `SELECT ${FACTOR_COLUMNS} FROM ${table} WHERE credential_id = $1`,
    // factors_by_user (user_id, created_at, id) in its own order.
    list: `SELECT ${FACTOR_COLUMNS} FROM ${table} WHERE user_id = $1 ORDER BY created_at, id`,
    // The nullable columns take a flag ($4, $6): null in an advance means "clear it", undefined "leave it".
    advance: `UPDATE ${table} SET
        counter = $3,
        last_used_at = CASE WHEN $4::boolean THEN $5::bigint ELSE last_used_at END,
        confirmed_at = CASE WHEN $6::boolean THEN $7::bigint ELSE confirmed_at END,
        secret = coalesce($8::text, secret)
      WHERE id = $1 AND counter = $2 RETURNING ${FACTOR_COLUMNS}`,
    delete: `DELETE FROM ${table} WHERE id = $1`,
    deleteOwn: `DELETE FROM ${table} WHERE id = $1 AND user_id = $2`,
    deleteUser: `DELETE FROM ${table} WHERE user_id = $1`,
    deleteUserKind: `DELETE FROM ${table} WHERE user_id = $1 AND kind = $2`,
  };
}

export class PostgresFactors implements FactorStore {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.sql = statements(`${quoteIdentifier(schema)}.factors`);
  }

  async createFactor(record: FactorRecord): Promise<void> {
    try {
      await this.pool.query(this.sql.insert, factorValues(record));
    } catch (error) {
      if (isUniqueViolation(error, 'factors_pkey')) {
        throw new KeycardError('invalid_request', 'that factor exists');
      }
      if (isUniqueViolation(error, 'factors_credential_id')) {
        throw new KeycardError('invalid_request', 'that passkey is registered already');
      }
      throw toStoreError(error);
    }
  }

  async listFactors(userId: string): Promise<FactorRecord[]> {
    return (await this.rows(this.sql.list, [userId])).map(factorFromRow);
  }

  async getFactor(id: string): Promise<FactorRecord | null> {
    const row = (await this.rows(this.sql.get, [id]))[0];
    return row ? factorFromRow(row) : null;
  }

  async getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    const row = (await this.rows(this.sql.getByCredential, [credentialId]))[0];
    return row ? factorFromRow(row) : null;
  }

  async advanceFactor(
    id: string,
    expectedCounter: number,
    next: FactorAdvance,
  ): Promise<FactorRecord | null> {
    const row = (
      await this.rows(this.sql.advance, [
        id,
        expectedCounter,
        next.counter,
        next.lastUsedAt !== undefined,
        next.lastUsedAt ?? null,
        next.confirmedAt !== undefined,
        next.confirmedAt ?? null,
        next.secret ?? null,
      ])
    )[0];
    return row ? factorFromRow(row) : null;
  }

  async deleteFactor(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const { userId } = options;
    const deleted =
      userId === undefined
        ? await this.execute(this.sql.delete, [id])
        : await this.execute(this.sql.deleteOwn, [id, userId]);
    return deleted > 0;
  }

  async deleteUserFactors(userId: string, options: { kind?: FactorKind } = {}): Promise<number> {
    const { kind } = options;
    return kind === undefined
      ? this.execute(this.sql.deleteUser, [userId])
      : this.execute(this.sql.deleteUserKind, [userId, kind]);
  }

  private async rows(text: string, values: unknown[]): Promise<FactorRow[]> {
    try {
      return (await this.pool.query<FactorRow>({ text, values, types: TYPES })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async execute(text: string, values: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(text, values)).rowCount ?? 0;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
