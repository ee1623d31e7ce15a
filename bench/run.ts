/**
 * npm run bench [-- <name> ...]: runs the benchmarks (all, or the named ones), prints Markdown tables,
 * and writes bench/results/latest.json, bench/results/latest.md and SVG charts of the figures next to them
 * (all ignored by git; docs/benchmarks.md is the committed reading, and docs/images/bench/ holds the
 * charts it shows). Knobs are environment variables: see lib/config.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { runCatchupBench } from './catchup.js';
import { runCookiesBench } from './cookies.js';
import { runEnumerationBench } from './enumeration.js';
import { runHTTPBench } from './http.js';
import { runJWTBench } from './jwt.js';
import { renderChart } from './lib/charts.js';
import { benchConfig } from './lib/config.js';
import { formatSections, type Section } from './lib/report.js';
import { runLoginBench } from './login.js';
import { runPropagationSection } from './propagation.js';
import { runRedisStoreBench } from './redis-store.js';
import { runRefreshBench } from './refresh.js';
import { runRevocationsBench } from './revocations.js';
import { runScaleBench } from './scale.js';
import { runStoresBench } from './stores.js';
import { runTokensBench } from './tokens.js';

interface Bench {
  description: string;
  run(): Promise<Section[]>;
}

const BENCHES: Record<string, Bench> = {
  jwt: {
    description: 'JWT sign and verify (HS256, ES256, EdDSA) vs jose, fast-jwt, jsonwebtoken, node:crypto',
    run: () => runJWTBench(),
  },
  tokens: { description: 'session-token generation and hashing', run: () => runTokensBench() },
  cookies: { description: 'cookie parse and serialize vs the cookie package', run: () => runCookiesBench() },
  http: {
    description: 'authenticated GET over HTTP: floors, peers, keycard serve and keycard/express',
    run: () => runHTTPBench(),
  },
  login: {
    description: 'logins per second and event-loop delay under a login flood',
    run: () => runLoginBench(),
  },
  refresh: {
    description: 'refresh-token rotation throughput on Redis and PostgreSQL',
    run: () => runRefreshBench(),
  },
  redis: {
    description:
      'the Redis store read and login write vs a bare ioredis GET and SET: client CPU per operation',
    run: () => runRedisStoreBench(),
  },
  stores: {
    description:
      'per store: validation and login-write latency, store operations per request, vs connect-redis and connect-pg-simple',
    run: () => runStoresBench(),
  },
  scale: {
    description: 'validation latency with 10k … 1M stored sessions; memory-store bytes per session',
    run: () => runScaleBench(),
  },
  propagation: {
    description: 'hybrid revocation propagation across three instances (SQLite, Redis, PostgreSQL)',
    run: () => runPropagationSection(),
  },
  catchup: {
    description: 'revocation-feed catch-up at start-up with 100k revoked logins (SQLite, Redis, PostgreSQL)',
    run: () => runCatchupBench(),
  },
  revocations: {
    description: 'bulk revocations: blocking a user with 1,000 token logins (PostgreSQL, Redis, SQLite)',
    run: () => runRevocationsBench(),
  },
  enumeration: {
    description:
      'login latency: unknown user vs existing user with a wrong password (user enumeration by timing)',
    run: () => runEnumerationBench(),
  },
};

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!Object.hasOwn(BENCHES, name)) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
const names = requested.length > 0 ? requested : Object.keys(BENCHES);
const started = new Date();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}`;
const settings = `BENCH_SECONDS=${benchConfig.seconds} BENCH_RUNS=${benchConfig.runs} BENCH_CONNECTIONS=${benchConfig.connections} BENCH_LOADGEN=${benchConfig.loadgen} BENCH_SCALE_MAX=${benchConfig.scaleMax}`;
const results: Record<string, { sections: Section[]; seconds: number }> = {};
const markdown: string[] = [
  '# keycard benchmarks',
  '',
  `Machine: ${machine}; load average at start ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}. Date: ${started.toISOString()}. Settings: ${settings}.`,
  '',
  'A shared two-core machine is noisy: read ratios within a table (measured in the same run, alternating), not absolute numbers across runs.',
  '',
];
for (const name of names) {
  const bench = BENCHES[name] as Bench;
  console.error(`running ${name}: ${bench.description}`);
  const start = Date.now();
  const sections = await bench.run();
  const seconds = (Date.now() - start) / 1000;
  results[name] = { sections, seconds };
  const tables = formatSections(sections);
  markdown.push(`## ${name}`, '', tables, '', `(${name}: ${seconds.toFixed(0)} s)`, '');
  console.log(`## ${name}\n\n${tables}\n`);
  console.error(`finished ${name} in ${seconds.toFixed(0)} s`);
}
const loadAtEnd = loadavg()
  .map((value) => value.toFixed(2))
  .join(' ');
markdown.push(
  `Load average at the end: ${loadAtEnd}. Total: ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s.`,
  '',
);
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('results/latest.json', import.meta.url),
  `${JSON.stringify({ machine, date: started.toISOString(), settings: benchConfig, loadAtEnd, results }, null, 2)}\n`,
);
writeFileSync(new URL('results/latest.md', import.meta.url), `${markdown.join('\n')}\n`);
const charts = Object.values(results).flatMap(({ sections }) =>
  sections.flatMap((section) => section.charts ?? []),
);
for (const chart of charts)
  writeFileSync(new URL(`results/${chart.file}`, import.meta.url), renderChart(chart.spec));
console.error(
  `wrote bench/results/latest.json and bench/results/latest.md${charts.length > 0 ? ` and ${charts.length} charts (${charts.map((chart) => chart.file).join(', ')})` : ''}`,
);
