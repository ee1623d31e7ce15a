/**
 * `openStoreURL` for `keycard serve --store redis://…` and the CLI: the store a URL names, connected.
 * Start-up fails with store_unavailable when Redis cannot be reached, rather than starting a server that
 * can only answer 503; once running, the store rides out outages by itself.
 */
import type { Clock } from '../../core/clock.js';
import { RedisStore } from './store.js';

export async function openStoreURL(url: string, options: { clock?: Clock } = {}): Promise<RedisStore> {
  const store = new RedisStore({ url, clock: options.clock });
  try {
    await store.connect();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
