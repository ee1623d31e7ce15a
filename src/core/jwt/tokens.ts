/**
 * Access and refresh tokens for the jwt (and hybrid) strategy.
 *
 * - Access tokens: JWTs signed with the newest key, `typ: at+jwt` (RFC 9068), claims iss, aud, sub, iat,
 *   exp, jti, sid (the login's id), username and role.
 * - Refresh tokens: 256 random bits, stored only as SHA-256, one family per login (the login record), rotated
 *   on every use. A successor is derived from the token it replaces — HMAC-SHA256(secret, token) — so that
 *   when two tabs present the same token at once, the one that loses the race is handed the very same
 *   successor (the store tells it which one) without the store ever holding a usable token. Presented again
 *   after the grace window, a spent token revokes the whole login.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../clock.js';
import { KeycardError } from '../errors.js';
import type { AuthUser, SessionRecord, Store } from '../store.js';
import { constantTimeEqual, generateId, generateToken, hashToken, isWellFormedToken } from '../tokens.js';
import { VerifiedTokenCache } from './cache.js';
import type { ResolvedJWTOptions } from './options.js';
import { signJWT } from './sign.js';
import { type JWTClaims, type KeyResolver, keySetResolver, type VerifyResult, verifyJWT } from './verify.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface IssuedLogin {
  login: SessionRecord;
  accessToken: string;
  claims: JWTClaims;
  refreshToken: string;
  /** When the refresh token expires (ms). */
  refreshExpiresAt: number;
}

export type RotateOutcome =
  | ({ status: 'ok' } & IssuedLogin)
  | { status: 'reused'; login: SessionRecord }
  | { status: 'invalid'; reason: string };

export interface TokenService {
  readonly options: ResolvedJWTOptions;
  verifyAccessToken(token: string): VerifyResult;
  /** Verifies signature and claims but not expiry: logging out with an expired access token must work. */
  verifyForLogout(token: string): VerifyResult;
  signAccessToken(login: SessionRecord): { token: string; claims: JWTClaims };
  startLogin(user: AuthUser, meta: { userAgent: string | null; ip: string | null }): Promise<IssuedLogin>;
  rotate(refreshToken: string): Promise<RotateOutcome>;
}

/** The user a verified access token names, or null when its claims are not ours. */
export function userFromClaims(claims: JWTClaims): AuthUser | null {
  const { sub, username, role } = claims;
  if (typeof sub !== 'string' || typeof username !== 'string' || typeof role !== 'string') return null;
  return { id: sub, username, role };
}

function deriveSuccessor(secret: Buffer, token: string): string {
  return createHmac('sha256', secret).update(token).digest('base64url');
}

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

export function createTokenService(store: Store, options: ResolvedJWTOptions, clock: Clock): TokenService {
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

  const signAccessToken = (login: SessionRecord): { token: string; claims: JWTClaims } => {
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

  const refreshExpiry = (login: SessionRecord, now: number) =>
    Math.min(now + options.refreshTokenTTLSeconds * 1000, login.absoluteExpiresAt);

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
      const login: SessionRecord = {
        id: generateId(),
        user: { id: user.id, username: user.username, role: user.role },
        createdAt: now,
        lastActiveAt: now,
        expiresAt: now + options.refreshTokenTTLSeconds * 1000,
        absoluteExpiresAt: now + options.loginTTLSeconds * 1000,
        data: {},
        userAgent: meta.userAgent ? meta.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
        ip: meta.ip,
      };
      await store.createSession(login);
      const refreshToken = generateToken();
      await store.createRefreshToken({
        id: hashToken(refreshToken),
        loginId: login.id,
        createdAt: now,
        expiresAt: refreshExpiry(login, now),
        spentAt: null,
        successorId: null,
      });
      const access = signAccessToken(login);
      return {
        login,
        accessToken: access.token,
        claims: access.claims,
        refreshToken,
        refreshExpiresAt: refreshExpiry(login, now),
      };
    },

    async rotate(refreshToken) {
      if (!isWellFormedToken(refreshToken)) return { status: 'invalid', reason: 'malformed' };
      const now = clock.now();
      const [newest] = options.refreshSecrets as [Buffer];
      const successor = deriveSuccessor(newest, refreshToken);
      const successorId = hashToken(successor);
      const result = await store.rotateRefreshToken(hashToken(refreshToken), {
        now,
        graceMs: options.refreshGraceMs,
        successor: {
          id: successorId,
          loginId: '',
          createdAt: now,
          expiresAt: now + options.refreshTokenTTLSeconds * 1000,
          spentAt: null,
          successorId: null,
        },
        touch: { lastActiveAt: now, expiresAt: now + options.refreshTokenTTLSeconds * 1000 },
      });
      if (
        (result.status === 'rotated' || result.status === 'grace') &&
        now >= result.login.absoluteExpiresAt
      ) {
        // Past the login's absolute lifetime (not yet pruned by the store): it ends here.
        await store.deleteSession(result.login.id);
        return { status: 'invalid', reason: 'login expired' };
      }
      /** A new access token for the login, handed out with `refreshToken`. */
      const issue = (login: SessionRecord, refresh: string): RotateOutcome => {
        const access = signAccessToken(login);
        return {
          status: 'ok',
          login,
          accessToken: access.token,
          claims: access.claims,
          refreshToken: refresh,
          refreshExpiresAt: refreshExpiry(login, now),
        };
      };
      switch (result.status) {
        case 'invalid':
          return { status: 'invalid', reason: 'unknown, expired or logged out' };
        case 'reused':
          return { status: 'reused', login: result.login };
        case 'rotated':
          return issue(result.login, successor);
        case 'grace': {
          // The other tab won the race; hand out the successor it was given, derived with whichever
          // secret was newest at the time.
          const match = options.refreshSecrets
            .map((secret) => deriveSuccessor(secret, refreshToken))
            .find((candidate) => constantTimeEqual(hashToken(candidate), result.successorId));
          if (!match)
            return { status: 'invalid', reason: 'successor not derivable (refresh secrets differ)' };
          return issue(result.login, match);
        }
      }
    },
  };
}
