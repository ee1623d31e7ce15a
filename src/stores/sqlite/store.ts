/**
 * The SQLite store: keycard's embedded default, on better-sqlite3 12 under Node and on the runtime's
 * built-in SQLite under Bun and Deno (driver.ts). One file, WAL journaling so readers never wait for the
 * writer, versioned migrations at open (migrate.ts), expired rows pruned on a timer (prune.ts), and the
 * file watched so a deleted or replaced file fails closed (connection.ts).
 *
 * Every driver is synchronous; a query on an indexed primary key takes microseconds, which costs less
 * than handing it to a thread. Several processes (the server and the CLI) may open one file: every write
 * is one statement or one IMMEDIATE transaction, which SQLite serialises across processes.
 *
 * This class only composes the capabilities, one file each: logins.ts, users.ts, counters.ts,
 * revocations.ts (with feed.ts), clients.ts, audit.ts, tokens.ts, factors.ts.
 */
import { type Clock, systemClock } from '../../core/clock.js';
import { configurationError } from '../../core/errors.js';
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
import { SQLiteAudit } from './audit.js';
import { SQLiteClients } from './clients.js';
import { SQLiteConnection } from './connection.js';
import { SQLiteCounters } from './counters.js';
import { SQLiteFactors } from './factors.js';
import { SQLiteLogins } from './logins.js';
import { SQLitePruner } from './prune.js';
import { SQLiteRevocations } from './revocations.js';
import { SQLiteAccountTokens } from './tokens.js';
import { SQLiteUsers } from './users.js';

export interface SQLiteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /** How long a query waits for another process's write lock before failing; default 5000 ms. */
  busyTimeoutMs?: number;
  /** How often expired sessions are deleted; default 300 000 ms (5 minutes). 0 disables. */
  pruneIntervalMs?: number;
  /** Apply pending migrations at open (default true); false makes an outdated schema an error. */
  migrate?: boolean;
  /**
   * How often the file is checked to still be the one that was opened, readable and writable; default
   * 1000 ms, 0 disables. An open connection keeps working on a deleted or replaced file and would lose
   * every write at the next restart, so the store reports itself unavailable instead, and reopens when the
   * file is back.
   */
  fileCheckIntervalMs?: number;
  /** How often the revocation feed polls for new rows; default 200 ms. */
  revocationPollIntervalMs?: number;
  clock?: Clock;
}

export class SQLiteStore implements Store {
  readonly kind = 'sqlite';
  readonly path: string;
  /**
   * The SQLite library this store runs on, picked for the runtime: better-sqlite3 on Node, `bun:sqlite`
   * on Bun, `node:sqlite` on Deno (driver.ts).
   */
  readonly driver: 'better-sqlite3' | 'bun:sqlite' | 'node:sqlite';
  private readonly connection: SQLiteConnection;
  private readonly clock: Clock;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly logins: SQLiteLogins;
  private readonly users: SQLiteUsers;
  private readonly counters: SQLiteCounters;
  private readonly revocations: SQLiteRevocations;
  private readonly clients: SQLiteClients;
  private readonly audit: SQLiteAudit;
  private readonly accountTokens: SQLiteAccountTokens;
  private readonly factors: SQLiteFactors;
  private readonly pruner: SQLitePruner;

  constructor(options: SQLiteStoreOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw configurationError("SQLiteStore needs a path, e.g. new SQLiteStore({ path: './keycard.db' })");
    }
    this.path = options.path;
    this.clock = options.clock ?? systemClock;
    const connection = new SQLiteConnection({
      path: options.path,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      migrate: options.migrate ?? true,
    });
    this.connection = connection;
    this.driver = connection.driver;
    this.logins = new SQLiteLogins(connection);
    this.users = new SQLiteUsers(connection);
    this.counters = new SQLiteCounters(connection);
    this.revocations = new SQLiteRevocations(connection, options.revocationPollIntervalMs ?? 200);
    this.clients = new SQLiteClients(connection);
    this.audit = new SQLiteAudit(connection);
    this.accountTokens = new SQLiteAccountTokens(connection);
    this.factors = new SQLiteFactors(connection);
    this.pruner = new SQLitePruner(connection);

    const pruneIntervalMs = options.pruneIntervalMs ?? 300_000;
    if (pruneIntervalMs > 0) {
      this.every(pruneIntervalMs, () => {
        try {
          this.prune();
        } catch {
          // A failed prune is retried at the next tick; requests report the store's state themselves.
        }
      });
    }
    const fileCheckIntervalMs = options.fileCheckIntervalMs ?? 1000;
    if (fileCheckIntervalMs > 0 && connection.watchesFile) {
      this.every(fileCheckIntervalMs, () => connection.checkFile());
    }
  }

  /** Deletes expired logins (with their refresh state), counters and revocations; returns how many logins. */
  prune(): number {
    return this.pruner.prune(this.clock.now());
  }

  /**
   * Verifies that the path still names the file that is open and that it can be read and written; see
   * `fileCheckIntervalMs`.
   */
  checkFile(): void {
    this.connection.checkFile();
  }

  // Logins. Each member hands back the capability's own promise (no extra await on the request path).
  createLogin(record: LoginRecord): Promise<void> {
    return this.logins.createLogin(record);
  }
  getLogin(id: string): Promise<LoginRecord | null> {
    return this.logins.getLogin(id);
  }
  touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    return this.logins.touchLogin(id, lastActiveAt, expiresAt);
  }
  patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    return this.logins.patchLoginData(id, patch, options);
  }
  deleteLogin(id: string, options?: { userId?: string }): Promise<boolean> {
    return this.logins.deleteLogin(id, options);
  }
  listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    return this.logins.listUserLogins(userId, page);
  }
  countUserLogins(userId: string): Promise<number> {
    return this.logins.countUserLogins(userId);
  }
  countLogins(now: number): Promise<number> {
    return this.logins.countLogins(now);
  }
  advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    return this.logins.advanceRefresh(id, expectedGeneration, next, touch);
  }
  deleteUserLogins(userId: string, options?: { exceptId?: string }): Promise<number> {
    return this.logins.deleteUserLogins(userId, options);
  }

  // Users.
  createUser(user: UserRecord): Promise<void> {
    return this.users.createUser(user);
  }
  getUserById(id: string): Promise<UserRecord | null> {
    return this.users.getUserById(id);
  }
  getUserByUsername(username: string): Promise<UserRecord | null> {
    return this.users.getUserByUsername(username);
  }
  listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    return this.users.listUsers(options);
  }
  getUserByEmail(email: string): Promise<UserRecord | null> {
    return this.users.getUserByEmail(email);
  }
  countUsers(): Promise<number> {
    return this.users.countUsers();
  }
  updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    return this.users.updateUser(id, update);
  }
  deleteUser(id: string): Promise<boolean> {
    return this.users.deleteUser(id);
  }

  // Counters.
  incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    return this.counters.incrementCounter(key, windowMs, now);
  }
  readCounter(key: string, now: number): Promise<CounterValue | null> {
    return this.counters.readCounter(key, now);
  }
  resetCounter(key: string): Promise<void> {
    return this.counters.resetCounter(key);
  }
  releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    return this.counters.releaseCounter(key, resetAt, now);
  }

  // Revocations.
  addRevocation(record: RevocationRecord): Promise<void> {
    return this.revocations.addRevocation(record);
  }
  addRevocations(records: readonly RevocationRecord[]): Promise<void> {
    return this.revocations.addRevocations(records);
  }
  listRevocations(now: number): Promise<RevocationRecord[]> {
    return this.revocations.listRevocations(now);
  }
  isRevoked(query: { loginId: string; userId: string; issuedAt: number }, now: number): Promise<boolean> {
    return this.revocations.isRevoked(query, now);
  }
  subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    return this.revocations.subscribeRevocations(listener);
  }

  // API clients.
  createClient(client: ClientRecord): Promise<void> {
    return this.clients.createClient(client);
  }
  getClient(id: string): Promise<ClientRecord | null> {
    return this.clients.getClient(id);
  }
  listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    return this.clients.listClients(options);
  }
  updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    return this.clients.updateClient(id, update);
  }
  deleteClient(id: string): Promise<boolean> {
    return this.clients.deleteClient(id);
  }

  // Single-use account tokens.
  putAccountToken(record: AccountTokenRecord): Promise<void> {
    return this.accountTokens.putAccountToken(record);
  }
  getAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null> {
    return this.accountTokens.getAccountToken(hash, kind, now);
  }
  takeAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null> {
    return this.accountTokens.takeAccountToken(hash, kind, now);
  }

  // Second factors.
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

  // The audit log.
  appendAudit(record: AuditRecord): Promise<void> {
    return this.audit.appendAudit(record);
  }
  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.audit.listAudit(query);
  }
  pruneAudit(before: number): Promise<number> {
    return this.audit.pruneAudit(before);
  }

  async ping(): Promise<void> {
    this.connection.ping();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.revocations.stopFeeds();
    this.connection.close();
  }

  private every(intervalMs: number, task: () => void): void {
    const timer = setInterval(task, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
