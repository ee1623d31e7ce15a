/**
 * The SQLite driver on Node: better-sqlite3. Statements are better-sqlite3's own, handed out as they
 * are, so a query costs exactly what it cost before the driver interface existed.
 */
import Database from 'better-sqlite3';
import type { SQLiteDriver } from '../driver.js';
import { fromBetterSQLite3 } from './better-sqlite3-database.js';

export const betterSQLite3: SQLiteDriver = {
  name: 'better-sqlite3',
  open: (path, { busyTimeoutMs }) => fromBetterSQLite3(new Database(path, { timeout: busyTimeoutMs })),
};
