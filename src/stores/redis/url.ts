/**
 * Redis store URLs:
 *
 *   redis://[user[:password]@]host[:port][/db][?options]            standalone
 *   rediss://…                                                        standalone over TLS
 *   redis+cluster://[user[:password]@]host:port,host:port[/][?options]  Redis Cluster (seed nodes)
 *
 * Options: `prefix` (key prefix, default `kc`), `connectTimeoutMs`, `commandTimeoutMs`,
 * `reconnectMaxDelayMs`, and `tls=true` (TLS for a cluster, which has no `rediss` form here).
 * The user and password are percent-decoded. Messages never echo the URL: it may carry a password.
 */
import { configurationError } from '../../core/errors.js';
import type { RedisConnectionOptions, RedisNode } from './connection.js';

export interface RedisURL {
  connection: RedisConnectionOptions;
  /** The `prefix` option, if the URL has one. */
  prefix?: string;
}

const SHAPE = /^(redis|rediss|redis\+cluster):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i;
const HOST = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]@]+))(?::(\d{1,5}))?$/;
const KNOWN = ['prefix', 'connectTimeoutMs', 'commandTimeoutMs', 'reconnectMaxDelayMs', 'tls'];
const EXAMPLE =
  'redis://[user:password@]host[:port][/db][?prefix=kc], rediss://… (TLS) or redis+cluster://host:port,host:port';

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw configurationError('the redis store URL has a malformed %-escape in its user or password');
  }
}

function parseNode(text: string): RedisNode {
  const match = HOST.exec(text);
  const port = Number(match?.[3] ?? 6379);
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
  const authority = match[2] as string;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const hosts = authority.slice(at + 1);
  if (hosts === '') throw configurationError(`the redis store URL needs a host; use ${EXAMPLE}`);
  const nodes = hosts.split(',').map(parseNode);
  if (nodes.length > 1 && !cluster) {
    throw configurationError('several hosts in a redis store URL need the redis+cluster:// scheme');
  }

  const connection: RedisConnectionOptions = { nodes, cluster, tls: scheme === 'rediss' };
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (username !== '') connection.username = username;
    if (colon !== -1) connection.password = decode(userinfo.slice(colon + 1));
  }

  const path = match[3] as string;
  if (path !== '' && path !== '/') {
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
  for (const name of params.keys()) {
    if (!KNOWN.includes(name)) {
      throw configurationError(`unknown redis store URL option '${name}'; known: ${KNOWN.join(', ')}`);
    }
  }
  const tls = params.get('tls');
  if (tls !== null) {
    if (tls !== 'true' && tls !== 'false')
      throw configurationError('redis store URL option tls must be true or false');
    connection.tls = connection.tls || tls === 'true';
  }
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs', 'reconnectMaxDelayMs'] as const) {
    const value = wholeNumber(params, name);
    if (value !== undefined) connection[name] = value;
  }
  const prefix = params.get('prefix');
  return prefix === null ? { connection } : { connection, prefix };
}
