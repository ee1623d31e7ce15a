/**
 * Redis store URLs:
 *
 *   redis://[user[:password]@]host[:port][/db][?options]            standalone
 *   rediss://…                                                        standalone over TLS
 *   redis+cluster://[user[:password]@]host:port,host:port[/][?options]  Redis Cluster (seed nodes)
 *   redis+sentinel://[user[:password]@]host:port,host:port/name[/db][?options]
 *                                                  a primary and its replicas, found through Sentinel
 *
 * In the Sentinel form the hosts are the Sentinels (port 26379 by default), `name` is the master group
 * name Sentinel monitors (`sentinel monitor <name> …`), and the user info is for the Redis servers; the
 * Sentinels' own credentials, if they have any, are the `sentinelUsername` and `sentinelPassword` options.
 *
 * Options: `prefix` (key prefix, default `kc`), `connectTimeoutMs`, `commandTimeoutMs`,
 * `reconnectMaxDelayMs`, `tls=true` (TLS for a cluster, which has no `rediss` form here),
 * `durability=primary|replicated` and `replicationTimeoutMs` (see durability.ts).
 * The user and password are percent-decoded. Messages never echo the URL: it may carry a password.
 */
import { configurationError } from '../../core/errors.js';
import type { RedisConnectionOptions, RedisNode } from './connection.js';
import { parseDurability, type RedisDurability } from './durability.js';

export interface RedisURL {
  connection: RedisConnectionOptions;
  /** The `prefix` option, if the URL has one. */
  prefix?: string;
  /** The `durability` option, if the URL has one. */
  durability?: RedisDurability;
  /** The `replicationTimeoutMs` option, if the URL has one. */
  replicationTimeoutMs?: number;
}

const SHAPE = /^(redis|rediss|redis\+cluster|redis\+sentinel):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i;
const HOST = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]@]+))(?::(\d{1,5}))?$/;
/** A Sentinel master group name (`sentinel monitor <name> …`), then an optional database number. */
const SENTINEL_PATH = /^\/([A-Za-z0-9._-]{1,64})(?:\/(\d{1,2}))?\/?$/;
const KNOWN = [
  'prefix',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'reconnectMaxDelayMs',
  'tls',
  'durability',
  'replicationTimeoutMs',
];
const SENTINEL_ONLY = ['sentinelUsername', 'sentinelPassword'];
const EXAMPLE =
  'redis://[user:password@]host[:port][/db][?prefix=kc], rediss://… (TLS), redis+cluster://host:port,host:port or redis+sentinel://host:26379,host:26379/mymaster';

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw configurationError('the redis store URL has a malformed %-escape in its user or password');
  }
}

function parseNode(text: string, defaultPort: number): RedisNode {
  const match = HOST.exec(text);
  const port = Number(match?.[3] ?? defaultPort);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw configurationError(`the redis store URL has a malformed host or port; use ${EXAMPLE}`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

function wholeNumber(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!/^\d{1,9}$/.test(value))
    throw configurationError(`redis store URL option ${name} must be a whole number`);
  return Number(value);
}

export function parseRedisURL(url: string): RedisURL {
  const match = typeof url === 'string' ? SHAPE.exec(url) : null;
  if (!match) throw configurationError(`the redis store URL is malformed; use ${EXAMPLE}`);
  const scheme = (match[1] as string).toLowerCase();
  const cluster = scheme === 'redis+cluster';
  const sentinel = scheme === 'redis+sentinel';
  const authority = match[2] as string;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const hosts = authority.slice(at + 1);
  if (hosts === '') throw configurationError(`the redis store URL needs a host; use ${EXAMPLE}`);
  const nodes = hosts.split(',').map((host) => parseNode(host, sentinel ? 26379 : 6379));
  if (nodes.length > 1 && !cluster && !sentinel) {
    throw configurationError(
      'several hosts in a redis store URL need the redis+cluster:// or redis+sentinel:// scheme',
    );
  }

  const connection: RedisConnectionOptions = { nodes, cluster, tls: scheme === 'rediss' };
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (username !== '') connection.username = username;
    if (colon !== -1) connection.password = decode(userinfo.slice(colon + 1));
  }

  const path = match[3] as string;
  if (sentinel) {
    const named = SENTINEL_PATH.exec(path);
    if (!named) {
      throw configurationError(
        'a redis+sentinel:// URL names the master group after the hosts, e.g. redis+sentinel://127.0.0.1:26379/mymaster (optionally /mymaster/<db>)',
      );
    }
    connection.sentinel = { name: named[1] as string };
    if (named[2] !== undefined) connection.db = Number(named[2]);
  } else if (path !== '' && path !== '/') {
    const db = /^\/(\d{1,2})$/.exec(path);
    if (!db || cluster) {
      throw configurationError(
        cluster
          ? 'a Redis Cluster has only database 0: drop the path from the redis+cluster:// URL'
          : 'the path of a redis store URL is the database number, e.g. redis://localhost:6379/0',
      );
    }
    connection.db = Number(db[1]);
  }

  const params = new URLSearchParams(match[4] ?? '');
  const known = sentinel ? [...KNOWN, ...SENTINEL_ONLY] : KNOWN;
  for (const name of params.keys()) {
    if (!known.includes(name)) {
      const hint = SENTINEL_ONLY.includes(name) ? ' (only with redis+sentinel://)' : '';
      throw configurationError(`unknown redis store URL option '${name}'${hint}; known: ${known.join(', ')}`);
    }
  }
  const tls = params.get('tls');
  if (tls !== null) {
    if (tls !== 'true' && tls !== 'false')
      throw configurationError('redis store URL option tls must be true or false');
    if (tls === 'true' && sentinel) {
      throw configurationError('TLS through Sentinel is not supported by redis+sentinel:// URLs yet');
    }
    connection.tls = connection.tls || tls === 'true';
  }
  if (connection.sentinel) {
    // URLSearchParams has percent-decoded them already.
    const username = params.get('sentinelUsername');
    const password = params.get('sentinelPassword');
    if (username !== null && username !== '') connection.sentinel.username = username;
    if (password !== null) connection.sentinel.password = password;
  }
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs', 'reconnectMaxDelayMs'] as const) {
    const value = wholeNumber(params, name);
    if (value !== undefined) connection[name] = value;
  }
  const parsed: RedisURL = { connection };
  const prefix = params.get('prefix');
  if (prefix !== null) parsed.prefix = prefix;
  const durability = params.get('durability');
  if (durability !== null) parsed.durability = parseDurability(durability);
  const replicationTimeoutMs = wholeNumber(params, 'replicationTimeoutMs');
  if (replicationTimeoutMs !== undefined) parsed.replicationTimeoutMs = replicationTimeoutMs;
  return parsed;
}
