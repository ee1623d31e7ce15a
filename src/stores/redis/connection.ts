/**
 * How the Redis store connects when it owns its client (given a URL rather than a client).
 *
 * Fail fast, recover by itself:
 * - ioredis reconnects on its own; the delay grows from 50 ms and is capped (`reconnectMaxDelayMs`), and
 *   it never gives up, so service returns by itself however long Redis was away.
 * - While disconnected, a standalone client refuses commands at once (`enableOfflineQueue: false`) instead
 *   of queueing them until Redis is back: a request gets 503 now, not a hang and then a stale write.
 * - Commands in flight when the connection drops fail (`maxRetriesPerRequest: 0`) and are never resent
 *   (`autoResendUnfulfilledCommands: false`): their outcome is unknown, and resending a counter increment
 *   or a refresh-token rotation could apply it twice.
 * - `commandTimeoutMs` bounds a command on a connection that hangs without closing (a paused server, a
 *   partition with no RST). On a standalone (or Sentinel) client one watchdog timer per connection enforces it
 *   (`watchCommandTimeouts`) instead of ioredis's `commandTimeout`, which arms and clears a timer for
 *   every command — measurable on the per-request read (docs/benchmarks.md, "Issue 15").
 * A Cluster client keeps its offline queue: it connects to each node lazily and needs the queue between
 * a node's "connecting" and "ready"; queued commands are bounded by ioredis's `commandTimeout` (a command
 * can wait in three queues there, the Cluster's and each node's two, so the watchdog is not used) and by
 * the flush that `maxRetriesPerRequest: 0` does when a node connection drops.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisSentinelOptions {
  /** The master group name Sentinel monitors. */
  name: string;
  /** The Sentinels' own credentials (the servers' are `username` and `password`). */
  username?: string;
  password?: string;
}

export interface RedisConnectionOptions {
  /** One node for a standalone Redis; the seed nodes of a Cluster; the Sentinels with `sentinel`. */
  nodes: RedisNode[];
  cluster: boolean;
  /**
   * Find the primary through Sentinel (`nodes` are the Sentinels): on each (re)connection ioredis asks
   * them for the current primary and checks its ROLE, so a failover needs no restart.
   */
  sentinel?: RedisSentinelOptions;
  username?: string;
  password?: string;
  /** Database number (standalone only). */
  db?: number;
  tls: boolean;
  /** How long one connection attempt may take; default 5000 ms. */
  connectTimeoutMs?: number;
  /** How long a command may wait for its reply; default 5000 ms. */
  commandTimeoutMs?: number;
  /** The longest wait between reconnection attempts; default 1000 ms. */
  reconnectMaxDelayMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 1000;

/** 50, 100, 200, … ms, capped: quick after a blip, and at most one attempt per `maxDelayMs` after. */
export function reconnectDelay(attempt: number, maxDelayMs: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 16), maxDelayMs);
}

/** A client that has not connected yet (`lazyConnect`): the store connects it and waits for the result. */
export function createRedisClient(options: RedisConnectionOptions): Redis | Cluster {
  const maxDelayMs = options.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const common = {
    username: options.username,
    password: options.password,
    tls: options.tls ? {} : undefined,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
  };
  if (options.cluster) {
    return new Cluster(options.nodes, {
      lazyConnect: true,
      clusterRetryStrategy: (attempt) => reconnectDelay(attempt, maxDelayMs),
      redisOptions: { ...common, commandTimeout: commandTimeoutMs },
    });
  }
  if (options.sentinel) {
    const client = new Redis({
      ...common,
      sentinels: options.nodes,
      name: options.sentinel.name,
      sentinelUsername: options.sentinel.username,
      sentinelPassword: options.sentinel.password,
      db: options.db ?? 0,
      enableOfflineQueue: false,
      retryStrategy: (attempt) => reconnectDelay(attempt, maxDelayMs),
      sentinelRetryStrategy: (attempt) => reconnectDelay(attempt, maxDelayMs),
    });
    watchCommandTimeouts(client, commandTimeoutMs);
    return client;
  }
  const node = options.nodes[0] as RedisNode;
  const client = new Redis({
    ...common,
    host: node.host,
    port: node.port,
    db: options.db ?? 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxDelayMs),
  });
  watchCommandTimeouts(client, commandTimeoutMs);
  return client;
}

/** A command in ioredis's queue (a `Command`; ioredis types the queue's items more loosely). */
interface PendingCommand {
  isResolved?: boolean;
  reject(error: Error): void;
}

/** How many watchdog ticks make up one command timeout: a command fails between 0.9 and 1.0 of it. */
const TICKS_PER_TIMEOUT = 10;

/**
 * `commandTimeoutMs` with one timer per connection. A standalone client without an offline queue has
 * every command that awaits a reply in `commandQueue`, in the order sent (Redis answers in that order).
 * Every tick (a tenth of the timeout) the watchdog stamps the commands sent since the last tick with the
 * tick's number, then rejects — with ioredis's own "Command timed out", as its `commandTimeout` would —
 * each command at the head stamped nine ticks ago or earlier: sent between 0.9 and 1.0 timeouts ago, so
 * it fails within the timeout, never much before it. Like ioredis's timeout, this leaves the connection
 * alone (one slow script must not fail every command behind it); the command stays queued so that its
 * late reply, if any, is matched to it and dropped. The stamps live in a WeakMap, written only by the
 * watchdog: sending a command costs nothing extra. The timer is unref'd and stops when the client ends
 * for good; a later connect starts it again.
 */
export function watchCommandTimeouts(client: Redis, timeoutMs: number): void {
  const tickMs = Math.max(1, Math.floor(timeoutMs / TICKS_PER_TIMEOUT));
  const stamps = new WeakMap<PendingCommand, number>();
  const timedOut = new WeakSet<PendingCommand>();
  let tick = 0;
  let timer: NodeJS.Timeout | null = null;
  const check = (): void => {
    tick++;
    const queue = client.commandQueue;
    // Unstamped commands are the newest, at the tail.
    for (let i = queue.length - 1; i >= 0; i--) {
      const command = (queue.peekAt(i) as { command: PendingCommand }).command;
      if (stamps.has(command)) break;
      stamps.set(command, tick);
    }
    for (let i = 0; i < queue.length; i++) {
      const command = (queue.peekAt(i) as { command: PendingCommand }).command;
      if (timedOut.has(command)) continue;
      if (tick - (stamps.get(command) as number) < TICKS_PER_TIMEOUT - 1) break;
      timedOut.add(command);
      if (!command.isResolved) command.reject(new Error('Command timed out'));
    }
  };
  const start = (): void => {
    if (timer) return;
    timer = setInterval(check, tickMs);
    timer.unref();
  };
  start();
  client.on('connect', start);
  client.on('end', () => {
    if (timer) clearInterval(timer);
    timer = null;
  });
}

/**
 * Connects, and resolves once the first attempt has succeeded or failed (never rejects: ioredis goes on
 * reconnecting). A Sentinel client's `connect()` does not settle while no Sentinel answers — it keeps
 * asking them — so for it the first 'error' counts as the failed attempt.
 */
export function connectFirstTime(client: Redis | Cluster): Promise<void> {
  const attempt = client.connect().catch(() => undefined);
  if (isCluster(client) || !client.options.sentinels) return attempt;
  return new Promise((resolve) => {
    const settle = (): void => {
      client.off('error', settle);
      resolve();
    };
    client.once('error', settle);
    void attempt.then(settle);
  });
}

export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

export interface FeedConnectionOptions {
  /** 0, 1, …: on a Cluster, which of the known nodes to try. */
  attempt: number;
  /** Where to connect on a Cluster whose slot table is not known yet (the URL's nodes). */
  seedNodes: RedisNode[];
  /** The connection's name in `CLIENT LIST`. */
  name: string;
}

/**
 * A connection for the revocation feed (feed.ts): the client's own settings (address, credentials, TLS,
 * timeouts), but lazy, never reconnecting or resubscribing by itself (the feed does both, and reports
 * them), and named so that `CLIENT LIST` shows it. Standalone (or Sentinel): a duplicate of the client.
 * Cluster: a plain connection to one node — any node will do, since a classic PUBLISH reaches every
 * node of a Cluster — taking the known nodes in turn, so a node that is gone is left behind. Throws when
 * no Cluster node is known yet (the feed counts that as a failed attempt).
 */
export function createFeedConnection(client: Redis | Cluster, options: FeedConnectionOptions): Redis {
  const overrides: RedisOptions = {
    lazyConnect: true,
    retryStrategy: () => null,
    // Through Sentinel: one round of the Sentinels per attempt, or connect() would never settle while
    // none answers, and the feed could not report `down`.
    sentinelRetryStrategy: () => null,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectionName: options.name,
  };
  if (!isCluster(client)) return client.duplicate(overrides);
  const known = client.nodes('all').map((node) => ({ host: node.options.host, port: node.options.port }));
  const nodes = known.length > 0 ? known : options.seedNodes;
  const node = nodes[options.attempt % Math.max(nodes.length, 1)];
  if (!node) throw new Error('no Redis Cluster node is known yet');
  return new Redis({ ...client.options.redisOptions, host: node.host, port: node.port, ...overrides });
}
