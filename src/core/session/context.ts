/**
 * One request's view of authentication: who is signed in, their session, the session data object handed
 * to application code (`req.session`), and the operations that change them. Adapters create one per
 * request, `load()` it, and `commit()` it before the response is sent; every cookie change goes to the
 * adapter's `setCookie` sink as a complete `Set-Cookie` header.
 */
import { readCookie } from '../cookies/parse.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import { checkRequestOrigin, type OriginVerdict } from '../http/origin.js';
import type { RequestInfo } from '../http/request.js';
import type { ResolvedOptions } from '../options.js';
import type { AuthUser, SessionRecord } from '../store.js';
import {
  clearSessionCookie,
  type SessionCookiePolicy,
  sessionCookiePolicy,
  setSessionCookie,
} from './cookie.js';
import { type DataSnapshot, defineKey, diffData, snapshotData } from './data.js';
import type { InvalidReason, SessionManager } from './manager.js';

/** Why a request is not authenticated although it carried a session cookie. */
export type AuthProblem = InvalidReason | 'duplicate_cookie';

export interface ContextDependencies {
  options: ResolvedOptions;
  sessions: SessionManager;
  emit: EventEmitter;
}

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

/**
 * The object applications read and write as `req.session`. Own enumerable properties are the data;
 * `id` and the express-session style methods live on the prototype, so they are never saved as data.
 */
export interface SessionObject {
  [key: string]: unknown;
  readonly id: string | null;
  regenerate(callback?: (error?: unknown) => void): Promise<void>;
  destroy(callback?: (error?: unknown) => void): Promise<void>;
  save(callback?: (error?: unknown) => void): Promise<void>;
  reload(callback?: (error?: unknown) => void): Promise<void>;
}

const owners = new WeakMap<object, AuthContext>();

/** Names the session object uses itself; as data keys they would hide its methods after a reload. */
export const RESERVED_DATA_KEYS: ReadonlySet<string> = new Set([
  'id',
  'regenerate',
  'destroy',
  'save',
  'reload',
]);

function owner(session: object): AuthContext {
  const context = owners.get(session);
  if (!context) throw new TypeError('keycard: this session object does not belong to a request');
  return context;
}

/** express-session's methods take an optional callback; ours also return the promise. */
function settle(promise: Promise<void>, callback: ((error?: unknown) => void) | undefined): Promise<void> {
  if (callback) promise.then(() => callback(), callback);
  return promise;
}

const sessionPrototype: object = Object.create(Object.prototype, {
  id: {
    get(this: object) {
      return owner(this).session?.id ?? null;
    },
  },
  regenerate: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).regenerate(), callback);
    },
  },
  destroy: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(
        owner(this)
          .logout()
          .then(() => undefined),
        callback,
      );
    },
  },
  save: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).commit(), callback);
    },
  },
  reload: {
    value(this: object, callback?: (error?: unknown) => void) {
      return settle(owner(this).reload(), callback);
    },
  },
});

export class AuthContext {
  user: AuthUser | null = null;
  session: SessionRecord | null = null;
  problem: AuthProblem | null = null;
  readonly data: SessionObject;
  readonly request: RequestInfo;
  private readonly deps: ContextDependencies;
  private readonly setCookie: (header: string) => void;
  private readonly cookie: SessionCookiePolicy;
  private snapshot: DataSnapshot = new Map();

  constructor(deps: ContextDependencies, request: RequestInfo, setCookie: (header: string) => void) {
    this.deps = deps;
    this.request = request;
    this.setCookie = setCookie;
    this.cookie = sessionCookiePolicy(deps.options, request);
    this.data = Object.create(sessionPrototype) as SessionObject;
    owners.set(this.data, this);
  }

  /** Reads the session cookie and validates it: at most one store read (and a delete if it expired). */
  async load(): Promise<void> {
    const read = readCookie(this.request.header('cookie'), this.cookie.name);
    if (read.status === 'absent') return;
    if (read.status === 'duplicate') {
      this.problem = 'duplicate_cookie';
      this.setCookie(clearSessionCookie(this.cookie));
      return;
    }
    const result = await this.deps.sessions.validate(read.value);
    if (!result.ok) {
      this.problem = result.reason;
      this.setCookie(clearSessionCookie(this.cookie));
      return;
    }
    this.adopt(result.session);
  }

  /** Refuses cookie-authenticated unsafe requests from other sites (the Origin/Sec-Fetch-Site check). */
  checkOrigin(): OriginVerdict {
    return checkRequestOrigin(this.request, this.deps.options.trustedOrigins);
  }

  /**
   * Signs `user` in under a fresh token: the pre-login session (if any) is destroyed first, so a token
   * planted before login (session fixation) is worthless afterwards.
   */
  async login(user: AuthUser, options: LoginOptions = {}): Promise<SessionRecord> {
    if (!options.allowCrossSite && this.checkOrigin() === 'cross_site') {
      throw new KeycardError('cross_site_request', 'cross-site login refused');
    }
    const previous = this.session;
    const sameOwner = !previous?.user || previous.user.id === user.id;
    const carried = options.keepData === false || !sameOwner ? {} : this.currentData();
    if (previous) await this.deps.sessions.destroy(previous.id);
    const { token, session } = await this.deps.sessions.create({
      user: { id: user.id, username: user.username, role: user.role },
      data: carried,
      userAgent: this.request.header('user-agent') ?? null,
      ip: this.request.ip,
    });
    this.setCookie(setSessionCookie(this.cookie, token, this.cookieMaxAge()));
    this.adopt(session);
    this.deps.emit({
      type: 'login_succeeded',
      userId: user.id,
      sessionId: session.id,
      ...this.eventContext(),
    });
    return session;
  }

  /** Ends this session: deletes the record, clears the cookie and the data. */
  async logout(): Promise<boolean> {
    const session = this.session;
    this.clearData();
    this.session = null;
    this.user = null;
    this.setCookie(clearSessionCookie(this.cookie));
    if (!session) return false;
    const deleted = await this.deps.sessions.destroy(session.id);
    this.deps.emit({
      type: 'logout',
      userId: session.user?.id ?? null,
      sessionId: session.id,
      ...this.eventContext(),
    });
    return deleted;
  }

  /** Moves the session to a fresh token, keeping user and data (e.g. after a privilege change). */
  async regenerate(): Promise<void> {
    const previous = this.session;
    const data = this.currentData();
    if (previous) await this.deps.sessions.destroy(previous.id);
    const { token, session } = await this.deps.sessions.create({
      user: previous?.user ?? null,
      data,
      userAgent: this.request.header('user-agent') ?? null,
      ip: this.request.ip,
    });
    this.setCookie(setSessionCookie(this.cookie, token, this.cookieMaxAge()));
    this.adopt(session);
  }

  /** Re-reads the session from the store, dropping unsaved changes. */
  async reload(): Promise<void> {
    if (!this.session) return;
    const fresh = await this.deps.options.store.getSession(this.session.id);
    if (!fresh) {
      this.clearData();
      this.session = null;
      this.user = null;
      return;
    }
    this.adopt(fresh);
  }

  /**
   * Saves what the request changed, in at most one store write: the data patch and/or the activity
   * touch when due. Data written to an anonymous request starts a pre-login session.
   */
  async commit(): Promise<void> {
    try {
      const patch = diffData(this.snapshot, this.data);
      for (const key of Object.keys(patch?.set ?? {})) {
        if (RESERVED_DATA_KEYS.has(key)) {
          throw new KeycardError(
            'internal_error',
            `'${key}' cannot be a session data key: the session object uses it`,
          );
        }
      }
      if (this.session) {
        const saved = await this.deps.sessions.save(this.session, patch);
        if (saved) this.snapshot = snapshotData(this.session.data);
        return;
      }
      if (!patch) return;
      const { token, session } = await this.deps.sessions.create({
        user: null,
        data: this.currentData(),
        userAgent: this.request.header('user-agent') ?? null,
        ip: this.request.ip,
      });
      this.setCookie(setSessionCookie(this.cookie, token, this.cookieMaxAge()));
      this.adopt(session);
    } catch (error) {
      // The changes were refused (too large) or could not be written (store down): they are dropped, so
      // that the error response itself, which commits again on its way out, does not fail the same way.
      this.discardChanges();
      throw error;
    }
  }

  private adopt(session: SessionRecord): void {
    this.session = session;
    this.user = session.user;
    this.problem = null;
    this.clearData();
    for (const key of Object.keys(session.data)) {
      if (!RESERVED_DATA_KEYS.has(key)) defineKey(this.data, key, session.data[key]);
    }
    this.snapshot = snapshotData(this.data);
  }

  private currentData(): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const key of Object.keys(this.data)) {
      const json = JSON.stringify(this.data[key]);
      if (json !== undefined) defineKey(data, key, JSON.parse(json));
    }
    return data;
  }

  private discardChanges(): void {
    const saved = [...this.snapshot];
    this.clearData();
    for (const [key, json] of saved) defineKey(this.data, key, JSON.parse(json));
    this.snapshot = new Map(saved);
  }

  private clearData(): void {
    for (const key of Object.keys(this.data)) delete this.data[key];
    this.snapshot = new Map();
  }

  private cookieMaxAge(): number | undefined {
    const options = this.deps.options;
    return options.cookie.persistent ? Math.floor(options.session.absoluteTimeoutMs / 1000) : undefined;
  }

  private eventContext(): { ip: string | null; userAgent: string | null } {
    return { ip: this.request.ip, userAgent: this.request.header('user-agent') ?? null };
  }
}
