/**
 * What every benchmark server shares: the user every variant signs in, the JSON every variant answers,
 * and the IPC with the driver (bench/lib/process.ts): announce the port, report event-loop delay and
 * counted store operations, stop on request.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The signed-in user of every variant; the authenticated GET answers `{"user": {id, username, role}}`. */
export const BENCH_USER = { id: 'u_bench_0001', username: 'alice', role: 'user' } as const;
export const BENCH_PASSWORD = 'correct horse battery staple';

export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`bench server: ${name} is not set`);
  return value;
}

let operations = 0;
let cpuSince = process.cpuUsage();

/** Counts one store command or query (servers that count wrap their client with this). */
export function countOperation(): void {
  operations++;
}

// Sampled every 1 ms, only where the driver asks for it (BENCH_ELD=1, the login flood). A sample is the
// time between two 1 ms timer ticks, so an idle loop reads about 1 ms: the figures overstate the delay by
// at most that.
const histogram = monitorEventLoopDelay({ resolution: 1 });
if (process.env.BENCH_ELD === '1') histogram.enable();

/**
 * BENCH_PROFILE=heap: V8's sampling heap profiler, counting objects the GC has already collected too, so
 * the profile shows where a request allocates (what the GC then has to clean up), not what stays alive.
 */
const heapProfileDir = process.env.BENCH_HEAP_PROFILE_DIR;
let inspector: Session | null = null;
async function startHeapSampling(): Promise<void> {
  if (!heapProfileDir) return;
  inspector ??= new Session();
  inspector.connect();
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
}
async function stopHeapSampling(): Promise<void> {
  if (!heapProfileDir || !inspector) return;
  const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as { profile: unknown };
  inspector.disconnect();
  writeFileSync(join(heapProfileDir, 'requests.heapprofile'), JSON.stringify(profile));
}

/** Tells the driver the port, then serves its calls until it says stop (or goes away). */
export function announce(port: number, close: () => Promise<void>): void {
  const send = (message: unknown) => process.send?.(message);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (message: { type: string; id?: number; what?: string }) => {
    if (message.type === 'stop') {
      void stop();
      return;
    }
    if (message.type !== 'call') return;
    if (message.what === 'reset') {
      void startHeapSampling().then(() => {
        histogram.reset();
        operations = 0;
        cpuSince = process.cpuUsage();
        send({ type: 'reply', id: message.id, value: null });
      });
    } else if (message.what === 'stats') {
      // Read before the heap profile (if any) is written, so writing it is not counted.
      const value = {
        eventLoopDelay: {
          p50: histogram.percentile(50) / 1e6,
          p99: histogram.percentile(99) / 1e6,
          max: histogram.max / 1e6,
          mean: histogram.mean / 1e6,
        },
        operations,
        cpuMicroseconds: (({ user, system }) => user + system)(process.cpuUsage(cpuSince)),
        rss: process.memoryUsage().rss,
      };
      void stopHeapSampling().then(() => send({ type: 'reply', id: message.id, value }));
    }
  });
  process.on('disconnect', () => void stop());
  send({ type: 'ready', port });
}

/** Listens on a free loopback port and announces it; `close` runs after the server has closed. */
export function listen(server: Server, close: () => Promise<void> = async () => {}): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    announce(port, async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await close();
    });
  });
}

/** Reads a small request body (login forms). */
export function readBody(request: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}
