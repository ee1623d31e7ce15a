/**
 * HTTP: an authenticated GET returning a small JSON (`{"user": {id, username, role}}`), 10 keep-alive
 * connections, BENCH_SECONDS (default 10) per run, BENCH_RUNS (default 3) runs. Every server runs in its
 * own process (bench/servers/*.ts); the load generator runs in another. All servers start first; then each
 * round runs every variant once, in the same order (A B C …, A B C …), so drift hits all alike. Each
 * figure is the median over the rounds; ratios are taken within a round, then their median reported.
 * keycard serve is measured on its own forward-auth route, GET /auth/verify, which answers `{user}`.
 *
 * Run: npm run bench -- http   (BENCH_SECONDS=3 BENCH_RUNS=2 BENCH_VARIANTS='redis|jwt' for a quick look)
 */
import type { Bar } from './lib/charts.js';
import { benchConfig } from './lib/config.js';
import { FLOOR, type Group, NAMES, TARGETS, type Variant, variants } from './lib/http-variants.js';
import { checkClean, type LoadResult, runLoad } from './lib/loadgen.js';
import { type ServerProcess, startServer } from './lib/process.js';
import type { Section } from './lib/report.js';
import { deleteRedisPrefix, dropPostgresSchema, servicesAvailable, uniqueName } from './lib/services.js';
import { checkAuthenticated, signIn } from './lib/sign-in.js';
import { count, ms, ratio, ratioRange, ratioSpread, type Spread, spread } from './lib/stats.js';

interface Measured {
  variant: Variant;
  server: ServerProcess;
  runs: (LoadResult & { operationsPerRequest: number; cpuPerRequest: number })[];
}

/** How a variant's bar is coloured in the charts. */
const KIND: Record<Group, Bar['kind']> = { keycard: 'ours', peer: 'peer', floor: 'floor' };

export interface HTTPResult {
  name: string;
  group: Group;
  requestsPerSecond: Spread;
  latencyP50: Spread;
  latencyP99: Spread;
  operationsPerRequest: number | null;
  /** Server CPU time per request, µs: less sensitive to a busy machine than requests/s. */
  cpuPerRequest: Spread;
  vsFloor: Spread;
  perRun: number[];
}

async function measure(entry: Measured, seconds: number, record: boolean): Promise<void> {
  const { variant, server } = entry;
  const headers = await signIn(server, variant.login);
  await checkAuthenticated(server, variant.path, headers, variant.login);
  await server.reset();
  const result = await runLoad({ url: server.url(variant.path), seconds, headers });
  const stats = await server.stats();
  checkClean(variant.name, result);
  if (record) {
    entry.runs.push({
      ...result,
      operationsPerRequest: stats.operations / result.requests,
      cpuPerRequest: stats.cpuMicroseconds / result.requests,
    });
  }
}

export async function runHTTPBench(): Promise<Section[]> {
  const prefix = uniqueName('kcbench');
  const schema = uniqueName('kcbench');
  const services = await servicesAvailable();
  const skipped: string[] = [];
  const selected = variants(prefix, schema).filter((variant) => {
    if (
      benchConfig.variants.length > 0 &&
      !benchConfig.variants.some((part) => variant.name.toLowerCase().includes(part))
    ) {
      return false;
    }
    const reason =
      variant.unavailable?.() ??
      variant.needs.map((need) => services[need]).find((problem) => problem) ??
      null;
    if (reason) skipped.push(`${variant.name}: ${reason}`);
    return reason === null;
  });
  for (const line of skipped) console.error(`  skipped ${line}`);

  const measured: Measured[] = [];
  try {
    for (const variant of selected) {
      console.error(`  starting ${variant.name}`);
      const server = await startServer(variant.name, variant.script, variant.env, {
        runtime: variant.runtime,
      });
      measured.push({ variant, server, runs: [] });
    }
    if (benchConfig.warmupSeconds > 0) {
      for (const entry of measured) await measure(entry, benchConfig.warmupSeconds, false);
    }
    for (let round = 1; round <= benchConfig.runs; round++) {
      for (const entry of measured) {
        await measure(entry, benchConfig.seconds, true);
        const last = entry.runs.at(-1) as LoadResult;
        console.error(
          `  round ${round}/${benchConfig.runs} ${entry.variant.name}: ${count(last.requestsPerSecond)} req/s`,
        );
      }
    }
  } finally {
    for (const entry of measured) await entry.server.stop();
    await deleteRedisPrefix(prefix).catch(() => 0);
    for (const suffix of ['-serve', '-hybrid', '-adapter', '-before-serve', '-before-hybrid']) {
      await deleteRedisPrefix(`${prefix}${suffix}`).catch(() => 0);
    }
    if (services.postgres === null) {
      await dropPostgresSchema(schema).catch(() => {});
      if (benchConfig.before) await dropPostgresSchema(`${schema}_before`).catch(() => {});
    }
  }

  const byName = new Map(measured.map((entry) => [entry.variant.name, entry]));
  const rps = (name: string) => byName.get(name)?.runs.map((run) => run.requestsPerSecond);
  const cpu = (name: string) => byName.get(name)?.runs.map((run) => run.cpuPerRequest);
  const floor = rps(FLOOR);
  const results: HTTPResult[] = measured.map((entry) => {
    const perRun = entry.runs.map((run) => run.requestsPerSecond);
    return {
      name: entry.variant.name,
      group: entry.variant.group,
      requestsPerSecond: spread(perRun),
      latencyP50: spread(entry.runs.map((run) => run.latency.p50)),
      latencyP99: spread(entry.runs.map((run) => run.latency.p99)),
      operationsPerRequest: entry.variant.countsOperations
        ? spread(entry.runs.map((run) => run.operationsPerRequest)).median
        : null,
      cpuPerRequest: spread(entry.runs.map((run) => run.cpuPerRequest)),
      vsFloor: floor ? ratioSpread(perRun, floor) : spread([Number.NaN]),
      perRun,
    };
  });

  const runsNote = `${benchConfig.runs} runs of ${benchConfig.seconds} s per variant, ${benchConfig.connections} connections, load generator ${benchConfig.loadgen} in its own process, rounds alternating over all variants.`;
  const sections: Section[] = [
    {
      title: 'Authenticated GET, small JSON',
      notes: [
        runsNote,
        `req/s: median (min–max) over the runs; latency in ms (medians of each run's p50 and p99); "vs floor": median of the per-run ratios to ${FLOOR}; server CPU: the server process's user + system CPU time per request (less sensitive to a busy machine than req/s); store ops: Redis commands or SQL queries per request, counted in the server.`,
        ...skipped.map((line) => `Skipped — ${line}.`),
      ],
      headers: [
        'variant',
        'req/s',
        'min–max',
        'p50 ms',
        'p99 ms',
        'server CPU µs/req',
        'store ops/req',
        `vs ${FLOOR}`,
      ],
      rows: results.map((result) => [
        result.group === 'keycard' ? `**${result.name}**` : result.name,
        count(result.requestsPerSecond.median),
        `${count(result.requestsPerSecond.min)}–${count(result.requestsPerSecond.max)}`,
        ms(result.latencyP50.median),
        ms(result.latencyP99.median),
        count(result.cpuPerRequest.median),
        result.operationsPerRequest === null ? '–' : result.operationsPerRequest.toFixed(2),
        ratio(result.vsFloor.median),
      ]),
      data: results,
      charts: [
        {
          file: 'http-requests.svg',
          spec: {
            kind: 'bars',
            title: 'Authenticated GET: requests per second',
            unit: 'requests/s',
            better: 'higher',
            bars: results.map((result) => ({
              label: result.name,
              value: result.requestsPerSecond.median,
              low: result.requestsPerSecond.min,
              high: result.requestsPerSecond.max,
              kind: KIND[result.group],
            })),
          },
        },
        {
          file: 'http-cpu.svg',
          spec: {
            kind: 'bars',
            title: 'Authenticated GET: server CPU per request',
            unit: 'µs of server CPU per request',
            better: 'lower',
            bars: results.map((result) => ({
              label: result.name,
              value: result.cpuPerRequest.median,
              low: result.cpuPerRequest.min,
              high: result.cpuPerRequest.max,
              kind: KIND[result.group],
            })),
          },
        },
      ],
    },
  ];

  const targetRows: string[][] = [];
  const targetData: unknown[] = [];
  const targetBars: Bar[] = [];
  for (const target of TARGETS) {
    const top = rps(target.numerator);
    const bottom = rps(target.denominator);
    if (!top || !bottom) {
      targetRows.push([
        target.label,
        'not measured',
        '–',
        '–',
        skipped.some((line) => line.startsWith(NAMES.serveHybrid)) && target.numerator === NAMES.serveHybrid
          ? 'pending: hybrid not built yet'
          : 'not run',
      ]);
      continue;
    }
    const value = ratioSpread(top, bottom);
    // The same comparison by CPU time per request (the denominator's over the numerator's).
    const byCPU = ratioSpread(cpu(target.denominator) as number[], cpu(target.numerator) as number[]);
    targetRows.push([
      target.label,
      ratioRange(value),
      ratioRange(byCPU),
      `≥ ${target.minimum}×`,
      value.median >= target.minimum
        ? 'met'
        : `missed by ${((1 - value.median / target.minimum) * 100).toFixed(0)} %`,
    ]);
    targetData.push({ ...target, ratio: value, byCPU });
    targetBars.push({
      label: target.label,
      value: value.median,
      low: value.min,
      high: value.max,
      kind: 'ours',
      target: target.minimum,
    });
  }
  sections.push({
    title: 'Issue 7 targets (HTTP)',
    notes: [
      'Measured: ratio of requests/s, taken within each round; median (min–max) over the rounds. The verdict is on this figure. By CPU: the same comparison as the inverse ratio of server CPU time per request — less disturbed by other processes on a busy machine.',
    ],
    headers: ['target', 'measured (req/s)', 'by CPU/req', 'wanted', 'verdict'],
    rows: targetRows,
    data: targetData,
    charts:
      targetBars.length === 0
        ? []
        : [
            {
              file: 'http-targets.svg',
              spec: {
                kind: 'bars',
                title: 'keycard against the peers: ratios of requests per second',
                unit: 'keycard ÷ the reference, within each round',
                better: 'higher',
                bars: targetBars,
              },
            },
          ],
  });
  return sections;
}
