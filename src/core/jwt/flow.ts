/**
 * The jwt strategy for one request. The access token comes from `Authorization: Bearer` (header transport)
 * or the access cookie (cookie transport) and is verified with no store I/O; login, refresh and logout
 * touch the store. There is no per-request server state, so session data cannot be written.
 */
import type {
  AuthContext,
  IssuedTokens,
  LoginOptions,
  RefreshOutcome,
  RequestFlow,
} from '../auth/context.js';
import { readCookie } from '../cookies/parse.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { RevocationMonitor } from '../revocation/monitor.js';
import { endLoginsOverLimit, eventContext } from '../session/flow.js';
import type { SessionManager } from '../session/manager.js';
import type { AuthUser, SessionRecord } from '../store.js';
import { clearTokenCookie, setTokenCookie, type TokenCookies, tokenCookies } from './cookies.js';
import { type IssuedLogin, type TokenService, userFromClaims } from './tokens.js';

export interface TokenFlowDependencies {
  options: ResolvedOptions;
  tokens: TokenService;
  sessions: SessionManager;
  emit: EventEmitter;
  /** Hybrid strategy: the revocation check run after a token verifies. */
  revocations?: RevocationMonitor | null;
}

/** RFC 6750 §2.1: `Bearer` (any case), one space, a b64token. */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

export class TokenFlow implements RequestFlow {
  private cookiePolicy: TokenCookies | undefined;
  /** The access token as presented, kept for logout. */
  private presented: string | null = null;

  constructor(
    private readonly deps: TokenFlowDependencies,
    private readonly context: AuthContext,
    private readonly setCookie: (header: string) => void,
  ) {}

  /** Worked out on first use: a header-transport request never needs it. */
  private get cookies(): TokenCookies {
    this.cookiePolicy ??= tokenCookies(this.deps.options, this.context.request);
    return this.cookiePolicy;
  }

  private get usesCookies(): boolean {
    return this.deps.tokens.options.transport === 'cookie';
  }

  /** Finds the access token for this request; sets `problem` for a malformed or ambiguous one. */
  private accessToken(): string | null {
    const context = this.context;
    if (!this.usesCookies) {
      const header = context.request.header('authorization');
      if (header === undefined) return null;
      const match = BEARER.exec(header);
      if (!match) {
        context.problem = 'malformed';
        return null;
      }
      return match[1] as string;
    }
    const read = readCookie(context.request.header('cookie'), this.cookies.access.name);
    if (read.status === 'duplicate') {
      context.problem = 'duplicate_cookie';
      this.setCookie(clearTokenCookie(this.cookies.access));
      return null;
    }
    if (read.status === 'absent') return null;
    return read.value;
  }

  /**
   * Verifies the access token with no store I/O. Synchronous except when the hybrid strategy's feed is
   * out of step and the revocation check has to ask the store.
   */
  load(): Promise<void> | undefined {
    const context = this.context;
    const token = this.accessToken();
    if (token === null) return undefined;
    this.presented = token;
    const result = this.deps.tokens.verifyAccessToken(token);
    const user = result.ok ? userFromClaims(result.claims) : null;
    if (!result.ok || !user) {
      context.problem = !result.ok && result.code === 'token_expired' ? 'expired' : 'invalid';
      if (context.problem === 'invalid' && this.usesCookies)
        this.setCookie(clearTokenCookie(this.cookies.access));
      return undefined;
    }
    const accept = (): undefined => {
      context.claims = result.claims;
      context.user = user;
      context.cookieAuthenticated = this.usesCookies;
      return undefined;
    };
    const refuse = (): undefined => {
      context.problem = 'revoked';
      if (this.usesCookies) this.setCookie(clearTokenCookie(this.cookies.access));
      return undefined;
    };
    const monitor = this.deps.revocations;
    if (!monitor) return accept();
    // Hybrid: a memory lookup while the feed is in step; a store read (or 503) while it is not.
    const sid = typeof result.claims.sid === 'string' ? result.claims.sid : '';
    const issuedAt = (typeof result.claims.iat === 'number' ? result.claims.iat : 0) * 1000;
    const verdict = monitor.check(sid, user.id, issuedAt);
    if (typeof verdict === 'boolean') return verdict ? refuse() : accept();
    return verdict.then((revoked) => {
      if (revoked) refuse();
      else accept();
    });
  }

  async login(user: AuthUser, options: LoginOptions): Promise<SessionRecord> {
    const context = this.context;
    if (!options.allowCrossSite && context.checkOrigin() === 'cross_site') {
      throw new KeycardError('cross_site_request', 'cross-site login refused');
    }
    // A browser signing in again replaces the login its cookies carried, as the session strategy does.
    const previous = this.usesCookies ? context.loginId : null;
    if (previous) await this.deps.sessions.destroy(previous);
    const issued = await this.deps.tokens.startLogin(user, {
      userAgent: context.request.header('user-agent') ?? null,
      ip: context.request.ip,
    });
    this.adopt(issued);
    this.deps.emit({
      type: 'login_succeeded',
      userId: user.id,
      sessionId: issued.login.id,
      ...eventContext(context),
    });
    await endLoginsOverLimit(this.deps, user.id, context);
    return issued.login;
  }

  async logout(): Promise<boolean> {
    const context = this.context;
    let loginId = context.loginId;
    if (loginId === null && this.presented !== null) {
      // An expired but genuine access token still identifies the login to end.
      const result = this.deps.tokens.verifyForLogout(this.presented);
      if (result.ok && typeof result.claims.sid === 'string') loginId = result.claims.sid;
    }
    const userId = context.user?.id ?? null;
    this.clear();
    if (loginId === null) return false;
    // A login that has already ended (a replayed logout) costs one read and writes nothing.
    const deleted = await this.deps.sessions.destroy(loginId);
    if (deleted) this.deps.emit({ type: 'logout', userId, sessionId: loginId, ...eventContext(context) });
    return deleted;
  }

  async refresh(refreshToken: string | undefined): Promise<RefreshOutcome> {
    const context = this.context;
    let presented = refreshToken;
    if (this.usesCookies) {
      // Refused cross-site whatever carries the token: the refresh cookie would let another site spend
      // it, and a token in the body would let another site sign this browser in to the attacker's login
      // (login CSRF: the answer sets credential cookies, as a login's does).
      if (context.checkOrigin() === 'cross_site')
        throw new KeycardError('cross_site_request', 'cross-site request refused');
      const read = readCookie(context.request.header('cookie'), this.cookies.refresh.name);
      if (read.status === 'present') presented = read.value;
    }
    if (!presented) return { ok: false, code: 'token_invalid', reason: 'no refresh token' };
    const outcome = await this.deps.tokens.rotate(presented);
    if (outcome.status === 'ok') {
      this.adopt(outcome);
      this.deps.emit({
        type: 'token_refreshed',
        userId: outcome.login.user?.id ?? '',
        sessionId: outcome.login.id,
        ...eventContext(context),
      });
      return { ok: true, login: outcome.login };
    }
    if (outcome.status === 'throttled') {
      // Too many rotations for this login: nothing changed, and the client's tokens stay as they were.
      return {
        ok: false,
        code: 'too_many_requests',
        reason: 'this login refreshed too often; try again later',
        retryAfterSeconds: outcome.retryAfterSeconds,
      };
    }
    this.clear();
    if (outcome.status === 'reused') {
      // The whole family ends: the login is deleted and its access tokens revoked.
      await this.deps.sessions.destroy(outcome.login.id);
      this.deps.emit({
        type: 'refresh_token_reused',
        userId: outcome.login.user?.id ?? '',
        sessionId: outcome.login.id,
        ...eventContext(context),
      });
      return {
        ok: false,
        code: 'refresh_token_reused',
        reason: 'a spent refresh token was presented again; the login was revoked',
      };
    }
    return { ok: false, code: 'token_invalid', reason: outcome.reason };
  }

  commit(): undefined {
    if (this.context.hasData) {
      throw new KeycardError(
        'internal_error',
        'session data needs the session strategy: the jwt strategy keeps no server state per request',
      );
    }
    return undefined;
  }

  async regenerate(): Promise<void> {
    throw new KeycardError(
      'internal_error',
      'regenerate() is for the session strategy; the jwt strategy rotates with refresh()',
    );
  }

  async reload(): Promise<void> {}

  /** Hands the new tokens to the client: cookies, or the response body for header clients. */
  private adopt(issued: IssuedLogin): void {
    const context = this.context;
    context.user = issued.login.user;
    context.session = issued.login;
    context.claims = issued.claims;
    context.problem = null;
    // The new login's own credentials now travel in cookies: CSRF tokens made from here on (the login
    // response's `csrf_token`) are bound to it, not to the pre-login cookie.
    context.cookieAuthenticated = this.usesCookies;
    const refreshExpiresIn = Math.max(
      0,
      Math.floor((issued.refreshExpiresAt - this.deps.options.clock.now()) / 1000),
    );
    const accessExpiresIn = Math.max(0, (issued.claims.exp as number) - (issued.claims.iat as number));
    if (this.usesCookies) {
      this.setCookie(setTokenCookie(this.cookies.access, issued.accessToken, accessExpiresIn));
      this.setCookie(setTokenCookie(this.cookies.refresh, issued.refreshToken, refreshExpiresIn));
      context.tokens = null;
    } else {
      const tokens: IssuedTokens = {
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: accessExpiresIn,
        refresh_token: issued.refreshToken,
        refresh_expires_in: refreshExpiresIn,
      };
      context.tokens = tokens;
    }
  }

  private clear(): void {
    const context = this.context;
    context.user = null;
    context.claims = null;
    context.session = null;
    context.tokens = null;
    if (this.usesCookies) {
      this.setCookie(clearTokenCookie(this.cookies.access));
      this.setCookie(clearTokenCookie(this.cookies.refresh));
    }
  }
}
