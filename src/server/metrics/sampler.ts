/**
 * A gauge's value read from the store, at most once per interval: what `keycard_active_logins` is built
 * on. A count of every live login costs O(logins) on the store (a SCAN on Redis), so it must not run on
 * every scrape, nor once per scraper when several Prometheus servers scrape one instance. Nothing runs
 * between scrapes (no timer): a scrape that finds the value older than the interval reads it again and
 * waits for it; scrapes in the meantime get the cached value, and scrapes that arrive during a read share
 * it. A read that fails leaves no value — the gauge has no sample rather than a stale number that looks
 * current — until a read one interval later succeeds; the failure is the caller's to log (and the store
 * instrumentation counts it in `keycard_store_operation_errors_total`).
 */
import type { Clock } from 'keycard';

export interface Sampler {
  /** The latest value (read first when due), or null when the latest read failed. */
  value(): Promise<number | null>;
}

export interface SamplerOptions {
  clock: Clock;
  /** Reads at most once per this many milliseconds of `clock`. */
  intervalMs: number;
  onError(error: unknown): void;
}

export function createSampler(read: (now: number) => Promise<number>, options: SamplerOptions): Sampler {
  let latest: number | null = null;
  let readAt: number | null = null;
  let reading: Promise<void> | null = null;
  return {
    async value() {
      const now = options.clock.now();
      // A clock set back (a test's, or the system's) makes the value due too, rather than frozen.
      const due = readAt === null || now - readAt >= options.intervalMs || now < readAt;
      if (due && !reading) {
        readAt = now;
        reading = read(now).then(
          (value) => {
            latest = value;
          },
          (error: unknown) => {
            latest = null;
            options.onError(error);
          },
        );
        reading.finally(() => {
          reading = null;
        });
      }
      if (reading) await reading;
      return latest;
    },
  };
}
