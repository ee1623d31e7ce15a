/**
 * The Redis store's revocation feed: a dedicated connection SUBSCRIBEd to the store's channel, which
 * tells its listener `up` once Redis has acknowledged the SUBSCRIBE and `down` the moment that connection
 * is lost — so the listener knows exactly when it may be missing messages (Redis pub/sub is
 * fire-and-forget: a message published while nobody listens is gone).
 *
 * The feed manages its connection itself rather than through ioredis's auto-reconnect and
 * auto-resubscribe, because those happen silently: ioredis offers no event for "resubscribed", and its
 * Cluster subscriber moves to another node with no event at all. Here each attempt is a fresh connection
 * that never reconnects by itself (`retryStrategy` returns null); when it closes, the feed reports
 * `down`, waits (at once after a connection that was up, then 50 ms, 100 ms, … capped), and opens the
 * next one — on a Cluster, to the next known node, so a node that is gone is left behind.
 *
 * A connection that hangs without closing (a partition, a paused server) would look alive forever: a
 * PING every `heartbeatMs` (allowed in subscriber mode) that is still unanswered at the next beat
 * reports `down` and drops the connection. So a silent gap lasts at most two heartbeats.
 */
import type { Redis } from 'ioredis';
import type { RevocationListener, RevocationSubscription } from '../../core/store.js';
import { reconnectDelay } from './connection.js';
import { parseRevocation } from './revocations.js';

export interface RevocationFeedOptions {
  channel: string;
  listener: RevocationListener;
  /**
   * A new connection (lazy, never reconnecting by itself, no auto-resubscribe) for attempt number
   * `attempt` (0, 1, …). It may throw when no node is known yet; that counts as a failed attempt.
   */
  openConnection(attempt: number): Redis;
  heartbeatMs: number;
  reconnectMaxDelayMs: number;
  /** Connection errors, listener errors and ignored messages, for logs. */
  onError(error: Error): void;
}

type FeedState = 'starting' | 'up' | 'down';

/**
 * Waits for `operation` unless the connection is lost first. When it is, the operation's own rejection
 * (which ioredis delivers later, on its own schedule) is caught here, never left unhandled.
 */
async function settledOrLost(operation: Promise<unknown>, lost: Promise<void>): Promise<void> {
  operation.catch(() => undefined);
  await Promise.race([operation, lost]);
}

export class RevocationFeed implements RevocationSubscription {
  private readonly options: RevocationFeedOptions;
  private state: FeedState = 'starting';
  private closed = false;
  private connection: Redis | null = null;
  /** Ends the current attempt early (close, a missed heartbeat) or the wait between attempts. */
  private interrupt: (() => void) | null = null;
  private readonly running: Promise<void>;
  private markStarted: () => void = () => undefined;
  /** Settles once the first attempt has subscribed or failed: `up` or `down` has been reported. */
  readonly started: Promise<void>;

  constructor(options: RevocationFeedOptions) {
    this.options = options;
    this.started = new Promise((resolve) => {
      this.markStarted = resolve;
    });
    this.running = this.run();
  }

  /** Stops delivering at once (nothing reaches the listener after this call), then ends the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection?.removeAllListeners('message');
    this.interrupt?.();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    for (let attempt = 0; !this.closed; attempt++) {
      const wasUp = await this.attempt(attempt);
      if (this.closed) break;
      failures = wasUp ? 0 : failures + 1;
      // Straight back after losing a connection that worked (a kill, a failover); slower while failing.
      await this.pause(wasUp ? 0 : reconnectDelay(failures, this.options.reconnectMaxDelayMs));
    }
    this.markStarted();
  }

  /** One connection's life: connect, subscribe, report `up`, wait until it is lost. True if it was up. */
  private async attempt(attempt: number): Promise<boolean> {
    let connection: Redis;
    try {
      connection = this.options.openConnection(attempt);
    } catch (error) {
      this.fail(error);
      return false;
    }
    this.connection = connection;
    // An 'error' event without a listener would crash the process; failures show up as 'close' anyway.
    connection.on('error', (error: Error) => this.fail(error));
    connection.on('message', (channel: string, message: string) => this.deliver(channel, message));
    let up = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const lost = new Promise<void>((resolve) => {
      this.interrupt = resolve;
      // Reported here, synchronously, rather than after the await below: not a tick later than needed.
      connection.once('close', () => {
        this.report('down');
        resolve();
      });
    });
    try {
      await settledOrLost(connection.connect(), lost);
      if (this.closed || connection.status !== 'ready') return false;
      await settledOrLost(connection.subscribe(this.options.channel), lost);
      if (this.closed || connection.status !== 'ready') return false;
      up = true;
      this.report('up');
      heartbeat = this.beat(connection, () => {
        this.options.onError(new Error('the revocation feed connection stopped answering PING'));
        this.report('down');
        this.interrupt?.();
      });
      await lost;
    } catch (error) {
      this.fail(error);
    } finally {
      clearInterval(heartbeat);
      this.interrupt = null;
      this.connection = null;
      connection.removeAllListeners('message');
      // A hung socket would not close on a polite QUIT; destroying it closes it now.
      connection.disconnect();
      connection.stream?.destroy();
    }
    this.report('down');
    return up;
  }

  /** PINGs every `heartbeatMs`; calls `dead` when the previous PING is still unanswered. */
  private beat(connection: Redis, dead: () => void): NodeJS.Timeout {
    let waiting = false;
    const timer = setInterval(() => {
      if (waiting) {
        clearInterval(timer);
        dead();
        return;
      }
      waiting = true;
      connection.ping().then(
        () => {
          waiting = false;
        },
        () => undefined, // the connection is closing; 'close' reports it
      );
    }, this.options.heartbeatMs);
    timer.unref();
    return timer;
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.interrupt = done;
    }).finally(() => {
      this.interrupt = null;
    });
  }

  private deliver(channel: string, message: string): void {
    if (this.closed || channel !== this.options.channel) return;
    const record = parseRevocation(message);
    if (!record) {
      this.options.onError(new Error('ignored a malformed message on the revocation channel'));
      return;
    }
    try {
      this.options.listener.revoked(record);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Tells the listener about a change of state, once per change, never after close. */
  private report(state: 'up' | 'down'): void {
    if (this.closed || this.state === state) return;
    this.state = state;
    try {
      this.options.listener.status(state);
    } catch (error) {
      this.fail(error);
    }
    this.markStarted();
  }

  private fail(error: unknown): void {
    if (!this.closed) this.options.onError(error instanceof Error ? error : new Error(String(error)));
  }
}
