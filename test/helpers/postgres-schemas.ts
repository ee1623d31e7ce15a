/**
 * For tests on the shared PostgreSQL at POSTGRES_URL: whether it answers (skip locally, fail under CI),
 * and schemas of a test file's own — fresh names from uniqueName, all dropped when the file is done.
 */
import { after } from 'node:test';
import pg from 'pg';
import { eventually } from './eventually.js';
import { POSTGRES_URL, serviceSkipReason, uniqueName } from './services.js';

/** A skip reason when the shared PostgreSQL does not answer (throws under CI=true). */
export function postgresSkipReason(): Promise<string | undefined> {
  return serviceSkipReason('PostgreSQL', async () => {
    // Refused at once when it is down; the generous timeout only keeps a loaded machine from skipping.
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  });
}

/** POSTGRES_URL with extra query options (keycard's, or pg's own). */
export function postgresURL(options: Record<string, string> = {}): string {
  const query = new URLSearchParams(options).toString();
  if (query === '') return POSTGRES_URL;
  return `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}${query}`;
}

export interface SchemaScope {
  /** A small pool for setting up and inspecting, outside any store. */
  admin: pg.Pool;
  /** A new schema name, dropped (CASCADE) after the file's tests. */
  fresh(prefix?: string): string;
  /** The migration versions recorded in a schema. */
  versions(schema: string): Promise<number[]>;
}

/** Call at the top level of a test file (it registers the file's `after`). */
export function schemaScope(): SchemaScope {
  const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
  const schemas: string[] = [];
  after(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });
  return {
    admin,
    fresh(prefix = 'kc_pg') {
      const schema = uniqueName(prefix);
      schemas.push(schema);
      return schema;
    },
    async versions(schema) {
      const result = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      return result.rows.map((row) => row.version as number);
    },
  };
}

/** Polls `check` until it holds (a state to reach, not a time to measure). */
/** Polls until `check` holds, treating errors as "not yet" (a server still starting). */
export const until = (check: () => Promise<boolean>, what: string): Promise<void> =>
  eventually(check, what, { timeoutMs: 10_000, intervalMs: 20, ignoreErrors: true });
