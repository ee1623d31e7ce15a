/**
 * The login registry: every login of every strategy — a session of the session strategy, a token login of
 * the jwt and hybrid strategies — is a `LoginRecord` created, validated, touched, saved and ended here,
 * with idle and absolute expiry and the per-user limit. Ending a token login records its revocation.
 * Framework-free; the request-level flow (cookies, `req.session`) is in `auth/context.ts`.
 */
import type { Clock } from '../clock.js';
import { KeycardError } from '../errors.js';
import { generateToken, hashToken, isWellFormedToken } from '../random-tokens.js';
import { addRevocations } from '../revocation/add.js';
import { applyPatch, dataBytes } from '../session/data.js';
import type { AuthUser, DataPatch, LoginRecord, RevocationRecord, SessionData, Store } from '../store.js';

export interface LoginPolicy {
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  touchIntervalMs: number;
  maxDataBytes: number;
  /** Logins one user may hold at once, in any strategy; beyond it the oldest end. */
  maxLoginsPerUser: number;
}

export interface NewLogin {
  user: AuthUser | null;
  data?: SessionData;
  userAgent?: string | null;
  ip?: string | null;
}

/** Why a presented token did not yield a session. */
export type InvalidReason = 'malformed' | 'unknown' | 'expired';

export type Validation = { ok: true; login: LoginRecord } | { ok: false; reason: InvalidReason };

export interface LoginRegistry {
  readonly policy: LoginPolicy;
  /** A new session under a fresh token (never one the client sent). Returns the token once. */
  create(input: NewLogin): Promise<{ token: string; login: LoginRecord }>;
  /** Format check → SHA-256 → one store read → idle and absolute expiry. An expired record is deleted. */
  validate(token: string): Promise<Validation>;
  /** True when enough time has passed since the last recorded activity to write it back. */
  isTouchDue(session: LoginRecord): boolean;
  /**
   * Writes back what this request changed: the data patch (if any) and activity (if due), in at most one
   * store write. Nothing is revived: a patch for a session destroyed meanwhile returns false; a touch of
   * one is a no-op (and returns true: the store does not report it).
   */
  save(session: LoginRecord, patch: DataPatch | null): Promise<boolean>;
  /**
   * Ends a login (session or jwt login): reads it, records its revocation when it is a token login (its
   * access tokens are checked without the store), then deletes it. An id whose login has already ended
   * writes nothing and returns false, so ending a login twice (a replayed logout) costs one read.
   */
  destroy(sessionId: string): Promise<boolean>;
  /** Ends a login only if it is the user's (so a user cannot end someone else's). */
  destroyForUser(userId: string, sessionId: string): Promise<boolean>;
  /**
   * Ends every login of the user but `exceptId`, revoking every token login it ends. Without an exception
   * (logout everywhere, block, role change) a user-wide cut-off is recorded too when the user had token
   * logins, which also covers a login created while this runs; with one, logins are revoked and deleted
   * one by one, so none is deleted without its revocation.
   */
  destroyAllForUser(userId: string, options?: { exceptId?: string }): Promise<number>;
  /**
   * Keeps the user at `maxLoginsPerUser`: ends their oldest logins beyond it (revoked like any other) and
   * returns them. Called after a login is created.
   */
  enforceLimit(userId: string): Promise<LoginRecord[]>;
  /** Every login of the user, newest first. */
  listForUser(userId: string): Promise<LoginRecord[]>;
  /** One page of the user's logins, newest first; `next` continues it (null on the last page). */
  listPage(userId: string, options: { limit: number; cursor?: string }): Promise<LoginPage>;
}

/** @deprecated Renamed `LoginRegistry`: it holds the logins of every strategy. */
export type SessionManager = LoginRegistry;
/** @deprecated Renamed `LoginPolicy`. */
export type SessionPolicy = LoginPolicy;

export interface LoginPage {
  logins: LoginRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next: string | null;
}

/** User agents are kept for the "my devices" list; a bounded prefix is enough. */
const MAX_USER_AGENT_LENGTH = 256;
/** How often "end every login but this one" lists the user's logins again for ones created meanwhile. */
const MAX_REVOKE_PASSES = 3;
/** Logins are read this many at a time when all of a user's are needed. */
const LIST_BATCH = 500;

/** Called with each revocation as it is stored (the hybrid strategy's monitor applies it at once). */
export type RevocationHook = (record: RevocationRecord) => void;

/** A page cursor: the last login of the page, as `createdAt.id` in base64url. */
function encodeCursor(login: LoginRecord): string {
  return Buffer.from(`${login.createdAt}.${login.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,64})$/.exec(text);
  if (!match)
    throw new KeycardError('invalid_request', 'cursor is not one this API returned', { field: 'cursor' });
  return { createdAt: Number(match[1]), id: match[2] as string };
}

export function createLoginRegistry(
  store: Store,
  policy: LoginPolicy,
  clock: Clock,
  onRevocation: RevocationHook | null = null,
): LoginRegistry {
  /**
   * Records the revocations that ending these logins needs: one per token login (session-strategy logins
   * need none — their record is their only credential), and with `userCutoff` a user-wide one that also
   * covers token logins of the user not in the list (created meanwhile).
   */
  const revoke = async (logins: LoginRecord[], userCutoff: string | null = null): Promise<void> => {
    const now = clock.now();
    let longest = 0;
    const records: RevocationRecord[] = [];
    for (const login of logins) {
      if (!login.refresh) continue;
      longest = Math.max(longest, login.refresh.revocationTTLMs);
      records.push({ kind: 'login', id: login.id, at: now, expiresAt: now + login.refresh.revocationTTLMs });
    }
    if (userCutoff !== null && longest > 0) {
      records.push({ kind: 'user', id: userCutoff, at: now, expiresAt: now + longest });
    }
    // Applied here at once, then stored all together (one statement and a few NOTIFYs on PostgreSQL rather
    // than a round trip each); the callers delete the logins only after this resolves.
    for (const record of records) onRevocation?.(record);
    await addRevocations(store, records);
  };

  /** Every login of the user, read a page at a time. */
  const listAll = async (userId: string): Promise<LoginRecord[]> => {
    const all: LoginRecord[] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await store.listUserLogins(userId, { limit: LIST_BATCH, after });
      all.push(...page);
      const last = page[page.length - 1];
      if (page.length < LIST_BATCH || !last) return all;
      after = { createdAt: last.createdAt, id: last.id };
    }
  };

  const idleExpiry = (session: LoginRecord, now: number): number =>
    Math.min(now + policy.idleTimeoutMs, session.absoluteExpiresAt);

  const tooLarge = (): KeycardError =>
    new KeycardError(
      'session_data_too_large',
      `session data would exceed ${policy.maxDataBytes} bytes of JSON; store large values elsewhere`,
    );
  const checkSize = (data: SessionData): void => {
    if (dataBytes(data) > policy.maxDataBytes) throw tooLarge();
  };

  const destroyLogin = async (login: LoginRecord, userId?: string): Promise<boolean> => {
    // Revoked first: if the delete then fails, the login is refused rather than left deleted-but-valid.
    await revoke([login]);
    return store.deleteLogin(login.id, userId === undefined ? undefined : { userId });
  };

  return {
    policy,

    async create(input) {
      const data = input.data ?? {};
      checkSize(data);
      const token = generateToken();
      const now = clock.now();
      const absoluteExpiresAt = now + policy.absoluteTimeoutMs;
      const session: LoginRecord = {
        id: hashToken(token),
        user: input.user,
        createdAt: now,
        lastActiveAt: now,
        expiresAt: Math.min(now + policy.idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt,
        data,
        userAgent: input.userAgent ? input.userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null,
        ip: input.ip ?? null,
        refresh: null,
      };
      await store.createLogin(session);
      return { token, login: session };
    },

    async validate(token) {
      if (!isWellFormedToken(token)) return { ok: false, reason: 'malformed' };
      const session = await store.getLogin(hashToken(token));
      if (!session) return { ok: false, reason: 'unknown' };
      const now = clock.now();
      if (now >= session.expiresAt || now >= session.absoluteExpiresAt) {
        await store.deleteLogin(session.id);
        return { ok: false, reason: 'expired' };
      }
      return { ok: true, login: session };
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
        const result = await store.patchLoginData(session.id, patch, {
          maxBytes: policy.maxDataBytes,
          touch: touch ? { lastActiveAt: now, expiresAt: idleExpiry(session, now) } : undefined,
        });
        if (result === 'too_large') throw tooLarge();
        if (result !== 'ok') return false;
        session.data = merged;
      } else if (touch) {
        await store.touchLogin(session.id, now, idleExpiry(session, now));
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
      const login = await store.getLogin(sessionId);
      if (!login) return false;
      return destroyLogin(login);
    },
    async destroyForUser(userId, sessionId) {
      const login = await store.getLogin(sessionId);
      if (!login || login.user?.id !== userId) return false;
      return destroyLogin(login, userId);
    },
    async destroyAllForUser(userId, options = {}) {
      const { exceptId } = options;
      if (exceptId === undefined) {
        const logins = await listAll(userId);
        // The cut-off is later than the `iat` of every token the user holds now, including those of a
        // login created between the listing and the delete, which the bulk delete ends unlisted.
        await revoke(logins, userId);
        return store.deleteUserLogins(userId);
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
        const logins = (await listAll(userId)).filter((login) => !ended.has(login.id));
        if (logins.length === 0) break;
        for (const login of logins) ended.add(login.id);
        await revoke(logins);
        const deleted = await Promise.all(logins.map((login) => store.deleteLogin(login.id, { userId })));
        count += deleted.filter(Boolean).length;
      }
      return count;
    },
    async enforceLimit(userId) {
      const limit = policy.maxLoginsPerUser;
      if ((await store.countUserLogins(userId)) <= limit) return [];
      // Rare: read them all and end the oldest beyond the limit.
      const excess = (await listAll(userId)).slice(limit);
      const ended: LoginRecord[] = [];
      for (const login of excess) if (await destroyLogin(login, userId)) ended.push(login);
      return ended;
    },
    listForUser: (userId) => listAll(userId),
    async listPage(userId, options) {
      const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      const page = await store.listUserLogins(userId, { limit: options.limit + 1, after });
      const logins = page.slice(0, options.limit);
      const last = logins[logins.length - 1];
      return { logins, next: page.length > options.limit && last ? encodeCursor(last) : null };
    },
  };
}
