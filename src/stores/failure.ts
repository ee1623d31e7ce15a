/**
 * Store failures that say what is wrong: which server (host, port, database — never a password) and why
 * (connection refused, timed out, authentication failed, …), with what to do about it.
 *
 * `keycard serve` at start-up and every CLI command print `describeStoreFailure` as their one line;
 * `/readyz` answers the reason alone (its body is public: no host names) and logs the whole line.
 *
 * The reason is read from the driver's error by its documented shape, without importing any driver (they
 * are optional peers): Node's network error codes, PostgreSQL's SQLSTATEs (pg's DatabaseError.code),
 * Redis's reply prefixes (WRONGPASS, NOAUTH, …) and ioredis's own messages, MongoDB's server error codes
 * and its server-selection error, whose per-server errors carry the network cause.
 */
import { KeycardError } from '../core/errors.js';
import { redactSecrets } from './redact.js';
import { parseStoreURL, type StoreKind } from './url.js';

export type StoreFailureReason =
  | 'connection_refused'
  | 'timed_out'
  | 'host_not_found'
  | 'authentication_failed'
  | 'permission_denied'
  | 'database_not_found'
  | 'database_out_of_range'
  | 'tls_required'
  | 'tls_unavailable'
  | 'connection_reset'
  | 'unknown';

/** The reason in a few words: what /readyz answers. */
export const STORE_FAILURE_LABELS: Readonly<Record<StoreFailureReason, string>> = Object.freeze({
  connection_refused: 'connection refused',
  timed_out: 'timed out',
  host_not_found: 'host not found',
  authentication_failed: 'authentication failed',
  permission_denied: 'permission denied',
  database_not_found: 'database does not exist',
  database_out_of_range: 'database number out of range',
  tls_required: 'TLS required',
  tls_unavailable: 'TLS not offered by the server',
  connection_reset: 'connection reset by the server',
  unknown: 'unknown cause',
});

/** Node's error codes for network failures (errno names, as `net` and `dns` set them). */
const NETWORK_CODES: Readonly<Record<string, StoreFailureReason>> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  ETIMEDOUT: 'timed_out',
  ENETUNREACH: 'timed_out',
  EHOSTUNREACH: 'timed_out',
  ENOTFOUND: 'host_not_found',
  EAI_AGAIN: 'host_not_found',
  EAI_NONAME: 'host_not_found',
};

/** PostgreSQL SQLSTATEs (Appendix A of its manual). 28000 is refined by its message below. */
const SQLSTATES: Readonly<Record<string, StoreFailureReason>> = {
  '28P01': 'authentication_failed', // invalid_password
  '28000': 'authentication_failed', // invalid_authorization_specification: unknown role, pg_hba reject
  '3D000': 'database_not_found', // invalid_catalog_name
  '42501': 'permission_denied', // insufficient_privilege
};

/** MongoDB server error codes (error_codes.yml in the server's source). */
const MONGODB_CODES: Readonly<Record<number, StoreFailureReason>> = {
  18: 'authentication_failed', // AuthenticationFailed
  13: 'permission_denied', // Unauthorized
};

/** Messages that carry the reason when no code does. */
const MESSAGES: readonly [RegExp, StoreFailureReason][] = [
  // pg: the server's pg_hba.conf has only `hostssl` lines for us (SQLSTATE 28000, checked before it).
  [/no pg_hba\.conf entry .*no encryption/, 'tls_required'],
  [/The server does not support SSL connections/, 'tls_unavailable'],
  // pg, when the server asks for a password and the URL has none.
  [/client password must be a string/, 'authentication_failed'],
  [/timeout expired|connection timeout|Query read timeout/i, 'timed_out'],
  // Redis replies (the prefix is the error's kind) and ioredis's own command timeout.
  [/^(WRONGPASS|NOAUTH)\b/, 'authentication_failed'],
  [/^NOPERM\b/, 'permission_denied'],
  [/DB index is out of range/, 'database_out_of_range'],
  [/^Command timed out$/, 'timed_out'],
  // MongoDB's server selection, whose message is often the last server's network error.
  [/\bECONNREFUSED\b/, 'connection_refused'],
  [/\bENOTFOUND\b|\bEAI_AGAIN\b/, 'host_not_found'],
  [/timed out/i, 'timed_out'],
];

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
  errors?: unknown;
  reason?: { servers?: unknown };
  lastNodeError?: unknown;
}

/**
 * The error and the ones it wraps: `cause`, an AggregateError's `errors`, MongoDB's per-server errors,
 * ioredis's `lastNodeError` (a Cluster none of whose nodes answered).
 */
function* chain(error: unknown, depth = 0): Generator<ErrorShape> {
  if (depth > 5 || typeof error !== 'object' || error === null) return;
  const shape = error as ErrorShape;
  yield shape;
  if (Array.isArray(shape.errors)) for (const inner of shape.errors) yield* chain(inner, depth + 1);
  const servers = shape.reason?.servers;
  if (servers instanceof Map) {
    for (const server of servers.values()) yield* chain((server as { error?: unknown }).error, depth + 1);
  }
  yield* chain(shape.lastNodeError, depth + 1);
  yield* chain(shape.cause, depth + 1);
}

function reasonOf(shape: ErrorShape): StoreFailureReason | undefined {
  const message = typeof shape.message === 'string' ? shape.message : '';
  // A pg_hba rejection for want of TLS is SQLSTATE 28000 too: the message tells it apart.
  if (/no pg_hba\.conf entry .*no encryption/.test(message)) return 'tls_required';
  if (typeof shape.code === 'string') {
    const reason = NETWORK_CODES[shape.code] ?? SQLSTATES[shape.code];
    if (reason) return reason;
  }
  if (typeof shape.code === 'number' && /^Mongo/.test(String(shape.name))) {
    const reason = MONGODB_CODES[shape.code];
    if (reason) return reason;
  }
  return MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * Why a store failed, read from the driver's error (a `store_unavailable` KeycardError's cause included).
 * With the store's URL, one inference more: a plain `redis://` connection reset before any answer is what
 * a TLS-only port does (Redis sends nothing on a failed handshake, so that is all there is to go on).
 */
export function storeFailureReason(error: unknown, url?: string): StoreFailureReason {
  let found: StoreFailureReason = 'unknown';
  for (const shape of chain(error)) {
    const reason = reasonOf(shape);
    if (reason) {
      found = reason;
      break;
    }
  }
  if (found === 'connection_reset' && url !== undefined) {
    const endpoint = endpointOf(url);
    if (endpoint?.kind === 'redis' && !endpoint.tls) return 'tls_required';
  }
  return found;
}

/** Which server a store URL names: its hosts (with ports), database and user, as far as the URL says. */
interface Endpoint {
  kind: StoreKind;
  hosts: string;
  database: string | undefined;
  user: string | undefined;
  hasPassword: boolean;
  tls: boolean;
}

const DEFAULT_PORTS: Partial<Record<StoreKind, number>> = { postgres: 5432, redis: 6379, mongodb: 27017 };

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Read from the URL by hand, as drivers read them (several hosts are allowed, which `URL` refuses). Only
 * the user name, hosts and path are kept; the password never leaves this function.
 */
function endpointOf(url: string): Endpoint | undefined {
  let location: ReturnType<typeof parseStoreURL>;
  try {
    location = parseStoreURL(url);
  } catch {
    return undefined;
  }
  const kind = location.kind;
  if (kind === 'sqlite' || kind === 'memory') {
    const hosts = kind === 'sqlite' ? (location.path as string) : 'memory:';
    return { kind, hosts, database: undefined, user: undefined, hasPassword: false, tls: false };
  }
  const match = /^([a-z+]+):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?/i.exec(url);
  if (!match) return undefined;
  const scheme = (match[1] as string).toLowerCase();
  const authority = match[2] as string;
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const user = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  // Sentinels listen on 26379.
  const port = scheme === 'redis+sentinel' ? 26379 : DEFAULT_PORTS[kind];
  const hosts = authority
    .slice(at + 1)
    .split(',')
    .map((host) => (/:\d+$/.test(host) || scheme === 'mongodb+srv' || !port ? host : `${host}:${port}`))
    .join(',');
  const path = decode((match[3] as string).replace(/^\//, ''));
  const query = new URLSearchParams(match[4] ?? '');
  let database: string | undefined = path === '' ? undefined : path;
  // redis+sentinel://…/<master name>[/<db>]
  if (scheme === 'redis+sentinel') database = database?.split('/')[1] || undefined;
  if (kind === 'redis') database = scheme === 'redis+cluster' ? undefined : (database ?? '0');
  // pg (like libpq) connects to the database named as the user when the URL names none.
  if (kind === 'postgres') database ??= user || undefined;
  if (kind === 'mongodb') database ??= 'keycard';
  const sslmode = query.get('sslmode') ?? query.get('ssl');
  return {
    kind,
    hosts,
    database,
    user: user === '' ? undefined : user,
    hasPassword: colon !== -1 || query.has('password'),
    tls:
      scheme === 'rediss' ||
      query.get('tls') === 'true' ||
      (sslmode !== null && !['disable', 'false', '0'].includes(sslmode)),
  };
}

const SERVER_NAMES: Record<StoreKind, string> = {
  postgres: 'PostgreSQL',
  redis: 'Redis',
  mongodb: 'MongoDB',
  sqlite: 'SQLite',
  memory: 'memory',
};

/** The reason with what to do about it, for this store. */
function advice(reason: StoreFailureReason, endpoint: Endpoint): string | undefined {
  const server = SERVER_NAMES[endpoint.kind];
  const user = endpoint.user ? ` for user '${endpoint.user}'` : '';
  switch (reason) {
    case 'connection_refused':
      return `connection refused; is ${server} running there and listening on that port?`;
    case 'timed_out':
      return endpoint.kind === 'redis' && endpoint.tls
        ? 'timed out; check the host, the port and any firewall in between (a server without TLS never answers a rediss:// handshake: use redis:// for it)'
        : 'timed out; check the host, the port and any firewall in between, and that the server is not overloaded';
    case 'host_not_found':
      return 'host not found; check the host name in the store URL';
    case 'authentication_failed':
      return endpoint.hasPassword || endpoint.kind === 'mongodb'
        ? `authentication failed${user}; check the user name and password in the store URL`
        : `authentication failed${user}; the server asks for a password and the store URL has none`;
    case 'permission_denied':
      return endpoint.kind === 'postgres'
        ? `permission denied${user}; grant the privileges keycard needs on its schema, or run keycard migrate as the schema's owner`
        : `permission denied${user}; allow the user the commands keycard needs`;
    case 'database_not_found':
      return `database does not exist; create it, or fix the database name in the store URL`;
    case 'database_out_of_range':
      return `database number out of range; this server has no database ${endpoint.database} (Redis has 16, numbered 0 to 15, unless redis.conf sets databases)`;
    case 'tls_required':
      return endpoint.kind === 'postgres'
        ? 'TLS required; the server accepts only encrypted connections: add sslmode=verify-full to the store URL (docs/stores-postgres.md)'
        : 'TLS required, most likely; the server reset the connection without answering, as a TLS-only port does: use rediss://';
    case 'connection_reset':
      return "connection reset by the server before it answered; the server's log says why";
    case 'tls_unavailable':
      return 'TLS not offered by the server; enable it there, or remove sslmode from the store URL';
    case 'unknown':
      return undefined;
  }
}

/**
 * One line for an operator: `the postgres store at db.internal:5432, database 'app', cannot be used:
 * authentication failed for user 'keycard': check the user name and password in the store URL`.
 * Never the password: the URL is read without it, and the driver's message (shown for a reason not
 * recognised) goes through `redactSecrets`.
 */
export function describeStoreFailure(url: string, error: unknown): string {
  const endpoint = endpointOf(url);
  const reason = storeFailureReason(error, url);
  if (!endpoint) return `the store cannot be used: ${STORE_FAILURE_LABELS[reason]}`;
  const name = endpoint.database;
  const database = name === undefined ? '' : ` (database ${/^\d+$/.test(name) ? name : `'${name}'`})`;
  const where = `the ${endpoint.kind} store at ${endpoint.hosts}${database}`;
  const told = advice(reason, endpoint);
  if (told) return `${where} cannot be used: ${told}`;
  // ioredis's Cluster reports no node's own error, only that none gave it the slot table.
  if ([...chain(error)].some((shape) => shape.name === 'ClusterAllFailedError')) {
    return `${where} cannot be used: no seed node of the Redis Cluster answered; check the hosts and ports, and that the nodes run in cluster mode`;
  }
  // The driver's own words, not keycard's generic "cannot be reached".
  const driver = [...chain(error)]
    .filter((shape) => shape.name !== 'KeycardError')
    .map((shape) => shape.message)
    .find((message) => typeof message === 'string' && message !== '');
  const detail =
    typeof driver === 'string' ? redactSecrets(driver, url, { hideUser: true }).split('\n')[0] : '';
  return `${where} cannot be used${detail ? `: ${detail}` : ''}`;
}

/**
 * The error a store that could not be opened throws: `store_unavailable` with `describeStoreFailure` as its
 * message, the driver's error kept as `cause` for logs. Other KeycardErrors (a bad URL option) pass as they
 * are.
 */
export function storeOpenError(url: string, error: unknown): unknown {
  if (error instanceof KeycardError && error.code !== 'store_unavailable') return error;
  const cause = error instanceof KeycardError ? (error.cause ?? error) : error;
  return new KeycardError('store_unavailable', describeStoreFailure(url, cause), { cause });
}
