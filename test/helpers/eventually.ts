/**
 * Waits for something that happens asynchronously (a feed delivering, a server coming back), polling —
 * never a fixed sleep standing in for an assertion. Fails the test with `what` when it does not happen.
 */
import assert from 'node:assert/strict';

export interface EventuallyOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Between checks (default 10 ms). */
  intervalMs?: number;
  /** Treat a throwing check as "not yet" (a server still starting). */
  ignoreErrors?: boolean;
}

export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  options: EventuallyOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    let done = false;
    try {
      done = await check();
    } catch (error) {
      if (!options.ignoreErrors) throw error;
    }
    if (done) return;
    if (Date.now() >= deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
