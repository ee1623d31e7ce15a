/**
 * A better-sqlite3 connection as the store's SQLiteDatabase. Only its type is imported, so that
 * `migrateSQLite` (which takes an app's own connection) never loads better-sqlite3 on Bun or Deno.
 */
import type Database from 'better-sqlite3';
import type { SQLiteDatabase } from '../driver.js';

/** Wraps an open better-sqlite3 connection (also how `migrateSQLite` takes one from an app). */
export function fromBetterSQLite3(db: Database.Database): SQLiteDatabase {
  return {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => {
      db.exec(sql);
    },
    pragma: (setting) => {
      db.pragma(setting);
    },
    immediate: (body) => db.transaction(body).immediate(),
    function: (name, fn) => {
      db.function(name, { deterministic: true }, fn);
    },
    // better-sqlite3's SqliteError carries the extended result code name, e.g. SQLITE_CONSTRAINT_UNIQUE.
    errorCode: (error) => {
      const code = (error as { code?: unknown } | null)?.code;
      return typeof code === 'string' ? code : undefined;
    },
    get open() {
      return db.open;
    },
    close: () => db.close(),
  };
}
