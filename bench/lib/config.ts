/**
 * The knobs of `npm run bench`, all from the environment so a quick local run needs no edit:
 *
 *   BENCH_SECONDS=3 BENCH_RUNS=2 npm run bench -- http
 *
 * | variable             | default      | meaning                                                          |
 * | -------------------- | ------------ | ---------------------------------------------------------------- |
 * | BENCH_SECONDS        | 10           | length of one HTTP load run                                      |
 * | BENCH_RUNS           | 3            | runs (rounds) per figure; figures are medians over them          |
 * | BENCH_WARMUP_SECONDS | 2            | one unmeasured load run per server before the first round        |
 * | BENCH_CONNECTIONS    | 10           | concurrent connections of the load generator                     |
 * | BENCH_LOADGEN        | auto         | `wrk` (apt-get install wrk) when on PATH, else `autocannon` (npm)  |
 * | BENCH_VARIANTS       | (all)        | `|`-separated substrings: only HTTP variants whose name has one   |
 * | BENCH_SCALE_MAX      | 1000000      | largest stored-session count of the scale benchmark              |
 * | BENCH_PROFILE        | (off)        | 1 (or cpu): servers run with --cpu-prof, heap: with --heap-prof    |
 * |                      |              | (sampled allocations); files go to bench/results/profiles/        |
 * | BENCH_BEFORE         | (off)        | a built checkout of keycard (e.g. a worktree of main): its       |
 * |                      |              | keycard serve variants and Redis store run beside this one's,    |
 * |                      |              | named `… (before)` — before/after in one run (http, stores)      |
 * | BENCH_REDIS_URL      | redis://127.0.0.1:6379                     | the shared Redis (private key prefix) |
 * | BENCH_POSTGRES_URL   | postgres://postgres@127.0.0.1:5432/test    | the shared PostgreSQL (private schema) |
 */

import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** wrk measures latency in microseconds and leaves more of two cores to the server; autocannon rounds to ms. */
function detectLoadgen(): 'wrk' | 'autocannon' {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk --version prints its banner and exits 1: it is there.
    return (error as { status?: number }).status === 1 ? 'wrk' : 'autocannon';
  }
}

function number(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number ≥ ${min} (got '${raw}')`);
  }
  return value;
}

function oneOf<T extends string>(name: string, fallback: T, choices: readonly T[]): T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!choices.includes(raw as T)) throw new Error(`${name} must be one of ${choices.join(', ')}`);
  return raw as T;
}

export const benchConfig = {
  seconds: number('BENCH_SECONDS', 10, 1),
  runs: Math.round(number('BENCH_RUNS', 3, 1)),
  warmupSeconds: number('BENCH_WARMUP_SECONDS', 2, 0),
  connections: Math.round(number('BENCH_CONNECTIONS', 10, 1)),
  loadgen: (() => {
    const chosen = oneOf('BENCH_LOADGEN', 'auto', ['auto', 'autocannon', 'wrk'] as const);
    return chosen === 'auto' ? detectLoadgen() : chosen;
  })(),
  variants: (process.env.BENCH_VARIANTS ?? '')
    .split('|')
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean),
  profile: ({ '1': 'cpu', cpu: 'cpu', heap: 'heap' } as const)[process.env.BENCH_PROFILE ?? ''] ?? null,
  scaleMax: Math.round(number('BENCH_SCALE_MAX', 1_000_000, 10_000)),
  before: process.env.BENCH_BEFORE ? resolve(process.env.BENCH_BEFORE) : null,
  redisURL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  postgresURL: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
};
