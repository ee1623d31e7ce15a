/**
 * The revocation feed. SQLite has no channel between processes, so a subscription polls: every interval
 * it reads the rows added since the last sequence number it saw (`seq` is the table's AUTOINCREMENT key,
 * so the read is a range of the primary key, cheap when idle). A failed poll reports `down`; the next
 * good one reports `up`, and the listener reloads the full list as the contract says.
 */
import type { RevocationListener, RevocationSubscription } from '../../core/store.js';
import { type RevocationRow, toRevocation } from './rows.js';

export interface PollingSource {
  /** The sequence number of the newest row now: the feed delivers what comes after it. */
  lastSequence(): number;
  /** Rows after `seq`, oldest first. Throws `store_unavailable` when the file cannot be read. */
  rowsAfter(seq: number): (RevocationRow & { seq: number })[];
}

export interface PollingFeed extends RevocationSubscription {
  /** Stops polling at once (the store's close). */
  stop(): void;
}

export function pollRevocations(
  source: PollingSource,
  listener: RevocationListener,
  intervalMs: number,
  onStop: () => void,
): PollingFeed {
  let last = source.lastSequence();
  let up = true;
  const poll = () => {
    try {
      const rows = source.rowsAfter(last);
      if (!up) {
        up = true;
        listener.status('up');
      }
      for (const row of rows) {
        last = row.seq;
        listener.revoked(toRevocation(row));
      }
    } catch {
      if (up) {
        up = false;
        listener.status('down');
      }
    }
  };
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  queueMicrotask(() => listener.status('up'));
  const stop = () => {
    clearInterval(timer);
    onStop();
  };
  return {
    stop,
    close: async () => stop(),
  };
}
