/** The jwt strategy's options, resolved and validated in one place (called from options.ts). */
import { randomBytes } from 'node:crypto';
import { type Duration, parseDuration } from '../duration.js';
import { configurationError } from '../errors.js';
import type { AuthUser } from '../store.js';
import { createKeySet, type JWTKey, type KeySet } from './keys.js';

export type Transport = 'cookie' | 'header';

/** Every transport, for validation and for listing the choices (`keycard serve --help`). */
export const TRANSPORT_NAMES: readonly Transport[] = ['cookie', 'header'];

/**
 * Claims a user's access tokens carry besides keycard's own. Called synchronously each time an access
 * token is signed (login and every refresh), so a change to what it returns shows within one access-token
 * lifetime. Values must be JSON; keycard's own claim names are refused.
 */
export type ExtraClaims = (user: AuthUser) => Record<string, unknown>;

export interface JWTOptions {
  /** Signing keys, newest first (sign with the first, verify with any). Required for jwt and hybrid. */
  keys?: KeySet | JWTKey[];
  /** `iss` of issued tokens and required on verified ones. Default 'keycard'. */
  issuer?: string;
  /** `aud` of issued tokens and required on verified ones. Default 'keycard'. */
  audience?: string;
  /** Default '15m'. */
  accessTokenTTL?: Duration;
  /** A refresh token's lifetime; every refresh issues a new one (default '7d'). */
  refreshTokenTTL?: Duration;
  /** A login ends this long after sign-in however often it refreshes (default '30d'). */
  loginTTL?: Duration;
  /** A spent refresh token presented again within this window gets the same successor (default '15s'). */
  refreshGrace?: Duration;
  /** Clock-skew allowance for exp/nbf/iat (default '10s'). */
  leeway?: Duration;
  /** Tokens longer than this are refused before decoding (default 8192). */
  maxTokenBytes?: number;
  /** `cookie` (browsers: HttpOnly cookies) or `header` (API and mobile clients: Bearer + JSON body). */
  transport?: Transport;
  /**
   * Secrets (≥ 32 bytes, newest first) that sign refresh tokens (the newest signs, any verifies, so they
   * can be rotated). Every instance must share them. Required in production; in development the default
   * is random per process, so refresh tokens die with the process.
   */
  refreshSecrets?: Buffer[];
  /** Where the refresh cookie is sent (its Path). Default '/auth/refresh'. */
  refreshPath?: string;
  /** Refuse HS256 keys (the microservices preset: services verify with public keys only). */
  requireAsymmetric?: boolean;
  /** Verified tokens remembered (by their exact bytes) to skip repeat signature checks (default 10000; 0: off). */
  verifiedTokenCacheSize?: number;
  /** Extra claims for access tokens, e.g. `(user) => ({ tenant: tenantOf(user.id) })`. */
  claims?: ExtraClaims;
}

export interface ResolvedJWTOptions {
  keys: KeySet;
  issuer: string;
  audience: string;
  accessTokenTTLSeconds: number;
  refreshTokenTTLSeconds: number;
  loginTTLSeconds: number;
  refreshGraceMs: number;
  leewaySeconds: number;
  maxTokenBytes: number;
  transport: Transport;
  refreshSecrets: Buffer[];
  refreshPath: string;
  verifiedTokenCacheSize: number;
  claims: ExtraClaims | null;
}

export interface JWTDefaults {
  transport: Transport;
  accessTokenTTL: Duration;
  refreshTokenTTL: Duration;
  loginTTL: Duration;
  requireAsymmetric: boolean;
}

export function resolveJWTOptions(
  input: JWTOptions | undefined,
  defaults: JWTDefaults,
  environment: 'development' | 'production',
): ResolvedJWTOptions {
  const options = input ?? {};
  if (!options.keys) {
    throw configurationError(
      'jwt.keys is required for the jwt and hybrid strategies: pass signing keys (generateJWTKey, importJWK)',
    );
  }
  const keys = Array.isArray(options.keys) ? createKeySet(options.keys) : (options.keys as KeySet);
  if (!keys.signing)
    throw configurationError('jwt.keys has no key that can sign (a private key or an HS256 secret)');
  if (
    (options.requireAsymmetric ?? defaults.requireAsymmetric) &&
    keys.keys.some((key) => key.alg === 'HS256')
  ) {
    throw configurationError(
      'this preset needs asymmetric keys (EdDSA, ES256 or RS256): other services verify with the public key',
    );
  }
  const seconds = (value: Duration | undefined, fallback: Duration, name: string) =>
    parseDuration(value ?? fallback, name);
  const accessTokenTTLSeconds = seconds(
    options.accessTokenTTL,
    defaults.accessTokenTTL,
    'jwt.accessTokenTTL',
  );
  const refreshTokenTTLSeconds = seconds(
    options.refreshTokenTTL,
    defaults.refreshTokenTTL,
    'jwt.refreshTokenTTL',
  );
  const loginTTLSeconds = seconds(options.loginTTL, defaults.loginTTL, 'jwt.loginTTL');
  if (accessTokenTTLSeconds > 24 * 3600) {
    throw configurationError(
      'jwt.accessTokenTTL must be at most 24h: an access token cannot be revoked before it expires',
    );
  }
  if (refreshTokenTTLSeconds <= accessTokenTTLSeconds) {
    throw configurationError('jwt.refreshTokenTTL must be longer than jwt.accessTokenTTL');
  }
  if (loginTTLSeconds < refreshTokenTTLSeconds)
    throw configurationError('jwt.loginTTL must be at least jwt.refreshTokenTTL');
  const refreshGraceMs = seconds(options.refreshGrace, '15s', 'jwt.refreshGrace') * 1000;
  if (refreshGraceMs > 120_000)
    throw configurationError('jwt.refreshGrace must be at most 2m: it is a window for honest races');
  const leewaySeconds = seconds(options.leeway, '10s', 'jwt.leeway');
  if (leewaySeconds > 300) throw configurationError('jwt.leeway must be at most 5m');
  const maxTokenBytes = options.maxTokenBytes ?? 8192;
  if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 256 || maxTokenBytes > 65_536) {
    throw configurationError('jwt.maxTokenBytes must be a whole number from 256 to 65536');
  }
  const transport = options.transport ?? defaults.transport;
  if (!TRANSPORT_NAMES.includes(transport))
    throw configurationError(`jwt.transport must be one of: ${TRANSPORT_NAMES.join(', ')}`);
  if (options.refreshSecrets === undefined && environment === 'production') {
    throw configurationError(
      'jwt.refreshSecrets is required in production: refresh tokens are signed with them, and a random secret per process would end every login at each restart and differ between instances (keycard serve reads them from its key file)',
    );
  }
  const refreshSecrets = options.refreshSecrets ?? [randomBytes(32)];
  if (
    refreshSecrets.length === 0 ||
    refreshSecrets.some((secret) => !Buffer.isBuffer(secret) || secret.length < 32)
  ) {
    throw configurationError('jwt.refreshSecrets must be a non-empty list of secrets of at least 32 bytes');
  }
  const refreshPath = options.refreshPath ?? '/auth/refresh';
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(refreshPath))
    throw configurationError('jwt.refreshPath must be a path such as /auth/refresh');
  for (const [name, value] of [
    ['issuer', options.issuer],
    ['audience', options.audience],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 256)) {
      throw configurationError(`jwt.${name} must be a non-empty string`);
    }
  }
  const verifiedTokenCacheSize = options.verifiedTokenCacheSize ?? 10_000;
  if (
    !Number.isInteger(verifiedTokenCacheSize) ||
    verifiedTokenCacheSize < 0 ||
    verifiedTokenCacheSize > 1_000_000
  ) {
    throw configurationError('jwt.verifiedTokenCacheSize must be a whole number from 0 to 1000000');
  }
  if (options.claims !== undefined && typeof options.claims !== 'function') {
    throw configurationError('jwt.claims must be a function of the user that returns an object of claims');
  }
  return {
    claims: options.claims ?? null,
    verifiedTokenCacheSize,
    keys,
    issuer: options.issuer ?? 'keycard',
    audience: options.audience ?? 'keycard',
    accessTokenTTLSeconds,
    refreshTokenTTLSeconds,
    loginTTLSeconds,
    refreshGraceMs,
    leewaySeconds,
    maxTokenBytes,
    transport,
    refreshSecrets,
    refreshPath,
  };
}
