/**
 * User enumeration by timing: login latency for an unknown username against an existing user with the
 * wrong password, over HTTP to one `keycard serve` (session strategy, SQLite — the defaults), in its own
 * process. DESIGN.md promises that "an unknown user costs the same time as a wrong password": both run one
 * Argon2id verification (a dummy hash for the unknown user). The abuse suite asserts no timing; this
 * measures it.
 *
 * The probes alternate (unknown, known, unknown, …), one at a time on a fresh connection each, so both see
 * the same machine. Throttling stays out of the way without being switched off: every attempt comes from
 * its own loopback source address (127.x.y.z, all local on Linux), so no address collects failures, and
 * the attempts are spread over 20 existing and 20 unknown accounts, so no account reaches the "under
 * attack" threshold (docs/security.md). Every answer must be the same 401 body, or the run fails.
 *
 * Run: npm run bench -- enumeration. Knobs: BENCH_ENUMERATION_SAMPLES (per probe, default 200).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createKeycard } from 'keycard';
import { openStore } from 'keycard/stores';
import { startServer } from './lib/process.js';
import type { Section } from './lib/report.js';
import { ms, percentile, ratio } from './lib/stats.js';
import { BENCH_PASSWORD } from './servers/common.js';

const SAMPLES = Math.max(10, Math.round(Number(process.env.BENCH_ENUMERATION_SAMPLES ?? 200)));
const WARMUP = 20;
/** Accounts per probe: `alice` (created by the bench server) and 19 more; 20 names nobody has. */
const ACCOUNTS = 20;
const KNOWN = [
  'alice',
  ...Array.from({ length: ACCOUNTS - 1 }, (_, i) => `member${String(i + 1).padStart(2, '0')}`),
];
const UNKNOWN = Array.from({ length: ACCOUNTS }, (_, i) => `ghost${String(i + 1).padStart(2, '0')}`);
const WRONG_PASSWORD = 'not the password at all';

type Probe = 'unknown user' | 'existing user, wrong password';

let nextAddress = 0;
/** A loopback source address no attempt has used yet: 127.1.0.1, 127.1.0.2, … */
function freshSourceAddress(): string {
  const n = ++nextAddress;
  return `127.${1 + Math.floor(n / 65_536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** One login attempt from its own address; resolves with the latency (ms), status and body. */
function attempt(port: number, username: string): Promise<{ ms: number; status: number; body: string }> {
  const body = JSON.stringify({ username, password: WRONG_PASSWORD });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/auth/login',
        method: 'POST',
        localAddress: freshSourceAddress(),
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            ms: performance.now() - started,
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates the existing accounts besides alice in the SQLite file the server will open. */
async function createAccounts(storeURL: string): Promise<void> {
  const store = await openStore(storeURL);
  const keycard = createKeycard({ store });
  try {
    for (const username of KNOWN.slice(1)) await keycard.users.create({ username, password: BENCH_PASSWORD });
  } finally {
    await keycard.close();
    await store.close();
  }
}

export async function runEnumerationBench(): Promise<Section[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-bench-enumeration-'));
  const storeURL = `sqlite:${join(dir, 'keycard.db')}`;
  const samples: Record<Probe, number[]> = { 'unknown user': [], 'existing user, wrong password': [] };
  let reference: string | undefined;
  try {
    await createAccounts(storeURL);
    const server = await startServer('keycard serve, session, sqlite', 'keycard-serve', {
      BENCH_STRATEGY: 'session',
      BENCH_STORE_URL: storeURL,
    });
    try {
      const total = WARMUP + SAMPLES;
      for (let i = 0; i < total; i++) {
        // Alternating, and which probe goes first alternates too, so neither always follows the other.
        const order: Probe[] =
          i % 2 === 0
            ? ['unknown user', 'existing user, wrong password']
            : ['existing user, wrong password', 'unknown user'];
        for (const probe of order) {
          const names = probe === 'unknown user' ? UNKNOWN : KNOWN;
          const result = await attempt(server.port, names[i % ACCOUNTS] as string);
          reference ??= result.body;
          if (result.status !== 401 || result.body !== reference) {
            throw new Error(`enumeration: ${probe} answered ${result.status} ${result.body.slice(0, 200)}`);
          }
          if (i >= WARMUP) samples[probe].push(result.ms);
        }
        if ((i + 1) % 50 === 0) console.error(`  ${i + 1}/${total} pairs`);
      }
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = (values: number[]) => ({
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  });
  const unknown = summary(samples['unknown user']);
  const known = summary(samples['existing user, wrong password']);
  const row = (name: string, s: ReturnType<typeof summary>) => [
    name,
    String(s.n),
    ms(s.p50),
    ms(s.p90),
    ms(s.p99),
    ms(s.mean),
  ];
  return [
    {
      title: 'User enumeration by timing: unknown user vs wrong password',
      notes: [
        `POST /auth/login over HTTP to keycard serve (session, SQLite, Argon2id m=19 MiB, t=2, p=1), ${SAMPLES} attempts per probe after ${WARMUP} warm-up pairs, alternating, one at a time, each on a new connection from its own loopback address (so throttling never answers).`,
        'Every answer was the same 401 body. The last row is existing ÷ unknown: 1.00× means the two cannot be told apart by time at this resolution.',
      ],
      headers: ['probe', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms'],
      rows: [
        row('unknown user', unknown),
        row('existing user, wrong password', known),
        [
          '**ratio (existing ÷ unknown)**',
          '',
          ratio(known.p50 / unknown.p50),
          ratio(known.p90 / unknown.p90),
          ratio(known.p99 / unknown.p99),
          ratio(known.mean / unknown.mean),
        ],
      ],
      data: { unknown, known },
    },
  ];
}
