/**
 * Applies the versioned migrations (migrations.ts) to the store's schema. Several instances starting at
 * once must migrate exactly once, so everything happens in one transaction that first takes a
 * transaction-level advisory lock for the schema: the first instance applies what is pending and commits;
 * the others wait on the lock, then find nothing left to do. A failed migration rolls back whole, and a
 * schema written by a newer keycard is refused rather than used.
 */
import type pg from 'pg';
import { configurationError } from '../../core/errors.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { TYPES, transaction } from './pool.js';
import { advisoryKey, quoteIdentifier } from './queries.js';

export interface MigrationReport {
  schema: string;
  /** The version found. */
  from: number;
  /** The version left: LATEST_VERSION after a successful migration (unless a `target` stopped it earlier). */
  to: number;
  /** What this call applied, in order; empty when the schema was already current. */
  applied: { version: number; description: string }[];
}

/** A migration may build an index on a big table: neither the pool's statement timeout nor its query timeout applies. */
const MIGRATION_QUERY_TIMEOUT_MS = 3_600_000;

/**
 * Brings the schema to LATEST_VERSION. With `apply: false` nothing is written: a schema that needs
 * migrations is an error telling the operator to run `keycard migrate`. `target` stops at an earlier
 * version, as an older keycard would have left the schema (the tests build old schemas with it).
 */
export function migratePostgres(
  pool: pg.Pool,
  schema: string,
  options: { apply: boolean; target?: number },
): Promise<MigrationReport> {
  const target = options.target ?? LATEST_VERSION;
  const table = `${quoteIdentifier(schema)}.schema_migrations`;
  return transaction(pool, async (client) => {
    // pg reads a per-query query_timeout; @types/pg does not list it.
    const run = (text: string, values?: unknown[]) =>
      client.query({
        text,
        values,
        types: TYPES,
        query_timeout: MIGRATION_QUERY_TIMEOUT_MS,
      } as pg.QueryConfig);
    await run('SET LOCAL statement_timeout = 0');
    await run('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [advisoryKey('migrate', schema)]);
    // DDL waiting behind running queries would make every later query wait behind it: give up instead.
    await run("SET LOCAL lock_timeout = '10s'");
    const exists = (await run('SELECT to_regclass($1) IS NOT NULL AS exists', [table])).rows[0].exists;
    const from = exists
      ? (await run(`SELECT coalesce(max(version), 0) AS version FROM ${table}`)).rows[0].version
      : 0;
    if (from > LATEST_VERSION) {
      throw configurationError(
        `the PostgreSQL schema ${schema} is at version ${from}, newer than this keycard knows (${LATEST_VERSION}); upgrade keycard`,
      );
    }
    const pending = MIGRATIONS.filter((migration) => migration.version > from && migration.version <= target);
    if (pending.length === 0) return { schema, from, to: from, applied: [] };
    if (!options.apply) {
      throw configurationError(
        `the PostgreSQL schema ${schema} is at version ${from} and needs migrations up to version ${target}: run keycard migrate`,
      );
    }
    if (!exists) {
      // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      const found = await run('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (found.rowCount === 0) await run(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      await run(
        `CREATE TABLE ${table} (
           version     integer PRIMARY KEY,
           description text NOT NULL,
           applied_at  timestamptz NOT NULL DEFAULT now()
         )`,
      );
    }
    await run(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
    for (const migration of pending) {
      await run(migration.sql);
      // On the migration's connection: in its transaction (a failed back-fill rolls back everything), with
      // its search_path, and with no statement timeout (a back-fill touches every row of its table).
      await migration.backfill?.({ query: (text, values) => run(text, values) });
      await run(`INSERT INTO ${table} (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
    return {
      schema,
      from,
      to: pending.at(-1)?.version ?? from,
      applied: pending.map(({ version, description }) => ({ version, description })),
    };
  });
}
