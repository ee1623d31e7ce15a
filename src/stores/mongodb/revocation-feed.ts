/**
 * The revocation feed, by polling. Change streams would push, but they need a replica set, and this store
 * also runs on a standalone server; so, like SQLite, every instance polls.
 *
 * Why one feed document rather than a sequence number stamped on each revocation: with a counter
 * (`$inc`) then an insert, two writers can take numbers 5 and 6 and make 6 visible first; a poller that
 * reads `seq > 4` then moves past 6 and never sees 5 — a revoked token accepted by every instance until
 * it reloads. Only a single-document write is atomic without a transaction, so publishing is one update
 * of one document that increments `seq` *and* appends the entry (`$push` with `$slice` keeps the latest
 * `FEED_LENGTH`). Whoever reads `seq = n` reads entries up to `n`, in order: the feed has no gaps. A
 * poller that fell more than `FEED_LENGTH` behind, or finds the document re-created (a new `epoch`),
 * cannot tell what it missed, so it reports `down` then `up` and the listener reloads the full list.
 *
 * The contract wants a revocation stored before it is published: `addRevocation` inserts the record into
 * the revocations collection first, then publishes it here.
 */
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import type { RevocationListener, RevocationRecord, RevocationSubscription } from '../../core/store.js';
import { type RevocationFeedDocument, toRevocation, toRevocationEntry } from './documents.js';
import { retryUpsert } from './errors.js';

/** The feed document's `_id`, in its own collection. */
export const FEED_ID = 'revocations';

/**
 * How many of the latest revocations the feed document keeps (about 100 bytes each). A poller more than
 * this many behind reloads the full list instead, which is correct, only slower.
 */
export const FEED_LENGTH = 256;

export const DEFAULT_POLL_INTERVAL_MS = 250;

/** Where a poller is: the last `seq` it has seen, of which `epoch` (null: there was no feed document). */
export interface FeedPosition {
  seq: number;
  epoch: string | null;
}

/** Appends a revocation to the feed and counts it, in one atomic upsert. */
export async function publishRevocation(
  feed: Collection<RevocationFeedDocument>,
  record: RevocationRecord,
  newEpoch: () => string,
): Promise<void> {
  const update: UpdateFilter<RevocationFeedDocument> = {
    $inc: { seq: 1 },
    $push: { entries: { $each: [toRevocationEntry(record)], $slice: -FEED_LENGTH } },
    $setOnInsert: { epoch: newEpoch() },
  };
  await retryUpsert(() => feed.updateOne({ _id: FEED_ID }, update, { upsert: true }));
}

/**
 * What a poller reads: while it is up, only a feed document that moved past its position (null: nothing
 * new); otherwise the document as it is (null: there is none), to take a position from.
 */
export function feedFilter(since: FeedPosition | null): Filter<RevocationFeedDocument> {
  if (since === null || since.epoch === null) return { _id: FEED_ID };
  return { _id: FEED_ID, $or: [{ seq: { $ne: since.seq } }, { epoch: { $ne: since.epoch } }] };
}

export type FeedReader = (filter: Filter<RevocationFeedDocument>) => Promise<RevocationFeedDocument | null>;

/**
 * One subscription: polls every `intervalMs` (one poll at a time; the next is timed from the end of the
 * last, so a slow server never piles them up). States: `starting` until the first poll; `up` once a poll
 * has taken a position; `down` after a failed poll, reported once, until a poll succeeds again — which
 * takes a fresh position and reports `up`, and the listener reloads. A failed poll never throws.
 */
export class RevocationPoller implements RevocationSubscription {
  private state: 'starting' | 'up' | 'down' = 'starting';
  private position: FeedPosition | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly read: FeedReader,
    private readonly listener: RevocationListener,
    private readonly intervalMs: number,
    private readonly onClose: () => void = () => {},
  ) {}

  /** Polls at once (after the caller has the subscription), then every `intervalMs`. */
  start(): void {
    this.schedule(0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.onClose();
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const since = this.state === 'up' ? this.position : null;
    let document: RevocationFeedDocument | null;
    try {
      document = await this.read(feedFilter(since));
    } catch {
      // The store's error is not the listener's business: `down` says what it needs to know (fall back to
      // the store per request), and the next poll tries again.
      if (this.state !== 'down') this.report('down');
      this.state = 'down';
      this.schedule(this.intervalMs);
      return;
    }
    try {
      if (since === null) this.takePosition(document);
      else this.advance(since, document);
    } finally {
      // A listener that throws is a bug to surface, not a reason to stop polling.
      this.schedule(this.intervalMs);
    }
  }

  /** After start or a failure: from here on, everything is delivered; the listener reloads what came before. */
  private takePosition(document: RevocationFeedDocument | null): void {
    this.position = positionOf(document);
    this.state = 'up';
    this.report('up');
  }

  private advance(since: FeedPosition, document: RevocationFeedDocument | null): void {
    if (document === null) return; // nothing new (or no feed document at all yet)
    const entries = document.entries ?? [];
    const count = document.seq - since.seq;
    const sameEpoch = since.epoch === null || document.epoch === since.epoch;
    if (!sameEpoch || count < 0 || count > entries.length) {
      // Revocations were published that this poller can no longer see: reload.
      this.report('down');
      this.takePosition(document);
      return;
    }
    this.position = positionOf(document);
    for (const entry of entries.slice(entries.length - count)) {
      if (this.closed) return;
      this.listener.revoked(toRevocation(entry));
    }
  }

  private report(state: 'up' | 'down'): void {
    if (!this.closed) this.listener.status(state);
  }
}

function positionOf(document: RevocationFeedDocument | null): FeedPosition {
  return document === null ? { seq: 0, epoch: null } : { seq: document.seq, epoch: document.epoch };
}
