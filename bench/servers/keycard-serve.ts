/**
 * keycard: `keycard serve` itself, built with buildServer from keycard/server exactly as the CLI builds it,
 * with the strategy (BENCH_STRATEGY: session, jwt or hybrid), the store URL (BENCH_STORE_URL; `{dir}` is a
 * temp dir) and a key file with a signing key of the asked algorithm (BENCH_ALG) in that temp dir. Token
 * strategies use the header transport (Bearer). Nothing is added to the server: the benchmarks call its own
 * routes — GET /auth/verify (forward auth: `{user}` and three x-keycard-* headers), POST /auth/login and
 * POST /auth/refresh. Log level warn: the default (info) writes no line per request either, but one audit
 * line per login and refresh, which would flood the benchmark's output. keycard itself comes from the
 * build (dist/, what `npx keycard serve` runs; `npm run bench` builds first). Redis commands (ioredis) and
 * PostgreSQL queries (pg) are counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type Algorithm, isAlgorithm } from 'keycard';
import { buildServer, generateKeyFile, loadServerConfig, writeKeyFile } from 'keycard/server';
import pg from 'pg';
import { announce, BENCH_PASSWORD, countOperation, env } from './common.js';

for (const prototype of [Redis.prototype, pg.Client.prototype] as unknown as Record<string, unknown>[]) {
  const method = prototype === (Redis.prototype as unknown) ? 'sendCommand' : 'query';
  const original = prototype[method] as (...args: unknown[]) => unknown;
  prototype[method] = function (this: unknown, ...args: unknown[]) {
    countOperation();
    return original.apply(this, args);
  };
}

const alg = env('BENCH_ALG', 'EdDSA');
if (!isAlgorithm(alg)) throw new Error(`BENCH_ALG: unknown algorithm ${alg}`);
const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-'));
const keysFile = join(dir, 'keys.json');
writeKeyFile(keysFile, generateKeyFile(alg as Algorithm));
const storeURL = env('BENCH_STORE_URL').replace('{dir}', dir);

const config = loadServerConfig({
  env: {},
  flags: {
    port: 0,
    host: '127.0.0.1',
    store: storeURL,
    strategy: env('BENCH_STRATEGY'),
    transport: env('BENCH_TRANSPORT', 'header'),
    keys: keysFile,
    'key-algorithm': alg,
    'log-level': 'warn',
  },
});
const server = await buildServer(config);
await server.keycard.users.create({ username: 'alice', password: BENCH_PASSWORD, role: 'user' });
const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
announce(Number(new URL(address).port), async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
