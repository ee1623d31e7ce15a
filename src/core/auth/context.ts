/**
 * One request's view of authentication, whatever the strategy: who is signed in, their login, the JWT
 * claims (jwt and hybrid), the session data object handed to application code (`req.session`), and the
 * operations that change them. Adapters create one per request, `load()` and `check()` it, and `commit()`
 * it before the response is sent; every cookie change goes to the adapter's `setCookie` sink as a
 * complete header.
 *
 * The strategy (request/session.ts, request/token.ts) turns the request and the current state into the
 * next state; the guard (request/guard.ts) decides origin and CSRF. This class only holds the state, the
 * data object, and hands cookie writes on.
 */
import type { Tracer } from '@opentelemetry/api';
import { KeycardError } from '../errors.js';
import { checkRequestOrigin, type OriginVerdict } from '../http/origin.js';
import { isSafeMethod, type RequestInfo } from '../http/request.js';
import type { JWTClaims } from '../jwt/verify.js';
import { type AuthMethod, newAuthentication } from '../logins/authentication.js';
import type { ResolvedOptions } from '../options.js';
import { csrfBinding, type GuardDependencies, guard, issueCSRFToken } from '../request/guard.js';
import {
  ANONYMOUS,
  type AuthProblem,
  type AuthState,
  type IssuedTokens,
  loginIdOf,
} from '../request/state.js';
import type { RefreshOutcome, Strategy } from '../request/strategy.js';
import { type DataSnapshot, defineKey, diffData, snapshotData } from '../session/data.js';
import type { AuthUser, LoginRecord } from '../store.js';
import {
  errorOutcome,
  markFailed,
  type RequestOutcome,
  type RequestTrace,
  startRequestTrace,
  withRequestTrace,
} from '../telemetry/tracing.js';
import { createSessionObject, RESERVED_DATA_KEYS, type SessionObject } from './session-object.js';

export type { AuthProblem, IssuedTokens, RefreshOutcome };

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
  /**
   * "Keep me signed in" (default true): the login's cookies are persistent, with a Max-Age within the
   * configured lifetimes (unless `cookie.persistent` is false). False: browser-session cookies, which end
   * when the browser does and stay so whenever they are set again (refresh, regenerate). Header
   * transport has no cookies: it changes nothing there.
   */
  remember?: boolean;
  /**
   * How the user was authenticated, as RFC 8176 method references (`pwd`, `otp`, `hwk`, …), recorded on the
   * login (`amr` and `auth_time` in access tokens; docs/mfa.md). Default `['pwd']`; keycard's own sign-ins
   * say what they checked.
   */
  amr?: readonly AuthMethod[];
}

/** What `check()` may skip, for apps that run equivalent checks themselves (adapter options). */
export interface CheckOptions {
  /** Refuse cookie-authenticated unsafe requests from other sites (default true). */
  checkOrigin?: boolean;
  /** Require a CSRF token on cookie-authenticated unsafe browser requests (default true). */
  checkCSRF?: boolean;
}

export interface ContextDependencies {
  options: ResolvedOptions;
  strategy: Strategy;
  guard: GuardDependencies;
  /** The app's tracer (core/telemetry/tracing.ts), or null: then a context makes no span at all. */
  tracer: Tracer | null;
}

export class AuthContext {
  /**
   * The CSRF token the request submitted (`X-CSRF-Token` header or `_csrf` form field), set by the
   * adapter before `check()` or a login.
   */
  submittedCSRFToken: string | undefined = undefined;
  readonly request: RequestInfo;
  private state: AuthState = ANONYMOUS;
  private sessionObject: SessionObject | undefined;
  /**
   * Each data key's JSON when the data object was filled. Until something asks for `req.session`, there
   * is no object and no snapshot: a request that never touches its data costs no copy, JSON or diff.
   */
  private snapshot: DataSnapshot = new Map();
  /** The pre-login CSRF binding made by `csrfToken()`, until the request ends. */
  private madeBinding: string | null = null;
  /** Set once the login checks passed (`guardLogin`), so a login checks once. */
  private loginGuarded = false;
  private readonly deps: ContextDependencies;
  private readonly setCookie: (header: string) => void;
  /** The request's span while tracing, until `commit()` ends it; null otherwise. */
  private trace: RequestTrace | null;
  private outcome: RequestOutcome | null = null;

  constructor(deps: ContextDependencies, request: RequestInfo, setCookie: (header: string) => void) {
    this.deps = deps;
    this.request = request;
    this.setCookie = setCookie;
    this.trace =
      deps.tracer === null
        ? null
        : startRequestTrace(deps.tracer, { strategy: deps.options.strategy, method: request.method });
  }

  /**
   * Runs `fn` with this request's span active (tracing on), so what `fn` does — store calls included — is
   * traced as part of the request; without tracing it only calls `fn`. Adapters run route handlers in it.
   */
  run<T>(fn: () => T): T {
    return this.trace === null ? fn() : withRequestTrace(this.trace, fn);
  }

  /**
   * Says what became of the request, for its span (`keycard.outcome`; `signIn` and `refresh` say it).
   * The last word wins; without one, the span says what loading the credential found.
   */
  recordOutcome(outcome: RequestOutcome, error?: unknown): void {
    if (this.trace === null) return;
    this.outcome = outcome;
    if (error !== undefined) markFailed(this.trace.span, error, outcome === 'error');
  }

  /** Ends the request's span: its route, outcome and, for a refused credential, why. */
  private endTrace(error?: unknown): void {
    const trace = this.trace;
    if (trace === null) return;
    this.trace = null;
    const { span } = trace;
    const route = this.request.route?.();
    if (route) span.setAttribute('http.route', route);
    if (error !== undefined) {
      this.outcome = errorOutcome(error);
      markFailed(span, error, this.outcome === 'error');
    }
    const outcome =
      this.outcome ?? (this.state.user ? 'authenticated' : this.state.problem ? 'refused' : 'anonymous');
    span.setAttribute('keycard.outcome', outcome);
    if (outcome === 'refused' && this.state.problem) span.setAttribute('keycard.problem', this.state.problem);
    span.end();
  }

  /** The signed-in user, or null. */
  get user(): AuthUser | null {
    return this.state.user;
  }

  /** The login record when it was read (session strategy: always; jwt/hybrid: only when needed). */
  get loginRecord(): LoginRecord | null {
    return this.state.login;
  }

  /** @deprecated Renamed `loginRecord`: it is the login of any strategy (`data` is the session object). */
  get session(): LoginRecord | null {
    return this.loginRecord;
  }

  /** The verified access token's claims (jwt and hybrid strategies). */
  get claims(): JWTClaims | null {
    return this.state.claims;
  }

  /** Why a credential the request showed was refused, or null. */
  get problem(): AuthProblem | null {
    return this.state.problem;
  }

  /** True when a valid credential (or an anonymous session) came in a cookie. */
  get cookieAuthenticated(): boolean {
    return this.state.cookieBorne;
  }

  /** Tokens issued by this request's login or refresh, for the response body (header transport). */
  get tokens(): IssuedTokens | null {
    return this.state.tokens;
  }

  /** The login's id (the JWT `sid`, or the session id), or null. */
  get loginId(): string | null {
    return loginIdOf(this.state);
  }

  /** True when credentials travel in cookies (session strategy, or token strategies' cookie transport). */
  get usesCookies(): boolean {
    return this.deps.strategy.usesCookies;
  }

  /** The session data object (`req.session`); made on first use, as most requests never touch it. */
  get data(): SessionObject {
    if (this.sessionObject === undefined) {
      this.sessionObject = createSessionObject(this);
      this.fill(this.sessionObject);
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

  /**
   * Reads and checks the request's credential (session strategy: at most one store read). Returns
   * undefined when it finished without waiting; `await` works either way.
   */
  load(): Promise<void> | undefined {
    return this.trace === null ? this.loadState() : withRequestTrace(this.trace, () => this.loadState());
  }

  private loadState(): Promise<void> | undefined {
    const next = this.deps.strategy.load(this.request);
    if (next instanceof Promise) return next.then((state) => this.adopt(state));
    this.adopt(next);
    return undefined;
  }

  /**
   * The checks every request passes after `load()`: a cookie-authenticated unsafe request from another
   * site is refused (`cross_site_request`), and a browser's without a valid CSRF token too
   * (`csrf_rejected`). Both emit their audit event.
   */
  check(options: CheckOptions = {}): void {
    // The common request has nothing to decide: no cookie-borne credential, or a safe method.
    if (!this.state.cookieBorne || isSafeMethod(this.request.method)) return;
    try {
      guard(this.deps.guard, this.request, this.state, {
        action: 'request',
        submitted: this.submittedCSRFToken,
        skipOrigin: options.checkOrigin === false,
        skipCSRF: options.checkCSRF === false,
      });
    } catch (error) {
      this.recordOutcome('rejected', error);
      throw error;
    }
  }

  /**
   * The login checks (cross-site refusal, then the pre-login CSRF token), once per request: `signIn` runs
   * them before any password is hashed, and `login()` then does not repeat them.
   */
  guardLogin(): void {
    if (this.loginGuarded) return;
    guard(this.deps.guard, this.request, this.state, {
      action: 'login',
      submitted: this.submittedCSRFToken,
      binding: this.binding(false),
    });
    this.loginGuarded = true;
  }

  /** The Origin / Sec-Fetch-Site verdict for this request, for apps' own checks. */
  checkOrigin(): OriginVerdict {
    return checkRequestOrigin(this.request, this.deps.options.trustedOrigins);
  }

  /**
   * A CSRF token for this request's login — or, before login, for a random id kept in an HttpOnly
   * cookie (set here when missing) — to put in a form's `_csrf` field or an `X-CSRF-Token` header.
   */
  csrfToken(): string {
    return issueCSRFToken(this.deps.guard, this.binding(true) as string);
  }

  /** What CSRF tokens are bound to, making the pre-login cookie when `create` and there is none. */
  private binding(create: boolean): string | null {
    if (this.madeBinding !== null && !this.state.cookieBorne) return this.madeBinding;
    const { binding, cookie } = csrfBinding(this.deps.guard, this.request, this.state, create);
    if (cookie !== null) {
      this.setCookie(cookie);
      this.madeBinding = binding;
    }
    return binding;
  }

  /**
   * Confirms that this request's login is still live: it has not ended (logout, block, role or password
   * change, revocation, limit) since the credential was issued. The session strategy read the login to
   * authenticate, so this costs nothing there; the jwt and hybrid strategies verify access tokens without
   * the store, so here it costs one store read. Throws `unauthenticated` without a login, `token_revoked`
   * for an ended one.
   */
  async confirmLive(): Promise<void> {
    const user = this.state.user;
    if (!user) throw new KeycardError('unauthenticated', 'sign in first');
    if (this.deps.strategy.name === 'session' && this.state.login) return;
    const loginId = this.loginId;
    const login = loginId === null ? null : await this.run(() => this.deps.options.store.getLogin(loginId));
    const now = this.deps.options.clock.now();
    if (!login || login.user?.id !== user.id || now >= login.expiresAt || now >= login.absoluteExpiresAt) {
      throw new KeycardError('token_revoked', 'this login has ended; sign in again');
    }
    this.state = { ...this.state, login, cookies: [] };
  }

  /**
   * Signs `user` in under fresh credentials (never ones the client sent). A cross-site login is refused
   * unless `allowCrossSite`.
   */
  async login(user: AuthUser, options: LoginOptions = {}): Promise<LoginRecord> {
    if (!options.allowCrossSite) this.guardLogin();
    const previous = this.state.login;
    const sameOwner = !previous?.user || previous.user.id === user.id;
    const carried = options.keepData === false || !sameOwner ? {} : this.currentData();
    const persistent = this.deps.options.cookie.persistent && options.remember !== false;
    const authentication = newAuthentication(options.amr ?? ['pwd'], this.deps.options.clock.now());
    this.adopt(
      await this.run(() =>
        this.deps.strategy.login(this.request, this.state, user, carried, { persistent, authentication }),
      ),
    );
    this.recordOutcome('login');
    return this.state.login as LoginRecord;
  }

  /** Ends this login: the record is deleted (so its refresh tokens die too) and cookies are cleared. */
  async logout(): Promise<boolean> {
    const { state, ended } = await this.run(() => this.deps.strategy.logout(this.request, this.state));
    this.adopt(state);
    this.recordOutcome('logout');
    return ended;
  }

  /** Session strategy: moves the session to a fresh token, keeping user and data. */
  async regenerate(): Promise<void> {
    const data = this.currentData();
    this.adopt(await this.run(() => this.deps.strategy.regenerate(this.request, this.state, data)));
  }

  /** Session strategy: re-reads the session from the store, dropping unsaved changes. */
  async reload(): Promise<void> {
    if (!this.state.login) return;
    this.adopt(await this.run(() => this.deps.strategy.reload(this.state)));
  }

  /**
   * jwt and hybrid: exchanges a refresh token (from the refresh cookie, or `refreshToken` for header
   * clients) for a new access token and a new refresh token. Cross-site refreshes are refused with the
   * cookie transport: the answer sets credential cookies, as a login's does.
   */
  async refresh(refreshToken?: string): Promise<RefreshOutcome> {
    if (this.deps.strategy.name === 'token') {
      guard(this.deps.guard, this.request, this.state, { action: 'refresh', submitted: undefined });
    }
    const { state, outcome } = await this.run(() =>
      this.deps.strategy.refresh(this.request, this.state, refreshToken),
    );
    if (state !== this.state) this.adopt(state);
    this.recordOutcome(
      outcome.ok
        ? 'refreshed'
        : outcome.code === 'too_many_requests'
          ? 'throttled'
          : outcome.code === 'refresh_token_reused'
            ? 'refresh_reused'
            : 'refresh_failed',
    );
    return outcome;
  }

  /**
   * Saves what the request changed (session data, activity) in at most one store write. Returns
   * undefined when there was nothing to write; `await` works either way.
   */
  commit(): Promise<void> | undefined {
    const trace = this.trace;
    if (trace === null) return this.saveChanges();
    // Tracing: the write is part of the request's span, which ends with it.
    let pending: Promise<void> | undefined;
    try {
      pending = withRequestTrace(trace, () => this.saveChanges());
    } catch (error) {
      this.endTrace(error);
      throw error;
    }
    if (pending === undefined) {
      this.endTrace();
      return undefined;
    }
    return pending.then(
      () => this.endTrace(),
      (error: unknown) => {
        this.endTrace(error);
        throw error;
      },
    );
  }

  private saveChanges(): Promise<void> | undefined {
    const data = this.sessionObject;
    // Nothing loaded, nothing written: the common anonymous request costs nothing here.
    if (!this.state.login && (data === undefined || Object.keys(data).length === 0)) return undefined;
    const patch = data === undefined ? null : diffData(this.snapshot, data);
    if (patch !== null) {
      for (const key of Object.keys(patch.set)) {
        if (RESERVED_DATA_KEYS.has(key)) {
          this.discardChanges();
          throw new KeycardError(
            'internal_error',
            `'${key}' cannot be a session data key: the session object uses it`,
          );
        }
      }
    }
    let pending: Promise<AuthState | null> | undefined;
    try {
      // Data written to an anonymous request starts a pre-login session with it.
      const start = this.state.login === null && patch !== null ? this.currentData() : null;
      pending = this.deps.strategy.save(this.request, this.state, patch, start);
    } catch (error) {
      this.discardChanges();
      throw error;
    }
    if (pending === undefined) return undefined;
    return pending.then(
      (state) => {
        if (state === null) return;
        if (state.login !== this.state.login) this.adopt(state);
        // The saved data as the app sees it: the login's own markers are no app data (a snapshot holding
        // them would make the next commit unset them).
        else this.snapshot = snapshotData(appData(state.login?.data ?? {}));
      },
      (error: unknown) => {
        // The changes were refused (too large) or could not be written (store down): they are dropped, so
        // that the error response itself, which commits again on its way out, does not fail the same way.
        this.discardChanges();
        throw error;
      },
    );
  }

  /** Takes the strategy's next state: sends its cookies and refills a data object already handed out. */
  private adopt(state: AuthState): void {
    for (const cookie of state.cookies) this.setCookie(cookie);
    const loginChanged = state.login !== this.state.login;
    this.state = state.cookies.length === 0 ? state : { ...state, cookies: [] };
    const data = this.sessionObject;
    if (data && loginChanged) {
      this.clearData();
      this.fill(data);
    }
  }

  /** Copies the request's data object as plain JSON (what would be saved). */
  private currentData(): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    const data = this.data;
    for (const key of Object.keys(data)) {
      const json = JSON.stringify(data[key]);
      if (json !== undefined) defineKey(result, key, JSON.parse(json));
    }
    return result;
  }

  /** Fills a new (or emptied) data object from the current login's data, and snapshots it. */
  private fill(data: SessionObject): void {
    const stored = this.state.login?.data;
    if (stored && this.deps.strategy.name === 'session') {
      for (const key of Object.keys(stored)) {
        if (!RESERVED_DATA_KEYS.has(key)) defineKey(data, key, stored[key]);
      }
    }
    this.snapshot = snapshotData(data);
  }

  private discardChanges(): void {
    const data = this.sessionObject;
    if (!data) return; // nobody asked for the data, so nothing can have changed
    const saved = [...this.snapshot];
    this.clearData();
    for (const [key, json] of saved) defineKey(data, key, JSON.parse(json));
    this.snapshot = new Map(saved);
  }

  private clearData(): void {
    const data = this.sessionObject;
    if (data) for (const key of Object.keys(data)) delete data[key];
    this.snapshot = new Map();
  }
}

export type { SessionObject };

/** Session data without the keys the login keeps for itself (RESERVED_DATA_KEYS). */
function appData(data: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(data)) if (!RESERVED_DATA_KEYS.has(key)) defineKey(result, key, data[key]);
  return result;
}
