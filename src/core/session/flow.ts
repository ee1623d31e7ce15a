/**
 * The session strategy for one request: the token travels in the session cookie, the login is a session
 * record read once per request, and session data is tracked and saved as per-key patches.
 */
import type { AuthContext, LoginOptions, RefreshOutcome, RequestFlow } from '../auth/context.js';
import { RESERVED_DATA_KEYS, type SessionObject } from '../auth/session-object.js';
import { readCookie } from '../cookies/parse.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { AuthUser, DataPatch, SessionRecord } from '../store.js';
import {
  clearSessionCookie,
  type SessionCookiePolicy,
  sessionCookiePolicy,
  setSessionCookie,
} from './cookie.js';
import { type DataSnapshot, defineKey, diffData, snapshotData } from './data.js';
import type { SessionManager } from './manager.js';

export interface SessionFlowDependencies {
  options: ResolvedOptions;
  sessions: SessionManager;
  emit: EventEmitter;
}

/** Copies the request's data object as plain JSON (what would be saved). */
export function currentData(context: AuthContext): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(context.data)) {
    const json = JSON.stringify(context.data[key]);
    if (json !== undefined) defineKey(data, key, JSON.parse(json));
  }
  return data;
}

export function eventContext(context: AuthContext): { ip: string | null; userAgent: string | null } {
  return { ip: context.request.ip, userAgent: context.request.header('user-agent') ?? null };
}

/**
 * After a login: ends the user's oldest logins beyond `logins.maxPerUser` (each revoked like any other
 * ended login), with a `session_revoked` event for each, so no client can grow a user's records without
 * bound.
 */
export async function endLoginsOverLimit(
  deps: { sessions: SessionManager; emit: EventEmitter },
  userId: string,
  context: AuthContext,
): Promise<void> {
  for (const login of await deps.sessions.enforceLimit(userId)) {
    deps.emit({
      type: 'session_revoked',
      userId,
      sessionId: login.id,
      by: 'limit',
      ...eventContext(context),
    });
  }
}

export class SessionFlow implements RequestFlow {
  private readonly cookie: SessionCookiePolicy;
  /**
   * Each data key's JSON when the data object was filled; set with the object. Until something asks for
   * `req.session`, there is no object and no snapshot: a request that never touches its data costs no
   * copy, no JSON and no diff.
   */
  private snapshot: DataSnapshot = new Map();

  constructor(
    private readonly deps: SessionFlowDependencies,
    private readonly context: AuthContext,
    private readonly setCookie: (header: string) => void,
  ) {
    this.cookie = sessionCookiePolicy(deps.options, context.request);
  }

  /** Reads the session cookie and validates it: at most one store read (and a delete if it expired). */
  load(): Promise<void> | undefined {
    const read = readCookie(this.context.request.header('cookie'), this.cookie.name);
    if (read.status === 'absent') return undefined;
    if (read.status === 'duplicate') {
      this.context.problem = 'duplicate_cookie';
      this.setCookie(clearSessionCookie(this.cookie));
      return undefined;
    }
    return this.deps.sessions.validate(read.value).then((result) => {
      if (!result.ok) {
        this.context.problem = result.reason;
        this.setCookie(clearSessionCookie(this.cookie));
        return;
      }
      this.adopt(result.session);
    });
  }

  /**
   * Signs `user` in under a fresh token: the pre-login session (if any) is destroyed first, so a token
   * planted before login (session fixation) is worthless afterwards.
   */
  async login(user: AuthUser, options: LoginOptions): Promise<SessionRecord> {
    const context = this.context;
    if (!options.allowCrossSite && context.checkOrigin() === 'cross_site') {
      throw new KeycardError('cross_site_request', 'cross-site login refused');
    }
    const previous = context.session;
    const sameOwner = !previous?.user || previous.user.id === user.id;
    const carried = options.keepData === false || !sameOwner ? {} : currentData(context);
    if (previous) await this.deps.sessions.destroy(previous.id);
    const session = await this.start({ id: user.id, username: user.username, role: user.role }, carried);
    this.deps.emit({
      type: 'login_succeeded',
      userId: user.id,
      sessionId: session.id,
      ...eventContext(context),
    });
    await endLoginsOverLimit(this.deps, user.id, context);
    return session;
  }

  /** Ends this session: deletes the record, clears the cookie and the data. */
  async logout(): Promise<boolean> {
    const context = this.context;
    const session = context.session;
    this.clearData();
    context.session = null;
    context.user = null;
    this.setCookie(clearSessionCookie(this.cookie));
    if (!session) return false;
    const deleted = await this.deps.sessions.destroy(session.id);
    if (deleted) {
      this.deps.emit({
        type: 'logout',
        userId: session.user?.id ?? null,
        sessionId: session.id,
        ...eventContext(context),
      });
    }
    return deleted;
  }

  async regenerate(): Promise<void> {
    const previous = this.context.session;
    const data = currentData(this.context);
    if (previous) await this.deps.sessions.destroy(previous.id);
    await this.start(previous?.user ?? null, data);
  }

  async reload(): Promise<void> {
    const context = this.context;
    if (!context.session) return;
    const fresh = await this.deps.options.store.getSession(context.session.id);
    if (!fresh) {
      this.clearData();
      context.session = null;
      context.user = null;
      return;
    }
    this.adopt(fresh);
  }

  /**
   * Saves what the request changed, in at most one store write: the data patch and/or the activity
   * touch when due. Data written to an anonymous request starts a pre-login session.
   */
  commit(): Promise<void> | undefined {
    const context = this.context;
    const data = context.existingData;
    // Nothing loaded, nothing written: the common anonymous request costs nothing here.
    if (!context.session && (data === undefined || Object.keys(data).length === 0)) return undefined;
    const patch = data === undefined ? null : diffData(this.snapshot, data);
    if (context.session && !patch && !this.deps.sessions.isTouchDue(context.session)) return undefined;
    return this.write(patch);
  }

  private async write(patch: DataPatch | null): Promise<void> {
    const context = this.context;
    try {
      for (const key of Object.keys(patch?.set ?? {})) {
        if (RESERVED_DATA_KEYS.has(key)) {
          throw new KeycardError(
            'internal_error',
            `'${key}' cannot be a session data key: the session object uses it`,
          );
        }
      }
      if (context.session) {
        const saved = await this.deps.sessions.save(context.session, patch);
        if (saved) this.snapshot = snapshotData(context.session.data);
        return;
      }
      if (patch) await this.start(null, currentData(context));
    } catch (error) {
      // The changes were refused (too large) or could not be written (store down): they are dropped, so
      // that the error response itself, which commits again on its way out, does not fail the same way.
      this.discardChanges();
      throw error;
    }
  }

  async refresh(): Promise<RefreshOutcome> {
    return { ok: false, code: 'token_invalid', reason: 'the session strategy has no refresh tokens' };
  }

  /** Creates a session under a fresh token, sets the cookie and adopts it. */
  private async start(user: AuthUser | null, data: Record<string, unknown>): Promise<SessionRecord> {
    const request = this.context.request;
    const { token, session } = await this.deps.sessions.create({
      user,
      data,
      userAgent: request.header('user-agent') ?? null,
      ip: request.ip,
    });
    const options = this.deps.options;
    const maxAge = options.cookie.persistent
      ? Math.floor(options.session.absoluteTimeoutMs / 1000)
      : undefined;
    this.setCookie(setSessionCookie(this.cookie, token, maxAge));
    this.adopt(session);
    return session;
  }

  private adopt(session: SessionRecord): void {
    const context = this.context;
    context.session = session;
    context.user = session.user;
    context.problem = null;
    context.cookieAuthenticated = true;
    // A data object already handed out is refilled now; otherwise it is filled when first asked for.
    const data = context.existingData;
    if (data) {
      this.clearData();
      this.populate(data);
    }
  }

  /** Fills a new (or emptied) data object from the current session, and snapshots it. */
  populate(data: SessionObject): void {
    const stored = this.context.session?.data;
    if (stored) {
      for (const key of Object.keys(stored)) {
        if (!RESERVED_DATA_KEYS.has(key)) defineKey(data, key, stored[key]);
      }
    }
    this.snapshot = snapshotData(data);
  }

  private discardChanges(): void {
    const data = this.context.existingData;
    if (!data) return; // nobody asked for the data, so nothing can have changed
    const saved = [...this.snapshot];
    this.clearData();
    for (const [key, json] of saved) defineKey(data, key, JSON.parse(json));
    this.snapshot = new Map(saved);
  }

  private clearData(): void {
    const data = this.context.existingData;
    if (data) for (const key of Object.keys(data)) delete data[key];
    this.snapshot = new Map();
  }
}
