/**
 * Refresh-token rotation: `keycard serve --strategy jwt` (header transport, EdDSA) on Redis, PostgreSQL
 * and SQLite (the server's default), driven by a client process with 10 concurrent refresh chains
 * (bench/clients/refresh.ts): every request spends a
 * refresh token and receives its successor and a new access token. Fresh logins start each run's chains.
 * Reference: Redis. Run: npm run bench -- refresh
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './lib/config.js';
import { type ServerProcess, startServer } from './lib/process.js';
import type { Section } from './lib/report.js';
import {
  deleteRedisPrefix,
  dropPostgresSchema,
  postgresStoreURL,
  redisStoreURL,
  servicesAvailable,
  uniqueName,
} from './lib/services.js';
import { count, ms, ratio, ratioSpread, spread } from './lib/stats.js';
import { BENCH_PASSWORD } from './servers/common.js';

interface RefreshRun {
  refreshes: number;
  perSecond: number;
  latency: { p50: number; p99: number };
  failures: number;
  operationsPerRefresh: number;
  cpuPerRefresh: number;
}

const CLIENT = fileURLToPath(new URL('clients/refresh.ts', import.meta.url));

function runClient(
  url: string,
  tokens: string[],
  seconds: number,
): Promise<Omit<RefreshRun, 'operationsPerRefresh' | 'cpuPerRefresh'>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLIENT, JSON.stringify({ url, tokens, seconds })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`refresh client exited with ${code}`));
      else resolve(JSON.parse(output.trim()));
    });
  });
}

async function loginTokens(server: ServerProcess, n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const response = await fetch(server.url('/auth/login'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: BENCH_PASSWORD }),
      });
      const body = (await response.json()) as { refresh_token?: string };
      if (response.status !== 200 || !body.refresh_token)
        throw new Error(`${server.name}: login answered ${response.status}`);
      return body.refresh_token;
    }),
  );
}

export async function runRefreshBench(): Promise<Section[]> {
  const prefix = uniqueName('kcbench_refresh');
  const schema = uniqueName('kcbench_refresh');
  const services = await servicesAvailable();
  const variants = [
    { name: 'Redis', store: redisStoreURL(prefix), skip: services.redis },
    { name: 'PostgreSQL', store: postgresStoreURL(schema), skip: services.postgres },
    // The server's default store, for scale.
    { name: 'SQLite', store: 'sqlite:{dir}/bench.db', skip: null },
  ];
  const skipped = variants
    .filter((variant) => variant.skip)
    .map((variant) => `${variant.name}: ${variant.skip}`);
  const entries: { name: string; server: ServerProcess; runs: RefreshRun[] }[] = [];
  try {
    for (const variant of variants.filter((v) => !v.skip)) {
      console.error(`  starting keycard serve, jwt EdDSA, ${variant.name}`);
      const server = await startServer(`refresh ${variant.name}`, 'keycard-serve', {
        BENCH_STRATEGY: 'jwt',
        BENCH_ALG: 'EdDSA',
        BENCH_STORE_URL: variant.store,
      });
      entries.push({ name: variant.name, server, runs: [] });
    }
    const run = async (entry: (typeof entries)[number], seconds: number, record: boolean) => {
      const tokens = await loginTokens(entry.server, benchConfig.connections);
      await entry.server.reset();
      const result = await runClient(entry.server.url('/auth/refresh'), tokens, seconds);
      const stats = await entry.server.stats();
      if (result.failures > 0 || result.refreshes === 0) {
        throw new Error(
          `refresh on ${entry.name}: ${result.refreshes} refreshes, ${result.failures} failures`,
        );
      }
      if (record) {
        entry.runs.push({
          ...result,
          operationsPerRefresh: stats.operations / result.refreshes,
          cpuPerRefresh: stats.cpuMicroseconds / result.refreshes,
        });
        console.error(`  ${entry.name}: ${count(result.perSecond)} refreshes/s`);
      }
    };
    for (const entry of entries) await run(entry, Math.max(1, benchConfig.warmupSeconds), false);
    for (let round = 0; round < benchConfig.runs; round++) {
      for (const entry of entries) await run(entry, benchConfig.seconds, true);
    }
  } finally {
    for (const entry of entries) await entry.server.stop();
    if (!services.redis) await deleteRedisPrefix(prefix).catch(() => 0);
    if (!services.postgres) await dropPostgresSchema(schema).catch(() => {});
  }
  const reference = entries.find((entry) => entry.name === 'Redis')?.runs.map((run) => run.perSecond);
  const rows = entries.map((entry) => ({
    store: entry.name,
    perSecond: spread(entry.runs.map((run) => run.perSecond)),
    latencyP50: spread(entry.runs.map((run) => run.latency.p50)),
    latencyP99: spread(entry.runs.map((run) => run.latency.p99)),
    operationsPerRefresh: spread(entry.runs.map((run) => run.operationsPerRefresh)).median,
    cpuPerRefresh: spread(entry.runs.map((run) => run.cpuPerRefresh)).median,
    vsRedis: reference
      ? ratioSpread(
          entry.runs.map((run) => run.perSecond),
          reference,
        )
      : null,
  }));
  return [
    {
      title: 'Refresh-token rotation over HTTP (keycard serve, jwt EdDSA, header transport)',
      notes: [
        `${benchConfig.runs} runs of ${benchConfig.seconds} s per store, ${benchConfig.connections} concurrent refresh chains from a client process, rounds alternating; medians (min–max) over the runs. Each refresh spends a token, issues its successor and signs a new access token. Store ops: Redis commands or SQL queries per refresh, counted in the server.`,
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: [
        'store',
        'refreshes/s',
        'min–max',
        'p50 ms',
        'p99 ms',
        'server CPU µs/refresh',
        'store ops/refresh',
        'vs Redis',
      ],
      rows: rows.map((row) => [
        row.store,
        count(row.perSecond.median),
        `${count(row.perSecond.min)}–${count(row.perSecond.max)}`,
        ms(row.latencyP50.median),
        ms(row.latencyP99.median),
        count(row.cpuPerRefresh),
        row.store === 'Redis' || row.store === 'PostgreSQL' ? row.operationsPerRefresh.toFixed(2) : '–',
        row.vsRedis ? ratio(row.vsRedis.median) : '–',
      ]),
      data: rows,
    },
  ];
}
