// keycard/stores/sqlite: the SQLite store. Each name is listed on purpose; internals are not exported.
export { migrateSQLite } from './migrate.js';
export { SQLiteStore, type SQLiteStoreOptions } from './store.js';
