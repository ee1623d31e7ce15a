/** Self-signed certificates for private TLS servers in tests (PostgreSQL with ssl=on, Redis with tls-port). */
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { IN_CI } from './services.js';

/** A skip reason when `openssl` (for a test certificate) is missing; throws under CI=true. */
export function opensslSkipReason(): string | undefined {
  if (spawnSync('openssl', ['version']).status === 0) return undefined;
  const reason = 'openssl is not installed (it makes the test certificate of a TLS server)';
  if (IN_CI) throw new Error(`CI=true: ${reason}`);
  return reason;
}

/** A self-signed certificate and key for localhost, in `dir` as server.crt and server.key. */
export function writeTestCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  chmodSync(key, 0o600);
  return { cert, key };
}
