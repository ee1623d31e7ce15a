/**
 * Store errors that say what is wrong (issue 13): the host, port and database — never the password —
 * and the cause: connection refused, timed out, host not found, authentication failed, permission denied,
 * database does not exist, database number out of range, TLS required, TLS not offered. Every cause is
 * produced by a real server: the shared PostgreSQL and Redis, private ones (password authentication, a
 * TLS-only pg_hba.conf, requirepass, a TLS-only Redis port), a closed port, a listener that never answers.
 *
 * Each cause is shown where an operator meets it: `keycard serve` start-up (one line on stderr, exit 1, no
 * key file), a CLI command (`keycard user list`, one line, exit 1), and — for what can go wrong while the
 * server runs — `/readyz` (503 with the cause; the log line names the server, the answer does not).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { run } from '../../src/cli/main.js';
import { loadServerConfig, startServer } from '../../src/server/index.js';
import { openStore, type StoreFailureReason, storeFailureReason } from '../../src/stores/index.js';
import { assertOneLineFailure, runCLI } from '../cli/helpers.js';
import { opensslSkipReason, writeTestCertificate } from '../helpers/certificates.js';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http.js';
import { postgresSkipReason } from '../helpers/postgres-schemas.js';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  privatePostgresSkipReason,
} from '../helpers/postgres-server.js';
import {
  type PrivateRedis,
  redisBinariesSkipReason,
  redisTLSSkipReason,
  sparePort,
  startPrivateRedis,
} from '../helpers/redis-servers.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

const root = mkdtempSync(join(tmpdir(), 'keycard-store-errors-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A password no other output could contain by chance. */
const secret = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** A loopback port that refuses connections (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A listener that accepts connections and never says a word: a hung server, a proxy to nowhere. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** The CLI run in this process (the same code as the binary), its output captured. */
async function cliHere(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await run(args, {
    stdin: Readable.from(['']),
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
    env: {},
  });
  return { code, stdout, stderr };
}

interface Cause {
  name: string;
  url: () => string;
  reason: StoreFailureReason;
  /** The whole line, as the operator reads it. */
  message: () => string;
  /** What must never be shown. */
  secrets?: string[];
  skip?: string | undefined;
}

/**
 * Opening the store, starting `keycard serve` (a real process) and running `keycard user list` on it all
 * fail with the same one line; the password shows nowhere, and no key file is left behind.
 */
async function assertSurfaces(cause: Cause): Promise<void> {
  const url = cause.url();
  const expected = cause.message();
  const opened = await openStore(url).then(
    async (store) => {
      await store.close();
      assert.fail(`${cause.name}: the store opened`);
    },
    (error: Error & { code?: string }) => error,
  );
  assert.equal(opened.code, 'store_unavailable');
  assert.equal(opened.message, expected);
  assert.equal(storeFailureReason(opened, url), cause.reason);

  const dir = mkdtempSync(join(root, 'serve-'));
  const served = await runCLI(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--store', url, '--keys', join(dir, 'keys.json')],
    { cwd: dir },
  );
  assert.equal(assertOneLineFailure(served, 1), `keycard: ${expected}`, `keycard serve: ${cause.name}`);
  assert.equal(existsSync(join(dir, 'keys.json')), false, 'no key file');

  const listed = await cliHere(['user', 'list', '--store', url]);
  assert.equal(listed.code, 1);
  assert.equal(listed.stdout, '');
  assert.equal(listed.stderr, `keycard: ${expected}\n`, `keycard user list: ${cause.name}`);

  for (const hidden of cause.secrets ?? []) {
    for (const text of [opened.message, served.stderr, served.stdout, listed.stderr]) {
      assert.ok(!text.includes(hidden), `${cause.name}: the password is shown: ${text}`);
    }
  }
}

const redisSkip = (await redisSkipReason()) ?? (await redisBinariesSkipReason());
const redisTLSSkip = redisSkip ?? redisTLSSkipReason() ?? opensslSkipReason();
const pgSkip = await postgresSkipReason();
const privatePgSkip = pgSkip ?? privatePostgresSkipReason() ?? opensslSkipReason();

describe('PostgreSQL store errors', () => {
  let refused: number;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  /** Password authentication for `keycard_pw`; `postgres` only over TLS. */
  let server: PrivatePostgres | undefined;
  const password = secret('Right-pw');
  const wrong = secret('Wrong-pw');

  before(async () => {
    refused = await closedPort();
    silent = await silentServer();
    if (privatePgSkip) return;
    server = await createPrivatePostgres({
      ssl: true,
      hba: [
        'hostssl all postgres 127.0.0.1/32 trust',
        'host all keycard_pw 127.0.0.1/32 scram-sha-256',
        'host all keycard_nopriv 127.0.0.1/32 scram-sha-256',
      ],
    });
    await server.start();
    await server.query(`CREATE ROLE keycard_pw LOGIN PASSWORD '${password}'`);
    await server.query(`CREATE ROLE keycard_nopriv LOGIN PASSWORD '${password}'`);
    await server.query('CREATE DATABASE keycard_ready OWNER keycard_pw');
  });
  after(async () => {
    silent?.close();
    await server?.destroy();
  });
  const at = (port: number, database = 'postgres') =>
    `the postgres store at 127.0.0.1:${port} (database '${database}') cannot be used: `;

  const causes: Cause[] = [
    {
      name: 'connection refused (a closed port)',
      url: () => `postgres://postgres@127.0.0.1:${refused}/test`,
      reason: 'connection_refused',
      message: () =>
        `${at(refused, 'test')}connection refused; is PostgreSQL running there and listening on that port?`,
      skip: pgSkip,
    },
    {
      name: 'timed out (a listener that never answers)',
      url: () => `postgres://postgres@127.0.0.1:${silent.port}/test?connectionTimeoutMs=300`,
      reason: 'timed_out',
      message: () =>
        `${at(silent.port, 'test')}timed out; check the host, the port and any firewall in between, and that the server is not overloaded`,
    },
    {
      name: 'host not found',
      url: () => 'postgres://postgres@keycard-no-such-host.invalid/test',
      reason: 'host_not_found',
      message: () =>
        "the postgres store at keycard-no-such-host.invalid:5432 (database 'test') cannot be used: host not found; check the host name in the store URL",
    },
    {
      name: 'database does not exist (the shared server)',
      url: () => 'postgres://postgres@127.0.0.1:5432/keycard_no_such_database',
      reason: 'database_not_found',
      message: () =>
        `${at(5432, 'keycard_no_such_database')}database does not exist; create it, or fix the database name in the store URL`,
      skip: pgSkip,
    },
    {
      name: 'TLS not offered (sslmode on the shared server, which has no TLS)',
      url: () => 'postgres://postgres@127.0.0.1:5432/test?sslmode=no-verify',
      reason: 'tls_unavailable',
      message: () =>
        `${at(5432, 'test')}TLS not offered by the server; enable it there, or remove sslmode from the store URL`,
      skip: pgSkip,
    },
    {
      name: 'authentication failed (a wrong password)',
      url: () => `postgres://keycard_pw:${wrong}@127.0.0.1:${server?.port}/postgres`,
      reason: 'authentication_failed',
      message: () =>
        `${at(server?.port ?? 0)}authentication failed for user 'keycard_pw'; check the user name and password in the store URL`,
      secrets: [wrong, password],
      skip: privatePgSkip,
    },
    // guards: pg leaving the socket open after this failure, so that the CLI and a failed start lingered
    // until the server's authentication_timeout (60 s) — this case then overruns the file's time limit
    {
      name: 'authentication failed (no password in the URL)',
      url: () => `postgres://keycard_pw@127.0.0.1:${server?.port}/postgres`,
      reason: 'authentication_failed',
      message: () =>
        `${at(server?.port ?? 0)}authentication failed for user 'keycard_pw'; the server asks for a password and the store URL has none`,
      skip: privatePgSkip,
    },
    {
      name: 'permission denied (a user that may not create the schema)',
      url: () => `postgres://keycard_nopriv:${password}@127.0.0.1:${server?.port}/postgres`,
      reason: 'permission_denied',
      message: () =>
        `${at(server?.port ?? 0)}permission denied for user 'keycard_nopriv'; grant the privileges keycard needs on its schema, or run keycard migrate as the schema's owner`,
      secrets: [password],
      skip: privatePgSkip,
    },
    {
      name: 'TLS required (pg_hba.conf has only hostssl for the user)',
      url: () => `postgres://postgres@127.0.0.1:${server?.port}/postgres`,
      reason: 'tls_required',
      message: () =>
        `${at(server?.port ?? 0)}TLS required; the server accepts only encrypted connections: add sslmode=verify-full to the store URL (docs/stores-postgres.md)`,
      skip: privatePgSkip,
    },
  ];
  for (const cause of causes) {
    test(`${cause.name}: start-up and the CLI say so in one line`, { skip: cause.skip }, () =>
      assertSurfaces(cause),
    );
  }

  test('the same user over TLS is let in (the TLS-required case is about TLS, not the user)', {
    skip: privatePgSkip,
  }, async () => {
    const store = await openStore(`postgres://postgres@127.0.0.1:${server?.port}/postgres?sslmode=no-verify`);
    await store.ping();
    await store.close();
  });

  test('/readyz while running: authentication failed, connection refused, database gone', {
    skip: privatePgSkip,
  }, async () => {
    const pg = server as PrivatePostgres;
    const dir = mkdtempSync(join(root, 'ready-'));
    const url = `postgres://keycard_pw:${password}@127.0.0.1:${pg.port}/keycard_ready?connectionTimeoutMs=2000&revocationKeepaliveMs=0&idleTimeoutMs=100`;
    const log: string[] = [];
    const running = await startServer(
      loadServerConfig({
        flags: { port: '0', host: '127.0.0.1', store: url, keys: join(dir, 'keys.json') },
        env: {},
      }),
      { logStream: { write: (line) => log.push(line) } },
    );
    after(() => running.close());
    const ready = () => request(running.url, 'GET', '/readyz');
    const says = (reason: string) =>
      eventually(
        async () =>
          (await ready()).json?.error?.message === `the postgres store cannot be reached: ${reason}`,
        `/readyz to say ${reason}`,
        { timeoutMs: 20_000, intervalMs: 50 },
      );
    const recovers = () =>
      eventually(async () => (await ready()).status === 200, '/readyz to recover', {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
    const where = `the postgres store at 127.0.0.1:${pg.port} (database 'keycard_ready') cannot be used: `;
    assert.equal((await ready()).status, 200);

    // The password changes under the running server; its connections are ended.
    await pg.query(`ALTER ROLE keycard_pw PASSWORD '${secret('Rotated')}'`);
    await pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'keycard_pw'");
    await says('authentication failed');
    const denied = await ready();
    assert.equal(denied.status, 503);
    assert.equal(denied.json.error.code, 'store_unavailable');
    // guards: the answer (public) naming the internal host; the log line does, for the operator
    assert.ok(!denied.text.includes('127.0.0.1'));
    assert.ok(
      log.some((line) =>
        JSON.parse(line).msg.startsWith(
          `readiness check failed: ${where}authentication failed for user 'keycard_pw'`,
        ),
      ),
    );
    await pg.query(`ALTER ROLE keycard_pw PASSWORD '${password}'`);
    await recovers();

    await pg.stop();
    await says('connection refused');
    await pg.start();
    await recovers();

    await pg.query('DROP DATABASE keycard_ready WITH (FORCE)');
    await says('database does not exist');
    assert.ok(!log.join('\n').includes(password), 'the password is in no log line');
  });
});

describe('Redis store errors', () => {
  let refused: number;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let locked: PrivateRedis | undefined;
  let tlsOnly: PrivateRedis | undefined;
  let tlsPort = 0;
  const password = secret('Right-pw');
  const wrong = secret('Wrong-pw');

  before(async () => {
    refused = await closedPort();
    silent = await silentServer();
    if (redisSkip) return;
    locked = await startPrivateRedis();
    // Set once it answers: the helper's readiness check is a PING without a password.
    const client = new Redis({ port: locked.port, host: '127.0.0.1', lazyConnect: true });
    await client.connect();
    await client.config('SET', 'requirepass', password);
    client.disconnect();
    if (redisTLSSkip) return;
    // A plain port (for the helper's readiness check) and a TLS-only one, which the test uses.
    tlsPort = await sparePort();
    const { cert, key } = writeTestCertificate(mkdtempSync(join(root, 'tls-')));
    tlsOnly = await startPrivateRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-auth-clients',
        'no',
      ],
    });
  });
  after(async () => {
    silent?.close();
    await locked?.stop();
    await tlsOnly?.stop();
  });
  const at = (port: number, database = 0) =>
    `the redis store at 127.0.0.1:${port} (database ${database}) cannot be used: `;

  const causes: Cause[] = [
    {
      name: 'connection refused (a closed port)',
      url: () => `redis://127.0.0.1:${refused}`,
      reason: 'connection_refused',
      message: () => `${at(refused)}connection refused; is Redis running there and listening on that port?`,
    },
    {
      name: 'timed out (a listener that never answers)',
      url: () => `redis://127.0.0.1:${silent.port}?connectTimeoutMs=300&commandTimeoutMs=300`,
      reason: 'timed_out',
      message: () =>
        `${at(silent.port)}timed out; check the host, the port and any firewall in between, and that the server is not overloaded`,
    },
    {
      name: 'database number out of range (the shared server has 16)',
      url: () => `${REDIS_URL}/99`,
      reason: 'database_out_of_range',
      message: () =>
        `${at(6379, 99)}database number out of range; this server has no database 99 (Redis has 16, numbered 0 to 15, unless redis.conf sets databases)`,
      skip: redisSkip,
    },
    {
      name: 'authentication failed (a wrong password: WRONGPASS)',
      url: () => `redis://:${wrong}@127.0.0.1:${locked?.port}`,
      reason: 'authentication_failed',
      message: () =>
        `${at(locked?.port ?? 0)}authentication failed; check the user name and password in the store URL`,
      secrets: [wrong, password],
      skip: redisSkip,
    },
    {
      name: 'authentication failed (no password: NOAUTH)',
      url: () => `redis://127.0.0.1:${locked?.port}`,
      reason: 'authentication_failed',
      message: () =>
        `${at(locked?.port ?? 0)}authentication failed; the server asks for a password and the store URL has none`,
      skip: redisSkip,
    },
    {
      name: 'TLS required (redis:// to a TLS-only port)',
      url: () => `redis://127.0.0.1:${tlsPort}`,
      reason: 'tls_required',
      message: () =>
        `${at(tlsPort)}TLS required, most likely; the server reset the connection without answering, as a TLS-only port does: use rediss://`,
      skip: redisTLSSkip,
    },
  ];
  for (const cause of causes) {
    test(`${cause.name}: start-up and the CLI say so in one line`, { skip: cause.skip }, () =>
      assertSurfaces(cause),
    );
  }

  test('a Redis Cluster none of whose nodes answers fails the start at once, rather than waiting forever', async () => {
    const ports = [await closedPort(), await closedPort()];
    const url = `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}?connectTimeoutMs=300`;
    // guards: a start-up that hung (the Cluster client queues commands until a node answers)
    const error = await openStore(url).then(
      () => assert.fail('opened'),
      (caught: Error) => caught,
    );
    assert.equal(
      error.message,
      `the redis store at 127.0.0.1:${ports[0]},127.0.0.1:${ports[1]} cannot be used: no seed node of the Redis Cluster answered; check the hosts and ports, and that the nodes run in cluster mode`,
    );
  });

  test('/readyz while running: timed out, connection refused, and a database number the restarted server lacks', {
    skip: redisSkip,
  }, async () => {
    const port = await sparePort();
    let redis = await startPrivateRedis({ port });
    after(() => redis.stop());
    const dir = mkdtempSync(join(root, 'ready-'));
    const prefix = uniqueName('kc_errors');
    const url = `redis://127.0.0.1:${port}/5?prefix=${prefix}&commandTimeoutMs=300&connectTimeoutMs=300`;
    const log: string[] = [];
    const running = await startServer(
      loadServerConfig({
        flags: { port: '0', host: '127.0.0.1', store: url, keys: join(dir, 'keys.json') },
        env: {},
      }),
      { logStream: { write: (line) => log.push(line) } },
    );
    after(() => running.close());
    const ready = () => request(running.url, 'GET', '/readyz');
    const says = (reason: string) =>
      eventually(
        async () => (await ready()).json?.error?.message === `the redis store cannot be reached: ${reason}`,
        `/readyz to say ${reason}`,
        { timeoutMs: 20_000, intervalMs: 50 },
      );
    assert.equal((await ready()).status, 200);

    redis.pause();
    await says('timed out');
    redis.resume();
    await eventually(async () => (await ready()).status === 200, 'recovery', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });

    await redis.kill();
    await says('connection refused');
    assert.ok(
      log.some((line) =>
        JSON.parse(line).msg.startsWith(
          `readiness check failed: ${`the redis store at 127.0.0.1:${port} (database 5)`}`,
        ),
      ),
    );

    // Back with fewer databases: ioredis's SELECT 5 fails and it would carry on in database 0.
    redis = await startPrivateRedis({ port, args: ['--databases', '4'] });
    await says('database number out of range');
    // guards: a login written into database 0 while the URL says 5 (fail closed: 503)
    const login = await request(running.url, 'POST', '/auth/login', {
      json: { username: 'nobody', password: 'whatever-pw-1' },
    });
    assert.equal(login.status, 503);
    const direct = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    await direct.connect();
    assert.equal(await direct.dbsize(), 0, 'nothing was written into database 0');
    direct.disconnect();
  });
});

// No MongoDB server runs on our machines: the causes that need none are checked here.
describe('MongoDB store errors (no server needed)', () => {
  let refused: number;
  before(async () => {
    refused = await closedPort();
  });
  const causes: Cause[] = [
    {
      name: 'connection refused (a closed port)',
      url: () => `mongodb://127.0.0.1:${refused}/keycard?serverSelectionTimeoutMS=500`,
      reason: 'connection_refused',
      message: () =>
        `the mongodb store at 127.0.0.1:${refused} (database 'keycard') cannot be used: connection refused; is MongoDB running there and listening on that port?`,
    },
    {
      name: 'host not found',
      url: () => 'mongodb://keycard-no-such-host.invalid/app?serverSelectionTimeoutMS=500',
      reason: 'host_not_found',
      message: () =>
        "the mongodb store at keycard-no-such-host.invalid:27017 (database 'app') cannot be used: host not found; check the host name in the store URL",
    },
  ];
  for (const cause of causes) {
    test(`${cause.name}: start-up and the CLI say so in one line`, () => assertSurfaces(cause));
  }
});
