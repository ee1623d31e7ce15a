/**
 * Keeps an instance's RevocationList in step with the store's revocation feed, and fails closed when it
 * cannot:
 * - at start it subscribes, then loads every live revocation; once both are done it is *synced* and a
 *   check is a memory lookup;
 * - while the feed is down (connection lost, not yet resubscribed and reloaded) a check asks the store
 *   instead — one round trip — so a revocation made during the gap can never be missed; if the store is
 *   down too, the check throws `store_unavailable` and the request gets 503;
 * - when the feed comes back it reloads the full list (anything published meanwhile was lost), and only
 *   then trusts memory again.
 */
import type { Clock } from '../clock.js';
import type { RevocationRecord, RevocationSubscription, Store } from '../store.js';
import { RevocationList } from './list.js';

export type FeedState = 'starting' | 'synced' | 'unsynced' | 'closed';

export interface RevocationMonitorOptions {
  clock: Clock;
  /** Wait before reloading again after a failed reload (ms). Default 1000. */
  retryMs?: number;
  /** How often expired entries are forgotten (ms). Default 60 000. */
  pruneIntervalMs?: number;
  onStateChange?: (state: FeedState) => void;
  onError?: (error: unknown) => void;
}

/** Watches the feed from outside, for metrics: what arrives, how late, and the feed's state. */
export interface FeedObserver {
  /**
   * A revocation arrived on the feed, `lagMs` after it was made (the receiving clock minus the record's
   * `at`, so clock skew between instances shows in it). This instance's own revocations come back too.
   */
  revoked?(record: RevocationRecord, lagMs: number): void;
  stateChanged?(state: FeedState): void;
}

export class RevocationMonitor {
  readonly list = new RevocationList();
  private state: FeedState = 'starting';
  private subscription: RevocationSubscription | null = null;
  /** Incremented on every `down`/`up`, so a reload that finishes after a newer change is discarded. */
  private generation = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly observers: FeedObserver[] = [];

  constructor(
    private readonly store: Store,
    private readonly options: RevocationMonitorOptions,
  ) {
    const prune = setInterval(() => this.list.prune(options.clock.now()), options.pruneIntervalMs ?? 60_000);
    prune.unref();
    this.timers.push(prune);
  }

  get feedState(): FeedState {
    return this.state;
  }

  /** Adds an observer (metrics); it sees what happens from now on. */
  observe(observer: FeedObserver): void {
    this.observers.push(observer);
  }

  /** Subscribes; resolves once subscribed (syncing continues in the background). */
  async start(): Promise<void> {
    this.subscription = await this.store.subscribeRevocations({
      revoked: (record) => {
        this.list.apply(record);
        if (this.observers.length === 0) return;
        const lagMs = this.options.clock.now() - record.at;
        for (const observer of this.observers) observer.revoked?.(record, lagMs);
      },
      status: (state) => (state === 'up' ? this.resync() : this.lose()),
    });
    if (this.state === 'closed') await this.subscription.close();
  }

  /**
   * Is a token revoked? Synced: answered from memory (a boolean). Otherwise: asked of the store (a
   * promise), which throws `store_unavailable` when the store cannot answer.
   */
  check(loginId: string, userId: string, issuedAt: number): boolean | Promise<boolean> {
    if (this.state === 'synced') return this.list.isRevoked(loginId, userId, issuedAt);
    if (this.list.isRevoked(loginId, userId, issuedAt)) return true;
    return this.store.isRevoked({ loginId, userId, issuedAt }, this.options.clock.now());
  }

  /** Applies a revocation this instance made, at once (the feed will deliver it again; that is harmless). */
  applyLocal(record: RevocationRecord): void {
    this.list.apply(record);
  }

  async close(): Promise<void> {
    this.setState('closed');
    for (const timer of this.timers) clearInterval(timer);
    await this.subscription?.close();
  }

  private lose(): void {
    if (this.state === 'closed') return;
    this.generation++;
    this.setState('unsynced');
  }

  private resync(): void {
    if (this.state === 'closed') return;
    const generation = ++this.generation;
    this.setState('unsynced');
    const reload = async () => {
      try {
        const records = await this.store.listRevocations(this.options.clock.now());
        if (generation !== this.generation || this.state === 'closed') return;
        for (const record of records) this.list.apply(record);
        this.setState('synced');
      } catch (error) {
        this.options.onError?.(error);
        if (generation !== this.generation || this.state === 'closed') return;
        const retry = setTimeout(reload, this.options.retryMs ?? 1000);
        retry.unref();
      }
    };
    void reload();
  }

  private setState(state: FeedState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStateChange?.(state);
    for (const observer of this.observers) observer.stateChanged?.(state);
  }
}
