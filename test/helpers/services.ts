/**
 * Real external components the tests need (Chromium now; Redis and PostgreSQL later). Locally a missing
 * component skips its tests with the reason printed; under CI=true it is a failure, never a silent skip.
 */
import { existsSync } from 'node:fs';

export const IN_CI = process.env.CI === 'true';

export const CHROMIUM_PATH = process.env.KEYCARD_CHROMIUM ?? '/usr/bin/chromium';

/** A skip reason when Chromium is missing locally; throws under CI. */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set KEYCARD_CHROMIUM)`;
  if (IN_CI) throw new Error(`CI=true: ${reason}`);
  return reason;
}

/** The flags Debian's Chromium needs here: root, no GPU, and no calls to Google's hosts. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
