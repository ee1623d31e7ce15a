/**
 * The few things the SQLite store asks of a database library, and the library picked for the runtime
 * it runs on: better-sqlite3 on Node (the default, and the fastest there), `bun:sqlite` on Bun, and
 * `node:sqlite` on Deno. better-sqlite3 is a Node native addon that Bun and Deno cannot load, while both
 * ship SQLite built in. Only the chosen driver's module is imported (top-level await, once), so Node never
 * touches a runtime's built-in module, and a missing better-sqlite3 fails the import of the store with
 * ERR_MODULE_NOT_FOUND as it always did (src/stores/url.ts turns that into "npm install better-sqlite3@12").
 */

/** A prepared statement: positional parameters, or one object of named ones (`@name` in the SQL, bare keys). */
export interface SQLiteStatement {
  run(...params: unknown[]): { changes: number };
  /** The first row, or undefined when there is none. */
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SQLiteDatabase {
  prepare(sql: string): SQLiteStatement;
  /** Runs one or more statements without parameters. */
  exec(sql: string): void;
  /** Sets a pragma, e.g. `journal_mode = WAL`. */
  pragma(setting: string): void;
  /**
   * Runs `body` in one transaction that takes the write lock at BEGIN (IMMEDIATE); commits when it
   * returns, rolls back when it throws.
   */
  immediate<T>(body: () => T): T;
  /** Registers a deterministic SQL function of one text argument (used by migrations). */
  function(name: string, fn: (value: string) => string): void;
  /** The SQLite result code name of a library's error (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`…), if it has one. */
  errorCode(error: unknown): string | undefined;
  readonly open: boolean;
  close(): void;
}

export interface SQLiteDriver {
  /** Which library: shown in docs and checked by the runtime tests. */
  readonly name: 'better-sqlite3' | 'bun:sqlite' | 'node:sqlite';
  /** Opens (creating if needed) the file at `path`, or `:memory:`; a query waits `busyTimeoutMs` for a lock. */
  open(path: string, options: { busyTimeoutMs: number }): SQLiteDatabase;
}

async function loadDriver(): Promise<SQLiteDriver> {
  if (process.versions.bun) return (await import('./drivers/bun.js')).bunSQLite;
  if (process.versions.deno) return (await import('./drivers/node-sqlite.js')).nodeSQLite;
  return (await import('./drivers/better-sqlite3.js')).betterSQLite3;
}

/** The driver for this runtime. */
export const sqliteDriver: SQLiteDriver = await loadDriver();
