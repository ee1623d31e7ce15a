/**
 * Single-use account tokens on SQLite: one row per token, its hash the primary key. Using one is a
 * `DELETE … RETURNING`, so of two simultaneous uses — from any process on the file — one gets the row.
 */
import { KeycardError } from '../../core/errors.js';
import type { AccountTokenKind, AccountTokenRecord, AccountTokenStore } from '../../core/store.js';
import { type AccountTokenRow, accountTokenFromRow } from '../token-rows.js';
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase } from './driver.js';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(
      `INSERT INTO account_tokens (hash, kind, user_id, email, role, stamp, created_at, expires_at)
       VALUES (@hash, @kind, @user_id, @email, @role, @stamp, @created_at, @expires_at)`,
    ),
    get: db.prepare('SELECT * FROM account_tokens WHERE hash = ? AND kind = ? AND expires_at > ?'),
    take: db.prepare('DELETE FROM account_tokens WHERE hash = ? AND kind = ? AND expires_at > ? RETURNING *'),
  };
}

export class SQLiteAccountTokens implements AccountTokenStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async putAccountToken(record: AccountTokenRecord): Promise<void> {
    try {
      this.connection.run(() =>
        this.statements().insert.run({
          hash: record.hash,
          kind: record.kind,
          user_id: record.userId,
          email: record.email,
          role: record.role,
          stamp: record.stamp,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
        }),
      );
    } catch (error) {
      if (this.connection.errorCode(error) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeycardError('invalid_request', 'that account token exists');
      }
      throw error;
    }
  }

  async getAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const row = this.connection.run(
      () => this.statements().get.get(hash, kind, now) as AccountTokenRow | undefined,
    );
    return row ? accountTokenFromRow(row) : null;
  }

  async takeAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const row = this.connection.run(
      () => this.statements().take.get(hash, kind, now) as AccountTokenRow | undefined,
    );
    return row ? accountTokenFromRow(row) : null;
  }
}
