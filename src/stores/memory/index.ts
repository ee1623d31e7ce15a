/**
 * The memory store: for development, tests and single-process demos. Everything is lost on restart and
 * nothing is shared between processes, so it warns when used with NODE_ENV=production.
 *
 * Data is kept as JSON strings so that callers can never alias stored state. Expired sessions are swept
 * periodically; at `maxSessions`, expired ones are swept at once and then the oldest are evicted.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import { emailTaken, KeycardError, usernameTaken } from '../../core/errors.js';
import { applyPatch } from '../../core/session/data.js';
import type {
  AccountTokenKind,
  AccountTokenRecord,
  AuditQuery,
  AuditRecord,
  ClientRecord,
  ClientUpdate,
  CounterValue,
  DataPatch,
  FactorAdvance,
  FactorKind,
  FactorRecord,
  ListUsersOptions,
  LoginPageOptions,
  LoginRecord,
  PatchOptions,
  PatchResult,
  RefreshState,
  RevocationListener,
  RevocationRecord,
  RevocationSubscription,
  Store,
  UserRecord,
  UserUpdate,
} from '../../core/store.js';
import { MemoryAudit } from './audit.js';
import { MemoryFactors } from './factors.js';
import { MemoryAccountTokens } from './tokens.js';

export interface MemoryStoreOptions {
  /** Default 100 000. */
  maxSessions?: number;
  /** How often expired sessions are removed; default 60 000 ms. */
  sweepIntervalMs?: number;
  clock?: Clock;
}

type StoredSession = Omit<LoginRecord, 'data'> & { data: string };

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly sessions = new Map<string, StoredSession>();
  private readonly sessionsByUser = new Map<string, Set<string>>();
  private readonly users = new Map<string, UserRecord>();
  private readonly userIdsByName = new Map<string, string>();
  private readonly userIdsBySkeleton = new Map<string, string>();
  private readonly userIdsByEmail = new Map<string, string>();
  private readonly accountTokens = new MemoryAccountTokens();
  private readonly factors = new MemoryFactors();
  private readonly counters = new Map<string, CounterValue>();
  /** Revocations by `kind:id`; for a user, the latest cut-off wins. */
  private readonly revocations = new Map<string, RevocationRecord>();
  private readonly revocationListeners = new Set<RevocationListener>();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly audit = new MemoryAudit();
  private readonly maxSessions: number;
  private readonly clock: Clock;
  private readonly timer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 100_000;
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) {
      throw new KeycardError(
        'invalid_configuration',
        'MemoryStore: maxSessions must be a positive whole number',
      );
    }
    this.clock = options.clock ?? systemClock;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.timer.unref();
    if (process.env.NODE_ENV === 'production') {
      process.emitWarning(
        'the memory store loses every session on restart and is not shared between instances; use SQLite, Redis or PostgreSQL in production',
        { code: 'KEYCARD_MEMORY_STORE' },
      );
    }
  }

  /** Removes expired sessions (and expired counters and revocations); returns how many sessions. */
  sweep(): number {
    const now = this.clock.now();
    this.accountTokens.prune(now);
    let removed = 0;
    for (const [id, session] of this.sessions) {
      if (session.expiresAt <= now || session.absoluteExpiresAt <= now) {
        this.removeSession(id);
        removed++;
      }
    }
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
    for (const [key, record] of this.revocations) if (record.expiresAt <= now) this.revocations.delete(key);
    return removed;
  }

  get size(): number {
    return this.sessions.size;
  }

  async createLogin(record: LoginRecord): Promise<void> {
    if (this.sessions.size >= this.maxSessions) {
      this.sweep();
      // Maps iterate in insertion order: the first entries are the oldest sessions.
      for (const id of this.sessions.keys()) {
        if (this.sessions.size < this.maxSessions) break;
        this.removeSession(id);
      }
    }
    this.sessions.set(record.id, {
      ...record,
      user: record.user && { ...record.user },
      data: JSON.stringify(record.data),
      refresh: record.refresh && { ...record.refresh },
    });
    if (record.user) {
      let ids = this.sessionsByUser.get(record.user.id);
      if (!ids) {
        ids = new Set();
        this.sessionsByUser.set(record.user.id, ids);
      }
      ids.add(record.id);
    }
  }

  async getLogin(id: string): Promise<LoginRecord | null> {
    const stored = this.sessions.get(id);
    return stored ? this.toRecord(stored) : null;
  }

  async touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    const stored = this.sessions.get(id);
    if (stored) this.applyTouch(stored, lastActiveAt, expiresAt);
  }

  async patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    const stored = this.sessions.get(id);
    if (!stored) return 'missing';
    const json = JSON.stringify(applyPatch(JSON.parse(stored.data), patch));
    if (Buffer.byteLength(json) > options.maxBytes) return 'too_large';
    stored.data = json;
    if (options.touch) this.applyTouch(stored, options.touch.lastActiveAt, options.touch.expiresAt);
    return 'ok';
  }

  async deleteLogin(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const stored = this.sessions.get(id);
    if (!stored) return false;
    if (options.userId !== undefined && stored.user?.id !== options.userId) return false;
    this.removeSession(id);
    return true;
  }

  async listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    const ids = this.sessionsByUser.get(userId);
    if (!ids) return [];
    const after = page?.after;
    const records: LoginRecord[] = [];
    for (const id of ids) {
      const stored = this.sessions.get(id);
      if (!stored) continue;
      if (
        after &&
        !(
          stored.createdAt < after.createdAt ||
          (stored.createdAt === after.createdAt && stored.id < after.id)
        )
      )
        continue;
      records.push(this.toRecord(stored));
    }
    records.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return page ? records.slice(0, Math.max(0, page.limit)) : records;
  }

  async countUserLogins(userId: string): Promise<number> {
    return this.sessionsByUser.get(userId)?.size ?? 0;
  }

  /** Walks the per-user index (signed-in logins only): O(logins), at most `maxSessions`. */
  async countLogins(now: number): Promise<number> {
    let count = 0;
    for (const ids of this.sessionsByUser.values()) {
      for (const id of ids) {
        const stored = this.sessions.get(id);
        if (stored && stored.expiresAt > now && stored.absoluteExpiresAt > now) count++;
      }
    }
    return count;
  }

  async advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    const stored = this.sessions.get(id);
    if (!stored?.refresh || stored.refresh.generation !== expectedGeneration) return null;
    stored.refresh = { ...next };
    this.applyTouch(stored, touch.lastActiveAt, touch.expiresAt);
    return this.toRecord(stored);
  }

  async deleteUserLogins(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    const ids = this.sessionsByUser.get(userId);
    if (!ids) return 0;
    let count = 0;
    for (const id of [...ids]) {
      if (id === options.exceptId) continue;
      this.removeSession(id);
      count++;
    }
    return count;
  }

  async createUser(user: UserRecord): Promise<void> {
    if (this.userIdsByName.has(user.username)) throw usernameTaken(user.username, 'exact');
    if (this.userIdsBySkeleton.has(user.skeleton)) throw usernameTaken(user.username, 'lookalike');
    const email = user.email ?? null;
    if (email !== null && this.userIdsByEmail.has(email)) throw emailTaken();
    this.users.set(user.id, { ...user, email, emailVerifiedAt: user.emailVerifiedAt ?? null });
    this.userIdsByName.set(user.username, user.id);
    this.userIdsBySkeleton.set(user.skeleton, user.id);
    if (email !== null) this.userIdsByEmail.set(email, user.id);
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    const user = this.users.get(id);
    return user ? { ...user } : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const id = this.userIdsByName.get(username);
    return id === undefined ? null : this.getUserById(id);
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const id = this.userIdsByEmail.get(email);
    return id === undefined ? null : this.getUserById(id);
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    const { after, prefix } = options;
    return [...this.users.values()]
      .filter((user) => after === undefined || user.username > after)
      .filter((user) => prefix === undefined || user.username.startsWith(prefix))
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
      .slice(0, options.limit)
      .map((user) => ({ ...user }));
  }

  async countUsers(): Promise<number> {
    return this.users.size;
  }

  async deleteUser(id: string): Promise<boolean> {
    const user = this.users.get(id);
    if (!user) return false;
    this.users.delete(id);
    this.userIdsByName.delete(user.username);
    this.userIdsBySkeleton.delete(user.skeleton);
    if (user.email) this.userIdsByEmail.delete(user.email);
    return true;
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    const user = this.users.get(id);
    if (!user) return null;
    if (update.email !== undefined && update.email !== user.email) {
      if (update.email !== null && this.userIdsByEmail.has(update.email)) throw emailTaken();
      if (user.email) this.userIdsByEmail.delete(user.email);
      if (update.email !== null) this.userIdsByEmail.set(update.email, id);
      user.email = update.email;
    }
    if (update.emailVerifiedAt !== undefined) user.emailVerifiedAt = update.emailVerifiedAt;
    if (update.passwordHash !== undefined) user.passwordHash = update.passwordHash;
    if (update.role !== undefined) user.role = update.role;
    if (update.blocked !== undefined) user.blocked = update.blocked;
    user.updatedAt = update.updatedAt;
    return { ...user };
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const current = this.counters.get(key);
    const next =
      current && current.resetAt > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: now + windowMs };
    this.counters.set(key, next);
    return { ...next };
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const current = this.counters.get(key);
    return current && current.resetAt > now ? { ...current } : null;
  }

  async resetCounter(key: string): Promise<void> {
    this.counters.delete(key);
  }

  async releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    const current = this.counters.get(key);
    if (current && current.resetAt > now && current.resetAt === resetAt && current.count > 0) {
      this.counters.set(key, { count: current.count - 1, resetAt });
    }
  }

  async addRevocation(record: RevocationRecord): Promise<void> {
    const key = `${record.kind}:${record.id}`;
    const existing = this.revocations.get(key);
    this.revocations.set(key, {
      ...record,
      at: Math.max(record.at, existing?.at ?? record.at),
      expiresAt: Math.max(record.expiresAt, existing?.expiresAt ?? record.expiresAt),
    });
    // Delivered asynchronously, like a real channel: the caller never runs listener code.
    const copy = { ...record };
    queueMicrotask(() => {
      for (const listener of this.revocationListeners) listener.revoked(copy);
    });
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    return [...this.revocations.values()]
      .filter((record) => record.expiresAt > now)
      .map((record) => ({ ...record }));
  }

  async isRevoked(
    query: { loginId: string; userId: string; issuedAt: number },
    now: number,
  ): Promise<boolean> {
    const login = this.revocations.get(`login:${query.loginId}`);
    if (login && login.expiresAt > now) return true;
    const user = this.revocations.get(`user:${query.userId}`);
    return user !== undefined && user.expiresAt > now && user.at >= query.issuedAt;
  }

  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    this.revocationListeners.add(listener);
    queueMicrotask(() => listener.status('up'));
    return {
      close: async () => {
        this.revocationListeners.delete(listener);
      },
    };
  }

  async createClient(client: ClientRecord): Promise<void> {
    if (this.clients.has(client.id)) throw new KeycardError('invalid_request', `client ${client.id} exists`);
    this.clients.set(client.id, { ...client, scopes: [...client.scopes] });
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const client = this.clients.get(id);
    return client ? { ...client, scopes: [...client.scopes] } : null;
  }

  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    const after = options.after;
    return [...this.clients.values()]
      .filter((client) => after === undefined || client.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, Math.max(0, options.limit))
      .map((client) => ({ ...client, scopes: [...client.scopes] }));
  }

  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    const client = this.clients.get(id);
    if (!client) return null;
    const { updatedAt, ...changes } = update;
    for (const [key, value] of Object.entries(changes)) {
      if (value !== undefined)
        (client as unknown as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value;
    }
    client.updatedAt = updatedAt;
    return { ...client, scopes: [...client.scopes] };
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.clients.delete(id);
  }

  appendAudit(record: AuditRecord): Promise<void> {
    return this.audit.appendAudit(record);
  }
  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.audit.listAudit(query);
  }
  pruneAudit(before: number): Promise<number> {
    return this.audit.pruneAudit(before);
  }

  putAccountToken(record: AccountTokenRecord): Promise<void> {
    return this.accountTokens.putAccountToken(record);
  }
  getAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null> {
    return this.accountTokens.getAccountToken(hash, kind, now);
  }
  takeAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null> {
    return this.accountTokens.takeAccountToken(hash, kind, now);
  }

  createFactor(record: FactorRecord): Promise<void> {
    return this.factors.createFactor(record);
  }
  listFactors(userId: string): Promise<FactorRecord[]> {
    return this.factors.listFactors(userId);
  }
  getFactor(id: string): Promise<FactorRecord | null> {
    return this.factors.getFactor(id);
  }
  getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    return this.factors.getFactorByCredentialId(credentialId);
  }
  advanceFactor(id: string, expectedCounter: number, next: FactorAdvance): Promise<FactorRecord | null> {
    return this.factors.advanceFactor(id, expectedCounter, next);
  }
  deleteFactor(id: string, options?: { userId?: string }): Promise<boolean> {
    return this.factors.deleteFactor(id, options);
  }
  deleteUserFactors(userId: string, options?: { kind?: FactorKind }): Promise<number> {
    return this.factors.deleteUserFactors(userId, options);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  private toRecord(stored: StoredSession): LoginRecord {
    return {
      ...stored,
      user: stored.user && { ...stored.user },
      data: JSON.parse(stored.data),
      refresh: stored.refresh && { ...stored.refresh },
    };
  }

  private applyTouch(stored: StoredSession, lastActiveAt: number, expiresAt: number): void {
    stored.lastActiveAt = Math.max(stored.lastActiveAt, lastActiveAt);
    stored.expiresAt = Math.min(Math.max(stored.expiresAt, expiresAt), stored.absoluteExpiresAt);
  }

  private removeSession(id: string): void {
    const stored = this.sessions.get(id);
    if (!stored) return;
    this.sessions.delete(id);
    if (stored.user) {
      const ids = this.sessionsByUser.get(stored.user.id);
      ids?.delete(id);
      if (ids?.size === 0) this.sessionsByUser.delete(stored.user.id);
    }
  }
}
