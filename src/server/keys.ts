/**
 * The server's key file: HMAC secrets (refresh-token successors; CSRF tokens later) and JWT signing keys,
 * newest first. In development a missing file, or a file without signing keys, is completed with fresh
 * random keys and a warning; in production it must exist and is validated, so a deployment never runs on
 * keys nobody chose.
 *
 * Format (version 1):
 *   { "version": 1,
 *     "secrets":     [{ "id", "createdAt", "secret": base64url(≥ 32 bytes) }],
 *     "signingKeys": [{ "kid", "alg", "createdAt", "activatesAt"?, "retiredAt"?, "jwk": private JWK }] }
 *
 * Rotation (`keycard keys rotate`) puts a new key first. It signs from `activatesAt` (default: at once;
 * `--delay` publishes it in the JWKS first, so every instance and verifier knows it before the first
 * token arrives). The key it replaces gets `retiredAt` and stays published and verifying for
 * `RETIRED_KEY_LIFETIME_MS` — longer than any access token lives (at most 24 h) — then rotation drops it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import {
  type Algorithm,
  configurationError,
  createKeySet,
  exportPrivateJWK,
  generateJWTKey,
  importJWK,
  isAlgorithm,
  type JWTKey,
  type KeySet,
} from 'keycard';

export interface SecretEntry {
  id: string;
  createdAt: string;
  secret: string;
}

export interface SigningKeyEntry {
  kid: string;
  alg: Algorithm;
  createdAt: string;
  activatesAt?: string;
  retiredAt?: string;
  jwk: Record<string, unknown>;
}

export interface KeyFile {
  version: 1;
  secrets: SecretEntry[];
  signingKeys: SigningKeyEntry[];
}

export interface ServerKeys {
  path: string;
  /** HMAC secrets, newest first. */
  secrets: Buffer[];
  /** JWT keys, newest first; `signing` is the newest active one. */
  jwtKeys: KeySet;
  /** Keys this start generated (development), for the warning. */
  generated: string[];
  /** The file's modification time when read or written, to notice rotation; 0 until it is written. */
  mtimeMs: number;
  /**
   * What `saveGeneratedKeys` writes: the file completed with the generated keys, and the text it replaces
   * (null: there was no file). Null when nothing was generated, or once saved.
   */
  pending: { file: KeyFile; previousText: string | null } | null;
}

/** Retired keys verify (and stay in the JWKS) this long: longer than the longest access token (24 h). */
export const RETIRED_KEY_LIFETIME_MS = 25 * 3600 * 1000;
const MIN_SECRET_BYTES = 32;
const WELL_KNOWN = [/^change.?me/i, /^secret/i, /^your.?secret/i, /^keyboard.?cat/i, /^(.)\1+$/];

function fail(path: string, problem: string): never {
  throw configurationError(`key file ${path}: ${problem}`);
}

function newSecret(now: Date): SecretEntry {
  return {
    id: `s${now.getTime().toString(36)}`,
    createdAt: now.toISOString(),
    secret: randomBytes(32).toString('base64url'),
  };
}

export function newSigningKey(alg: Algorithm, now: Date, activatesAt?: Date): SigningKeyEntry {
  const key = generateJWTKey(alg, `${alg.toLowerCase()}-${now.getTime().toString(36)}`);
  const entry: SigningKeyEntry = {
    kid: key.kid,
    alg,
    createdAt: now.toISOString(),
    jwk: exportPrivateJWK(key) as never,
  };
  if (activatesAt) entry.activatesAt = activatesAt.toISOString();
  return entry;
}

/** A complete new key file: one secret and one signing key of `alg`. */
export function generateKeyFile(alg: Algorithm = 'EdDSA', now = new Date()): KeyFile {
  return { version: 1, secrets: [newSecret(now)], signingKeys: [newSigningKey(alg, now)] };
}

export function serializeKeyFile(file: KeyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

function readDate(path: string, value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) fail(path, `${where} must be an ISO date`);
  return time;
}

/** Parses and validates the file's text; messages name the entry, never a secret. */
export function parseKeyFile(path: string, text: string): KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail(path, 'is not valid JSON');
  }
  const file = json as Partial<KeyFile> | null;
  if (!file || typeof file !== 'object' || file.version !== 1)
    fail(path, 'must be an object with "version": 1');
  if (!Array.isArray(file.secrets) || file.secrets.length === 0)
    fail(path, '"secrets" must be a non-empty list');
  const ids = new Set<string>();
  file.secrets.forEach((entry, index) => {
    const item = entry as Partial<SecretEntry> | null;
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
    const bytes = Buffer.from(item.secret, 'base64url').length;
    if (bytes < MIN_SECRET_BYTES)
      fail(path, `secrets[${index}].secret has ${bytes} bytes; at least ${MIN_SECRET_BYTES} are required`);
  });
  const signingKeys = file.signingKeys ?? [];
  if (!Array.isArray(signingKeys)) fail(path, '"signingKeys" must be a list');
  signingKeys.forEach((entry, index) => {
    const item = entry as Partial<SigningKeyEntry> | null;
    if (!item || typeof item !== 'object') fail(path, `signingKeys[${index}] must be an object`);
    if (!isAlgorithm(item.alg)) fail(path, `signingKeys[${index}].alg must be EdDSA, ES256, RS256 or HS256`);
    if (!item.jwk || typeof item.jwk !== 'object')
      fail(path, `signingKeys[${index}].jwk must be a private JWK`);
    readDate(path, item.activatesAt, `signingKeys[${index}].activatesAt`);
    readDate(path, item.retiredAt, `signingKeys[${index}].retiredAt`);
  });
  return {
    version: 1,
    secrets: file.secrets as SecretEntry[],
    signingKeys: signingKeys as SigningKeyEntry[],
  };
}

/**
 * The JWT key set as of `now`: keys not yet active are published (verify-only); the newest active key
 * signs; retired keys verify until their lifetime ends; expired ones are left out.
 */
export function buildKeySet(path: string, file: KeyFile, now: number): KeySet {
  const keys: JWTKey[] = [];
  let signerChosen = false;
  file.signingKeys.forEach((entry, index) => {
    const retiredAt = readDate(path, entry.retiredAt, 'retiredAt');
    if (retiredAt !== undefined && retiredAt + RETIRED_KEY_LIFETIME_MS <= now) return;
    const key = importJWK(
      { ...(entry.jwk as object), kid: entry.kid, alg: entry.alg },
      `key file ${path}: signingKeys[${index}]`,
    );
    if (!key.signKey) {
      // Every entry is a signing key, retired ones included (they signed the tokens still in circulation).
      const jwk = entry.jwk as { d?: unknown; kty?: unknown };
      const why =
        typeof jwk.d === 'string' || jwk.kty === 'oct'
          ? 'its key_ops do not include "sign"'
          : 'it has no private part';
      fail(path, `signingKeys[${index}] (${entry.kid}) cannot sign: ${why}`);
    }
    const activatesAt = readDate(path, entry.activatesAt, 'activatesAt') ?? 0;
    // Newest first: the first key that is active and not yet retired signs. During a delayed rotation
    // that is the old key (retired from the new key's activation on), afterwards the new one.
    const canSign = !signerChosen && (retiredAt === undefined || retiredAt > now) && activatesAt <= now;
    if (canSign) signerChosen = true;
    keys.push(canSign ? key : { ...key, signKey: undefined });
  });
  // The signing key goes first, so `KeySet.signing` is it.
  keys.sort((a, b) => Number(b.signKey !== undefined) - Number(a.signKey !== undefined));
  return createKeySet(keys);
}

/** Writes the file atomically (temp file + rename) with mode 0600. */
export function writeKeyFile(path: string, file: KeyFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, serializeKeyFile(file), { mode: 0o600 });
  renameSync(temp, path);
}

export interface LoadKeysOptions {
  environment: 'development' | 'production';
  /** Whether signing keys are needed (jwt strategy). */
  needSigningKeys: boolean;
  /** The algorithm of a generated key (development). Default EdDSA. */
  algorithm?: Algorithm;
  now?: number;
}

/**
 * Reads the key file and completes it in memory: in development a missing file (or missing signing keys)
 * is generated, in production both are start-up errors that say how to create them. Nothing is written:
 * `keycard serve` saves generated keys (`saveGeneratedKeys`) only once every other start-up check has
 * passed, so a start that fails — a store that cannot be reached, a bad option — leaves no key file behind.
 */
export function prepareServerKeys(path: string, options: LoadKeysOptions): ServerKeys {
  const now = options.now ?? Date.now();
  const generated: string[] = [];
  let file: KeyFile;
  let pending: ServerKeys['pending'] = null;
  let mtimeMs = 0;
  if (!existsSync(path)) {
    if (options.environment === 'production') {
      fail(
        path,
        'does not exist; in production keys are never generated implicitly — create one with keycard keys generate',
      );
    }
    file = generateKeyFile(options.algorithm ?? 'EdDSA', new Date(now));
    pending = { file, previousText: null };
    generated.push('secret', 'signing key');
  } else {
    mtimeMs = statSync(path).mtimeMs;
    const text = readFileSync(path, 'utf8');
    file = parseKeyFile(path, text);
    if (options.needSigningKeys && file.signingKeys.length === 0) {
      if (options.environment === 'production')
        fail(path, 'has no signing keys; add one with keycard keys rotate');
      file = { ...file, signingKeys: [newSigningKey(options.algorithm ?? 'EdDSA', new Date(now))] };
      pending = { file, previousText: text };
      generated.push('signing key');
    }
  }
  const jwtKeys = buildKeySet(path, file, now);
  if (options.needSigningKeys && !jwtKeys.signing) fail(path, 'has no active signing key');
  return {
    path,
    secrets: file.secrets.map((entry) => Buffer.from(entry.secret, 'base64url')),
    jwtKeys,
    generated,
    mtimeMs,
    pending,
  };
}

/**
 * Writes the keys `prepareServerKeys` generated (mode 0600) and returns how to take that back, for a start
 * that fails later still (the port is taken): the new file is removed, a completed one gets its old text
 * back. A new file is created exclusively: should another process have created it meanwhile, this start
 * fails rather than overwrite keys that process may already sign with.
 */
export function saveGeneratedKeys(keys: ServerKeys): () => void {
  const pending = keys.pending;
  if (!pending) return () => {};
  if (pending.previousText === null) {
    try {
      writeFileSync(keys.path, serializeKeyFile(pending.file), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EEXIST')
        fail(keys.path, 'was created by another process while this one started; start again to use it');
      fail(keys.path, `cannot be written (${code}): check that its directory exists and is writable`);
    }
  } else {
    writeKeyFile(keys.path, pending.file);
  }
  keys.pending = null;
  keys.mtimeMs = statSync(keys.path).mtimeMs;
  return () => {
    if (pending.previousText === null) rmSync(keys.path, { force: true });
    else writeFileSync(keys.path, pending.previousText, { mode: 0o600 });
  };
}

/** `prepareServerKeys` and `saveGeneratedKeys` in one: for tools that have nothing else to check first. */
export function loadServerKeys(path: string, options: LoadKeysOptions): ServerKeys {
  const keys = prepareServerKeys(path, options);
  saveGeneratedKeys(keys);
  return keys;
}

export interface RotateOptions {
  algorithm: Algorithm;
  /** Publish now, sign from this many ms later. */
  delayMs?: number;
  now?: Date;
}

/** Adds a new signing key first, retires the current signer, drops keys retired long enough ago. */
export function rotateKeyFile(
  file: KeyFile,
  options: RotateOptions,
): { file: KeyFile; added: SigningKeyEntry; dropped: string[] } {
  const now = options.now ?? new Date();
  const time = now.getTime();
  const activatesAt = options.delayMs ? new Date(time + options.delayMs) : undefined;
  const added = newSigningKey(options.algorithm, now, activatesAt);
  const dropped: string[] = [];
  const kept = file.signingKeys.filter((entry) => {
    const retiredAt = entry.retiredAt ? Date.parse(entry.retiredAt) : undefined;
    if (retiredAt !== undefined && retiredAt + RETIRED_KEY_LIFETIME_MS <= time) {
      dropped.push(entry.kid);
      return false;
    }
    return true;
  });
  // The key that signs until the new one activates is retired from then on.
  const retireAt = (activatesAt ?? now).toISOString();
  const updated = kept.map((entry) =>
    entry.retiredAt === undefined ? { ...entry, retiredAt: retireAt } : entry,
  );
  return { file: { ...file, signingKeys: [added, ...updated] }, added, dropped };
}
