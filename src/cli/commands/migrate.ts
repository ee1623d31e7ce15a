/** keycard migrate: bring the store's schema up to date and say what was applied. */
import { existsSync } from 'node:fs';
import { loadServerConfig, openStore, parseStoreURL } from 'keycard/server';
import { parseSubcommand, type Subcommand, stringFlag } from '../args.js';
import { subcommandHelp } from '../help.js';
import { type CLIContext, EXIT_OK, print } from '../io.js';

export const MIGRATE_COMMAND: Subcommand = {
  name: 'migrate',
  args: [],
  summary: "apply the store's schema migrations",
  description: `Applies the store's pending schema migrations and prints each one it applied. Safe while servers run
and from several machines at once: PostgreSQL migrations run in one transaction under an advisory lock,
so they are applied exactly once. A schema written by a newer keycard is refused.

  postgres://…   versioned migrations in the URL's schema (?schema=NAME, default keycard); servers
                 started with ?migrate=false leave migrating to this command
  sqlite:FILE    the SQLite store migrates whenever it opens: this opens it and prints its version
  others         nothing to migrate (memory: keeps nothing; Redis and MongoDB set themselves up)`,
  flags: {
    store: {
      type: 'string',
      value: 'URL',
      help: 'the store to migrate (KEYCARD_STORE; default sqlite:./keycard.db)',
    },
    config: {
      type: 'string',
      value: 'FILE',
      help: 'JSON config file, as for keycard serve (KEYCARD_CONFIG)',
    },
  },
};

/** A store module whose driver is not installed becomes one line saying what to install. */
async function importDriver<T>(driver: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`this store needs the ${driver} package: npm install ${driver}`);
    }
    throw error;
  }
}

async function migratePostgres(context: CLIContext, url: string): Promise<void> {
  const { PostgresStore, postgresOptionsFromURL } = await importDriver(
    'pg',
    () => import('keycard/stores/postgres'),
  );
  // Constructed without migrating, so that migrate() reports what this run applied.
  const store = new PostgresStore({ ...postgresOptionsFromURL(url), pruneIntervalMs: 0 });
  try {
    const report = await store.migrate();
    for (const { version, description } of report.applied) {
      print(context.stdout, `applied migration ${version}: ${description}`);
    }
    const state = report.applied.length === 0 ? 'already at' : 'now at';
    print(context.stdout, `postgres schema ${report.schema} is ${state} version ${report.to}`);
  } finally {
    await store.close();
  }
}

/** The versions recorded in a SQLite file, read without changing it; none when it does not exist yet. */
async function sqliteVersions(path: string): Promise<number[]> {
  if (!existsSync(path)) return [];
  const { default: Database } = await importDriver('better-sqlite3@12', () => import('better-sqlite3'));
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    );
    if (!table.get()) return [];
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    return (rows as { version: number }[]).map((row) => row.version);
  } finally {
    db.close();
  }
}

async function migrateSQLite(context: CLIContext, url: string, path: string): Promise<void> {
  if (path === ':memory:') {
    print(context.stdout, 'sqlite :memory: keeps nothing between runs: nothing to migrate');
    return;
  }
  const before = await sqliteVersions(path);
  await (await openStore(url)).close();
  const after = await sqliteVersions(path);
  for (const version of after) {
    if (!before.includes(version)) print(context.stdout, `applied migration ${version}`);
  }
  const state = after.length === before.length ? 'already at' : 'now at';
  print(context.stdout, `sqlite database ${path} is ${state} version ${after.at(-1) ?? 0}`);
}

export async function migrateCommand(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parseSubcommand(MIGRATE_COMMAND, args);
  if (parsed.values.help) {
    print(context.stdout, subcommandHelp(MIGRATE_COMMAND));
    return EXIT_OK;
  }
  const config = loadServerConfig({
    flags: { store: stringFlag(parsed, 'store') },
    env: context.env,
    file: stringFlag(parsed, 'config'),
  });
  const location = parseStoreURL(config.store);
  if (location.kind === 'postgres') {
    await migratePostgres(context, config.store);
  } else if (location.kind === 'sqlite') {
    await migrateSQLite(context, config.store, location.path as string);
  } else {
    // Opened anyway, so that a wrong URL or an unreachable server fails here as it would at start-up.
    const store = await openStore(config.store);
    try {
      await store.ping();
    } finally {
      await store.close();
    }
    print(context.stdout, `${location.kind} store: nothing to migrate`);
  }
  return EXIT_OK;
}
