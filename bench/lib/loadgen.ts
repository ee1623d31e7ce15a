/**
 * Drives an HTTP server with a load generator in a separate process: autocannon (a devDependency, so
 * `npm ci` is enough) or wrk (`apt-get install wrk`, lighter on the CPU, GET only here), chosen by
 * BENCH_LOADGEN. Either way: keep-alive connections, one request in flight on each.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './config.js';

export interface LoadOptions {
  url: string;
  seconds: number;
  connections?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Force a generator (POST bodies always use autocannon). */
  loadgen?: 'autocannon' | 'wrk';
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  /** Milliseconds. */
  latency: { p50: number; p99: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

const AUTOCANNON_CLIENT = fileURLToPath(new URL('../clients/autocannon.ts', import.meta.url));

function collect(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim().slice(0, 500)}`));
    });
  });
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const output = await collect(process.execPath, [
    '--import',
    'tsx',
    AUTOCANNON_CLIENT,
    JSON.stringify({
      url: options.url,
      seconds: options.seconds,
      connections: options.connections ?? benchConfig.connections,
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      body: options.body,
    }),
  ]);
  return JSON.parse(output.trim().split('\n').pop() as string) as LoadResult;
}

/** wrk prints durations as 812.00us, 1.23ms or 1.05s. */
function wrkDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us'
    ? value / 1000
    : match[2] === 'ms'
      ? value
      : match[2] === 's'
        ? value * 1000
        : value * 60_000;
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  if (options.method && options.method !== 'GET') throw new Error('the wrk driver here sends GET only');
  const args = [
    '-t1',
    `-c${options.connections ?? benchConfig.connections}`,
    `-d${options.seconds}s`,
    '--latency',
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const output = await collect('wrk', args);
  const latency = (label: string) =>
    wrkDuration(new RegExp(`^\\s*${label}%\\s+(\\S+)`, 'm').exec(output)?.[1] ?? '');
  const total = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: total,
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    latency: {
      p50: latency('50'),
      p99: latency('99'),
      mean: wrkDuration(/Latency\s+(\S+)/.exec(output)?.[1] ?? ''),
    },
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
  };
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const generator = options.method === 'POST' ? 'autocannon' : (options.loadgen ?? benchConfig.loadgen);
  return generator === 'wrk' ? runWrk(options) : runAutocannon(options);
}

/** Throws unless every response was a 2xx and no connection failed: a benchmark of errors is no benchmark. */
export function checkClean(name: string, result: LoadResult): void {
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || !(result.requests > 0)) {
    throw new Error(
      `${name}: ${result.requests} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
}
