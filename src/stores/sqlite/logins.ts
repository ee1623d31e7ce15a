/**
 * Logins: sessions, and the logins of the jwt and hybrid strategies with their refresh state, in the
 * `sessions` table; the per-user index is `sessions_by_user (user_id, created_at, id)`.
 *
 * Every operation is one statement, atomic on its own, except a data patch: the merge is JavaScript
 * (`applyPatch`), so it reads and writes inside one IMMEDIATE transaction and no other process's patch
 * can slip between the two. Nothing but `createLogin` inserts a row, so a touch, a patch or a refresh
 * that arrives after a delete changes nothing and never brings a login back.
 */
import { applyPatch } from '../../core/session/data.js';
import type {
  DataPatch,
  LoginPageOptions,
  LoginRecord,
  LoginStore,
  PatchOptions,
  PatchResult,
  RefreshState,
} from '../../core/store.js';
import { type SQLiteConnection, sqlLimit } from './connection.js';
import type { SQLiteDatabase } from './driver.js';
import { refreshColumns, type SessionRow, sessionRow, toSession } from './rows.js';

/**
 * `touchLogin`'s only-forward rule, written once for every statement that touches: activity and idle
 * expiry only move forward, and idle expiry never past the absolute expiry. (In an UPDATE every column
 * on the right-hand side is the row's old value, so the two assignments do not see each other.)
 */
const TOUCH = `last_active_at = MAX(last_active_at, @last_active_at),
  expires_at = MIN(MAX(expires_at, @expires_at), absolute_expires_at)`;

/** A user's logins in the contract's order: newest first, ties by id descending (the index's order, reversed). */
const NEWEST_FIRST = 'ORDER BY created_at DESC, id DESC';

/**
 * Live signed-in logins: a range of `sessions_by_expiry` (expires_at), each row in it read for its
 * user_id — O(live logins) when expired rows are many; when nearly every row is live, SQLite reads the
 * table instead, which costs the same. Exported for the test that checks the plan.
 */
export const COUNT_LIVE_LOGINS =
  'SELECT COUNT(*) AS count FROM sessions WHERE expires_at > ? AND user_id IS NOT NULL';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(
      `INSERT INTO sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
         absolute_expires_at, data, user_agent, ip, refresh_generation, refresh_nonce, refresh_rotated_at,
         refresh_window_started_at, refresh_rotations_in_window, refresh_revocation_ttl_ms)
       VALUES (@id, @user_id, @username, @role, @created_at, @last_active_at, @expires_at,
         @absolute_expires_at, @data, @user_agent, @ip, @refresh_generation, @refresh_nonce, @refresh_rotated_at,
         @refresh_window_started_at, @refresh_rotations_in_window, @refresh_revocation_ttl_ms)`,
    ),
    get: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    getData: db.prepare('SELECT data FROM sessions WHERE id = ?'),
    touch: db.prepare(`UPDATE sessions SET ${TOUCH} WHERE id = @id`),
    setData: db.prepare('UPDATE sessions SET data = ? WHERE id = ?'),
    // The compare-and-set of a refresh: the generation in the WHERE clause is the "compare"; a session
    // login's NULL generation equals nothing, so it never matches.
    advanceRefresh: db.prepare(
      `UPDATE sessions SET
         refresh_generation = @refresh_generation, refresh_nonce = @refresh_nonce,
         refresh_rotated_at = @refresh_rotated_at, refresh_window_started_at = @refresh_window_started_at,
         refresh_rotations_in_window = @refresh_rotations_in_window,
         refresh_revocation_ttl_ms = @refresh_revocation_ttl_ms,
         ${TOUCH}
       WHERE id = @id AND refresh_generation = @expected_generation
       RETURNING *`,
    ),
    delete: db.prepare('DELETE FROM sessions WHERE id = ?'),
    deleteOfUser: db.prepare('DELETE FROM sessions WHERE id = ? AND user_id = ?'),
    deleteAllOfUser: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?'),
    listAll: db.prepare(`SELECT * FROM sessions WHERE user_id = ? ${NEWEST_FIRST}`),
    listFirst: db.prepare(`SELECT * FROM sessions WHERE user_id = ? ${NEWEST_FIRST} LIMIT ?`),
    // A row-value comparison, which SQLite answers as a range of the index: O(page), whatever the page.
    listAfter: db.prepare(
      `SELECT * FROM sessions WHERE user_id = @user_id AND (created_at, id) < (@created_at, @id)
       ${NEWEST_FIRST} LIMIT @limit`,
    ),
    count: db.prepare('SELECT COUNT(*) AS count FROM sessions WHERE user_id = ?'),
    countLive: db.prepare(COUNT_LIVE_LOGINS),
  };
}

export class SQLiteLogins implements LoginStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async createLogin(record: LoginRecord): Promise<void> {
    this.connection.run(() => this.statements().insert.run(sessionRow(record)));
  }

  /** Every request's read: one primary-key lookup on a prepared statement. */
  async getLogin(id: string): Promise<LoginRecord | null> {
    const row = this.connection.run(() => this.statements().get.get(id) as SessionRow | undefined);
    return row ? toSession(row) : null;
  }

  async touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    this.connection.run(() =>
      this.statements().touch.run({ id, last_active_at: lastActiveAt, expires_at: expiresAt }),
    );
  }

  async patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    return this.connection.write((): PatchResult => {
      const statements = this.statements();
      const row = statements.getData.get(id) as { data: string } | undefined;
      if (!row) return 'missing';
      const json = JSON.stringify(applyPatch(JSON.parse(row.data), patch));
      if (Buffer.byteLength(json) > options.maxBytes) return 'too_large';
      statements.setData.run(json, id);
      const touch = options.touch;
      if (touch) {
        statements.touch.run({ id, last_active_at: touch.lastActiveAt, expires_at: touch.expiresAt });
      }
      return 'ok';
    });
  }

  async deleteLogin(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const result = this.connection.run(() =>
      options.userId === undefined
        ? this.statements().delete.run(id)
        : this.statements().deleteOfUser.run(id, options.userId),
    );
    return result.changes > 0;
  }

  async listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    const rows = this.connection.run(() => {
      const statements = this.statements();
      if (!page) return statements.listAll.all(userId);
      const limit = sqlLimit(page.limit);
      if (!page.after) return statements.listFirst.all(userId, limit);
      return statements.listAfter.all({
        user_id: userId,
        created_at: page.after.createdAt,
        id: page.after.id,
        limit,
      });
    }) as SessionRow[];
    return rows.map(toSession);
  }

  async countUserLogins(userId: string): Promise<number> {
    return this.connection.run(() => (this.statements().count.get(userId) as { count: number }).count);
  }

  /** Live signed-in logins (the contract's optional count, for the server's metrics). */
  async countLogins(now: number): Promise<number> {
    return this.connection.run(() => (this.statements().countLive.get(now) as { count: number }).count);
  }

  /**
   * One UPDATE … WHERE generation = expected … RETURNING: the compare, the write and the read of the
   * result in one statement, which SQLite runs under its write lock — so of concurrent refreshes of one
   * generation, in this process or in any other on the same file, exactly one matches.
   */
  async advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    const row = this.connection.run(
      () =>
        this.statements().advanceRefresh.get({
          id,
          expected_generation: expectedGeneration,
          ...refreshColumns(next),
          last_active_at: touch.lastActiveAt,
          expires_at: touch.expiresAt,
        }) as SessionRow | undefined,
    );
    return row ? toSession(row) : null;
  }

  async deleteUserLogins(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    return this.connection.run(
      () => this.statements().deleteAllOfUser.run(userId, options.exceptId ?? null).changes,
    );
  }
}
