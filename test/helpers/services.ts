/**
 * Real external components the tests need (Chromium now; Redis and PostgreSQL later). Locally a missing
 * component skips its tests with the reason printed; under CI=true it is a failure, never a silent skip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';

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

export const REDIS_URL = process.env.KEYCARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL =
  process.env.KEYCARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** No MongoDB server can be installed on our machines: its tests run only where this is set. */
export const MONGODB_URL = process.env.KEYCARD_TEST_MONGODB_URL;

/**
 * Runs `probe` (e.g. a PING) against a service. Returns undefined when it answers; locally returns a
 * skip reason when it does not; under CI=true throws, because CI must test every store we ship.
 */
export async function serviceSkipReason(
  name: string,
  probe: () => Promise<unknown>,
): Promise<string | undefined> {
  try {
    await probe();
    return undefined;
  } catch (error) {
    const reason = `${name} is not reachable (${(error as Error).message}); start it or set its KEYCARD_TEST_*_URL`;
    if (IN_CI) throw new Error(`CI=true: ${reason}`);
    return reason;
  }
}

let redisProbe: Promise<string | undefined> | undefined;

/** serviceSkipReason for the shared Redis (a PING), probed once per test file. */
export function redisSkipReason(): Promise<string | undefined> {
  redisProbe ??= serviceSkipReason('Redis', async () => {
    const probe = new Redis(REDIS_URL, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
    } finally {
      probe.disconnect();
    }
  });
  return redisProbe;
}

/** A short unique suffix for key prefixes and schema names, so concurrent test files never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A python3 with PyJWT and its cryptography backend (Debian: python3-jwt, python3-cryptography), for the
 * JOSE interoperability tests: KEYCARD_PYTHON, else Debian's /usr/bin/python3 (a pyenv or venv python3
 * earlier on PATH rarely sees Debian's packages), else python3 on PATH. Locally a missing one gives a
 * skip reason; under CI=true it throws.
 */
export function pythonJWT():
  | { python: string; skipReason?: undefined }
  | { python?: undefined; skipReason: string } {
  const candidates = process.env.KEYCARD_PYTHON
    ? [process.env.KEYCARD_PYTHON]
    : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import jwt, cryptography'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status === 0) return { python };
  }
  const reason = `no python3 with PyJWT among ${candidates.join(', ')} (apt-get install python3-jwt python3-cryptography, or set KEYCARD_PYTHON)`;
  if (IN_CI) throw new Error(`CI=true: ${reason}`);
  return { skipReason: reason };
}
