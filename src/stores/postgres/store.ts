/**
 * The PostgreSQL store (node-postgres): for several keycard instances sharing one database. Sessions and
 * logins (with a token login's refresh state), users, throttle counters, revocations, API clients, the
 * audit log (audit.ts), single-use account tokens and second factors (factors.ts) live in one schema
 * (`keycard` by default), created and upgraded by versioned migrations (migrate.ts); expired rows are
 * pruned once per cluster (prune.ts).
 *
 * Every operation is one statement (queries.ts), the refresh rotation's compare-and-set included.
 * getLogin — every request's read — is one primary-key lookup, a prepared statement. Revocations travel
 * to every instance by LISTEN/NOTIFY, each subscription on a connection of its own (feed.ts).
 */
import type pg from 'pg';
import { type Clock, systemClock } from '../../core/clock.js';
import {
  configurationError,
  emailTaken,
  KeycardError,
  storeUnavailable,
  usernameTaken,
} from '../../core/errors.js';
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
import { usernamePrefixEnd } from '../prefix.js';
import { type AccountTokenRow, accountTokenFromRow } from '../token-rows.js';
import { PostgresAudit } from './audit.js';
import { isUniqueViolation, toStoreError, unstorableData } from './errors.js';
import { PostgresFactors } from './factors.js';
import { listenerClientConfig, RevocationFeed } from './feed.js';
import { type MigrationReport, migratePostgres } from './migrate.js';
import { createPool, type PoolSettings, TYPES } from './pool.js';
import { type PruneResult, pruneExpired } from './prune.js';
import { buildQueries, checkSchemaName, type Queries, type QueryName, revocationChannel } from './queries.js';
import {
  type ClientRow,
  encodeData,
  encodeRefresh,
  type RevocationRow,
  type SessionRow,
  toClient,
  toRevocation,
  toSession,
  toUser,
  type UserRow,
} from './rows.js';

export interface PostgresStoreOptions extends Partial<PoolSettings> {
  /**
   * A pool the application owns (and ends): the store uses it as configured, without changing its limits,
   * and `close()` leaves it open. Give either this or `connectionString`.
   */
  pool?: pg.Pool;
  /** Schema holding keycard's tables; default `keycard`. Lower-case letters, digits and underscores. */
  schema?: string;
  /**
   * At `PostgresStore.open`: apply pending migrations (default true). With false, a schema that is not at
   * the latest version is an error saying to run `keycard migrate` — for a role that may not run DDL.
   */
  migrate?: boolean;
  /** How often an instance tries to prune expired rows; default 300 000 ms (5 minutes). 0 disables. */
  pruneIntervalMs?: number;
  /**
   * How often a revocation subscription checks its connection with `SELECT 1`, and how long the answer may
   * take before the connection counts as lost; default 5000 ms. 0 disables (TCP keepalive remains).
   */
  revocationKeepaliveMs?: number;
  clock?: Clock;
}

const POOL_SETTINGS = ['poolMax', 'idleTimeoutMs', 'connectionTimeoutMs', 'statementTimeoutMs'] as const;

/** Timers take at most 2^31 - 1 ms; Node turns a longer delay into 1 ms. */
const MAX_MS = 2_147_483_647;
/** Records per insertRevocations statement: bounds the parameters' size; a mass revoke takes several. */
const REVOCATION_BATCH = 5000;

function checkWholeNumber(name: string, value: number | undefined, minimum: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < minimum || value > MAX_MS)) {
    throw configurationError(`PostgresStore: ${name} must be a whole number from ${minimum} to ${MAX_MS}`);
  }
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly clock: Clock;
  private readonly pruneIntervalMs: number;
  private readonly queries: Queries;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly revocationKeepaliveMs: number;
  private readonly audit: PostgresAudit;
  private readonly factors: PostgresFactors;
  /** Open revocation subscriptions, closed with the store. */
  private readonly feeds = new Set<RevocationFeed>();
  private readonly onPoolError = (): void => {
    // An idle connection failed (the server restarted, the network dropped it): the pool has already
    // discarded it and the next query opens a new one. Queries report their own failures; without this
    // listener pg's 'error' event would crash the process.
  };
  private closed = false;

  /** Opens a store and brings its schema up to date (see `migrate`); prefer this to `new`. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await migratePostgres(store.pool, store.schema, { apply: options.migrate ?? true });
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** Creates the pool (no I/O yet). The schema must be migrated: use `PostgresStore.open`, or `migrate()`. */
  constructor(options: PostgresStoreOptions) {
    if (!options || (options.pool === undefined) === (options.connectionString === undefined)) {
      throw configurationError(
        "PostgresStore needs either a pool or a connectionString, e.g. { connectionString: 'postgres://user@host/db' }",
      );
    }
    for (const name of POOL_SETTINGS) checkWholeNumber(name, options[name], name === 'poolMax' ? 1 : 0);
    checkWholeNumber('pruneIntervalMs', options.pruneIntervalMs, 0);
    checkWholeNumber('revocationKeepaliveMs', options.revocationKeepaliveMs, 0);
    if (options.pool && POOL_SETTINGS.some((name) => options[name] !== undefined)) {
      throw configurationError(
        `PostgresStore: ${POOL_SETTINGS.join(', ')} configure the pool the store creates; set them on your own pool instead`,
      );
    }
    this.schema = checkSchemaName(options.schema ?? 'keycard');
    this.clock = options.clock ?? systemClock;
    this.queries = buildQueries(this.schema);
    this.ownsPool = options.pool === undefined;
    this.pool =
      options.pool ??
      createPool({
        connectionString: options.connectionString as string,
        poolMax: options.poolMax,
        idleTimeoutMs: options.idleTimeoutMs,
        connectionTimeoutMs: options.connectionTimeoutMs,
        statementTimeoutMs: options.statementTimeoutMs,
      });
    this.pool.on('error', this.onPoolError);
    this.audit = new PostgresAudit(this.pool, this.schema);
    this.factors = new PostgresFactors(this.pool, this.schema);
    this.revocationKeepaliveMs = options.revocationKeepaliveMs ?? 5000;
    this.pruneIntervalMs = options.pruneIntervalMs ?? 300_000;
    if (this.pruneIntervalMs > 0) {
      this.timer = setInterval(() => {
        // A failed round is retried at the next tick; requests report the store's state themselves.
        this.prune().catch(() => {});
      }, this.pruneIntervalMs);
      this.timer.unref();
    }
  }

  /** Applies pending migrations, under an advisory lock so that concurrent instances migrate once. */
  migrate(): Promise<MigrationReport> {
    return migratePostgres(this.pool, this.schema, { apply: true });
  }

  /**
   * One prune round: deletes expired sessions, counters and revocations — unless another
   * instance holds the prune lock or pruned less than an interval ago (see prune.ts).
   */
  prune(): Promise<PruneResult> {
    return pruneExpired(this.pool, this.schema, { now: this.clock.now(), intervalMs: this.pruneIntervalMs });
  }

  async createLogin(record: LoginRecord): Promise<void> {
    const data = encodeData(record.data);
    try {
      await this.pool.query(this.statement('insertSession'), [
        record.id,
        record.user?.id ?? null,
        record.user?.username ?? null,
        record.user?.role ?? null,
        record.createdAt,
        record.lastActiveAt,
        record.expiresAt,
        record.absoluteExpiresAt,
        data.json,
        data.sizes,
        record.userAgent,
        record.ip,
        encodeRefresh(record.refresh),
      ]);
    } catch (error) {
      throw unstorableData(error) ?? toStoreError(error);
    }
  }

  async getLogin(id: string): Promise<LoginRecord | null> {
    const row = (await this.query<SessionRow>('getLogin', [id]))[0];
    return row ? toSession(row) : null;
  }

  async touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    await this.query('touchLogin', [id, lastActiveAt, expiresAt]);
  }

  async patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    const set = encodeData(patch.set);
    let updated: number | null;
    try {
      const result = await this.pool.query(this.statement('patchSession'), [
        id,
        set.json,
        [...patch.unset, ...set.dropped],
        set.sizes,
        options.maxBytes,
        options.touch?.lastActiveAt ?? null,
        options.touch?.expiresAt ?? null,
      ]);
      updated = result.rowCount;
    } catch (error) {
      throw unstorableData(error) ?? toStoreError(error);
    }
    if (updated) return 'ok';
    // Nothing was written: the row is gone, or the merged data was too large. Asking afterwards is safe: a
    // session never comes back, and if it was deleted in between, 'missing' is as true as 'too_large'.
    const [row] = await this.query<{ exists: boolean }>('sessionExists', [id]);
    return row?.exists ? 'too_large' : 'missing';
  }

  async deleteLogin(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const result =
      options.userId === undefined
        ? await this.execute('deleteLogin', [id])
        : await this.execute('deleteUserSession', [id, options.userId]);
    return result > 0;
  }

  async listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    if (page === undefined) {
      return (await this.query<SessionRow>('listUserLogins', [userId, null])).map(toSession);
    }
    if (!(page.limit >= 1)) return [];
    // LIMIT takes a bigint: Infinity (every one) is NULL, a fraction is rounded down.
    const limit = Number.isFinite(page.limit) ? Math.floor(page.limit) : null;
    const rows =
      page.after === undefined
        ? await this.query<SessionRow>('listUserLogins', [userId, limit])
        : await this.query<SessionRow>('listUserSessionsAfter', [
            userId,
            page.after.createdAt,
            page.after.id,
            limit,
          ]);
    return rows.map(toSession);
  }

  async countUserLogins(userId: string): Promise<number> {
    const [row] = await this.query<{ count: number }>('countUserLogins', [userId]);
    return row?.count ?? 0;
  }

  /** Live signed-in logins: one count over a range of `sessions_by_expiry` (queries.ts). */
  async countLogins(now: number): Promise<number> {
    const [row] = await this.query<{ count: number }>('countLogins', [now]);
    return row?.count ?? 0;
  }

  /** One UPDATE … WHERE generation matches … RETURNING: see queries.ts for why exactly one rotation wins. */
  async advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    const [row] = await this.query<SessionRow>('advanceRefresh', [
      id,
      expectedGeneration,
      encodeRefresh(next),
      touch.lastActiveAt,
      touch.expiresAt,
    ]);
    return row ? toSession(row) : null;
  }

  deleteUserLogins(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    return this.execute('deleteUserLogins', [userId, options.exceptId ?? null]);
  }

  async createUser(user: UserRecord): Promise<void> {
    try {
      await this.pool.query(this.statement('insertUser'), [
        user.id,
        user.username,
        user.skeleton,
        user.passwordHash,
        user.role,
        user.blocked,
        user.email ?? null,
        user.emailVerifiedAt ?? null,
        user.createdAt,
        user.updatedAt,
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'users_username_unique')) throw usernameTaken(user.username, 'exact');
      if (isUniqueViolation(error, 'users_email_unique')) throw emailTaken();
      if (isUniqueViolation(error, 'users_skeleton_unique')) {
        // Which unique index PostgreSQL checks first is its business (index OID order): when the name
        // itself is taken too, say so — the plainer reason, as the other stores do.
        const [row] = await this.query<{ exists: boolean }>('usernameExists', [user.username]);
        throw usernameTaken(user.username, row?.exists ? 'exact' : 'lookalike');
      }
      throw toStoreError(error);
    }
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    const row = (await this.query<UserRow>('getUserById', [id]))[0];
    return row ? toUser(row) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const row = (await this.query<UserRow>('getUserByUsername', [username]))[0];
    return row ? toUser(row) : null;
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const row = (await this.query<UserRow>('getUserByEmail', [email]))[0];
    return row ? toUser(row) : null;
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    const { prefix } = options;
    const after = options.after ?? '';
    const rows = prefix
      ? await this.query<UserRow>('listUsersWithPrefix', [
          after,
          options.limit,
          prefix,
          usernamePrefixEnd(prefix),
        ])
      : await this.query<UserRow>('listUsers', [after, options.limit]);
    return rows.map(toUser);
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.execute('deleteUser', [id])) > 0;
  }

  async countUsers(): Promise<number> {
    const [row] = await this.query<{ count: number }>('countUsers', []);
    return row?.count ?? 0;
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    let rows: UserRow[];
    try {
      rows = await this.query<UserRow>('updateUser', [
        id,
        update.passwordHash ?? null,
        update.role ?? null,
        update.blocked ?? null,
        update.updatedAt,
        update.email !== undefined,
        update.email ?? null,
        update.emailVerifiedAt !== undefined,
        update.emailVerifiedAt ?? null,
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_unique')) throw emailTaken();
      throw error;
    }
    const row = rows[0];
    return row ? toUser(row) : null;
  }

  /** Single-use account tokens: one statement each. */
  async putAccountToken(record: AccountTokenRecord): Promise<void> {
    try {
      await this.pool.query(this.statement('insertAccountToken'), [
        record.hash,
        record.kind,
        record.userId,
        record.email,
        record.role,
        record.stamp,
        record.createdAt,
        record.expiresAt,
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'account_tokens_pkey')) {
        throw new KeycardError('invalid_request', 'that account token exists');
      }
      throw toStoreError(error);
    }
  }

  async getAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const row = (await this.query<AccountTokenRow>('getAccountToken', [hash, kind, now]))[0];
    return row ? accountTokenFromRow(row) : null;
  }

  async takeAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const row = (await this.query<AccountTokenRow>('takeAccountToken', [hash, kind, now]))[0];
    return row ? accountTokenFromRow(row) : null;
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const [row] = await this.query<{ count: number; reset_at: number }>('incrementCounter', [
      key,
      now,
      now + windowMs,
    ]);
    if (!row) throw new Error('INSERT … RETURNING returned no row');
    return { count: row.count, resetAt: row.reset_at };
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const [row] = await this.query<{ count: number; reset_at: number }>('readCounter', [key, now]);
    return row ? { count: row.count, resetAt: row.reset_at } : null;
  }

  async resetCounter(key: string): Promise<void> {
    await this.query('deleteCounter', [key]);
  }

  async releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    await this.query('releaseCounter', [key, resetAt, now]);
  }

  /** Stores the record and announces it on the schema's channel, in one statement (see queries.ts). */
  async addRevocation(record: RevocationRecord): Promise<void> {
    await this.query('insertRevocation', [record.kind, record.id, record.at, record.expiresAt]);
  }

  /**
   * Many records in one statement per REVOCATION_BATCH of them, each announced in a few NOTIFYs of up to
   * about 6 kB (see queries.ts) rather than a row, a NOTIFY and a commit each: PostgreSQL serialises the
   * commits of transactions that NOTIFY, so one at a time is what capped mass revocations.
   */
  async addRevocations(records: readonly RevocationRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += REVOCATION_BATCH) {
      const batch = records.slice(start, start + REVOCATION_BATCH);
      await this.query('insertRevocations', [
        batch.map((record) => record.kind),
        batch.map((record) => record.id),
        batch.map((record) => record.at),
        batch.map((record) => record.expiresAt),
      ]);
    }
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    return (await this.query<RevocationRow>('listRevocations', [now])).map(toRevocation);
  }

  /** One indexed query: the per-request fallback while a feed is down. */
  async isRevoked(
    query: { loginId: string; userId: string; issuedAt: number },
    now: number,
  ): Promise<boolean> {
    const [row] = await this.query<{ revoked: boolean }>('isRevoked', [
      query.loginId,
      query.userId,
      query.issuedAt,
      now,
    ]);
    return row?.revoked === true;
  }

  /**
   * LISTENs on a connection of its own (see feed.ts). Resolves once the first attempt is done: the listener
   * has been told `up`, or `down` (PostgreSQL cannot be reached) and the subscription keeps reconnecting by
   * itself until `close()`. Closing the store closes its subscriptions.
   */
  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    if (this.closed) throw storeUnavailable('postgres', new Error('the store is closed'));
    const channel = revocationChannel(this.schema);
    const feed = new RevocationFeed(
      {
        client: listenerClientConfig(this.pool, channel),
        channel,
        keepaliveMs: this.revocationKeepaliveMs,
        load: async (seq) => {
          const [row] = await this.query<RevocationRow>('getRevocation', [seq]);
          return row ? toRevocation(row) : null;
        },
      },
      listener,
    );
    this.feeds.add(feed);
    await feed.start();
    return {
      close: async () => {
        this.feeds.delete(feed);
        await feed.close();
      },
    };
  }

  async createClient(client: ClientRecord): Promise<void> {
    try {
      await this.pool.query(this.statement('insertClient'), [
        client.id,
        client.name,
        client.scopes,
        client.secretHash,
        client.previousSecretHash,
        client.previousSecretExpiresAt,
        client.generation,
        client.disabled,
        client.createdAt,
        client.updatedAt,
      ]);
    } catch (error) {
      if (isUniqueViolation(error, 'clients_pkey')) {
        throw new KeycardError('invalid_request', `client ${client.id} exists`);
      }
      throw toStoreError(error);
    }
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const row = (await this.query<ClientRow>('getClient', [id]))[0];
    return row ? toClient(row) : null;
  }

  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    if (!(options.limit >= 1)) return [];
    const limit = Number.isFinite(options.limit) ? Math.floor(options.limit) : null;
    return (await this.query<ClientRow>('listClients', [options.after ?? '', limit])).map(toClient);
  }

  /** One UPDATE … RETURNING; see queries.ts for how a nullable field is told "clear" from "keep". */
  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    const row = (
      await this.query<ClientRow>('updateClient', [
        id,
        update.name ?? null,
        update.scopes ?? null,
        update.secretHash ?? null,
        update.previousSecretHash !== undefined,
        update.previousSecretHash ?? null,
        update.previousSecretExpiresAt !== undefined,
        update.previousSecretExpiresAt ?? null,
        update.generation ?? null,
        update.disabled ?? null,
        update.updatedAt,
      ])
    )[0];
    return row ? toClient(row) : null;
  }

  async deleteClient(id: string): Promise<boolean> {
    return (await this.execute('deleteClient', [id])) > 0;
  }

  /** The audit log (audit.ts): one statement each. */
  appendAudit(record: AuditRecord): Promise<void> {
    return this.audit.append(record);
  }
  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.audit.list(query);
  }
  pruneAudit(before: number): Promise<number> {
    return this.audit.prune(before);
  }

  /** Second factors (factors.ts): one statement each. */
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

  /** A real query on keycard's schema, so a dropped schema fails readiness as an unreachable server does. */
  async ping(): Promise<void> {
    await this.query('ping', []);
  }

  /**
   * Stops pruning, closes the revocation subscriptions and ends the pool the store created (a pool that was
   * passed in stays open).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.feeds].map((feed) => feed.close()));
    this.feeds.clear();
    if (this.ownsPool) {
      await this.pool.end();
    }
    this.pool.off('error', this.onPoolError);
  }

  private statement(name: QueryName): pg.QueryConfig {
    return { name: this.queries.names[name], text: this.queries.sql[name], types: TYPES };
  }

  private async query<R extends pg.QueryResultRow>(name: QueryName, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(this.statement(name), values)).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }

  private async execute(name: QueryName, values: unknown[]): Promise<number> {
    try {
      return (await this.pool.query(this.statement(name), values)).rowCount ?? 0;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}
