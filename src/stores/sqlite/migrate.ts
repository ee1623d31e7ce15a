/** The migration runner: brings a database file to the latest schema version (migrations.ts). */
import type Database from 'better-sqlite3';
import { configurationError } from '../../core/errors.js';
import type { SQLiteDatabase } from './driver.js';
import { fromBetterSQLite3 } from './drivers/better-sqlite3-database.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

/** `migrateDatabase` on an app's own better-sqlite3 connection (the store itself opens its own). */
export function migrateSQLite(db: Database.Database, options: { apply: boolean }): number[] {
  return migrateDatabase(fromBetterSQLite3(db), options);
}

/**
 * Applies pending migrations, all in one write transaction (IMMEDIATE: two processes opening a new file
 * at once never both migrate it); refuses a file written by a newer keycard, and with `apply: false`
 * refuses one that needs migrations. Returns the versions applied.
 */
export function migrateDatabase(db: SQLiteDatabase, options: { apply: boolean }): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  );
  const applied: number[] = [];
  db.immediate(() => {
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
      for (const [name, fn] of Object.entries(migration.functions ?? {})) {
        db.function(name, fn);
      }
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        Date.now(),
      );
      applied.push(migration.version);
    }
  });
  return applied;
}
