/**
 * Access and refresh tokens for the jwt (and hybrid) strategy.
 *
 * - Access tokens: JWTs signed with the newest key, `typ: at+jwt` (RFC 9068), claims iss, aud, sub, iat,
 *   exp, jti, sid (the login's id), username and role.
 * - Refresh tokens: `loginId.generation.MAC` (refresh-token.ts), one family per login, rotated on every
 *   use by the rule in rotation.ts. The login record holds the family's whole state — O(1) however often
 *   it refreshes — so ending the login ends every token of the family, and two tabs racing with the same
 *   token both get the current one.
 */
import type { Clock } from '../clock.js';
import { KeycardError } from '../errors.js';
import { authenticationOf } from '../logins/authentication.js';
import { generateId, generateToken } from '../random-tokens.js';
import type { AuthUser, LoginRecord, RefreshState, Store } from '../store.js';
import { VerifiedTokenCache } from './cache.js';
import type { ResolvedJWTOptions } from './options.js';
import { formatRefreshToken, isGenuineRefreshToken, parseRefreshToken } from './refresh-token.js';
import { decideRotation, type RotationPolicy } from './rotation.js';
import { signJWT } from './sign.js';
import { ACCESS_TOKEN_TYPE } from './token-types.js';
import { type JWTClaims, type KeyResolver, keySetResolver, type VerifyResult, verifyJWT } from './verify.js';

export { ACCESS_TOKEN_TYPE } from './token-types.js';

export interface IssuedLogin {
  login: LoginRecord;
  accessToken: string;
  claims: JWTClaims;
  refreshToken: string;
  /** When the refresh token expires (ms). */
  refreshExpiresAt: number;
}

export type RotateOutcome =
  | ({ status: 'ok' } & IssuedLogin)
  /** A spent token of the login came back: the caller ends the login (revoking its access tokens). */
  | { status: 'reused'; login: LoginRecord }
  /** The login has used up its rotations for the window; nothing changed. */
  | { status: 'throttled'; login: LoginRecord; retryAfterSeconds: number }
  | { status: 'invalid'; reason: string };

export interface TokenService {
  readonly options: ResolvedJWTOptions;
  verifyAccessToken(token: string): VerifyResult;
  /** Verifies signature and claims but not expiry: logging out with an expired access token must work. */
  verifyForLogout(token: string): VerifyResult;
  signAccessToken(login: LoginRecord): { token: string; claims: JWTClaims };
  /** `meta.data`: the login record's data (the cookie-lifetime marker, logins/cookie-lifetime.ts). */
  startLogin(
    user: AuthUser,
    meta: { userAgent: string | null; ip: string | null; data?: Record<string, unknown> },
  ): Promise<IssuedLogin>;
  rotate(refreshToken: string): Promise<RotateOutcome>;
}

/** The user a verified access token names, or null when its claims are not ours. */
export function userFromClaims(claims: JWTClaims): AuthUser | null {
  const { sub, username, role } = claims;
  if (typeof sub !== 'string' || typeof username !== 'string' || typeof role !== 'string') return null;
  return { id: sub, username, role };
}

/** How often `rotate` re-reads after losing a compare-and-set to a concurrent rotation. */
const MAX_ROTATION_ATTEMPTS = 3;

const MAX_USER_AGENT_LENGTH = 256;

/**
 * Claim names keycard sets or checks itself (RFC 7519's registered claims, its own, and the client tokens'
 * `scope` and `client_id`, so a user token can never look like one); jwt.claims cannot set them.
 */
const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'typ',
  'username',
  'role',
  'scope',
  'client_id',
  'amr',
  'auth_time',
]);

function addExtraClaims(claims: JWTClaims, extra: unknown): void {
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) {
    throw new KeycardError('invalid_configuration', 'jwt.claims must return an object of claims');
  }
  for (const name of Object.keys(extra)) {
    if (RESERVED_CLAIMS.has(name)) {
      throw new KeycardError('invalid_configuration', `jwt.claims cannot set '${name}': keycard sets it`);
    }
    const value = (extra as Record<string, unknown>)[name];
    if (value === undefined) continue;
    // Round-tripped through JSON, so what the token carries is exactly what a verifier will read.
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json === undefined) {
      throw new KeycardError('invalid_configuration', `jwt.claims: '${name}' is not a JSON value`);
    }
    Object.defineProperty(claims, name, {
      value: JSON.parse(json),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
}

/**
 * `rotationLimit`: successful rotations allowed per login per window (from `throttle.refresh`); null when
 * throttling is off.
 */
export function createTokenService(
  store: Store,
  options: ResolvedJWTOptions,
  clock: Clock,
  rotationLimit: { maxRotations: number; windowMs: number } | null,
): TokenService {
  const policy: RotationPolicy = {
    graceMs: options.refreshGraceMs,
    maxRotations: rotationLimit?.maxRotations ?? Number.POSITIVE_INFINITY,
    windowMs: rotationLimit?.windowMs ?? 3_600_000,
  };
  // Longer than any access token of the login can still be accepted: lifetime + leeway + a margin.
  const revocationTTLMs = (options.accessTokenTTLSeconds + options.leewaySeconds + 60) * 1000;
  const resolve: KeyResolver = keySetResolver(options.keys);
  const cache = new VerifiedTokenCache(options.verifiedTokenCacheSize, options.leewaySeconds);
  const verifyOptions = (now: number) => ({
    now,
    typ: ACCESS_TOKEN_TYPE,
    issuer: options.issuer,
    audience: options.audience,
    leewaySeconds: options.leewaySeconds,
    maxTokenBytes: options.maxTokenBytes,
  });

  const signAccessToken = (login: LoginRecord): { token: string; claims: JWTClaims } => {
    const user = login.user as AuthUser;
    const now = Math.floor(clock.now() / 1000);
    const claims: JWTClaims = {
      iss: options.issuer,
      aud: options.audience,
      sub: user.id,
      iat: now,
      exp: Math.min(now + options.accessTokenTTLSeconds, Math.floor(login.absoluteExpiresAt / 1000)),
      jti: generateId(),
      sid: login.id,
      username: user.username,
      role: user.role,
    };
    // How and when the user authenticated (docs/mfa.md): RFC 8176 methods, and OpenID Connect's auth_time
    // (seconds) — the last time a credential was shown on this login, at sign-in or a step-up.
    const authentication = authenticationOf(login);
    if (authentication) {
      claims.amr = authentication.amr;
      claims.auth_time = Math.floor(authentication.verifiedAt / 1000);
    }
    if (options.claims) addExtraClaims(claims, options.claims(user));
    // Read per token: a reloading key set may have rotated since start-up.
    const signing = options.keys.signing;
    if (!signing) throw new KeycardError('invalid_configuration', 'no active signing key');
    const token = signJWT(claims, signing, { typ: ACCESS_TOKEN_TYPE });
    if (Buffer.byteLength(token) > options.maxTokenBytes) {
      throw new KeycardError(
        'invalid_configuration',
        `jwt.claims made an access token of ${Buffer.byteLength(token)} bytes; verifiers refuse more than jwt.maxTokenBytes (${options.maxTokenBytes})`,
      );
    }
    return { token, claims };
  };

  const refreshExpiry = (login: LoginRecord, now: number) =>
    Math.min(now + options.refreshTokenTTLSeconds * 1000, login.absoluteExpiresAt);

  /** The login's current refresh token, signed with the newest refresh secret. */
  const currentRefreshToken = (loginId: string, refresh: RefreshState): string =>
    formatRefreshToken(options.refreshSecrets[0] as Buffer, loginId, refresh.generation, refresh.nonce);

  /** A new access token for the login, handed out with its current refresh token. */
  const issue = (login: LoginRecord, now: number): RotateOutcome => {
    const access = signAccessToken(login);
    return {
      status: 'ok',
      login,
      accessToken: access.token,
      claims: access.claims,
      refreshToken: currentRefreshToken(login.id, login.refresh as RefreshState),
      refreshExpiresAt: Math.max(login.expiresAt, now),
    };
  };

  return {
    options,
    verifyAccessToken(token) {
      const now = clock.now() / 1000;
      const cached = cache.get(token, now, (kid) => options.keys.get(kid));
      if (cached) return cached;
      const result = verifyJWT(token, resolve, verifyOptions(now));
      cache.set(token, result);
      return result;
    },
    verifyForLogout(token) {
      const first = verifyJWT(token, resolve, verifyOptions(clock.now() / 1000));
      if (first.ok || first.code !== 'token_expired') return first;
      // Genuine but expired: verify again as of just before its expiry, which checks everything else.
      const claims = JSON.parse(
        Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as JWTClaims;
      return verifyJWT(token, resolve, verifyOptions(claims.exp - 1));
    },
    signAccessToken,

    async startLogin(user, meta) {
      const now = clock.now();
      const refresh: RefreshState = {
        generation: 0,
        nonce: generateToken(),
        rotatedAt: now,
        windowStartedAt: now,
        rotationsInWindow: 0,
        revocationTTLMs,
      };
      const login: LoginRecord = {
        id: generateId(),
        user: { id: user.id, username: user.username, role: user.role },
        createdAt: now,
        lastActiveAt: now,
        expiresAt: 0,
        absoluteExpiresAt: now + options.loginTTLSeconds * 1000,
        data: meta.data ?? {},
        userAgent: meta.userAgent ? meta.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
        ip: meta.ip,
        refresh,
      };
      // The login's idle expiry is its current refresh token's: a refresh moves it forward.
      login.expiresAt = refreshExpiry(login, now);
      await store.createLogin(login);
      const access = signAccessToken(login);
      return {
        login,
        accessToken: access.token,
        claims: access.claims,
        refreshToken: currentRefreshToken(login.id, refresh),
        refreshExpiresAt: login.expiresAt,
      };
    },

    async rotate(refreshToken) {
      const presented = parseRefreshToken(refreshToken);
      if (!presented) return { status: 'invalid', reason: 'malformed' };
      for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
        const login = await store.getLogin(presented.loginId);
        // A forged token (wrong MAC) is merely invalid: only a genuine one can prove reuse.
        if (!login?.refresh || !isGenuineRefreshToken(options.refreshSecrets, presented, login.refresh.nonce))
          return { status: 'invalid', reason: 'unknown, expired or logged out' };
        const now = clock.now();
        if (now >= login.expiresAt || now >= login.absoluteExpiresAt) {
          // Past its refresh token's or the login's lifetime (not yet pruned by the store): it ends here.
          await store.deleteLogin(login.id);
          return { status: 'invalid', reason: 'login expired' };
        }
        const decision = decideRotation(login.refresh, presented.generation, now, policy);
        switch (decision.action) {
          case 'invalid':
            return { status: 'invalid', reason: 'a generation that was never issued' };
          case 'reuse':
            return { status: 'reused', login };
          case 'throttled':
            return {
              status: 'throttled',
              login,
              retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
            };
          case 'grace':
            // The other tab won the race; this one gets the same current token.
            return issue(login, now);
          case 'rotate': {
            const touch = { lastActiveAt: now, expiresAt: refreshExpiry(login, now) };
            const updated = await store.advanceRefresh(
              login.id,
              login.refresh.generation,
              decision.next,
              touch,
            );
            if (updated) return issue(updated, now);
            // Another rotation (or a logout) got there first: decide again on what is stored now.
          }
        }
      }
      return { status: 'invalid', reason: 'too much contention on this login' };
    },
  };
}
