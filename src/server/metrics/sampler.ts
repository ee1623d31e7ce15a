/**
 * A gauge's value read from the store, at most once per interval: what `keycard_active_logins` is built
 * on. A count of every live login costs O(logins) on the store (a SCAN on Redis), so it must not run on
 * every scrape, nor once per scraper when several Prometheus servers scrape one instance. Nothing runs
 * between scrapes (no timer): a scrape that finds the value due reads it again and waits for it; scrapes
 * in the meantime get the cached value, and scrapes that arrive during a read share it.
 *
 * Due means: the interval has passed since the last read started, and so has twenty times that read's
 * duration — so however large the store grows, counting keeps it busy at most a twentieth of the time
 * from each instance (a count of 5 s, a million logins on Redis, is repeated every 100 s, not every 30 s).
 *
 * A read that fails leaves no value — the gauge has no sample rather than a stale number that looks
 * current — until a read one interval later succeeds; the failure is the caller's to log (and the store
 * instrumentation counts it in `keycard_store_operation_errors_total`).
 */
import type { Clock } from 'keycard';

/** A read may take at most 1/BUSY_FACTOR of the time between reads. */
export const BUSY_FACTOR = 20;

export interface Sampler {
  /** The latest value (read first when due), or null when the latest read failed. */
  value(): Promise<number | null>;
}

export interface SamplerOptions {
  clock: Clock;
  /** Reads at most once per this many milliseconds of `clock` (longer after a slow read, see above). */
  intervalMs: number;
  onError(error: unknown): void;
}

export function createSampler(read: (now: number) => Promise<number>, options: SamplerOptions): Sampler {
  let latest: number | null = null;
  let startedAt: number | null = null;
  let nextAt = 0;
  let reading: Promise<void> | null = null;
  return {
    async value() {
      const now = options.clock.now();
      // A clock set back (a test's, or the system's) makes the value due too, rather than frozen.
      const due = startedAt === null || now >= nextAt || now < startedAt;
      if (due && !reading) {
        const started = now;
        startedAt = started;
        nextAt = started + options.intervalMs;
        const settle = (value: number | null): void => {
          latest = value;
          const took = Math.max(0, options.clock.now() - started);
          nextAt = started + Math.max(options.intervalMs, took * BUSY_FACTOR);
        };
        reading = read(now).then(settle, (error: unknown) => {
          settle(null);
          options.onError(error);
        });
        reading.finally(() => {
          reading = null;
        });
      }
      if (reading) await reading;
      return latest;
    },
  };
}
