/**
 * The server's key file: the secrets keycard signs with, newest first (sign with the first, verify with
 * any). In development a missing file is generated with fresh random keys and a warning; in production
 * it must exist and is validated, so a deployment never runs on keys nobody chose.
 *
 * Format (version 1): { "version": 1, "secrets": [{ "id", "createdAt", "secret": base64url(≥32 bytes) }] }
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { configurationError } from 'keycard';

export interface SecretKey {
  id: string;
  createdAt: string;
  secret: Buffer;
}

export interface KeySet {
  path: string;
  /** Newest first. */
  secrets: SecretKey[];
  /** True when this start generated the file. */
  generated: boolean;
}

const MIN_SECRET_BYTES = 32;
/** Placeholders copied from examples are refused even if long enough. */
const WELL_KNOWN = [/^change.?me/i, /^secret/i, /^your.?secret/i, /^keyboard.?cat/i, /^(.)\1+$/];

function fail(path: string, problem: string): never {
  throw configurationError(`key file ${path}: ${problem}`);
}

function parseKeyFile(path: string, text: string): SecretKey[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail(path, 'is not valid JSON');
  }
  const file = json as { version?: unknown; secrets?: unknown };
  if (!file || typeof file !== 'object' || file.version !== 1)
    fail(path, 'must be an object with "version": 1');
  if (!Array.isArray(file.secrets) || file.secrets.length === 0)
    fail(path, '"secrets" must be a non-empty list');
  const ids = new Set<string>();
  return file.secrets.map((entry: unknown, index: number) => {
    const item = entry as { id?: unknown; createdAt?: unknown; secret?: unknown };
    if (typeof item?.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(item.id)) {
      fail(path, `secrets[${index}].id must be 1–64 letters, digits, _ or -`);
    }
    if (ids.has(item.id)) fail(path, `secrets[${index}].id '${item.id}' is used twice`);
    ids.add(item.id);
    if (typeof item.secret !== 'string' || !/^[A-Za-z0-9_-]+$/.test(item.secret)) {
      fail(path, `secrets[${index}].secret must be base64url`);
    }
    if (WELL_KNOWN.some((pattern) => pattern.test(item.secret as string))) {
      fail(
        path,
        `secrets[${index}].secret is a well-known placeholder; generate one with keycard keys generate`,
      );
    }
    const secret = Buffer.from(item.secret, 'base64url');
    if (secret.length < MIN_SECRET_BYTES) {
      fail(
        path,
        `secrets[${index}].secret has ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are required`,
      );
    }
    return { id: item.id, createdAt: String(item.createdAt ?? ''), secret };
  });
}

export function generateKeyFileContents(now = new Date()): string {
  const secret = {
    id: `k${now.getTime().toString(36)}`,
    createdAt: now.toISOString(),
    secret: randomBytes(32).toString('base64url'),
  };
  return `${JSON.stringify({ version: 1, secrets: [secret] }, null, 2)}\n`;
}

/**
 * Loads the key file; in development, creates it (mode 0600) when missing. In production a missing file
 * is an error that says how to create one.
 */
export function loadKeySet(path: string, environment: 'development' | 'production'): KeySet {
  if (!existsSync(path)) {
    if (environment === 'production') {
      fail(
        path,
        'does not exist; in production keys are never generated implicitly — create one with keycard keys generate',
      );
    }
    writeFileSync(path, generateKeyFileContents(), { mode: 0o600, flag: 'wx' });
    return { path, secrets: parseKeyFile(path, readFileSync(path, 'utf8')), generated: true };
  }
  return { path, secrets: parseKeyFile(path, readFileSync(path, 'utf8')), generated: false };
}
