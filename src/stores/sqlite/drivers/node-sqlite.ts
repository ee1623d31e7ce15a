/**
 * The SQLite driver on Deno: `node:sqlite` (DatabaseSync), which Deno 2 implements with its own bundled
 * SQLite. It has no transaction helper, and its errors carry SQLite's numeric result code (`errcode`)
 * rather than its name, so both are supplied here.
 */
import type { SQLiteDatabase, SQLiteDriver } from '../driver.js';

/** The part of `node:sqlite` used here (declared locally: @types/node 20 predates the module). */
interface StatementSync {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  function(name: string, options: { deterministic: boolean }, fn: (value: string) => string): void;
  readonly isOpen: boolean;
  readonly isTransaction: boolean;
  close(): void;
}

interface NodeSQLiteModule {
  DatabaseSync: new (path: string, options: { enableForeignKeyConstraints: boolean }) => DatabaseSync;
}

// A variable, not a literal: Node 20's TypeScript types know no node:sqlite, and Node never loads it here.
const specifier = 'node:sqlite';
const { DatabaseSync } = (await import(specifier)) as NodeSQLiteModule;

/** Primary result codes by number (https://www.sqlite.org/rescode.html). */
const PRIMARY: Record<number, string> = {
  1: 'ERROR',
  2: 'INTERNAL',
  3: 'PERM',
  4: 'ABORT',
  5: 'BUSY',
  6: 'LOCKED',
  7: 'NOMEM',
  8: 'READONLY',
  9: 'INTERRUPT',
  10: 'IOERR',
  11: 'CORRUPT',
  12: 'NOTFOUND',
  13: 'FULL',
  14: 'CANTOPEN',
  15: 'PROTOCOL',
  16: 'EMPTY',
  17: 'SCHEMA',
  18: 'TOOBIG',
  19: 'CONSTRAINT',
  20: 'MISMATCH',
  21: 'MISUSE',
  22: 'NOLFS',
  23: 'AUTH',
  24: 'FORMAT',
  25: 'RANGE',
  26: 'NOTADB',
};

/** The extended codes the store tells apart (a duplicate id or username), by number. */
const EXTENDED: Record<number, string> = {
  1555: 'CONSTRAINT_PRIMARYKEY',
  2067: 'CONSTRAINT_UNIQUE',
};

function errorCode(error: unknown): string | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== 'number') return undefined;
  // An extended code keeps its primary code in the low byte.
  const name = EXTENDED[errcode] ?? PRIMARY[errcode & 0xff];
  return name === undefined ? undefined : `SQLITE_${name}`;
}

function open(path: string, options: { busyTimeoutMs: number }): SQLiteDatabase {
  // Foreign keys off, as SQLite (and better-sqlite3) default to: the schema has none, and the store must
  // behave the same whichever library runs it.
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
  return {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => db.exec(sql),
    pragma: (setting) => db.exec(`PRAGMA ${setting}`),
    immediate: (body) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = body();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        // SQLite may already have rolled back (some errors end the transaction themselves).
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    function: (name, fn) => db.function(name, { deterministic: true }, fn),
    errorCode,
    get open() {
      return db.isOpen;
    },
    close: () => db.close(),
  };
}

export const nodeSQLite: SQLiteDriver = { name: 'node:sqlite', open };
