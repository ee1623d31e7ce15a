/**
 * One request's view of authentication, whatever the strategy: who is signed in, their login, the JWT
 * claims (jwt and hybrid), the session data object handed to application code (`req.session`), and the
 * operations that change them. Adapters create one per request, `load()` it, and `commit()` it before the
 * response is sent; every cookie change goes to the adapter's `setCookie` sink as a complete header.
 *
 * The strategy's work is done by a `RequestFlow` (session/flow.ts, jwt/flow.ts); this class is the
 * stable surface adapters and applications use.
 */
import { readCookie } from '../cookies/parse.js';
import { serializeCookie } from '../cookies/serialize.js';
import { csrfCookiePolicy } from '../csrf/cookie.js';
import { needsCSRFToken } from '../csrf/policy.js';
import { createCSRFToken, verifyCSRFToken } from '../csrf/token.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import { checkRequestOrigin, type OriginVerdict } from '../http/origin.js';
import type { RequestInfo } from '../http/request.js';
import type { JWTClaims } from '../jwt/verify.js';
import type { ResolvedOptions } from '../options.js';
import type { AuthUser, SessionRecord } from '../store.js';
import { generateId } from '../tokens.js';
import { createSessionObject, type SessionObject } from './session-object.js';

/** Why a request is not authenticated although it carried a credential. */
export type AuthProblem = 'malformed' | 'unknown' | 'expired' | 'duplicate_cookie' | 'invalid' | 'revoked';

export interface LoginOptions {
  /**
   * Carry the pre-login session's data into the new session (default true), e.g. a shopping cart. Data
   * is only ever carried from an anonymous session or one of the same user, never from another user's.
   */
  keepData?: boolean;
  /**
   * Allow a login from a cross-site unsafe request, e.g. an OpenID Connect `form_post` callback that
   * verifies its own state parameter. Default false: a cross-site login is refused (login CSRF).
   */
  allowCrossSite?: boolean;
}

/** Tokens issued to a client that carries them itself (header transport), in OAuth 2.0's shape. */
export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds. */
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
}

export type RefreshOutcome =
  | { ok: true; login: SessionRecord }
  | { ok: false; code: 'token_invalid' | 'refresh_token_reused'; reason: string }
  /** The login has used up its rotations for the window (`throttle.refresh.maxPerLogin`); nothing changed. */
  | { ok: false; code: 'too_many_requests'; reason: string; retryAfterSeconds: number };

/** What a strategy does for one request; it reads and sets the context's fields. */
export interface RequestFlow {
  /** Undefined when it finished without waiting (no credential, or a token checked from memory). */
  load(): Promise<void> | undefined;
  login(user: AuthUser, options: LoginOptions): Promise<SessionRecord>;
  logout(): Promise<boolean>;
  regenerate(): Promise<void>;
  reload(): Promise<void>;
  /** Undefined when there was nothing to write. */
  commit(): Promise<void> | undefined;
  refresh(refreshToken: string | undefined): Promise<RefreshOutcome>;
  /** Fills the session data object when it is first made (the session strategy's loaded data). */
  populate?(data: SessionObject): void;
}

export interface ContextDependencies {
  options: ResolvedOptions;
  createFlow(context: AuthContext, setCookie: (header: string) => void): RequestFlow;
  emit: EventEmitter;
}

export class AuthContext {
  /** The signed-in user, or null. */
  user: AuthUser | null = null;
  /** The login record when it was read (session strategy: always; jwt/hybrid: only when needed). */
  session: SessionRecord | null = null;
  /** The verified access token's claims (jwt and hybrid strategies). */
  claims: JWTClaims | null = null;
  problem: AuthProblem | null = null;
  /**
   * True when a valid credential (or an anonymous session) came in a cookie: unsafe requests then need
   * the cross-site check, which the adapters run.
   */
  cookieAuthenticated = false;
  /** Tokens issued by this request's login or refresh, for the response body (header transport). */
  tokens: IssuedTokens | null = null;
  /**
   * The CSRF token the request submitted (`X-CSRF-Token` header or `_csrf` form field), set by the
   * adapter before the handler runs.
   */
  submittedCSRFToken: string | undefined = undefined;
  readonly request: RequestInfo;
  private sessionObject: SessionObject | undefined;
  private readonly options: ResolvedOptions;
  private readonly flow: RequestFlow;
  private readonly setCookie: (header: string) => void;
  private readonly emit: EventEmitter;
  private preLoginBinding: string | null | undefined;

  constructor(deps: ContextDependencies, request: RequestInfo, setCookie: (header: string) => void) {
    this.options = deps.options;
    this.request = request;
    this.setCookie = setCookie;
    this.emit = deps.emit;
    this.flow = deps.createFlow(this, setCookie);
  }

  /** The session data object (`req.session`); made on first use, as most requests never touch it. */
  get data(): SessionObject {
    if (this.sessionObject === undefined) {
      this.sessionObject = createSessionObject(this);
      this.flow.populate?.(this.sessionObject);
    }
    return this.sessionObject;
  }

  /** True when the request has a session data object with any data in it. */
  get hasData(): boolean {
    return this.sessionObject !== undefined && Object.keys(this.sessionObject).length > 0;
  }

  /** The session data object if something has asked for it, without making one. */
  get existingData(): SessionObject | undefined {
    return this.sessionObject;
  }

  /** True when credentials travel in cookies (session strategy, or token strategies' cookie transport). */
  get usesCookies(): boolean {
    return this.options.jwt === null || this.options.jwt.transport === 'cookie';
  }

  /**
   * A CSRF token for this request's login — or, before login, for a random id kept in an HttpOnly
   * cookie (set here when missing) — to put in a form's `_csrf` field or an `X-CSRF-Token` header.
   */
  csrfToken(): string {
    return createCSRFToken(this.options.csrf.secrets[0] as Buffer, this.csrfBinding(true) as string);
  }

  /**
   * Refuses (403 `csrf_rejected`) an unsafe browser request whose credentials travel in cookies unless
   * it carries a valid token bound to its login (or, before login, to its pre-login cookie). Requests
   * without `Origin`/`Sec-Fetch-Site` come from no browser page and pass.
   */
  requireCSRF(): void {
    if (!this.options.csrf.enabled || !this.usesCookies || !needsCSRFToken(this.request)) return;
    const token = this.submittedCSRFToken;
    const binding = this.csrfBinding(false);
    if (token !== undefined && binding !== null && verifyCSRFToken(this.options.csrf.secrets, binding, token))
      return;
    const reason = token === undefined ? 'missing_token' : 'invalid_token';
    this.emit({
      type: 'csrf_rejected',
      reason,
      method: this.request.method,
      userId: this.user?.id ?? null,
      sessionId: this.loginId,
      ip: this.request.ip,
      userAgent: this.request.header('user-agent') ?? null,
    });
    throw new KeycardError(
      'csrf_rejected',
      token === undefined
        ? 'this request needs a CSRF token (X-CSRF-Token header or _csrf field; GET /auth/csrf gives one)'
        : 'the CSRF token is invalid for this login; fetch a new one from GET /auth/csrf',
    );
  }

  /** The value tokens are bound to: the cookie-borne login's id, else the pre-login cookie's id. */
  private csrfBinding(create: boolean): string | null {
    if (this.cookieAuthenticated && this.loginId) return `login:${this.loginId}`;
    if (this.preLoginBinding === undefined) {
      const read = readCookie(
        this.request.header('cookie'),
        csrfCookiePolicy(this.options, this.request).name,
      );
      this.preLoginBinding =
        read.status === 'present' && /^[A-Za-z0-9_-]{22}$/.test(read.value) ? read.value : null;
    }
    if (this.preLoginBinding === null && create) {
      this.preLoginBinding = generateId();
      const policy = csrfCookiePolicy(this.options, this.request);
      this.setCookie(serializeCookie(policy.name, this.preLoginBinding, policy.attributes));
    }
    return this.preLoginBinding === null ? null : `pre:${this.preLoginBinding}`;
  }

  /** The login's id (the JWT `sid`, or the session id), or null. */
  get loginId(): string | null {
    return this.session?.id ?? (typeof this.claims?.sid === 'string' ? this.claims.sid : null);
  }

  /**
   * Reads and checks the request's credential. Session strategy: at most one store read. Returns
   * undefined when it finished without waiting; `await` works either way.
   */
  load(): Promise<void> | undefined {
    return this.flow.load();
  }

  /**
   * Confirms that this request's login is still live: it has not ended (logout, block, role or password
   * change, revocation, limit) since the credential was issued. The session strategy read the login to
   * authenticate, so this costs nothing there; the jwt and hybrid strategies verify access tokens without
   * the store, so here it costs one store read. Privileged and state-changing routes call it, so that an
   * unexpired access token of an ended login — a blocked admin's, say — cannot act. Throws
   * `unauthenticated` without a login, `token_revoked` for an ended one.
   */
  async confirmLive(): Promise<void> {
    const user = this.user;
    if (!user) throw new KeycardError('unauthenticated', 'sign in first');
    if (this.options.jwt === null && this.session) return;
    const loginId = this.loginId;
    const login = loginId === null ? null : await this.options.store.getSession(loginId);
    const now = this.options.clock.now();
    if (!login || login.user?.id !== user.id || now >= login.expiresAt || now >= login.absoluteExpiresAt) {
      throw new KeycardError('token_revoked', 'this login has ended; sign in again');
    }
    this.session = login;
  }

  /** Refuses unsafe requests from other sites (the Origin / Sec-Fetch-Site check). */
  checkOrigin(): OriginVerdict {
    return checkRequestOrigin(this.request, this.options.trustedOrigins);
  }

  /**
   * Signs `user` in under fresh credentials (never ones the client sent). A cross-site login is refused
   * unless `allowCrossSite`.
   */
  login(user: AuthUser, options: LoginOptions = {}): Promise<SessionRecord> {
    if (!options.allowCrossSite) {
      // Login CSRF: first the Origin / Sec-Fetch-Site check, then a browser login needs a token bound to
      // its pre-login cookie (or its current login).
      if (this.checkOrigin() === 'cross_site')
        throw new KeycardError('cross_site_request', 'cross-site login refused');
      this.requireCSRF();
    }
    return this.flow.login(user, options);
  }

  /** Ends this login: the record is deleted (so its refresh tokens die too) and cookies are cleared. */
  logout(): Promise<boolean> {
    return this.flow.logout();
  }

  /** Session strategy: moves the session to a fresh token, keeping user and data. */
  regenerate(): Promise<void> {
    return this.flow.regenerate();
  }

  /** Session strategy: re-reads the session from the store, dropping unsaved changes. */
  reload(): Promise<void> {
    return this.flow.reload();
  }

  /**
   * Saves what the request changed (session data, activity) in at most one store write. Returns
   * undefined when there was nothing to write; `await` works either way.
   */
  commit(): Promise<void> | undefined {
    return this.flow.commit();
  }

  /**
   * jwt and hybrid: exchanges a refresh token (from the refresh cookie, or `refreshToken` for header
   * clients) for a new access token and a new refresh token.
   */
  refresh(refreshToken?: string): Promise<RefreshOutcome> {
    return this.flow.refresh(refreshToken);
  }
}

export type { SessionObject };
