/**
 * Starts a real `keycard serve` (in-process, on a free loopback port) for HTTP tests, with its own temp
 * directory for the SQLite file and the key file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthEvent, Clock, Store } from '../../src/index.js';
import { type KeycardServer, loadServerConfig, startServer } from '../../src/server/index.js';

export interface TestServer extends KeycardServer {
  url: string;
  /** The management listener's URL (`--metrics-port`), or null. */
  metricsURL: string | null;
  dir: string;
  events: AuthEvent[];
}

export interface TestServerOptions {
  clock?: Clock;
  /** A store instance (e.g. wrapped to count calls); default: SQLite in the temp directory. */
  store?: Store;
  /** A store URL; `{dir}` is replaced by the temp directory. */
  storeURL?: string;
  flags?: Record<string, unknown>;
  keyReloadIntervalMs?: number;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-server-'));
  const storeURL = (options.storeURL ?? 'sqlite:{dir}/keycard.db').replaceAll('{dir}', dir);
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      store: storeURL,
      keys: join(dir, 'keys.json'),
      'log-level': 'silent',
      ...options.flags,
    },
    env: {},
  });
  const events: AuthEvent[] = [];
  const server = await startServer(config, {
    clock: options.clock,
    store: options.store,
    keyReloadIntervalMs: options.keyReloadIntervalMs,
    onEvent: (event) => events.push(event),
  });
  const close = server.close;
  return {
    ...server,
    dir,
    events,
    async close() {
      const result = await close();
      rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}
