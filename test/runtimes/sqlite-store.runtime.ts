/**
 * The SQLite store's conformance suite as Bun and Deno run it: their own test runners (`bun test`,
 * `deno test`) run node:test suites, so this is the very suite Node runs (test/stores/sqlite.test.ts),
 * on the driver each runtime picks. Started by test/runtimes/sqlite-runtimes.test.ts; not a `.test.ts`
 * file, so Node's run does not pick it up a second time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { describeStoreConformance } from '../conformance/store.js';
import { sqliteHarness } from '../helpers/sqlite-conformance.js';
import { tempSQLiteFile } from '../helpers/sqlite-file.js';

const runtime = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';
const expectedDriver = { bun: 'bun:sqlite', deno: 'node:sqlite', node: 'better-sqlite3' }[runtime];

describeStoreConformance(`sqlite on ${runtime}`, sqliteHarness);

test(`the SQLite store runs on ${expectedDriver} under ${runtime}`, async () => {
  const file = tempSQLiteFile();
  const store = new SQLiteStore({ path: file.path, pruneIntervalMs: 0, fileCheckIntervalMs: 0 });
  try {
    assert.equal(store.driver, expectedDriver);
    await store.ping();
  } finally {
    await store.close();
    file.cleanup();
  }
});
