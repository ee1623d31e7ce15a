/**
 * The session manager: create, validate, touch, save, regenerate and destroy sessions, with idle and
 * absolute expiry. Framework-free; the request-level flow (cookies, `req.session`) is in `context.ts`.
 */
import type { Clock } from '../clock.js';
import { KeycardError } from '../errors.js';
import type { AuthUser, DataPatch, RevocationRecord, SessionData, SessionRecord, Store } from '../store.js';
import { generateToken, hashToken, isWellFormedToken } from '../tokens.js';
import { applyPatch, dataBytes } from './data.js';

export interface SessionPolicy {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
  maxDataBytes: number;
}

export interface NewSession {
  user: AuthUser | null;
  data?: SessionData;
  userAgent?: string | null;
  ip?: string | null;
}

/** Why a presented token did not yield a session. */
export type InvalidReason = 'malformed' | 'unknown' | 'expired';

export type Validation = { ok: true; session: SessionRecord } | { ok: false; reason: InvalidReason };

export interface SessionManager {
  readonly policy: SessionPolicy;
  /** A new session under a fresh token (never one the client sent). Returns the token once. */
  create(input: NewSession): Promise<{ token: string; session: SessionRecord }>;
  /** Format check → SHA-256 → one store read → idle and absolute expiry. An expired record is deleted. */
  validate(token: string): Promise<Validation>;
  /** True when enough time has passed since the last recorded activity to write it back. */
  isTouchDue(session: SessionRecord): boolean;
  /**
   * Writes back what this request changed: the data patch (if any) and activity (if due), in at most one
   * store write. Nothing is revived: a patch for a session destroyed meanwhile returns false; a touch of
   * one is a no-op (and returns true: the store does not report it).
   */
  save(session: SessionRecord, patch: DataPatch | null): Promise<boolean>;
  /** Ends a login (session or jwt login): deletes the record and, for token strategies, records a revocation. */
  destroy(sessionId: string): Promise<boolean>;
  /** Ends a login only if it is the user's (so a user cannot end someone else's). */
  destroyForUser(userId: string, sessionId: string): Promise<boolean>;
  /**
   * Ends every login of the user but `exceptId`. For token strategies every login it deletes is also
   * revoked. Without an exception (logout everywhere, block, role change) a user-wide cut-off is recorded
   * too, which also covers a login created while this runs; with one, logins are revoked and deleted one
   * by one, so none is deleted without its revocation.
   */
  destroyAllForUser(userId: string, options?: { exceptId?: string }): Promise<number>;
  /** Records revocations of logins the store ended itself (refresh-token reuse). */
  recordRevocations(loginIds: string[]): Promise<void>;
  listForUser(userId: string): Promise<SessionRecord[]>;
}

/** User agents are kept for the "my devices" list; a bounded prefix is enough. */
const MAX_USER_AGENT_LENGTH = 256;
/** How often "end every login but this one" lists the user's logins again for ones created meanwhile. */
const MAX_REVOKE_PASSES = 3;

/**
 * For the jwt and hybrid strategies, whose access tokens are checked without the store: every login that
 * ends is also recorded as a revocation, kept `lifetimeMs` (longer than any access token lives), so the
 * revocation feed can refuse its tokens on every instance.
 */
export interface RevocationRecording {
  lifetimeMs: number;
  /** Called with each record as it is stored (the local monitor applies it at once). */
  onRecord?: (record: RevocationRecord) => void;
}

export function createSessionManager(
  store: Store,
  policy: SessionPolicy,
  clock: Clock,
  revocation: RevocationRecording | null = null,
): SessionManager {
  const record = async (kind: RevocationRecord['kind'], ids: string[]): Promise<void> => {
    if (!revocation) return;
    const now = clock.now();
    for (const id of ids) {
      const entry: RevocationRecord = { kind, id, at: now, expiresAt: now + revocation.lifetimeMs };
      revocation.onRecord?.(entry);
      await store.addRevocation(entry);
    }
  };

  const idleExpiry = (session: SessionRecord, now: number): number =>
    Math.min(now + policy.idleTimeoutMs, session.absoluteExpiresAt);

  const tooLarge = (): KeycardError =>
    new KeycardError(
      'session_data_too_large',
      `session data would exceed ${policy.maxDataBytes} bytes of JSON; store large values elsewhere`,
    );
  const checkSize = (data: SessionData): void => {
    if (dataBytes(data) > policy.maxDataBytes) throw tooLarge();
  };

  return {
    policy,

    async create(input) {
      const data = input.data ?? {};
      checkSize(data);
      const token = generateToken();
      const now = clock.now();
      const absoluteExpiresAt = now + policy.absoluteTimeoutMs;
      const session: SessionRecord = {
        id: hashToken(token),
        user: input.user,
        createdAt: now,
        lastActiveAt: now,
        expiresAt: Math.min(now + policy.idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt,
        data,
        userAgent: input.userAgent ? input.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
        ip: input.ip ?? null,
      };
      await store.createSession(session);
      return { token, session };
    },

    async validate(token) {
      if (!isWellFormedToken(token)) return { ok: false, reason: 'malformed' };
      const session = await store.getSession(hashToken(token));
      if (!session) return { ok: false, reason: 'unknown' };
      const now = clock.now();
      if (now >= session.expiresAt || now >= session.absoluteExpiresAt) {
        await store.deleteSession(session.id);
        return { ok: false, reason: 'expired' };
      }
      return { ok: true, session };
    },

    isTouchDue(session) {
      return clock.now() - session.lastActiveAt >= policy.touchIntervalMs;
    },

    async save(session, patch) {
      const now = clock.now();
      const touch = now - session.lastActiveAt >= policy.touchIntervalMs;
      if (patch) {
        // Checked here first so the common case fails before any I/O; the store checks again after merging
        // with whatever a concurrent request wrote.
        const merged = applyPatch(session.data, patch);
        checkSize(merged);
        const result = await store.patchSessionData(session.id, patch, {
          maxBytes: policy.maxDataBytes,
          touch: touch ? { lastActiveAt: now, expiresAt: idleExpiry(session, now) } : undefined,
        });
        if (result === 'too_large') throw tooLarge();
        if (result !== 'ok') return false;
        session.data = merged;
      } else if (touch) {
        await store.touchSession(session.id, now, idleExpiry(session, now));
      } else {
        return true;
      }
      if (touch) {
        session.lastActiveAt = now;
        session.expiresAt = idleExpiry(session, now);
      }
      return true;
    },

    async destroy(sessionId) {
      const deleted = await store.deleteSession(sessionId);
      // Recorded even when the record was already gone: a token may outlive its login record.
      await record('login', [sessionId]);
      return deleted;
    },
    async destroyForUser(userId, sessionId) {
      const deleted = await store.deleteSession(sessionId, { userId });
      if (deleted) await record('login', [sessionId]);
      return deleted;
    },
    async destroyAllForUser(userId, options = {}) {
      if (!revocation) return store.deleteUserSessions(userId, options);
      const { exceptId } = options;
      if (exceptId === undefined) {
        const ids = (await store.listUserSessions(userId)).map((s) => s.id);
        const count = await store.deleteUserSessions(userId);
        await record('login', ids);
        // A login created between the listing and the delete was deleted unlisted: this cut-off (later
        // than its tokens' `iat`) revokes it, and any other token of the user issued until now.
        await record('user', [userId]);
        return count;
      }
      // Keeping one login, a user-wide cut-off cannot be recorded: a RevocationRecord is one login or every
      // token of the user issued before `at`, and the latter would end the kept login too. So each login
      // is revoked by id and only then deleted by id — never deleted in bulk, which would also delete a
      // login created after the listing, unrevoked, while its access tokens stay valid. Listing again
      // until nothing else is left catches logins created meanwhile; the passes are bounded, and a login
      // created after the last listing simply lives on (as one created after a single bulk delete would).
      let count = 0;
      const ended = new Set<string>([exceptId]);
      for (let pass = 0; pass < MAX_REVOKE_PASSES; pass++) {
        const ids = (await store.listUserSessions(userId)).map((s) => s.id).filter((id) => !ended.has(id));
        if (ids.length === 0) break;
        for (const id of ids) ended.add(id);
        // Revoked first: if a delete then fails, the login is refused rather than left deleted-but-valid.
        await record('login', ids);
        const deleted = await Promise.all(ids.map((id) => store.deleteSession(id, { userId })));
        count += deleted.filter(Boolean).length;
      }
      return count;
    },
    recordRevocations: (loginIds) => record('login', loginIds),
    listForUser: (userId) => store.listUserSessions(userId),
  };
}
