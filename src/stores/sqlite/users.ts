/**
 * Users. The canonical username and its confusable skeleton are both UNIQUE columns, so the database
 * itself admits one of two concurrent creations of one name — or of two look-alike names — whichever
 * process they come from.
 */
import { emailTaken, usernameTaken } from '../../core/errors.js';
import type { ListUsersOptions, UserRecord, UserStore, UserUpdate } from '../../core/store.js';
import { usernamePrefixEnd } from '../prefix.js';
import { type SQLiteConnection, sqlLimit } from './connection.js';
import type { SQLiteDatabase } from './driver.js';
import { toUser, type UserRow, userRow } from './rows.js';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare(
      `INSERT INTO users (id, username, skeleton, password_hash, role, blocked, email, email_verified_at,
         created_at, updated_at)
       VALUES (@id, @username, @skeleton, @password_hash, @role, @blocked, @email, @email_verified_at,
         @created_at, @updated_at)`,
    ),
    getById: db.prepare('SELECT * FROM users WHERE id = ?'),
    getByUsername: db.prepare('SELECT * FROM users WHERE username = ?'),
    getByEmail: db.prepare('SELECT * FROM users WHERE email = ?'),
    list: db.prepare('SELECT * FROM users WHERE username > ? ORDER BY username LIMIT ?'),
    // A prefix is a range on the unique index (usernamePrefixEnd), never LIKE: its characters are literal.
    listPrefix: db.prepare(
      'SELECT * FROM users WHERE username > ? AND username >= ? AND username < ? ORDER BY username LIMIT ?',
    ),
    // One row: the username and the skeleton (both UNIQUE columns of it) are free the moment it commits.
    delete: db.prepare('DELETE FROM users WHERE id = ?'),
    count: db.prepare('SELECT COUNT(*) AS count FROM users'),
    // A null parameter leaves its column as it is (none of these columns may be set to null); the email
    // columns, which may be, are set only when their flag says so.
    update: db.prepare(
      `UPDATE users SET password_hash = COALESCE(@password_hash, password_hash), role = COALESCE(@role, role),
         blocked = COALESCE(@blocked, blocked),
         email = CASE WHEN @set_email THEN @email ELSE email END,
         email_verified_at = CASE WHEN @set_verified THEN @email_verified_at ELSE email_verified_at END,
         updated_at = @updated_at
       WHERE id = @id RETURNING *`,
    ),
  };
}

/** SQLite names the column of a failed UNIQUE constraint in its message: `… users.email`. */
function emailConflict(error: unknown): boolean {
  return error instanceof Error && /\busers\.email\b/.test(error.message);
}

export class SQLiteUsers implements UserStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      this.connection.run(() => this.statements().insert.run(userRow(user)));
    } catch (error) {
      if (this.connection.errorCode(error) !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      if (emailConflict(error)) throw emailTaken();
      // Which index refused it: the error names a column, but when the name itself exists its skeleton
      // does too and SQLite may report either, so ask. (Were the holder deleted between the two, the name
      // is free now and either answer is a fair refusal of a name that was taken a moment ago.)
      const exact =
        this.connection.run(() => this.statements().getByUsername.get(user.username)) !== undefined;
      throw usernameTaken(user.username, exact ? 'exact' : 'lookalike');
    }
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    const row = this.connection.run(() => this.statements().getById.get(id) as UserRow | undefined);
    return row ? toUser(row) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const row = this.connection.run(
      () => this.statements().getByUsername.get(username) as UserRow | undefined,
    );
    return row ? toUser(row) : null;
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const row = this.connection.run(() => this.statements().getByEmail.get(email) as UserRow | undefined);
    return row ? toUser(row) : null;
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    const { prefix } = options;
    const after = options.after ?? '';
    const limit = sqlLimit(options.limit);
    const rows = this.connection.run(() =>
      prefix
        ? (this.statements().listPrefix.all(after, prefix, usernamePrefixEnd(prefix), limit) as UserRow[])
        : (this.statements().list.all(after, limit) as UserRow[]),
    );
    return rows.map(toUser);
  }

  async deleteUser(id: string): Promise<boolean> {
    return this.connection.run(() => this.statements().delete.run(id).changes > 0);
  }

  async countUsers(): Promise<number> {
    return this.connection.run(() => (this.statements().count.get() as { count: number }).count);
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    try {
      const row = this.connection.run(
        () =>
          this.statements().update.get({
            id,
            password_hash: update.passwordHash ?? null,
            role: update.role ?? null,
            blocked: update.blocked === undefined ? null : update.blocked ? 1 : 0,
            set_email: update.email === undefined ? 0 : 1,
            email: update.email ?? null,
            set_verified: update.emailVerifiedAt === undefined ? 0 : 1,
            email_verified_at: update.emailVerifiedAt ?? null,
            updated_at: update.updatedAt,
          }) as UserRow | undefined,
      );
      return row ? toUser(row) : null;
    } catch (error) {
      if (this.connection.errorCode(error) === 'SQLITE_CONSTRAINT_UNIQUE' && emailConflict(error)) {
        throw emailTaken();
      }
      throw error;
    }
  }
}
