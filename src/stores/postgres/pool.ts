/**
 * The connection pool the store creates when it is not given one, and the two ways the store borrows a
 * connection for more than one statement (a transaction; a session-level advisory lock).
 */
import pg from 'pg';
import { KeycardError } from '../../core/errors.js';
import { isStatementError, toStoreError } from './errors.js';

export interface PoolSettings {
  /** `postgres://user:password@host:5432/database`, with any of pg's own options (`?sslmode=require`). */
  connectionString: string;
  /** Most connections open at once; default 10. */
  poolMax?: number;
  /** An idle connection is closed after this long; default 30 000 ms (0: never). */
  idleTimeoutMs?: number;
  /** Connecting, or waiting for a free connection, fails after this long; default 5000 ms (0: no limit). */
  connectionTimeoutMs?: number;
  /** The server cancels a statement running longer than this; default 5000 ms (0: no limit). */
  statementTimeoutMs?: number;
}

export const POOL_DEFAULTS = {
  poolMax: 10,
  idleTimeoutMs: 30_000,
  connectionTimeoutMs: 5000,
  statementTimeoutMs: 5000,
} as const;

/**
 * Parsers pinned per query, so that a pool whose application changed pg's global parsers (int8 as BigInt
 * is common) still gives this store numbers and objects. jsonb goes through JSON.parse, which defines
 * `__proto__` as a plain own key.
 */
const INT8 = 20;
const BOOL = 16;
const JSONB = 3802;
export const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8) return Number;
    if (oid === BOOL) return (value: string) => value === 't';
    if (oid === JSONB) return JSON.parse;
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * pg's Client, except that a connection attempt that fails closes its socket. pg leaves it open after an
 * error it raises itself while authenticating — a server asking for a password the URL does not give
 * ("client password must be a string") — and a CLI command or a failed start then lingers until the
 * server's authentication_timeout (60 s by default) drops the connection.
 */
class ClosingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: ((err: Error) => void) | ((err: null, client: pg.Client) => void)): void;
  override connect(
    callback?: ((err: Error) => void) | ((err: null, client: pg.Client) => void),
  ): Promise<pg.Client> | undefined {
    const connecting = (super.connect() as Promise<unknown>).then(
      () => this,
      (error: unknown) => {
        (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        throw error;
      },
    );
    if (!callback) return connecting;
    const done = callback as (err: Error | null, client?: pg.Client) => void;
    connecting.then(
      (client) => done(null, client),
      (error: Error) => done(error),
    );
    return undefined;
  }
}

export function createPool(settings: PoolSettings): pg.Pool {
  const statementTimeoutMs = settings.statementTimeoutMs ?? POOL_DEFAULTS.statementTimeoutMs;
  return new pg.Pool({
    Client: ClosingClient,
    connectionString: settings.connectionString,
    max: settings.poolMax ?? POOL_DEFAULTS.poolMax,
    idleTimeoutMillis: settings.idleTimeoutMs ?? POOL_DEFAULTS.idleTimeoutMs,
    // pg waits forever by default: a down or unreachable server must fail a request, not hang it.
    connectionTimeoutMillis: settings.connectionTimeoutMs ?? POOL_DEFAULTS.connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // The client-side backstop for a server that stopped answering (a partition, a frozen host), where
    // statement_timeout never fires; a second later than the server's own so that one normally wins.
    query_timeout: statementTimeoutMs === 0 ? undefined : statementTimeoutMs + 1000,
    // A transaction left open by a stalled process must not hold row locks for long.
    idle_in_transaction_session_timeout: 30_000,
    keepAlive: true,
    application_name: 'keycard',
    // An idle pool does not keep a CLI command or a script alive.
    allowExitOnIdle: true,
  });
}

/** True when a connection is still usable after `error`: our own refusal, or a statement the server refused. */
function connectionSurvives(error: unknown): boolean {
  return error instanceof KeycardError || isStatementError(error);
}

/**
 * Borrows a connection for `work`. After a statement error the connection goes back to the pool; after any
 * other failure (dropped connection, timeout, a bug) it is destroyed rather than reused in an unknown state,
 * which also ends any session-level lock it held.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toStoreError(error);
  }
  // A connection error while checked out is reported to the running query as well; without a listener the
  // client's 'error' event would crash the process.
  const ignore = () => {};
  client.on('error', ignore);
  let failure: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    if (!connectionSurvives(error)) failure = error instanceof Error ? error : new Error(String(error));
    throw toStoreError(error);
  } finally {
    client.off('error', ignore);
    client.release(failure);
  }
}

/** Runs `work` in a transaction (READ COMMITTED), rolled back if it throws. */
export function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await work(client);
    } catch (error) {
      // A broken connection is not rolled back but destroyed (see withClient); the server then aborts it.
      if (connectionSurvives(error)) await client.query('ROLLBACK');
      throw error;
    }
    await client.query('COMMIT');
    return result;
  });
}
