/**
 * The shared Redis and PostgreSQL: benchmarks use private key prefixes and schemas (fresh names per run)
 * and remove them afterwards. The shared servers themselves are never stopped or flushed.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { benchConfig } from './config.js';

/** A fresh lower-case name, e.g. `kcbench_3f9a1c`, valid as a Redis prefix and a PostgreSQL schema. */
export function uniqueName(base: string): string {
  return `${base}_${randomBytes(4).toString('hex')}`;
}

export function redisStoreURL(prefix: string): string {
  return `${benchConfig.redisURL}${benchConfig.redisURL.includes('?') ? '&' : '?'}prefix=${prefix}`;
}

export function postgresStoreURL(schema: string): string {
  return `${benchConfig.postgresURL}${benchConfig.postgresURL.includes('?') ? '&' : '?'}schema=${schema}`;
}

/** Deletes every key under `prefix:` (SCAN + UNLINK, never KEYS or FLUSHDB on the shared server). */
export async function deleteRedisPrefix(prefix: string): Promise<number> {
  const client = new Redis(benchConfig.redisURL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  let deleted = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

export async function dropPostgresSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchConfig.postgresURL });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Whether the shared services answer; a benchmark that needs one skips its variants and says why. */
export async function servicesAvailable(): Promise<{ redis: string | null; postgres: string | null }> {
  const problems = { redis: null as string | null, postgres: null as string | null };
  const redis = new Redis(benchConfig.redisURL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    problems.redis = `Redis at ${benchConfig.redisURL} does not answer (${(error as Error).message})`;
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: benchConfig.postgresURL, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    problems.postgres = `PostgreSQL does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
  return problems;
}
