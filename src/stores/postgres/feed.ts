/**
 * The revocation feed on LISTEN/NOTIFY. `addRevocation` inserts the row and calls pg_notify in one
 * statement (queries.ts), so the notification goes out when the row commits; `addRevocations` does the same
 * for many rows, announced as JSON arrays of up to about 6 kB each; each subscription holds its own
 * connection, outside the pool — a pooled connection goes back after each query and cannot stay LISTENing.
 *
 * NOTIFY is fire-and-forget: whatever is sent while a listener is not connected is lost for it. So the
 * subscription reports its state to the listener, which decides what to trust:
 * - `up` once LISTEN has succeeded (again): the listener reloads the full list;
 * - `down` the moment the connection is lost ('error' or 'end', a failed keepalive, a notification it could
 *   not deliver): the listener asks the store per request until the next `up`.
 * Then it reconnects by itself, with a growing delay (RETRY_MIN_MS doubling up to RETRY_MAX_MS, jittered so
 * that many instances do not reconnect in step), until `close()`.
 *
 * A connection can also die silently (a host gone, a dropped NAT entry): nothing arrives, no error either.
 * Every `keepaliveMs` the subscription runs `SELECT 1` on it; no answer within `keepaliveMs` counts as lost.
 */
import pg from 'pg';
import type { RevocationListener, RevocationRecord, RevocationSubscription } from '../../core/store.js';
import { quoteIdentifier } from './queries.js';

export interface FeedSettings {
  /** Settings for the subscription's own client. */
  client: pg.ClientConfig;
  channel: string;
  /** How often the connection is checked with `SELECT 1`, and how long the answer may take; 0: never. */
  keepaliveMs: number;
  /** Reads revocation number `seq`, announced without its record (too long for a payload). */
  load(seq: number): Promise<RevocationRecord | null>;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 2000;
/** Connecting and LISTEN fail after this long when the pool sets no connection timeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** The delay before reconnect attempt `failures` (0 first): half to all of min(max, min·2^failures). */
export function retryDelay(failures: number): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * The listener's client settings: the pool's (host, user, TLS, …), named after the channel so that it can be
 * told apart in pg_stat_activity (a connection string's own application_name wins), with TCP keepalive on
 * and a bounded connection timeout.
 */
export function listenerClientConfig(pool: pg.Pool, channel: string): pg.ClientConfig {
  const options = pool.options;
  return {
    ...options,
    // pg-pool keeps the password as a non-enumerable property, which the spread above does not copy.
    password: options.password,
    application_name: channel,
    keepAlive: true,
    connectionTimeoutMillis: options.connectionTimeoutMillis || DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

type Announced = RevocationRecord | { seq: number };

/** One announced revocation: the record, or `{ seq }` for one too long to send. */
function parseAnnounced(value: unknown): Announced | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  if (Number.isSafeInteger(fields.seq)) return { seq: fields.seq as number };
  const { kind, id, at, expiresAt } = fields;
  if ((kind !== 'login' && kind !== 'user') || typeof id !== 'string' || !isTime(at) || !isTime(expiresAt)) {
    return undefined;
  }
  return { kind, id, at, expiresAt };
}

/**
 * A payload as the store writes it: one revocation (insertRevocation) or an array of them (a chunk of
 * insertRevocations). Undefined when it is not one keycard wrote, or any part of it is not.
 */
export function parsePayload(payload: string | undefined): Announced[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return undefined;
  }
  const items = Array.isArray(value) ? value : [value];
  const parsed: Announced[] = [];
  for (const item of items) {
    const announced = parseAnnounced(item);
    if (announced === undefined) return undefined;
    parsed.push(announced);
  }
  return parsed;
}

export class RevocationFeed implements RevocationSubscription {
  /** The client holding LISTEN, while the feed is up. */
  private client: pg.Client | undefined;
  /** The connection attempt in progress (or the last one). */
  private attempt: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private reported: 'up' | 'down' | undefined;
  private closed = false;

  constructor(
    private readonly settings: FeedSettings,
    private readonly listener: RevocationListener,
  ) {}

  /** The first attempt: resolves once it has reported `up`, or `down` with a retry scheduled. */
  start(): Promise<void> {
    this.attempt = this.connect();
    return this.attempt;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.keepaliveTimer);
    const client = this.client;
    this.client = undefined;
    // An attempt still in flight sees `closed` when it settles and ends its own client.
    await this.attempt;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.settings.client);
    // Without an 'error' listener pg would crash the process; 'end' follows every loss, even a quiet one.
    client.on('error', () => this.lose(client));
    client.on('end', () => this.lose(client));
    client.on('notification', (message) => this.receive(client, message));
    try {
      await client.connect();
      await client.query({
        text: `LISTEN ${quoteIdentifier(this.settings.channel)}`,
        query_timeout: this.settings.client.connectionTimeoutMillis,
      } as pg.QueryConfig);
    } catch {
      client.end().catch(() => {});
      if (!this.closed) {
        this.report('down');
        this.retry();
      }
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.failures = 0;
    this.report('up');
    this.keepalive(client);
  }

  /** The connection is gone or cannot be trusted: report `down` at once and start reconnecting. */
  private lose(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = undefined;
    clearTimeout(this.keepaliveTimer);
    // With a query outstanding (a keepalive that got no answer) pg destroys the socket rather than wait.
    client.end().catch(() => {});
    this.report('down');
    this.retry();
  }

  private retry(): void {
    const delay = retryDelay(this.failures++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.attempt = this.connect();
    }, delay);
  }

  private keepalive(client: pg.Client): void {
    const { keepaliveMs } = this.settings;
    if (keepaliveMs === 0) return;
    this.keepaliveTimer = setTimeout(() => {
      client.query({ text: 'SELECT 1', query_timeout: keepaliveMs } as pg.QueryConfig).then(
        () => {
          if (client === this.client) this.keepalive(client);
        },
        () => this.lose(client),
      );
    }, keepaliveMs);
    this.keepaliveTimer.unref();
  }

  private receive(client: pg.Client, message: pg.Notification): void {
    if (client !== this.client || message.channel !== this.settings.channel) return;
    const parsed = parsePayload(message.payload);
    if (parsed === undefined) {
      // Not a payload keycard wrote: something may have been missed, so the listener resynchronises.
      this.lose(client);
      return;
    }
    for (const announced of parsed) {
      if (client !== this.client) return;
      if ('seq' in announced) this.load(client, announced.seq);
      else this.deliver(client, announced);
    }
  }

  private load(client: pg.Client, seq: number): void {
    this.settings.load(seq).then(
      (record) => {
        // Null: pruned already, so expired — nothing left to enforce.
        if (record && client === this.client) this.deliver(client, record);
      },
      () => this.lose(client),
    );
  }

  private deliver(client: pg.Client, record: RevocationRecord): void {
    try {
      this.listener.revoked(record);
    } catch {
      // A listener that failed to take a revocation is made to reload rather than left behind.
      this.lose(client);
    }
  }

  /** Tells the listener about a change of state (never the same state twice in a row). */
  private report(state: 'up' | 'down'): void {
    if (this.reported === state) return;
    this.reported = state;
    try {
      this.listener.status(state);
    } catch {
      // The listener's failure is its own; the feed's state stays what it is.
    }
  }
}
