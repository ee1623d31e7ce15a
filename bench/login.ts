/**
 * Login flood: POST login with the right password on 10 connections for BENCH_SECONDS, BENCH_RUNS rounds
 * alternating over the variants. Reports logins/s and the server's event-loop delay (monitorEventLoopDelay,
 * sampled every 1 ms, in the server process): Argon2id runs on the libuv pool, so the loop must stay free.
 * The floor is node:http + argon2.verify at the same parameters. Run: npm run bench -- login
 */

import { benchConfig } from './lib/config.js';
import { checkClean, type LoadResult, runLoad } from './lib/loadgen.js';
import { type ServerProcess, type ServerStats, startServer } from './lib/process.js';
import type { Section } from './lib/report.js';
import { ms, ratio, ratioSpread, spread } from './lib/stats.js';
import { BENCH_PASSWORD } from './servers/common.js';

interface LoginVariant {
  name: string;
  script: string;
  env: Record<string, string>;
  path: string;
}

const FLOOR = 'node:http + argon2.verify (floor)';
const VARIANTS: LoginVariant[] = [
  { name: FLOOR, script: 'argon2-floor', env: {}, path: '/login' },
  {
    name: 'keycard serve, session, memory',
    script: 'keycard-serve',
    env: { BENCH_STRATEGY: 'session', BENCH_STORE_URL: 'memory:' },
    path: '/auth/login',
  },
  {
    name: 'keycard serve, jwt EdDSA, memory (access + refresh token)',
    script: 'keycard-serve',
    env: { BENCH_STRATEGY: 'jwt', BENCH_STORE_URL: 'memory:', BENCH_ALG: 'EdDSA' },
    path: '/auth/login',
  },
];

/** Event-loop delay p99 under the flood must stay below this (issue 7). */
const ELD_TARGET_MS = 20;

export async function runLoginBench(): Promise<Section[]> {
  const servers: {
    variant: LoginVariant;
    server: ServerProcess;
    runs: { load: LoadResult; stats: ServerStats }[];
  }[] = [];
  const body = JSON.stringify({ username: 'alice', password: BENCH_PASSWORD });
  const flood = (entry: (typeof servers)[number], seconds: number) =>
    runLoad({
      url: entry.server.url(entry.variant.path),
      seconds,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  try {
    for (const variant of VARIANTS) {
      console.error(`  starting ${variant.name}`);
      servers.push({
        variant,
        server: await startServer(variant.name, variant.script, { ...variant.env, BENCH_ELD: '1' }),
        runs: [],
      });
    }
    for (const entry of servers) await flood(entry, Math.max(1, benchConfig.warmupSeconds));
    for (let round = 1; round <= benchConfig.runs; round++) {
      for (const entry of servers) {
        await entry.server.reset();
        const load = await flood(entry, benchConfig.seconds);
        const stats = await entry.server.stats();
        checkClean(entry.variant.name, load);
        entry.runs.push({ load, stats });
        console.error(
          `  round ${round}/${benchConfig.runs} ${entry.variant.name}: ${load.requestsPerSecond.toFixed(1)} logins/s, loop delay p99 ${stats.eventLoopDelay.p99.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    for (const entry of servers) await entry.server.stop();
  }

  const floor = servers
    .find((entry) => entry.variant.name === FLOOR)
    ?.runs.map((run) => run.load.requestsPerSecond);
  const rows = servers.map((entry) => {
    const perRun = entry.runs.map((run) => run.load.requestsPerSecond);
    const eld = spread(entry.runs.map((run) => run.stats.eventLoopDelay.p99));
    const eldMax = spread(entry.runs.map((run) => run.stats.eventLoopDelay.max));
    return {
      name: entry.variant.name,
      loginsPerSecond: spread(perRun),
      latencyP50: spread(entry.runs.map((run) => run.load.latency.p50)),
      latencyP99: spread(entry.runs.map((run) => run.load.latency.p99)),
      eventLoopDelayP99: eld,
      eventLoopDelayMax: eldMax,
      vsFloor: floor ? ratioSpread(perRun, floor) : null,
    };
  });
  return [
    {
      title: 'Login flood (Argon2id, m=19 MiB, t=2, p=1)',
      notes: [
        `${benchConfig.runs} runs of ${benchConfig.seconds} s per variant, ${benchConfig.connections} connections (autocannon, own process), rounds alternating; medians (min–max) over the runs.`,
        'Loop delay: the server\'s event-loop delay during the run, sampled every 1 ms (an idle loop reads about 1 ms); p99 is the median over the runs of each run\'s p99, "worst" the largest single delay seen in any run.',
        `Target: loop delay p99 under ${ELD_TARGET_MS} ms. The libuv pool has ${process.env.UV_THREADPOOL_SIZE ?? 4} threads on ${benchConfig.connections} connections and 2 cores.`,
      ],
      headers: [
        'variant',
        'logins/s',
        'min–max',
        'p50 ms',
        'p99 ms',
        'loop delay p99 ms',
        'worst ms',
        'vs floor',
        'target',
      ],
      rows: rows.map((row) => [
        row.name.startsWith('keycard') ? `**${row.name}**` : row.name,
        row.loginsPerSecond.median.toFixed(1),
        `${row.loginsPerSecond.min.toFixed(1)}–${row.loginsPerSecond.max.toFixed(1)}`,
        ms(row.latencyP50.median),
        ms(row.latencyP99.median),
        ms(row.eventLoopDelayP99.median),
        ms(row.eventLoopDelayMax.max),
        row.vsFloor ? ratio(row.vsFloor.median) : '–',
        row.eventLoopDelayP99.median < ELD_TARGET_MS ? 'met' : 'missed',
      ]),
      data: rows,
    },
  ];
}
