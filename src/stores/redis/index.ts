// keycard/stores/redis: the Redis store (standalone, TLS, Sentinel or Cluster). See docs/stores-redis.md.
export { openStoreURL } from './open.js';
export { RedisStore, type RedisStoreOptions } from './store.js';
