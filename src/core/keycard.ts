/**
 * `createKeycard`: the one object an application or adapter holds. It wires the options, the store, the
 * session manager, the password hasher and the user service together, and creates a per-request
 * `AuthContext` for adapters.
 */

import { AuthContext, type RequestFlow } from './auth/context.js';
import { KeycardError } from './errors.js';
import { createEmitter, type EventEmitter } from './events.js';
import type { RequestInfo } from './http/request.js';
import { TokenFlow } from './jwt/flow.js';
import { createTokenService, type TokenService } from './jwt/tokens.js';
import { type KeycardOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { createPasswordHasher, type PasswordHasher } from './passwords/hash.js';
import { SessionFlow } from './session/flow.js';
import { createSessionManager, type SessionManager } from './session/manager.js';
import type { SessionRecord, Store, UserRecord } from './store.js';
import { createUserService, toAuthUser, type UserService } from './users/service.js';

export type SignInResult =
  | { ok: true; user: UserRecord; session: SessionRecord }
  | { ok: false; reason: 'invalid_credentials' | 'account_blocked' };

export interface Keycard {
  readonly options: ResolvedOptions;
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly passwords: PasswordHasher;
  readonly users: UserService;
  readonly emit: EventEmitter;
  /** Access and refresh tokens (jwt strategy); null for the session strategy. */
  readonly tokens: TokenService | null;
  /** A request's auth state, not yet loaded. `setCookie` receives complete Set-Cookie header values. */
  createContext(request: RequestInfo, setCookie: (header: string) => void): AuthContext;
  /** `createContext` + `load()`: at most one store read. Throws `store_unavailable` if the store is down. */
  authenticate(request: RequestInfo, setCookie: (header: string) => void): Promise<AuthContext>;
  /**
   * Password sign-in for a request: refuses a cross-site request (login CSRF, `cross_site_request`),
   * checks the credentials, then logs in under a fresh session. The user's blocked flag is read again
   * after the session exists, so a block that races with the login always wins.
   */
  signIn(context: AuthContext, credentials: { username: unknown; password: unknown }): Promise<SignInResult>;
}

export function createKeycard(input: KeycardOptions): Keycard {
  const options = resolveOptions(input);
  const { store, clock } = options;
  const emit = createEmitter(options.onEvent, options.onHookError);
  const sessions = createSessionManager(store, options.session, clock);
  const passwords = createPasswordHasher(options.argon2);
  const users = createUserService({
    store,
    sessions,
    passwords,
    policy: options.passwordPolicy,
    clock,
    emit,
  });
  const tokens = options.jwt ? createTokenService(store, options.jwt, clock) : null;
  const createFlow = tokens
    ? (context: AuthContext, setCookie: (header: string) => void): RequestFlow =>
        new TokenFlow({ options, tokens, sessions, emit }, context, setCookie)
    : (context: AuthContext, setCookie: (header: string) => void): RequestFlow =>
        new SessionFlow({ options, sessions, emit }, context, setCookie);
  const deps = { options, createFlow };

  const createContext = (request: RequestInfo, setCookie: (header: string) => void): AuthContext =>
    new AuthContext(deps, request, setCookie);

  return {
    options,
    store,
    sessions,
    passwords,
    users,
    emit,
    tokens,
    createContext,
    async authenticate(request, setCookie) {
      const context = createContext(request, setCookie);
      await context.load();
      return context;
    },
    async signIn(context, credentials) {
      // Before any hashing: a forged cross-site login must not even cost a password verification.
      if (context.checkOrigin() === 'cross_site') {
        throw new KeycardError('cross_site_request', 'cross-site login refused');
      }
      const eventContext = {
        ip: context.request.ip,
        userAgent: context.request.header('user-agent') ?? null,
      };
      const username = typeof credentials.username === 'string' ? credentials.username.slice(0, 256) : '';
      const check = await users.verifyCredentials(credentials.username, credentials.password);
      if (!check.ok) {
        emit({ type: 'login_failed', reason: check.reason, username, ...eventContext });
        return check;
      }
      const session = await context.login(toAuthUser(check.user));
      const current = await store.getUserById(check.user.id);
      if (!current || current.blocked) {
        await context.logout();
        emit({ type: 'login_failed', reason: 'account_blocked', username, ...eventContext });
        return { ok: false, reason: 'account_blocked' };
      }
      return { ok: true, user: check.user, session };
    },
  };
}
