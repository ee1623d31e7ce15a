/**
 * The SQLite driver on Bun: the built-in `bun:sqlite` (better-sqlite3, a Node native addon, does not load
 * there). Its API is better-sqlite3's in all the store uses, except that `get` says "no row" with null.
 */
import type { SQLiteDatabase, SQLiteDriver, SQLiteStatement } from '../driver.js';

/** The part of `bun:sqlite` used here (declared locally: the package's types come with Bun). */
interface BunStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface BunDatabase {
  prepare(sql: string): BunStatement;
  exec(sql: string): void;
  transaction<T>(body: () => T): { immediate(): T };
  function(name: string, options: { deterministic: boolean }, fn: (value: string) => string): void;
  close(): void;
}

interface BunSQLiteModule {
  Database: new (path: string, options: { create: boolean; strict: boolean }) => BunDatabase;
}

// A variable, not a literal: TypeScript (and Node) never try to resolve Bun's module.
const specifier = 'bun:sqlite';
const { Database } = (await import(specifier)) as BunSQLiteModule;

function statement(raw: BunStatement): SQLiteStatement {
  return {
    run: (...params) => raw.run(...params),
    get: (...params) => raw.get(...params) ?? undefined,
    all: (...params) => raw.all(...params),
  };
}

function open(path: string, options: { busyTimeoutMs: number }): SQLiteDatabase {
  // strict: named parameters bind from bare keys ({ id } for @id), as better-sqlite3 does.
  const db = new Database(path, { create: true, strict: true });
  let isOpen = true;
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
  return {
    prepare: (sql) => statement(db.prepare(sql)),
    exec: (sql) => db.exec(sql),
    pragma: (setting) => db.exec(`PRAGMA ${setting}`),
    immediate: (body) => db.transaction(body).immediate(),
    function: (name, fn) => db.function(name, { deterministic: true }, fn),
    // Bun's SQLiteError carries the extended result code name, as better-sqlite3's does.
    errorCode: (error) => {
      const code = (error as { code?: unknown } | null)?.code;
      return typeof code === 'string' ? code : undefined;
    },
    get open() {
      return isOpen;
    },
    close: () => {
      isOpen = false;
      db.close();
    },
  };
}

export const bunSQLite: SQLiteDriver = { name: 'bun:sqlite', open };
