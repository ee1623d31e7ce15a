/**
 * The SQLite store's conformance harness, shared by Node's run (test/stores/sqlite.test.ts) and the
 * Bun and Deno runs (test/runtimes/sqlite-store.runtime.ts): a store on a temporary file, and a second
 * raw connection through the same driver that empties and counts keycard's tables.
 */

import { type SQLiteDatabase, sqliteDriver } from '../../src/stores/sqlite/driver.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import type { StoreHarness } from '../conformance/store.js';
import type { ManualClock } from './clock.js';
import { tempSQLiteFile } from './sqlite-file.js';

/** keycard's tables in a file (every table but SQLite's own and the migration log). */
function dataTables(raw: SQLiteDatabase): string[] {
  const rows = raw
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations'",
    )
    .all() as { name: string }[];
  return rows.map((row) => row.name);
}

export async function sqliteHarness(clock: ManualClock): Promise<StoreHarness> {
  const file = tempSQLiteFile();
  const store = new SQLiteStore({ path: file.path, clock, revocationPollIntervalMs: 20 });
  const raw = sqliteDriver.open(file.path, { busyTimeoutMs: 5000 });
  return {
    store,
    openAnother: async () => new SQLiteStore({ path: file.path, clock }),
    async reset() {
      for (const table of dataTables(raw)) raw.exec(`DELETE FROM ${table}`);
    },
    async recordCount() {
      let count = 0;
      for (const table of dataTables(raw)) {
        count += (raw.prepare(`SELECT COUNT(*) AS count FROM ${table}`).get() as { count: number }).count;
      }
      return count;
    },
    async close() {
      raw.close();
      await store.close();
      file.cleanup();
    },
  };
}
