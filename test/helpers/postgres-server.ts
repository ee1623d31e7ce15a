/**
 * A private PostgreSQL server for tests that stop and restart it (fail closed, then recover), or that need
 * settings the shared one on 5432 does not have (password authentication, TLS only). Never the shared
 * one: this one gets its own data directory (initdb, once per test file) and a spare loopback port, and
 * is stopped with an immediate shutdown — every server process exits at once, as in a crash — then
 * started again on the same port and directory, so what was committed is still there.
 *
 * initdb and postgres refuse to run as root, so as root they run as the `postgres` OS user.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeTestCertificate } from './certificates.js';
import { IN_CI } from './services.js';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, unless `hba` says otherwise). */
  url: string;
  port: number;
  /** Runs SQL as the superuser over the server's Unix socket, which trusts it whatever `hba` says. */
  query(sql: string): Promise<pg.QueryResult>;
  /** Starts the server and resolves once it accepts queries. */
  start(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster); resolves once the server has exited. */
  stop(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<version>/bin with initdb and postgres, or KEYCARD_TEST_PG_BIN. */
function binaries(): string | undefined {
  const configured = process.env.KEYCARD_TEST_PG_BIN;
  if (configured) return configured;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres')));
}

/** The uid and gid to run the server as: the postgres OS user when we are root, else ourselves. */
function serverUser(): { uid?: number; gid?: number } | undefined {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/** A skip reason when no private server can be started here; throws under CI=true. */
export function privatePostgresSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!binaries())
    reason = 'PostgreSQL server binaries not found (apt-get install postgresql, or set KEYCARD_TEST_PG_BIN)';
  else if (!serverUser())
    reason = 'running as root and there is no postgres OS user to run initdb and postgres as';
  if (reason && IN_CI) throw new Error(`CI=true: ${reason}`);
  return reason;
}

function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface PrivatePostgresOptions {
  /**
   * pg_hba.conf lines for TCP connections (`host all all 127.0.0.1/32 scram-sha-256`,
   * `hostssl all all 127.0.0.1/32 trust`), instead of trusting every one. Unix-socket connections stay
   * trusted, for `query`.
   */
  hba?: string[];
  /** Serve TLS (ssl=on) with a fresh self-signed certificate; needs `openssl` (certificates.ts). */
  ssl?: boolean;
}

export async function createPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = binaries();
  const user = serverUser();
  assert.ok(bin && user, 'check privatePostgresSkipReason() first');
  const dir = mkdtempSync(join(tmpdir(), 'keycard-pg-'));
  if (user.uid !== undefined && user.gid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync'],
    { ...user, encoding: 'utf8' },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  }
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];
  if (options.hba) {
    writeFileSync(join(data, 'pg_hba.conf'), ['local all all trust', ...options.hba, ''].join('\n'));
  }
  if (options.ssl) {
    writeTestCertificate(data);
    settings.push('-c', 'ssl=on');
  }
  if (user.uid !== undefined && user.gid !== undefined) {
    for (const name of ['pg_hba.conf', 'server.crt', 'server.key']) {
      if (existsSync(join(data, name))) chownSync(join(data, name), user.uid, user.gid);
    }
  }
  const port = await sparePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  // If the test process dies first, do not leave a postmaster behind.
  const onExit = () => server?.kill('SIGQUIT');
  process.on('exit', onExit);

  /** A client on the Unix socket (in `dir`), which pg_hba.conf trusts. */
  const socketClient = (timeoutMs: number) =>
    new pg.Client({
      host: dir,
      port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: timeoutMs,
    });

  async function ready(): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt++) {
      if (server?.exitCode !== null) throw new Error(`postgres exited at start-up:\n${log.slice(-2000)}`);
      const client = socketClient(1000);
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        await client.end().catch(() => {});
      }
    }
    throw new Error(`postgres did not become ready:\n${log.slice(-2000)}`);
  }

  const handle: PrivatePostgres = {
    url,
    port,
    async query(sql) {
      const client = socketClient(10_000);
      await client.connect();
      try {
        return await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async start() {
      assert.equal(server, undefined, 'the private server is already running');
      log = '';
      const child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, ...settings], {
        ...user,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk;
      });
      exited = new Promise((resolve) => child.once('exit', () => resolve()));
      server = child;
      await ready();
    },
    async stop() {
      if (!server) return;
      server.kill('SIGQUIT');
      await exited;
      server = undefined;
    },
    async destroy() {
      await handle.stop();
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
