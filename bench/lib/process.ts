/**
 * Benchmark servers as child processes: each variant's server (bench/servers/*.ts) runs in its own Node
 * process on a loopback port, so no two servers, and not the driver, share an event loop. The child
 * announces its port over IPC and answers `stats` / `reset` calls (event-loop delay, counted store
 * operations); `stop` closes it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchConfig } from './config.js';

export const PROFILE_DIR = fileURLToPath(new URL('../results/profiles/', import.meta.url));

export interface ServerStats {
  /** Event-loop delay since the last reset, in ms (node:perf_hooks monitorEventLoopDelay). */
  eventLoopDelay: { p50: number; p99: number; max: number; mean: number };
  /** Store commands or queries sent since the last reset (only where the server counts them). */
  operations: number;
  /** CPU time (user + system) the server process used since the last reset, µs. */
  cpuMicroseconds: number;
  /** Resident set size, bytes. */
  rss: number;
}

export interface ServerProcess {
  name: string;
  port: number;
  url(path: string): string;
  stats(): Promise<ServerStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

type Reply = { type: 'reply'; id: number; value: unknown };

/** The Bun binary the `bun` devDependency installs. */
export const BUN = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));

/** `bench/servers/<name>.ts`, or `name` itself when it is an absolute path (another checkout's server). */
export function serverScript(name: string): string {
  if (name.startsWith('/')) return name;
  return fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url));
}

/** Starts `bench/servers/<script>.ts` with `env` added to the environment; resolves once it listens. */
export function startServer(
  name: string,
  script: string,
  serverEnv: Record<string, string> = {},
  options: { execArgv?: string[]; startTimeoutMs?: number; runtime?: 'node' | 'bun' } = {},
): Promise<ServerProcess> {
  const profile: string[] = [];
  let env = serverEnv;
  if (benchConfig.profile) {
    // One directory per server: the loader's worker thread writes a profile of its own beside the main one.
    const dir = `${PROFILE_DIR}${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    mkdirSync(dir, { recursive: true });
    // Profiles are large and local: keep them out of git (bench/results/*.json and *.md are ignored already).
    writeFileSync(`${PROFILE_DIR}.gitignore`, '*\n');
    // CPU: the whole life of the process. Heap: sampled allocations, including objects the GC already
    // collected, between the driver's reset and stats calls (servers/common.ts).
    if (benchConfig.profile === 'heap') env = { ...env, BENCH_HEAP_PROFILE_DIR: dir };
    else profile.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  // Bun runs the TypeScript itself and speaks Node's fork IPC.
  const bun = options.runtime === 'bun';
  const child: ChildProcess = fork(serverScript(script), [], {
    ...(bun ? { execPath: BUN } : {}),
    execArgv: bun ? [] : ['--import', 'tsx', ...profile, ...(options.execArgv ?? [])],
    env: { ...process.env, ...env, NODE_ENV: 'development' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, (value: unknown) => void>();
  const call = (what: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ type: 'call', id, what }, (error) => {
        if (error) reject(error);
      });
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: the server did not start within ${options.startTimeoutMs ?? 60_000} ms`));
    }, options.startTimeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: the server exited with code ${code} before it listened`));
    });
    child.on('message', (message: { type: string; port?: number } & Partial<Reply>) => {
      if (message.type === 'reply') {
        pending.get(message.id as number)?.(message.value);
        pending.delete(message.id as number);
        return;
      }
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      const port = message.port as number;
      resolve({
        name,
        port,
        url: (path) => `http://127.0.0.1:${port}${path}`,
        stats: () => call('stats') as Promise<ServerStats>,
        reset: async () => {
          await call('reset');
        },
        async stop() {
          if (child.exitCode !== null) return;
          child.send({ type: 'stop' });
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
