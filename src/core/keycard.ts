/**
 * `createKeycard`: the one object an application or adapter holds. It wires the options, the store, the
 * login registry, the password hasher and the user service together, and creates a per-request
 * `AuthContext` for adapters.
 */

import { createLinkThrottle } from './accounts/limits.js';
import { type AccountService, createAccountService } from './accounts/service.js';
import { type AuditLog, createAuditLog } from './audit/log.js';
import { AuthContext } from './auth/context.js';
import { type ClientService, createClientService } from './clients/service.js';
import { createCookiePolicy } from './cookies/policy.js';
import { KeycardError, tooManyRequests } from './errors.js';
import { createEmitter, type EventContext, type EventEmitter, type RevokeReason } from './events.js';
import type { RequestInfo } from './http/request.js';
import { createTokenService, type TokenService } from './jwt/token-service.js';
import { AUTHENTICATION_KEY, type AuthMethod, authenticationOf } from './logins/authentication.js';
import { createLoginRegistry, type LoginRegistry } from './logins/registry.js';
import type { PublicFactor } from './mfa/factors.js';
import { createMfaService, type MfaService, type PendingSignIn } from './mfa/service.js';
import { type KeycardOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { createPasswordHasher, type PasswordHasher } from './passwords/hash.js';
import { createSessionStrategy } from './request/session.js';
import { createTokenStrategy } from './request/token.js';
import { RevocationMonitor } from './revocation/monitor.js';
import type { FactorKind, FactorRecord, LoginRecord, Store, UserRecord } from './store.js';
import { instrumentStore } from './telemetry/store-calls.js';
import { errorOutcome, registeredTracer, traceStoreCalls } from './telemetry/tracing.js';
import { createThrottle, type LoginTicket, type Throttle } from './throttle/throttle.js';
import { changeOwnPassword, confirmOwnPassword } from './users/change-password.js';
import { readCredentials } from './users/credentials.js';
import { createUserService, toAuthUser, type UserService } from './users/service.js';

export type SignInResult =
  | {
      ok: true;
      user: UserRecord;
      /** The login just created (a session, or a token login). */
      login: LoginRecord;
      /** @deprecated Renamed `login`. */
      session: LoginRecord;
    }
  /**
   * A failure: `reason` says which, and `error` is the answer to send — `throw result.error` gives the
   * client 401 `invalid_credentials` (the same for an unknown user), 403 `account_blocked`, or 429
   * `too_many_requests` with `Retry-After` (the adapters' error handlers send it).
   */
  | { ok: false; reason: 'invalid_credentials' | 'account_blocked'; error: KeycardError }
  /**
   * Brute-force throttling: no password was checked, or this failure started a wait. Like the other
   * reasons it is an error code; `error` carries `retryAfterSeconds` for the `Retry-After` header.
   */
  | { ok: false; reason: 'too_many_requests'; retryAfterSeconds: number; error: KeycardError }
  /**
   * The password was right, and the user has a second factor (docs/mfa.md): no login yet. `mfaToken`
   * (single use, 5 minutes, bound to this client) and a code or passkey finish it with
   * `completeSignIn`; `error` (401 `mfa_required`) carries both as `mfa_token` and `factors`.
   */
  | { ok: false; reason: 'mfa_required'; mfaToken: string; factors: FactorKind[]; error: KeycardError };

/** The failed sign-in result for `reason`, with the error to send. */
function failed(reason: 'invalid_credentials' | 'account_blocked'): SignInResult {
  return {
    ok: false,
    reason,
    error:
      reason === 'account_blocked'
        ? new KeycardError('account_blocked', 'this account is blocked')
        : new KeycardError('invalid_credentials', 'wrong username or password'),
  };
}

/** The throttled sign-in result: the same answer whether or not the password was right. */
function throttled(retryAfterSeconds: number): SignInResult {
  return {
    ok: false,
    reason: 'too_many_requests',
    retryAfterSeconds,
    error: tooManyRequests('too many failed sign-in attempts', retryAfterSeconds),
  };
}

export interface Keycard {
  readonly options: ResolvedOptions;
  readonly store: Store;
  /** Every login of every strategy (sessions and token logins): create, validate, list, end. */
  readonly logins: LoginRegistry;
  /** @deprecated Renamed `logins`: the registry holds every strategy's logins, not only sessions. */
  readonly sessions: LoginRegistry;
  readonly passwords: PasswordHasher;
  readonly users: UserService;
  readonly emit: EventEmitter;
  /** Access and refresh tokens (jwt strategy); null for the session strategy. */
  readonly tokens: TokenService | null;
  /** Brute-force throttling on the store's counters; null when `throttle: false`. */
  readonly throttle: Throttle | null;
  /** The revocation feed's monitor (hybrid strategy); null otherwise. */
  readonly revocations: RevocationMonitor | null;
  /**
   * API clients and client-credentials tokens (issuing tokens needs a signing key: `jwt.keys`, or
   * `clients.keys` for the session strategy).
   */
  readonly clients: ClientService;
  /**
   * True when the app had registered an OpenTelemetry tracer provider when this keycard was made: then
   * requests and store calls make spans (docs/operations.md). Adapters run route handlers in the
   * request's span only then.
   */
  readonly tracing: boolean;
  /** The audit log (every event, kept `audit.retention`); null with `audit: false`. */
  readonly audit: AuditLog | null;
  /** Email addresses, their verification, and password reset by mail (the `mail` option). */
  readonly accounts: AccountService;
  /** Second factors: enrolment, codes, pending sign-ins, the step-up rule (docs/mfa.md). */
  readonly mfa: MfaService;
  /** Stops background work (the revocation feed, audit pruning). The store is the caller's to close. */
  close(): Promise<void>;
  /** A request's auth state, not yet loaded. `setCookie` receives complete Set-Cookie header values. */
  createContext(request: RequestInfo, setCookie: (header: string) => void): AuthContext;
  /** `createContext` + `load()`: at most one store read. Throws `store_unavailable` if the store is down. */
  authenticate(request: RequestInfo, setCookie: (header: string) => void): Promise<AuthContext>;
  /**
   * Password sign-in for a request. `body` is the request's parsed body, as it came: it must be an object
   * with non-empty string `username` (at most 256 characters) and `password` (at most 4096), and may have
   * `remember` (a boolean, or a form's 'on' / 'true' / 'false'; default true: persistent cookies, false:
   * browser-session cookies — `LoginOptions.remember`), or this throws `invalid_request` (400) naming the
   * field. Then it refuses a cross-site request (login CSRF,
   * `cross_site_request`) and a browser request without its pre-login CSRF token (`csrf_rejected`),
   * applies brute-force throttling (`too_many_requests`, decided before any password is hashed), checks
   * the credentials, and logs in under a fresh session. The user's blocked flag is read again after the
   * session exists, so a block that races with the login always wins.
   */
  signIn(context: AuthContext, body: unknown): Promise<SignInResult>;
  /**
   * The second step of a sign-in that answered `mfa_required` (docs/mfa.md): `body` has `mfa_token` and
   * either `code` (a TOTP or recovery code) or `passkey` (a WebAuthn assertion). The pending sign-in must
   * be live and this client's (`token_invalid`); a wrong code is `invalid_code` (it does not use the
   * pending sign-in up, five do) and counts against the user's second-factor throttle
   * (`too_many_requests`). Then the login is made, as `signIn` makes it, recording both methods.
   */
  completeSignIn(context: AuthContext, body: unknown): Promise<SignInResult>;
  /**
   * A passwordless sign-in with a discoverable passkey (docs/mfa.md): `body` has `response` (the
   * browser's assertion for a challenge from `mfa.passkeys.authenticationOptions(null)`) and may have
   * `remember`. The passkey must have verified its user; a wrong answer is `invalid_code` and counts
   * against its user's second-factor throttle. Refused (`invalid_request`) when passkeys are not
   * configured. The login records `hwk` and `user`.
   */
  signInWithPasskey(context: AuthContext, body: unknown): Promise<SignInResult>;
  /**
   * Renews the proof a sensitive action needs on the request's login (docs/mfa.md, "Step-up"): `body`
   * has `code` or `passkey` for a user with a second factor, `password` for one without.
   */
  stepUp(context: AuthContext, body: unknown): Promise<void>;
  /**
   * Confirms the signed-in user's pending TOTP enrolment with its first code (`keycard.mfa.confirmTotp`),
   * which also counts as a fresh second factor on this login.
   */
  confirmTotp(context: AuthContext, code: unknown): ReturnType<MfaService['confirmTotp']>;
  /**
   * Stores the signed-in user's new passkey from the browser's registration `response`
   * (`keycard.mfa.passkeys.register`); the ceremony counts as a fresh second factor on this login.
   */
  registerPasskey(
    context: AuthContext,
    response: unknown,
    name?: unknown,
  ): Promise<{ factor: PublicFactor; recoveryCodes: string[] | null }>;
  /**
   * The step-up rule, before a sensitive action: the request's login is live and recent enough
   * (`step_up_required`), and its user has the factor their role needs (`mfa_enrollment_required`).
   * `passwordShown`: the request carried the current password itself (a password change).
   */
  requireStepUp(
    context: AuthContext,
    options?: { passwordShown?: boolean; enrolling?: boolean },
  ): Promise<void>;
  /**
   * jwt and hybrid: exchanges the request's refresh token (the refresh cookie, or `refreshToken` from a
   * header client's body) for new tokens, which the context then carries (cookies, or `context.tokens`).
   * Throws `too_many_requests` (429, with Retry-After) when this address failed too often or the login
   * refreshed too often — no token is even looked up then — `refresh_token_reused` (the login is revoked)
   * or `token_invalid`; a failure counts against the address.
   */
  refresh(context: AuthContext, refreshToken?: string): Promise<LoginRecord>;
  /**
   * The signed-in user changes their own password: `currentPassword` must be right (`invalid_credentials`,
   * counted against the same throttle budget as a sign-in of this account from this address, then
   * `too_many_requests`), `newPassword` must meet the policy; then every other login of the user ends,
   * their tokens revoked, and this one stays.
   */
  changePassword(context: AuthContext, currentPassword: unknown, newPassword: unknown): Promise<void>;
  /**
   * The signed-in user's current password, before a sensitive change such as their email address:
   * `invalid_credentials` when wrong, throttled as `changePassword` is.
   */
  confirmPassword(context: AuthContext, password: unknown): Promise<void>;
  /**
   * Ends one login of the user's — never another user's — revoking its tokens, and emits
   * `session_revoked` (`by` the user themselves, or an admin). False when the user has no such login.
   */
  revokeSession(
    userId: string,
    sessionId: string,
    actor: { by: 'user' | 'admin' } & EventContext,
  ): Promise<boolean>;
  /**
   * Ends every login of the user's but `exceptId`, revoking their tokens, and emits `sessions_revoked`
   * with the count. Returns the count.
   */
  revokeAllSessions(
    userId: string,
    options: { reason: RevokeReason; exceptId?: string | undefined } & EventContext,
  ): Promise<number>;
}

export function createKeycard(input: KeycardOptions): Keycard {
  const resolved = resolveOptions(input);
  // Asked once: without a registered provider nothing is wrapped and no span is ever made.
  const tracer = registeredTracer();
  const options = tracer
    ? { ...resolved, store: instrumentStore(resolved.store, traceStoreCalls(tracer)) }
    : resolved;
  const { store, clock } = options;
  // The audit log: every event is also appended to the store, off the response path (audit/log.ts).
  const audit = createAuditLog(input.audit, {
    store,
    clock,
    onError: options.onHookError,
    secrets: [input.jwt?.refreshSecrets?.[0], input.csrf?.secrets?.[0]],
  });
  const emitToHook = createEmitter(options.onEvent, options.onHookError);
  const emit: EventEmitter = audit
    ? (event) => {
        audit.record(event);
        emitToHook(event);
      }
    : emitToHook;
  // Token strategies verify access tokens without the store, so ending a login must also be recorded as
  // a revocation; the hybrid strategy checks those on every request (from memory, fed by the store).
  const monitor =
    options.strategy === 'hybrid' ? new RevocationMonitor(store, { clock, ...input.revocation }) : null;
  // Ending a token login records a revocation (the login record says so); the hybrid strategy's monitor
  // applies this instance's own at once, without waiting for the feed.
  const logins = createLoginRegistry(
    store,
    options.session,
    clock,
    monitor ? (record) => monitor.applyLocal(record) : null,
  );
  if (monitor) {
    // Until subscribed and loaded, every check asks the store (fail closed), so start need not be awaited.
    monitor.start().catch((error) => input.revocation?.onError?.(error));
  }
  const passwords = createPasswordHasher(options.argon2);
  const users = createUserService({
    store,
    logins,
    passwords,
    policy: options.passwordPolicy,
    clock,
    emit,
    roles: options.roles,
  });
  const accounts = createAccountService({
    store,
    users,
    clock,
    emit,
    throttle: options.throttle ? createLinkThrottle(store, clock) : null,
    mail: input.mail ?? null,
    onError: options.onHookError,
    signup: options.signup,
    roles: options.roles,
  });
  const mfa = createMfaService({ store, clock, emit, options: options.mfa });
  const tokens = options.jwt
    ? createTokenService(
        store,
        options.jwt,
        clock,
        options.throttle
          ? { maxRotations: options.throttle.refreshMaxPerLogin, windowMs: options.throttle.refreshWindowMs }
          : null,
      )
    : null;
  const throttle = options.throttle ? createThrottle(store, options.throttle, clock) : null;
  const clientKeys = input.clients?.keys ?? options.jwt?.keys;
  const clients = createClientService({
    store,
    keys: clientKeys ?? null,
    clock,
    issuer: options.jwt?.issuer ?? input.clients?.issuer ?? 'keycard',
    audience: options.jwt?.audience ?? input.clients?.audience ?? 'keycard',
    leewaySeconds: options.jwt?.leewaySeconds ?? 10,
    options: input.clients,
    emit,
  });
  const cookies = createCookiePolicy(options);
  const strategy = tokens
    ? createTokenStrategy({ options, tokens, logins, cookies, emit, revocations: monitor })
    : createSessionStrategy({ options, logins, cookies, emit });
  const deps = {
    options,
    strategy,
    guard: { options, cookies, emit, usesCookies: strategy.usesCookies },
    tracer,
  };

  const createContext = (request: RequestInfo, setCookie: (header: string) => void): AuthContext =>
    new AuthContext(deps, request, setCookie);

  return {
    options,
    store,
    logins,
    sessions: logins,
    passwords,
    users,
    emit,
    tokens,
    throttle,
    clients,
    revocations: monitor,
    tracing: tracer !== null,
    audit,
    accounts,
    mfa,
    async close() {
      await accounts.settled();
      await Promise.all([monitor?.close(), audit?.close()]);
    },
    createContext,
    async authenticate(request, setCookie) {
      const context = createContext(request, setCookie);
      await context.load();
      return context;
    },
    async revokeSession(userId, sessionId, { by, ...event }) {
      const revoked = await logins.destroyForUser(userId, sessionId);
      if (revoked) emit({ type: 'session_revoked', userId, sessionId, by, ...event });
      return revoked;
    },
    async revokeAllSessions(userId, { reason, exceptId, ...event }) {
      const count = await logins.destroyAllForUser(userId, { exceptId });
      emit({ type: 'sessions_revoked', userId, count, reason, ...event });
      return count;
    },
    async refresh(context, refreshToken) {
      try {
        return await context.run(() => refresh(context, refreshToken));
      } catch (error) {
        context.recordOutcome(errorOutcome(error), error);
        throw error;
      }
    },
    changePassword: (context, currentPassword, newPassword) =>
      changeOwnPassword({ users, throttle, emit }, context, currentPassword, newPassword),
    confirmPassword: (context, password) => confirmOwnPassword({ users, throttle, emit }, context, password),
    async completeSignIn(context, body) {
      let result: SignInResult;
      try {
        result = await context.run(() => completeSignIn(context, body));
      } catch (error) {
        context.recordOutcome(errorOutcome(error), error);
        throw error;
      }
      context.recordOutcome(result.ok ? 'login' : 'login_failed');
      return result;
    },
    async signInWithPasskey(context, body) {
      let result: SignInResult;
      try {
        result = await context.run(() => signInWithPasskey(context, body));
      } catch (error) {
        context.recordOutcome(errorOutcome(error), error);
        throw error;
      }
      context.recordOutcome(result.ok ? 'login' : 'login_failed');
      return result;
    },
    stepUp: (context, body) => context.run(() => stepUp(context, body)),
    async confirmTotp(context, code) {
      await context.confirmLive();
      const { user, loginRecord } = context;
      if (!user || !loginRecord) throw new KeycardError('unauthenticated', 'sign in first');
      const event = { ip: context.request.ip, userAgent: context.request.header('user-agent') ?? null };
      const result = await mfa.confirmTotp(user.id, code, event);
      // The first code from the app was just shown on this login: a fresh proof, as a step-up gives.
      await recordProof(loginRecord, 'otp');
      if (result.recoveryCodes) await endOtherLogins(user.id, loginRecord.id, event);
      return result;
    },
    async registerPasskey(context, response, name) {
      await context.confirmLive();
      const { user, loginRecord } = context;
      if (!user || !loginRecord) throw new KeycardError('unauthenticated', 'sign in first');
      if (!mfa.passkeys) throw new KeycardError('not_found', 'passkeys are not configured on this server');
      const event = { ip: context.request.ip, userAgent: context.request.header('user-agent') ?? null };
      const added = await mfa.passkeys.register(user, response, name, event);
      // The authenticator was just used on this login: a fresh proof, as confirming an app is.
      await recordProof(loginRecord, 'hwk');
      if (added.recoveryCodes) await endOtherLogins(user.id, loginRecord.id, event);
      return added;
    },
    async requireStepUp(context, { passwordShown, enrolling } = {}) {
      await context.confirmLive();
      const user = context.user;
      if (!user) throw new KeycardError('unauthenticated', 'sign in first');
      await mfa.requireRecent(user, context.loginRecord, { passwordShown, enrolling });
    },
    async signIn(context, body) {
      let result: SignInResult;
      try {
        result = await context.run(() => signIn(context, body));
      } catch (error) {
        context.recordOutcome(errorOutcome(error), error);
        throw error;
      }
      context.recordOutcome(
        result.ok ? 'login' : result.reason === 'too_many_requests' ? 'throttled' : 'login_failed',
      );
      return result;
    },
  };

  async function refresh(context: AuthContext, refreshToken: string | undefined): Promise<LoginRecord> {
    const { ip } = context.request;
    const event = { ip, userAgent: context.request.header('user-agent') ?? null };
    // Failed refreshes are counted per client address; over the limit, no token is even looked up.
    const verdict = throttle ? await throttle.checkRefresh(ip) : null;
    if (verdict && !verdict.ok) {
      const { scope, retryAfterSeconds } = verdict;
      emit({ type: 'throttled', action: 'refresh', scope, retryAfterSeconds, ...event });
      throw tooManyRequests('too many failed refresh attempts', retryAfterSeconds);
    }
    const outcome = await context.refresh(refreshToken);
    if (outcome.ok) return outcome.login;
    if (outcome.code === 'too_many_requests') {
      // This login refreshed too often: nothing changed, and its tokens stay valid for when it may again.
      const { retryAfterSeconds } = outcome;
      emit({ type: 'throttled', action: 'refresh', scope: 'login', retryAfterSeconds, ...event });
      throw tooManyRequests('this login refreshed too often', retryAfterSeconds);
    }
    // This request still learns what was wrong with its token; the limit applies to the next ones.
    await throttle?.recordRefreshFailure(ip);
    throw outcome.code === 'refresh_token_reused'
      ? new KeycardError(
          'refresh_token_reused',
          'this refresh token was already used; the login has been revoked',
        )
      : new KeycardError('token_invalid', 'the refresh token is invalid, expired or revoked');
  }

  async function signIn(context: AuthContext, body: unknown): Promise<SignInResult> {
    // The body's shape first: malformed input costs nothing and is no oracle (the same 400 for anyone).
    const credentials = readCredentials(body);
    const { ip } = context.request;
    const eventContext = { ip, userAgent: context.request.header('user-agent') ?? null };
    // Before any hashing: a forged cross-site login, or a browser login without the token bound to its
    // pre-login cookie (login CSRF), must not even cost a password verification.
    context.guardLogin();
    const { username } = credentials;
    // Also before any hashing or user read, so a throttled attempt costs no Argon2 time, and the same for
    // every username, so it says nothing about whether the account exists — nor, with the right password,
    // whether the password was right. The attempt is counted now, before its password is checked, so
    // simultaneous attempts cannot all slip under the limits.
    let ticket: LoginTicket | null = null;
    if (throttle) {
      const reservation = await throttle.reserveLogin(credentials.username, ip);
      if (!reservation.ok) {
        const { scope, retryAfterSeconds } = reservation;
        emit({ type: 'throttled', action: 'login', scope, username, retryAfterSeconds, ...eventContext });
        return throttled(retryAfterSeconds);
      }
      ticket = reservation.ticket;
    }
    const check = await users.verifyCredentials(credentials.username, credentials.password);
    if (!check.ok) {
      emit({ type: 'login_failed', reason: check.reason, username, ...eventContext });
      if (throttle && ticket) {
        if (check.reason !== 'invalid_credentials') {
          // A right password for a blocked account is not a failure to count.
          await throttle.releaseLogin(ticket);
          return failed(check.reason);
        }
        // A failure that starts a wait says so at once, so the client knows when to try again.
        const verdict = await throttle.recordLoginFailure(ticket);
        if (!verdict.ok) return throttled(verdict.retryAfterSeconds);
      }
      return failed(check.reason);
    }
    // Recorded before the login exists: if the store fails here, no session has been handed out.
    if (throttle && ticket) await throttle.recordLoginSuccess(ticket);
    // A user with a second factor gets no login yet: a pending sign-in that only the factor finishes.
    const factors = await mfa.signInFactors(check.user.id);
    if (factors.length > 0) {
      const client = { ip, userAgent: eventContext.userAgent };
      const mfaToken = await mfa.issuePending(check.user, client, credentials.remember !== false);
      emit({ type: 'mfa_required', userId: check.user.id, ...eventContext });
      return mfaRequired(mfaToken, factors);
    }
    return finishLogin(context, check.user, ['pwd'], credentials.remember, {
      username,
      password: credentials.password,
      ...eventContext,
    });
  }

  /**
   * Makes the login of a sign-in whose checks passed, then reads the user again: a block, a password
   * change or a role change that raced with this sign-in either ended the login already (it was listed)
   * or is seen here, and the login is undone — so no login outlives the change that should have ended it.
   */
  async function finishLogin(
    context: AuthContext,
    user: UserRecord,
    amr: readonly AuthMethod[],
    remember: boolean | undefined,
    check: { username: string; password?: string } & EventContext,
  ): Promise<SignInResult> {
    const { username, password, ...eventContext } = check;
    const session = await context.login(toAuthUser(user), { remember, amr });
    const current = await store.getUserById(user.id);
    const passwordChanged =
      current !== null &&
      current.passwordHash !== user.passwordHash &&
      (password === undefined || !(await users.verifyCredentials(user.username, password)).ok);
    const changed = !current || current.blocked || current.role !== user.role || passwordChanged;
    if (changed) {
      await context.logout();
      const reason = current?.blocked ? 'account_blocked' : 'invalid_credentials';
      emit({ type: 'login_failed', reason, username, ...eventContext });
      return failed(reason);
    }
    return { ok: true, user, login: session, session };
  }

  async function completeSignIn(context: AuthContext, body: unknown): Promise<SignInResult> {
    const input = readSecondStep(body);
    const { ip } = context.request;
    const eventContext = { ip, userAgent: context.request.header('user-agent') ?? null };
    context.guardLogin();
    const pending = await mfa.readPending(input.mfaToken, eventContext);
    const method = await secondFactor(pending.userId, input, 'login', { ...eventContext, pending });
    // One of simultaneous right answers wins; a pending sign-in is never made into two logins.
    if (!(await mfa.consumePending(pending))) {
      throw new KeycardError('token_invalid', 'this sign-in was finished already; sign in again');
    }
    const user = await store.getUserById(pending.userId);
    if (!user || user.blocked) {
      const reason = user?.blocked ? 'account_blocked' : 'invalid_credentials';
      return failed(reason);
    }
    return finishLogin(context, user, ['pwd', method], pending.remember, {
      username: user.username,
      ...eventContext,
    });
  }

  async function signInWithPasskey(context: AuthContext, body: unknown): Promise<SignInResult> {
    const input = plainObject(body);
    const { remember } = input;
    if (remember !== undefined && typeof remember !== 'boolean') {
      throw new KeycardError('invalid_request', 'remember must be true or false', { field: 'remember' });
    }
    const eventContext = { ip: context.request.ip, userAgent: context.request.header('user-agent') ?? null };
    // Before any verification, as for a password: no forged cross-site sign-in costs a signature check.
    context.guardLogin();
    if (!mfa.passkeys) throw new KeycardError('invalid_request', 'passkeys are not configured');
    // Counted per client address before any verification: an unknown credential names no user to count.
    await mfa.countPasswordless(eventContext.ip);
    const { user } = await mfa.passkeys.verifyPasswordless(input.response, eventContext);
    if (user.blocked) {
      emit({ type: 'login_failed', reason: 'account_blocked', username: user.username, ...eventContext });
      return failed('account_blocked');
    }
    emit({ type: 'mfa_succeeded', userId: user.id, kind: 'passkey', purpose: 'login', ...eventContext });
    return finishLogin(context, user, ['hwk', 'user'], remember, {
      username: user.username,
      ...eventContext,
    });
  }

  /** Checks the second factor a body carries: a code, or a passkey assertion. */
  async function secondFactor(
    userId: string,
    input: { code?: unknown; passkey?: unknown },
    purpose: 'login' | 'step_up',
    event: EventContext & { pending?: PendingSignIn },
  ): Promise<AuthMethod> {
    if (input.passkey !== undefined) {
      if (!mfa.passkeys)
        throw new KeycardError('invalid_request', 'passkeys are not configured', { field: 'passkey' });
      const { pending: _pending, ...context } = event;
      let factor: FactorRecord;
      try {
        factor = await mfa.passkeys.verifyAssertion(userId, input.passkey, context);
      } catch (failure) {
        if (failure instanceof KeycardError && failure.code === 'invalid_code')
          emit({ type: 'mfa_failed', userId, purpose, ...context });
        throw failure;
      }
      emit({ type: 'mfa_succeeded', userId, kind: factor.kind, purpose, ...context });
      return 'hwk';
    }
    return mfa.verifyCode(userId, input.code, purpose, event);
  }

  async function stepUp(context: AuthContext, body: unknown): Promise<void> {
    await context.confirmLive();
    const user = context.user;
    const login = context.loginRecord;
    if (!user || !login) throw new KeycardError('unauthenticated', 'sign in first');
    const input = readStepUp(body);
    const event = { ip: context.request.ip, userAgent: context.request.header('user-agent') ?? null };
    const hasFactor = (await mfa.signInFactors(user.id)).length > 0;
    let method: AuthMethod;
    if (hasFactor) {
      if (input.code === undefined && input.passkey === undefined) {
        throw new KeycardError(
          'invalid_request',
          'a code or a passkey is needed: this account has a second factor',
          {
            field: 'code',
          },
        );
      }
      method = await secondFactor(user.id, input, 'step_up', event);
    } else {
      if (input.password === undefined) {
        throw new KeycardError(
          'invalid_request',
          'this account has no second factor: confirm with the password',
          {
            field: 'password',
          },
        );
      }
      await confirmOwnPassword({ users, throttle, emit }, context, input.password);
      emit({ type: 'step_up_password', userId: user.id, ...event });
      method = 'pwd';
    }
    await recordProof(login, method);
  }

  /**
   * The user's first second factor: every other login — made with the password alone, perhaps by whoever
   * the user turned it on against — ends, as a password change ends them.
   */
  async function endOtherLogins(userId: string, keepId: string, event: EventContext): Promise<void> {
    const count = await logins.destroyAllForUser(userId, { exceptId: keepId });
    if (count > 0) emit({ type: 'sessions_revoked', userId, count, reason: 'mfa_enrolled', ...event });
  }

  /**
   * Records on the login that a credential was just shown (a step-up, or a factor confirmed by its first
   * use): `verifiedAt`, and for a second factor `mfaAt`, move to now.
   */
  async function recordProof(login: LoginRecord, method: AuthMethod): Promise<void> {
    const now = clock.now();
    const previous = authenticationOf(login) ?? {
      amr: [],
      at: login.createdAt,
      mfaAt: null,
      verifiedAt: login.createdAt,
    };
    const next = {
      ...previous,
      amr: [...new Set([...previous.amr, method])],
      verifiedAt: now,
      mfaAt: method === 'pwd' ? previous.mfaAt : now,
    };
    const saved = await store.patchLoginData(
      login.id,
      { set: { [AUTHENTICATION_KEY]: next }, unset: [] },
      { maxBytes: options.session.maxDataBytes + 1024 },
    );
    if (saved !== 'ok') throw new KeycardError('token_revoked', 'this login has ended; sign in again');
  }
}

/** The result of a right password when a second factor is needed: no login, a pending sign-in. */
function mfaRequired(mfaToken: string, factors: FactorKind[]): SignInResult {
  return {
    ok: false,
    reason: 'mfa_required',
    mfaToken,
    factors,
    error: new KeycardError('mfa_required', 'a second factor is needed to finish signing in', {
      body: { mfa_token: mfaToken, factors },
    }),
  };
}

const MAX_MFA_TOKEN_INPUT = 256;

function plainObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new KeycardError('invalid_request', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** The second step's body: `mfa_token`, and one of `code` or `passkey`. */
function readSecondStep(body: unknown): { mfaToken: string; code?: unknown; passkey?: unknown } {
  const input = plainObject(body);
  const mfaToken = input.mfa_token;
  if (typeof mfaToken !== 'string' || mfaToken.length === 0 || mfaToken.length > MAX_MFA_TOKEN_INPUT) {
    throw new KeycardError('invalid_request', 'mfa_token must be the token the sign-in answered', {
      field: 'mfa_token',
    });
  }
  return { mfaToken, ...oneFactor(input) };
}

function oneFactor(input: Record<string, unknown>): { code?: unknown; passkey?: unknown } {
  const { code, passkey } = input;
  if ((code === undefined) === (passkey === undefined)) {
    throw new KeycardError('invalid_request', 'send one of code or passkey', { field: 'code' });
  }
  return code === undefined ? { passkey } : { code };
}

function readStepUp(body: unknown): { code?: unknown; passkey?: unknown; password?: unknown } {
  const input = plainObject(body);
  if (input.password !== undefined) {
    if (input.code !== undefined || input.passkey !== undefined) {
      throw new KeycardError('invalid_request', 'send one of password, code or passkey', {
        field: 'password',
      });
    }
    return { password: input.password };
  }
  if (input.code === undefined && input.passkey === undefined) return {};
  return oneFactor(input);
}
