/**
 * The store's one connection to its file, and the discipline every query goes through: a query that
 * fails because the database cannot be used right now (locked past the busy timeout, the file gone,
 * unreadable, full) becomes `store_unavailable`, so a request fails closed with 503 and never reads as
 * "not found"; a mistake in a query stays the error it is.
 *
 * The connection can be replaced while the store runs (a file restored from a backup at its path is
 * opened afresh, `checkFile`), so capabilities never hold a database or its statements: they ask for
 * their statements per call (`statements`), prepared again only when the database has changed.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { KeycardError, storeUnavailable } from '../../core/errors.js';
import { type SQLiteDatabase, sqliteDriver } from './driver.js';
import { migrateDatabase } from './migrate.js';

export interface ConnectionOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** How long a query waits for another process's write lock before failing (ms). */
  busyTimeoutMs: number;
  /** Apply pending migrations at open; false makes an outdated schema an error. */
  migrate: boolean;
}

/** SQLite result codes that mean "the database cannot be used right now", not "your query is wrong". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|CORRUPT|NOTADB|FULL|READONLY|PERM|AUTH|PROTOCOL)/;

export class SQLiteConnection {
  readonly path: string;
  /** The library the queries go through on this runtime (driver.ts). */
  readonly driver = sqliteDriver.name;
  private db: SQLiteDatabase;
  /** The file's inode when opened; null for `:memory:`, which has no file to watch. */
  private inode: number | null = null;
  /** Why the file cannot be used right now; every query fails with `store_unavailable` while set. */
  private fault: Error | null = null;
  private closed = false;
  private readonly pingStatement = this.statements((db) =>
    db.prepare('SELECT COUNT(*) AS count FROM schema_migrations'),
  );

  constructor(private readonly options: ConnectionOptions) {
    this.path = options.path;
    this.db = this.open();
  }

  /** True when there is a file to watch (not `:memory:`). */
  get watchesFile(): boolean {
    return this.inode !== null;
  }

  /**
   * A getter for statements built by `build`, prepared once per database: after a reopen the next call
   * prepares them on the new one. Costs one identity check per call.
   */
  statements<T>(build: (db: SQLiteDatabase) => T): () => T {
    let preparedOn: SQLiteDatabase | undefined;
    let statements: T | undefined;
    return () => {
      if (preparedOn !== this.db || statements === undefined) {
        statements = build(this.db);
        preparedOn = this.db;
      }
      return statements;
    };
  }

  /** Checks the file, then runs a real query: resolves only when the database answers. */
  ping(): void {
    this.checkFile();
    this.run(() => this.pingStatement().get());
  }

  /** Runs a query, turning "the database cannot be used" into `store_unavailable`. */
  run<T>(query: () => T): T {
    if (this.fault) throw storeUnavailable('sqlite', this.fault);
    try {
      return query();
    } catch (error) {
      const code = this.db.errorCode(error);
      if ((code !== undefined && UNAVAILABLE.test(code)) || !this.db.open) {
        throw storeUnavailable('sqlite', error);
      }
      throw error;
    }
  }

  /**
   * Runs `body` as one write transaction that takes the write lock at BEGIN (IMMEDIATE): a
   * read-modify-write never reads a snapshot another process then writes over, and waiting for the
   * lock goes through the busy timeout instead of failing at the first write.
   */
  write<T>(body: () => T): T {
    return this.run(() => this.db.immediate(body));
  }

  /** The SQLite result code name of an error a query threw (`SQLITE_CONSTRAINT_UNIQUE`…), if it has one. */
  errorCode(error: unknown): string | undefined {
    return this.db.errorCode(error);
  }

  /**
   * Verifies that the path still names the file that is open and that it can be read and written. An open
   * connection keeps working on a deleted or replaced file and would lose every write at the next restart,
   * so when it does not, queries fail; when a file is back at the path, it is opened afresh.
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
      }
      this.fault = null;
    } catch (error) {
      this.fault = describeFault(error);
    }
  }

  close(): void {
    this.closed = true;
    if (this.db.open) this.db.close();
  }

  private open(): SQLiteDatabase {
    const { path, busyTimeoutMs, migrate } = this.options;
    let db: SQLiteDatabase | undefined;
    try {
      db = sqliteDriver.open(path, { busyTimeoutMs });
      // WAL: readers never wait for the writer; NORMAL is durable across application crashes in WAL mode.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrateDatabase(db, { apply: migrate });
      this.inode = path === ':memory:' ? null : statSync(path).ino;
      return db;
    } catch (error) {
      db?.close();
      if (error instanceof KeycardError) throw error;
      throw new KeycardError('store_unavailable', `cannot open the SQLite database at ${path}`, {
        cause: error,
      });
    }
  }
}

/**
 * Why the file check failed, as the operator should read it. Deno refuses the check itself unless it
 * may read the process's user and group ids (`NotCapable`): that is a missing permission flag, not a
 * missing file, and the message says which flag.
 */
function describeFault(error: unknown): Error {
  if (error instanceof Error && error.name === 'NotCapable') {
    return new Error(
      `the runtime refused the SQLite file check (${error.message}); on Deno, run with --allow-sys=uid,gid`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** A page size as SQLite's LIMIT takes it: a whole number, or -1 (no limit) for an unbounded listing. */
export function sqlLimit(limit: number): number {
  if (limit === Number.POSITIVE_INFINITY) return -1;
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}
