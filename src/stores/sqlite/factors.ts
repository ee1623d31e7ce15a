/**
 * Second factors on SQLite: one row per factor, a unique partial index on the passkey credential id, and
 * the per-user index in listing order. `advanceFactor` is one `UPDATE … WHERE counter = ? RETURNING`:
 * SQLite runs one write at a time across every process on the file, so of simultaneous advances from one
 * counter the first changes the row and the rest match nothing.
 */
import { KeycardError } from '../../core/errors.js';
import type { FactorAdvance, FactorKind, FactorRecord, FactorStore } from '../../core/store.js';
import { FACTOR_COLUMNS, type FactorRow, factorFromRow, factorValues } from '../factor-rows.js';
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase } from './driver.js';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(`INSERT INTO factors (${FACTOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare(`SELECT ${FACTOR_COLUMNS} FROM factors WHERE id = ?`),
    getByCredential: db.prepare(`SELECT ${FACTOR_COLUMNS} FROM factors WHERE credential_id = ?`),
    list: db.prepare(`SELECT ${FACTOR_COLUMNS} FROM factors WHERE user_id = ? ORDER BY created_at, id`),
    // The nullable columns take a flag: null in an advance means "clear it", undefined "leave it".
    advance: db.prepare(
      `UPDATE factors SET
         counter = @counter,
         last_used_at = CASE WHEN @set_last_used THEN @last_used_at ELSE last_used_at END,
         confirmed_at = CASE WHEN @set_confirmed THEN @confirmed_at ELSE confirmed_at END,
         secret = COALESCE(@secret, secret)
       WHERE id = @id AND counter = @expected RETURNING ${FACTOR_COLUMNS}`,
    ),
    delete: db.prepare('DELETE FROM factors WHERE id = ?'),
    deleteOwn: db.prepare('DELETE FROM factors WHERE id = ? AND user_id = ?'),
    deleteUser: db.prepare('DELETE FROM factors WHERE user_id = ?'),
    deleteUserKind: db.prepare('DELETE FROM factors WHERE user_id = ? AND kind = ?'),
  };
}

export class SQLiteFactors implements FactorStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async createFactor(record: FactorRecord): Promise<void> {
    try {
      this.connection.run(() => this.statements().insert.run(...factorValues(record)));
    } catch (error) {
      const code = this.connection.errorCode(error);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeycardError('invalid_request', 'that factor exists');
      }
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new KeycardError('invalid_request', 'that passkey is registered already');
      }
      throw error;
    }
  }

  async listFactors(userId: string): Promise<FactorRecord[]> {
    const rows = this.connection.run(() => this.statements().list.all(userId) as FactorRow[]);
    return rows.map(factorFromRow);
  }

  async getFactor(id: string): Promise<FactorRecord | null> {
    const row = this.connection.run(() => this.statements().get.get(id) as FactorRow | undefined);
    return row ? factorFromRow(row) : null;
  }

  async getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    const row = this.connection.run(
      () => this.statements().getByCredential.get(credentialId) as FactorRow | undefined,
    );
    return row ? factorFromRow(row) : null;
  }

  async advanceFactor(
    id: string,
    expectedCounter: number,
    next: FactorAdvance,
  ): Promise<FactorRecord | null> {
    const row = this.connection.run(
      () =>
        this.statements().advance.get({
          id,
          expected: expectedCounter,
          counter: next.counter,
          set_last_used: next.lastUsedAt === undefined ? 0 : 1,
          last_used_at: next.lastUsedAt ?? null,
          set_confirmed: next.confirmedAt === undefined ? 0 : 1,
          confirmed_at: next.confirmedAt ?? null,
          secret: next.secret ?? null,
        }) as FactorRow | undefined,
    );
    return row ? factorFromRow(row) : null;
  }

  async deleteFactor(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const { userId } = options;
    return this.connection.run(
      () =>
        (userId === undefined
          ? this.statements().delete.run(id)
          : this.statements().deleteOwn.run(id, userId)
        ).changes > 0,
    );
  }

  async deleteUserFactors(userId: string, options: { kind?: FactorKind } = {}): Promise<number> {
    const { kind } = options;
    return this.connection.run(
      () =>
        (kind === undefined
          ? this.statements().deleteUser.run(userId)
          : this.statements().deleteUserKind.run(userId, kind)
        ).changes,
    );
  }
}
