/**
 * Private Redis servers for tests that must stop one (fault tests) or need a Cluster or a Sentinel group:
 * `redis-server` processes on spare loopback ports, in a temp directory, killed by the test. The shared
 * Redis on 6379 is never stopped. Also: deleting every key under a prefix (SCAN MATCH, never KEYS).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { serviceSkipReason } from './services.js';

/** A skip reason when redis-server or redis-cli is missing locally; throws under CI (via serviceSkipReason). */
export function redisBinariesSkipReason(): Promise<string | undefined> {
  return serviceSkipReason('redis-server and redis-cli', async () => {
    for (const binary of ['redis-server', 'redis-cli']) {
      const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${binary} is not installed`);
    }
  });
}

/**
 * A skip reason when this redis-server was built without TLS (BUILD_TLS=no), which then refuses the
 * `tls-port` directive; throws under CI=true. A TLS build given no certificate fails differently.
 */
export function redisTLSSkipReason(): string | undefined {
  const probe = spawnSync('redis-server', ['--port', '0', '--tls-port', '1', '--loglevel', 'warning'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const output = `${probe.stdout}${probe.stderr}`;
  if (!/Bad directive/i.test(output)) return undefined;
  const reason = 'redis-server was built without TLS (BUILD_TLS=yes is needed for tls-port)';
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  return reason;
}

/** Resolves when nothing listens on `port` (we could bind it), false when it is taken. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port that is free and whose Cluster bus port (port + 10000) is free too. Random in 20000–45000 so
 * parallel test files rarely pick the same one; `exclude` avoids ports handed out earlier in this process.
 */
export async function sparePort(exclude: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (exclude.includes(port)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no spare port pair found for a private redis-server');
}

const until = (check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> =>
  eventually(check, what, { timeoutMs, intervalMs: 20, ignoreErrors: true });

/** One command on a short-lived connection that never retries; throws if the server does not answer. */
export async function ask<T>(port: number, command: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await command(client);
  } finally {
    client.disconnect();
  }
}

export interface PrivateRedis {
  port: number;
  dir: string;
  /** SIGKILL: a crash, not a clean shutdown. Resolves when the process has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (with its append-only file, if any). */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the process stays, its sockets stay open, nothing answers — a hung server or a partition
   * without a reset, which no 'close' event reveals. `resume` (SIGCONT) undoes it.
   */
  pause(): void;
  resume(): void;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** Extra redis-server arguments. */
  args?: string[];
  port?: number;
  /**
   * Keep data across kill and restart: an append-only file fsynced on every write. Off for Cluster nodes
   * (the brief's `--appendonly no`).
   */
  persistent?: boolean;
  /**
   * Lines of a configuration file written into the server's directory and given first (Sentinel needs
   * one it can rewrite).
   */
  config?: string[];
  /** Run as a Sentinel (`redis-server <config> --sentinel`); needs `config`. */
  sentinel?: boolean;
}

/** Starts `redis-server` on a spare loopback port and waits until it answers PING. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = options.port ?? (await sparePort());
  const dir = mkdtempSync(join(tmpdir(), 'keycard-redis-'));
  const persistence = options.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  let configFile: string[] = [];
  if (options.config) {
    const file = join(dir, 'redis.conf');
    writeFileSync(file, `${options.config.join('\n')}\n`);
    configFile = [file];
  }
  const args = [
    ...configFile,
    ...(options.sentinel ? ['--sentinel'] : []),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    ...(options.sentinel ? [] : ['--save', '', ...persistence]),
    '--daemonize',
    'no',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    // A test process that dies must not leave its servers running.
    const reap = () => started.kill('SIGKILL');
    process.once('exit', reap);
    started.once('exit', () => {
      process.off('exit', reap);
      if (child === started) child = null;
    });
    await until(
      async () => (await ask(port, (client) => client.ping())) === 'PONG',
      `redis-server on ${port}`,
    );
  };
  const kill = async (): Promise<void> => {
    const running = child;
    if (!running) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const signal = (name: NodeJS.Signals): void => {
    const running = child as ChildProcess | null;
    if (!running) throw new Error(`redis-server on ${port} is not running`);
    running.kill(name);
  };
  await start();
  return {
    port,
    dir,
    kill,
    restart: start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateCluster {
  ports: number[];
  /** The nodes, in the order of `ports` (masters first). */
  nodes: PrivateRedis[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  url: string;
  stop(): Promise<void>;
}

export interface PrivateClusterOptions {
  /** Replicas per master (default 0): with 1, six nodes, and a master's death is a failover. */
  replicas?: number;
  /** `cluster-node-timeout`: how long a node may be silent before it is failing (Redis's default 15 s). */
  nodeTimeoutMs?: number;
}

/** Lines of `INFO replication` as a map. */
export async function replicationInfo(port: number): Promise<Map<string, string>> {
  const text = await ask(port, (client) => client.info('replication'));
  return new Map(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/**
 * Three masters on loopback (and `replicas` replicas of each), created with `redis-cli --cluster create`;
 * resolves once every node reports cluster_state:ok and every replica is in sync with its master.
 */
export async function startPrivateCluster(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
  const replicas = options.replicas ?? 0;
  const ports: number[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i++) {
    ports.push(await sparePort(ports.flatMap((port) => [port, port + 10_000])));
  }
  const timeout =
    options.nodeTimeoutMs === undefined ? [] : ['--cluster-node-timeout', String(options.nodeTimeoutMs)];
  const started = await Promise.allSettled(
    ports.map((port) =>
      startPrivateRedis({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, ...timeout],
      }),
    ),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const created = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const cli = spawn(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      cli.stdout.on('data', (chunk) => {
        output += chunk;
      });
      cli.stderr.on('data', (chunk) => {
        output += chunk;
      });
      cli.once('exit', (code) => resolve({ code, output }));
    });
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed: ${created.output}`);
    for (const port of ports) {
      await until(
        async () => (await ask(port, (client) => client.cluster('INFO'))).includes('cluster_state:ok'),
        `cluster_state:ok on ${port}`,
      );
    }
    for (const port of ports) {
      await until(async () => {
        const info = await replicationInfo(port);
        return info.get('role') === 'master' || info.get('master_link_status') === 'up';
      }, `the replica on ${port} in sync`);
      // Every node knows every replica (gossip), so that a master's death is followed by a failover.
      await until(async () => {
        const ranges = await ask(port, (client) => client.cluster('SLOTS'));
        return ranges.length > 0 && ranges.every((range) => range.length - 2 === 1 + replicas);
      }, `${port} to know every replica`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `redis+cluster://${ports
    .slice(0, 3)
    .map((port) => `127.0.0.1:${port}`)
    .join(',')}`;
  return { ports, nodes, url, stop };
}

/**
 * The port of the master serving `key` now, and of its replicas, from `CLUSTER SLOTS` as `askPort` sees it.
 */
export async function clusterNodesForKey(
  askPort: number,
  key: string,
): Promise<{ master: number; replicas: number[] }> {
  return ask(askPort, async (client) => {
    const slot = Number(await client.cluster('KEYSLOT', key));
    for (const [from, to, master, ...replicas] of await client.cluster('SLOTS')) {
      if (master && slot >= from && slot <= to) {
        return { master: Number(master[1]), replicas: replicas.map((replica) => Number(replica[1])) };
      }
    }
    throw new Error(`no node serves slot ${slot}`);
  });
}

export interface PrivateSentinelGroup {
  /** The master group name Sentinel monitors. */
  name: string;
  primary: PrivateRedis;
  replica: PrivateRedis;
  sentinel: PrivateRedis;
  /** `redis+sentinel://127.0.0.1:<sentinel port>/<name>` */
  url: string;
  /** The port of the server Sentinel names as the primary now. */
  primaryPort(): Promise<number>;
  /** Kills all three and removes their directories. */
  stop(): Promise<void>;
}

export interface PrivateSentinelOptions {
  /** `sentinel down-after-milliseconds`: how long the primary may be silent before a failover. */
  downAfterMs?: number;
}

/**
 * A primary, a replica of it and one Sentinel monitoring them (quorum 1), all `redis-server` on loopback;
 * resolves once the replica is in sync and Sentinel knows it (a replica Sentinel has not seen is never
 * promoted). Whatever was started is stopped again when starting fails.
 */
export async function startPrivateSentinel(
  options: PrivateSentinelOptions = {},
): Promise<PrivateSentinelGroup> {
  const name = 'kcprimary';
  const started: PrivateRedis[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.stop()));
  };
  try {
    const primary = await startPrivateRedis();
    started.push(primary);
    const replica = await startPrivateRedis({
      port: await sparePort([primary.port]),
      args: ['--replicaof', '127.0.0.1', String(primary.port)],
    });
    started.push(replica);
    await until(
      async () => (await replicationInfo(replica.port)).get('master_link_status') === 'up',
      'the replica in sync',
    );
    const sentinel = await startPrivateRedis({
      port: await sparePort([primary.port, replica.port]),
      sentinel: true,
      config: [
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 500}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
      ],
    });
    started.push(sentinel);
    await until(async () => {
      const replicas = (await ask(sentinel.port, (client) =>
        client.call('SENTINEL', 'REPLICAS', name),
      )) as string[][];
      return replicas.some((fields) => {
        const at = (field: string) => fields[fields.indexOf(field) + 1];
        return at('port') === String(replica.port) && at('flags') === 'slave';
      });
    }, 'Sentinel to know the replica');
    const primaryPort = async (): Promise<number> => {
      const address = (await ask(sentinel.port, (client) =>
        client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
      )) as [string, string];
      return Number(address[1]);
    };
    return {
      name,
      primary,
      replica,
      sentinel,
      url: `redis+sentinel://127.0.0.1:${sentinel.port}/${name}`,
      primaryPort,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Waits until the replicas of the server on `port` have every write it had received when this was called:
 * a write and `WAIT` on a connection of our own (replication is one ordered stream, so the replica that
 * acknowledges our write has everything before it). For a test that kills a primary and must not lose
 * what it wrote before, without relying on the store's `durability`.
 */
export async function waitForReplicas(port: number, key = 'keycard-test:replication-mark'): Promise<void> {
  await ask(port, async (client) => {
    await client.set(key, String(Date.now()));
    const acknowledged = Number(await client.call('WAIT', 1, 10_000));
    if (acknowledged < 1) throw new Error(`no replica of ${port} acknowledged`);
  });
}

/** Deletes every key that starts with `prefix:` (SCAN MATCH on each master; one key per DEL on a Cluster). */
export async function deleteKeysWithPrefix(client: Redis | Cluster, prefix: string): Promise<void> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      // A Cluster refuses multi-key commands across slots, even on one node.
      await Promise.all(keys.map((key) => server.del(key)));
    } while (cursor !== '0');
  }
}

/**
 * How many keys start with `prefix:` — on every master of a Cluster (SCAN MATCH, never KEYS): a store
 * harness's `recordCount`. Counted as a set, since SCAN may return a key twice.
 */
export async function countKeysWithPrefix(client: Redis | Cluster, prefix: string): Promise<number> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  const seen = new Set<string>();
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) seen.add(key);
    } while (cursor !== '0');
  }
  return seen.size;
}

/**
 * Records the name of every command a client sends (into the returned array, which a test may empty):
 * how the tests count round trips. `entry` may rename or drop (return null) what is recorded.
 */
export function recordCommands(
  client: Redis | Cluster,
  entry: (command: { name: string; args: unknown[] }) => string | null = (command) => command.name,
): string[] {
  const sent: string[] = [];
  const sendCommand = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
  client.sendCommand = ((...args: unknown[]) => {
    const recorded = entry(args[0] as { name: string; args: unknown[] });
    if (recorded !== null) sent.push(recorded);
    return sendCommand(...args);
  }) as typeof client.sendCommand;
  return sent;
}
