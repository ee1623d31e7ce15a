/**
 * The SQLite store (better-sqlite3 12): keycard's embedded default. One file, WAL journaling so readers
 * never wait for the writer, versioned migrations at open, and expired sessions pruned on a timer.
 *
 * better-sqlite3 is synchronous; a query on an indexed primary key takes microseconds, which costs less
 * than handing it to a thread. Several processes (the server and the CLI) may open one file.
 */
import { accessSync, constants, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../core/clock.js';
import { configurationError, KeycardError, storeUnavailable } from '../../core/errors.js';
import { applyPatch } from '../../core/session/data.js';
import type {
  ClientRecord,
  ClientUpdate,
  CounterValue,
  DataPatch,
  ListUsersOptions,
  PatchOptions,
  PatchResult,
  RefreshTokenRecord,
  RevocationListener,
  RevocationRecord,
  RevocationSubscription,
  RotateOptions,
  RotationResult,
  SessionRecord,
  Store,
  UserRecord,
  UserUpdate,
} from '../../core/store.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

export interface SQLiteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** How long a query waits for another process's write lock before failing; default 5000 ms. */
  busyTimeoutMs?: number;
  /** How often expired sessions are deleted; default 300 000 ms (5 minutes). 0 disables. */
  pruneIntervalMs?: number;
  /** Apply pending migrations at open (default true); false makes an outdated schema an error. */
  migrate?: boolean;
  /**
   * How often the file is checked to still be the one that was opened, readable and writable; default
   * 1000 ms, 0 disables. An open connection keeps working on a deleted or replaced file and would lose
   * every write at the next restart, so the store reports itself unavailable instead, and reopens when the
   * file is back.
   */
  fileCheckIntervalMs?: number;
  /** How often the revocation feed polls for new rows; default 200 ms. */
  revocationPollIntervalMs?: number;
  clock?: Clock;
}

interface SessionRow {
  id: string;
  user_id: string | null;
  username: string | null;
  role: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  absolute_expires_at: number;
  data: string;
  user_agent: string | null;
  ip: string | null;
}

interface RefreshTokenRow {
  id: string;
  login_id: string;
  created_at: number;
  expires_at: number;
  spent_at: number | null;
  successor_id: string | null;
}

interface ClientRow {
  id: string;
  name: string;
  scopes: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  generation: number;
  disabled: number;
  created_at: number;
  updated_at: number;
}

function toClient(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    generation: row.generation,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function clientRow(client: ClientRecord): ClientRow {
  return {
    id: client.id,
    name: client.name,
    scopes: JSON.stringify(client.scopes),
    secret_hash: client.secretHash,
    previous_secret_hash: client.previousSecretHash,
    previous_secret_expires_at: client.previousSecretExpiresAt,
    generation: client.generation,
    disabled: client.disabled ? 1 : 0,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
  };
}

interface RevocationRow {
  kind: 'login' | 'user';
  id: string;
  at: number;
  expires_at: number;
}

function toRevocation(row: RevocationRow): RevocationRecord {
  return { kind: row.kind, id: row.id, at: row.at, expiresAt: row.expires_at };
}

interface UserRow {
  id: string;
  username: string;
  password_hash: string | null;
  role: string;
  blocked: number;
  created_at: number;
  updated_at: number;
}

/** SQLite result codes that mean "the database cannot be used right now", not "your query is wrong". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|CORRUPT|NOTADB|FULL|READONLY|PERM|AUTH|PROTOCOL)/;

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    user:
      row.user_id === null ? null : { id: row.user_id, username: row.username ?? '', role: row.role ?? '' },
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    data: JSON.parse(row.data),
    userAgent: row.user_agent,
    ip: row.ip,
  };
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    blocked: row.blocked === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Applies pending migrations; refuses a file written by a newer keycard. Returns the versions applied. */
export function migrateSQLite(db: Database.Database, options: { apply: boolean }): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  );
  const applied: number[] = [];
  db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > LATEST_VERSION) {
      throw configurationError(
        `the SQLite database is at schema version ${current}, newer than this keycard knows (${LATEST_VERSION}); upgrade keycard`,
      );
    }
    const pending = MIGRATIONS.filter((migration) => migration.version > current);
    if (pending.length > 0 && !options.apply) {
      throw configurationError(
        `the SQLite database needs migrations up to version ${LATEST_VERSION}: run keycard migrate`,
      );
    }
    for (const migration of pending) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        Date.now(),
      );
      applied.push(migration.version);
    }
  }).immediate();
  return applied;
}

function prepareStatements(db: Database.Database) {
  return {
    insertSession: db.prepare(
      `INSERT INTO sessions (id, user_id, username, role, created_at, last_active_at, expires_at,
         absolute_expires_at, data, user_agent, ip)
       VALUES (@id, @user_id, @username, @role, @created_at, @last_active_at, @expires_at,
         @absolute_expires_at, @data, @user_agent, @ip)`,
    ),
    getSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    getData: db.prepare('SELECT data FROM sessions WHERE id = ?'),
    touch: db.prepare(
      `UPDATE sessions SET last_active_at = MAX(last_active_at, ?),
         expires_at = MIN(MAX(expires_at, ?), absolute_expires_at) WHERE id = ?`,
    ),
    setData: db.prepare('UPDATE sessions SET data = ? WHERE id = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
    deleteUserSession: db.prepare('DELETE FROM sessions WHERE id = ? AND user_id = ?'),
    listUserSessions: db.prepare('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC'),
    deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?'),
    prune: db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR absolute_expires_at <= ?'),
    insertUser: db.prepare(
      `INSERT INTO users (id, username, password_hash, role, blocked, created_at, updated_at)
       VALUES (@id, @username, @password_hash, @role, @blocked, @created_at, @updated_at)`,
    ),
    getUserById: db.prepare('SELECT * FROM users WHERE id = ?'),
    getUserByUsername: db.prepare('SELECT * FROM users WHERE username = ?'),
    listUsers: db.prepare('SELECT * FROM users WHERE username > ? ORDER BY username LIMIT ?'),
    countUsers: db.prepare('SELECT COUNT(*) AS count FROM users'),
    updateUser: db.prepare(
      `UPDATE users SET password_hash = COALESCE(@password_hash, password_hash), role = COALESCE(@role, role),
         blocked = COALESCE(@blocked, blocked), updated_at = @updated_at WHERE id = @id`,
    ),
    ping: db.prepare('SELECT COUNT(*) AS count FROM schema_migrations'),
    insertRefreshToken: db.prepare(
      `INSERT INTO refresh_tokens (id, login_id, created_at, expires_at, spent_at, successor_id)
       VALUES (@id, @login_id, @created_at, @expires_at, @spent_at, @successor_id)`,
    ),
    getRefreshToken: db.prepare('SELECT * FROM refresh_tokens WHERE id = ?'),
    spendRefreshToken: db.prepare('UPDATE refresh_tokens SET spent_at = ?, successor_id = ? WHERE id = ?'),
    pruneRefreshTokens: db.prepare(
      'DELETE FROM refresh_tokens WHERE expires_at <= ? OR login_id NOT IN (SELECT id FROM sessions)',
    ),
    getCounter: db.prepare('SELECT count, reset_at FROM counters WHERE key = ?'),
    upsertCounter: db.prepare(
      `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @reset_at)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN counters.reset_at > @now THEN counters.count + 1 ELSE 1 END,
         reset_at = CASE WHEN counters.reset_at > @now THEN counters.reset_at ELSE @reset_at END
       RETURNING count, reset_at`,
    ),
    deleteCounter: db.prepare('DELETE FROM counters WHERE key = ?'),
    pruneCounters: db.prepare('DELETE FROM counters WHERE reset_at <= ?'),
    insertRevocation: db.prepare('INSERT INTO revocations (kind, id, at, expires_at) VALUES (?, ?, ?, ?)'),
    listRevocations: db.prepare(
      'SELECT kind, id, at, expires_at FROM revocations WHERE expires_at > ? ORDER BY seq',
    ),
    revocationsAfter: db.prepare(
      'SELECT seq, kind, id, at, expires_at FROM revocations WHERE seq > ? ORDER BY seq',
    ),
    lastRevocation: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM revocations'),
    isRevoked: db.prepare(
      `SELECT 1 FROM revocations WHERE expires_at > @now
         AND ((kind = 'login' AND id = @login) OR (kind = 'user' AND id = @user AND at >= @issued)) LIMIT 1`,
    ),
    pruneRevocations: db.prepare('DELETE FROM revocations WHERE expires_at <= ?'),
    insertClient: db.prepare(
      `INSERT INTO clients (id, name, scopes, secret_hash, previous_secret_hash, previous_secret_expires_at,
         generation, disabled, created_at, updated_at)
       VALUES (@id, @name, @scopes, @secret_hash, @previous_secret_hash, @previous_secret_expires_at,
         @generation, @disabled, @created_at, @updated_at)`,
    ),
    getClient: db.prepare('SELECT * FROM clients WHERE id = ?'),
    listClients: db.prepare('SELECT * FROM clients WHERE id > ? ORDER BY id LIMIT ?'),
    deleteClient: db.prepare('DELETE FROM clients WHERE id = ?'),
    // Nullable columns take a flag: null in an update means "clear it", undefined "leave it".
    updateClient: db.prepare(
      `UPDATE clients SET
         name = COALESCE(@name, name),
         scopes = COALESCE(@scopes, scopes),
         secret_hash = COALESCE(@secret_hash, secret_hash),
         previous_secret_hash = CASE WHEN @set_previous THEN @previous_secret_hash ELSE previous_secret_hash END,
         previous_secret_expires_at =
           CASE WHEN @set_previous_expiry THEN @previous_secret_expires_at ELSE previous_secret_expires_at END,
         generation = COALESCE(@generation, generation),
         disabled = COALESCE(@disabled, disabled),
         updated_at = @updated_at
       WHERE id = @id RETURNING *`,
    ),
  };
}

export class SQLiteStore implements Store {
  readonly kind = 'sqlite';
  readonly path: string;
  private db: Database.Database;
  private readonly options: SQLiteStoreOptions;
  private readonly clock: Clock;
  private readonly timers: NodeJS.Timeout[] = [];
  private statements: ReturnType<typeof prepareStatements>;
  /** The file's inode when opened; null for `:memory:`. */
  private inode: number | null = null;
  /** Why the file cannot be used right now; every operation fails with `store_unavailable` while set. */
  private fault: Error | null = null;
  private closed = false;

  constructor(options: SQLiteStoreOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw configurationError("SQLiteStore needs a path, e.g. new SQLiteStore({ path: './keycard.db' })");
    }
    this.path = options.path;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.db = this.open();
    this.statements = prepareStatements(this.db);
    const pruneIntervalMs = options.pruneIntervalMs ?? 300_000;
    if (pruneIntervalMs > 0) {
      this.every(pruneIntervalMs, () => {
        try {
          this.prune();
        } catch {
          // A failed prune is retried at the next tick; requests report the store's state themselves.
        }
      });
    }
    const fileCheckIntervalMs = options.fileCheckIntervalMs ?? 1000;
    if (fileCheckIntervalMs > 0 && this.inode !== null)
      this.every(fileCheckIntervalMs, () => this.checkFile());
  }

  private open(): Database.Database {
    const options = this.options;
    let db: Database.Database | undefined;
    try {
      db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrateSQLite(db, { apply: options.migrate ?? true });
      this.inode = options.path === ':memory:' ? null : statSync(options.path).ino;
      return db;
    } catch (error) {
      db?.close();
      if (error instanceof KeycardError) throw error;
      throw new KeycardError('store_unavailable', `cannot open the SQLite database at ${options.path}`, {
        cause: error,
      });
    }
  }

  /**
   * Verifies that the path still names the file that is open and that it can be read and written. When
   * it does not, operations fail; when a file is back at the path, it is opened afresh.
   */
  checkFile(): void {
    if (this.inode === null || this.closed) return;
    try {
      const stat = statSync(this.path);
      accessSync(this.path, constants.R_OK | constants.W_OK);
      if (stat.ino !== this.inode) {
        // Replaced (restored from a backup, say): reopen so reads and writes go to the file at the path.
        const fresh = this.open();
        this.db.close();
        this.db = fresh;
        this.statements = prepareStatements(fresh);
      }
      this.fault = null;
    } catch (error) {
      this.fault = error instanceof Error ? error : new Error(String(error));
    }
  }

  private every(intervalMs: number, task: () => void): void {
    const timer = setInterval(task, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Deletes sessions past their idle or absolute expiry (and dead refresh tokens and counters); returns how many sessions. */
  prune(): number {
    const now = this.clock.now();
    return this.run(() => {
      const sessions = this.statements.prune.run(now, now).changes;
      this.statements.pruneRefreshTokens.run(now);
      this.statements.pruneCounters.run(now);
      this.statements.pruneRevocations.run(now);
      return sessions;
    });
  }

  async createSession(record: SessionRecord): Promise<void> {
    this.run(() =>
      this.statements.insertSession.run({
        id: record.id,
        user_id: record.user?.id ?? null,
        username: record.user?.username ?? null,
        role: record.user?.role ?? null,
        created_at: record.createdAt,
        last_active_at: record.lastActiveAt,
        expires_at: record.expiresAt,
        absolute_expires_at: record.absoluteExpiresAt,
        data: JSON.stringify(record.data),
        user_agent: record.userAgent,
        ip: record.ip,
      }),
    );
  }

  async getSession(id: string): Promise<SessionRecord | null> {
    const row = this.run(() => this.statements.getSession.get(id) as SessionRow | undefined);
    return row ? toSession(row) : null;
  }

  async touchSession(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    this.run(() => this.statements.touch.run(lastActiveAt, expiresAt, id));
  }

  async patchSessionData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    const apply = this.db.transaction((): PatchResult => {
      const row = this.statements.getData.get(id) as { data: string } | undefined;
      if (!row) return 'missing';
      const json = JSON.stringify(applyPatch(JSON.parse(row.data), patch));
      if (Buffer.byteLength(json) > options.maxBytes) return 'too_large';
      this.statements.setData.run(json, id);
      if (options.touch) this.statements.touch.run(options.touch.lastActiveAt, options.touch.expiresAt, id);
      return 'ok';
    });
    return this.run(() => apply.immediate());
  }

  async deleteSession(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const result = this.run(() =>
      options.userId === undefined
        ? this.statements.deleteSession.run(id)
        : this.statements.deleteUserSession.run(id, options.userId),
    );
    return result.changes > 0;
  }

  async listUserSessions(userId: string): Promise<SessionRecord[]> {
    const rows = this.run(() => this.statements.listUserSessions.all(userId) as SessionRow[]);
    return rows.map(toSession);
  }

  async deleteUserSessions(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    return this.run(() => this.statements.deleteUserSessions.run(userId, options.exceptId ?? null).changes);
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      this.run(() =>
        this.statements.insertUser.run({
          id: user.id,
          username: user.username,
          password_hash: user.passwordHash,
          role: user.role,
          blocked: user.blocked ? 1 : 0,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        }),
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new KeycardError('username_taken', `the username '${user.username}' is taken`);
      }
      throw error;
    }
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    const row = this.run(() => this.statements.getUserById.get(id) as UserRow | undefined);
    return row ? toUser(row) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const row = this.run(() => this.statements.getUserByUsername.get(username) as UserRow | undefined);
    return row ? toUser(row) : null;
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    const rows = this.run(
      () => this.statements.listUsers.all(options.after ?? '', options.limit) as UserRow[],
    );
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    return this.run(() => (this.statements.countUsers.get() as { count: number }).count);
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    const read = this.db.transaction(() => {
      const result = this.statements.updateUser.run({
        id,
        password_hash: update.passwordHash ?? null,
        role: update.role ?? null,
        blocked: update.blocked === undefined ? null : update.blocked ? 1 : 0,
        updated_at: update.updatedAt,
      });
      return result.changes === 0 ? undefined : (this.statements.getUserById.get(id) as UserRow);
    });
    const row = this.run(() => read.immediate());
    return row ? toUser(row) : null;
  }

  async createRefreshToken(record: RefreshTokenRecord): Promise<void> {
    this.run(() =>
      this.statements.insertRefreshToken.run({
        id: record.id,
        login_id: record.loginId,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        spent_at: record.spentAt,
        successor_id: record.successorId,
      }),
    );
  }

  async rotateRefreshToken(presentedId: string, options: RotateOptions): Promise<RotationResult> {
    const rotate = this.db.transaction((): RotationResult => {
      const token = this.statements.getRefreshToken.get(presentedId) as RefreshTokenRow | undefined;
      const row = token && (this.statements.getSession.get(token.login_id) as SessionRow | undefined);
      if (!token || !row || token.expires_at <= options.now) return { status: 'invalid' };
      if (token.spent_at === null) {
        const successor = options.successor;
        this.statements.spendRefreshToken.run(options.now, successor.id, presentedId);
        this.statements.insertRefreshToken.run({
          id: successor.id,
          login_id: token.login_id,
          created_at: successor.createdAt,
          expires_at: successor.expiresAt,
          spent_at: null,
          successor_id: null,
        });
        this.statements.touch.run(options.touch.lastActiveAt, options.touch.expiresAt, token.login_id);
        return {
          status: 'rotated',
          login: toSession(this.statements.getSession.get(token.login_id) as SessionRow),
        };
      }
      if (options.now - token.spent_at <= options.graceMs && token.successor_id !== null) {
        return { status: 'grace', login: toSession(row), successorId: token.successor_id };
      }
      this.statements.deleteSession.run(token.login_id);
      return { status: 'reused', login: toSession(row) };
    });
    return this.run(() => rotate.immediate());
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const row = this.run(
      () =>
        this.statements.upsertCounter.get({ key, now, reset_at: now + windowMs }) as {
          count: number;
          reset_at: number;
        },
    );
    return { count: row.count, resetAt: row.reset_at };
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const row = this.run(
      () => this.statements.getCounter.get(key) as { count: number; reset_at: number } | undefined,
    );
    return row && row.reset_at > now ? { count: row.count, resetAt: row.reset_at } : null;
  }

  async resetCounter(key: string): Promise<void> {
    this.run(() => this.statements.deleteCounter.run(key));
  }

  async addRevocation(record: RevocationRecord): Promise<void> {
    this.run(() => this.statements.insertRevocation.run(record.kind, record.id, record.at, record.expiresAt));
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    const rows = this.run(() => this.statements.listRevocations.all(now) as RevocationRow[]);
    return rows.map(toRevocation);
  }

  async isRevoked(
    query: { loginId: string; userId: string; issuedAt: number },
    now: number,
  ): Promise<boolean> {
    const row = this.run(() =>
      this.statements.isRevoked.get({
        now,
        login: query.loginId,
        user: query.userId,
        issued: query.issuedAt,
      }),
    );
    return row !== undefined;
  }

  /**
   * SQLite has no channel between processes, so the feed polls: every `revocationPollIntervalMs` it reads
   * the rows added since the last sequence number it saw (an indexed range read, cheap when idle). A
   * failed poll reports `down`; the next good one reports `up` and the listener reloads.
   */
  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    let last = this.run(() => (this.statements.lastRevocation.get() as { seq: number }).seq);
    let up = true;
    const poll = () => {
      try {
        const rows = this.run(
          () => this.statements.revocationsAfter.all(last) as (RevocationRow & { seq: number })[],
        );
        if (!up) {
          up = true;
          listener.status('up');
        }
        for (const row of rows) {
          last = row.seq;
          listener.revoked(toRevocation(row));
        }
      } catch {
        if (up) {
          up = false;
          listener.status('down');
        }
      }
    };
    const timer = setInterval(poll, this.options.revocationPollIntervalMs ?? 200);
    timer.unref();
    queueMicrotask(() => listener.status('up'));
    return {
      close: async () => {
        clearInterval(timer);
      },
    };
  }

  async createClient(client: ClientRecord): Promise<void> {
    try {
      this.run(() => this.statements.insertClient.run(clientRow(client)));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new KeycardError('invalid_request', `client ${client.id} exists`);
      }
      throw error;
    }
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const row = this.run(() => this.statements.getClient.get(id) as ClientRow | undefined);
    return row ? toClient(row) : null;
  }

  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    // LIMIT -1 is SQLite's "no limit", for an unbounded listing.
    const limit = Number.isFinite(options.limit) ? Math.max(0, options.limit) : -1;
    const rows = this.run(() => this.statements.listClients.all(options.after ?? '', limit) as ClientRow[]);
    return rows.map(toClient);
  }

  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    const row = this.run(
      () =>
        this.statements.updateClient.get({
          id,
          name: update.name ?? null,
          scopes: update.scopes === undefined ? null : JSON.stringify(update.scopes),
          secret_hash: update.secretHash ?? null,
          set_previous: update.previousSecretHash === undefined ? 0 : 1,
          previous_secret_hash: update.previousSecretHash ?? null,
          set_previous_expiry: update.previousSecretExpiresAt === undefined ? 0 : 1,
          previous_secret_expires_at: update.previousSecretExpiresAt ?? null,
          generation: update.generation ?? null,
          disabled: update.disabled === undefined ? null : update.disabled ? 1 : 0,
          updated_at: update.updatedAt,
        }) as ClientRow | undefined,
    );
    return row ? toClient(row) : null;
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.run(() => this.statements.deleteClient.run(id).changes > 0);
  }

  async ping(): Promise<void> {
    this.checkFile();
    this.run(() => this.statements.ping.get());
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.db.open) this.db.close();
  }

  /** Runs a query, turning "the database cannot be used" into `store_unavailable`. */
  private run<T>(query: () => T): T {
    if (this.fault) throw storeUnavailable('sqlite', this.fault);
    try {
      return query();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if ((typeof code === 'string' && UNAVAILABLE.test(code)) || !this.db.open) {
        throw storeUnavailable('sqlite', error);
      }
      throw error;
    }
  }
}
