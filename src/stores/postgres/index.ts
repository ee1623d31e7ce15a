// keycard/stores/postgres: the PostgreSQL store. Each name is listed on purpose; internals are not exported.
export type { MigrationReport } from './migrate.js';
export { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';
export type { PruneResult } from './prune.js';
export { PostgresStore, type PostgresStoreOptions } from './store.js';
export { openStoreURL, postgresOptionsFromURL } from './url.js';
