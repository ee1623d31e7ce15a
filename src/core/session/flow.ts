/**
 * The session strategy for one request: the token travels in the session cookie, the login is a session
 * record read once per request, and session data is tracked and saved as per-key patches.
 */
import type { AuthContext, LoginOptions, RefreshOutcome, RequestFlow } from '../auth/context.js';
import { RESERVED_DATA_KEYS } from '../auth/session-object.js';
import { readCookie } from '../cookies/parse.js';
import { KeycardError } from '../errors.js';
import type { EventEmitter } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { AuthUser, SessionRecord } from '../store.js';
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

export class SessionFlow implements RequestFlow {
  private readonly cookie: SessionCookiePolicy;
  private snapshot: DataSnapshot = new Map();

  constructor(
    private readonly deps: SessionFlowDependencies,
    private readonly context: AuthContext,
    private readonly setCookie: (header: string) => void,
  ) {
    this.cookie = sessionCookiePolicy(deps.options, context.request);
  }

  /** Reads the session cookie and validates it: at most one store read (and a delete if it expired). */
  async load(): Promise<void> {
    const read = readCookie(this.context.request.header('cookie'), this.cookie.name);
    if (read.status === 'absent') return;
    if (read.status === 'duplicate') {
      this.context.problem = 'duplicate_cookie';
      this.setCookie(clearSessionCookie(this.cookie));
      return;
    }
    const result = await this.deps.sessions.validate(read.value);
    if (!result.ok) {
      this.context.problem = result.reason;
      this.setCookie(clearSessionCookie(this.cookie));
      return;
    }
    this.adopt(result.session);
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
    this.deps.emit({
      type: 'logout',
      userId: session.user?.id ?? null,
      sessionId: session.id,
      ...eventContext(context),
    });
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
  async commit(): Promise<void> {
    const context = this.context;
    try {
      const patch = diffData(this.snapshot, context.data);
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
    this.clearData();
    for (const key of Object.keys(session.data)) {
      if (!RESERVED_DATA_KEYS.has(key)) defineKey(context.data, key, session.data[key]);
    }
    this.snapshot = snapshotData(context.data);
  }

  private discardChanges(): void {
    const saved = [...this.snapshot];
    this.clearData();
    for (const [key, json] of saved) defineKey(this.context.data, key, JSON.parse(json));
    this.snapshot = new Map(saved);
  }

  private clearData(): void {
    for (const key of Object.keys(this.context.data)) delete this.context.data[key];
    this.snapshot = new Map();
  }
}
