// keycard/stores/mongodb: the MongoDB store. Each name is listed on purpose; internals are not exported.
import type { Clock } from '../../core/clock.js';
import { MongoStore } from './store.js';

export { type MongoCollectionNames, MongoStore, type MongoStoreOptions } from './store.js';

/**
 * Opens the store a `mongodb://` or `mongodb+srv://` URL names (the database from its path, `keycard` if
 * none), connects, and creates the indexes, so that a server that cannot be reached fails start-up with
 * `store_unavailable` within seconds (server selection times out after 5 s unless the URL sets
 * `serverSelectionTimeoutMS`). Every other URL option goes to the driver.
 */
export async function openStoreURL(url: string, options: { clock?: Clock } = {}): Promise<MongoStore> {
  const store = new MongoStore({ url, clock: options.clock });
  try {
    await store.ensureIndexes();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
