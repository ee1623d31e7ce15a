/**
 * The Redis store (ioredis): sessions and token logins (with their refresh state), users, throttle
 * counters, revocations, API clients, the audit log (audit.ts), single-use account tokens and second
 * factors (factors.ts) in Redis — standalone, over TLS, or on a Redis Cluster. The key layout is in
 * keys.ts, the atomic operations in scripts.ts, the revocation feed in feed.ts, the users' skeleton
 * back-fill in users.ts, and the reasoning (Cluster slots, the per-user indexes, the feed, failures) in
 * docs/stores-redis.md.
 *
 * Every key but the users', the clients', the audit log's and the factors' (which do not expire) has a
 * TTL, so Redis removes expired state by itself: there is no pruning timer.
 */
import { type Cluster, Command, type Redis } from 'ioredis';
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
import { RedisAudit } from './audit.js';
import {
  connectFirstTime,
  createFeedConnection,
  createRedisClient,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  isCluster,
  type RedisNode,
} from './connection.js';
import {
  type RedisDurability,
  type ReplicationPolicy,
  replicationPolicy,
  writeReplicated,
} from './durability.js';
import { RedisFactors } from './factors.js';
import { RevocationFeed } from './feed.js';
import { DEFAULT_PREFIX, type RedisKeys, redisKeys } from './keys.js';
import {
  clientFields,
  clientUpdateArguments,
  parseAccountToken,
  parseClient,
  parseSession,
  parseUser,
  patchArguments,
  refreshFields,
  sessionFields,
  userFields,
  userUpdateFields,
} from './records.js';
import {
  encodeRevocation,
  isRevocationRecord,
  isRevokedBy,
  parseRevocation,
  type RevocationQuery,
} from './revocations.js';
import { defineScripts, type RedisScripts } from './scripts.js';
import { parseRedisURL } from './url.js';
import { backfillSkeletons } from './users.js';

export interface RedisStoreOptions {
  /**
   * Your own ioredis client (`Redis` or `Cluster`), used as you configured it and never closed by the
   * store. Give it a bounded retry strategy and `maxRetriesPerRequest` so commands fail fast while Redis is
   * away (see docs/stores-redis.md). Either `client` or `url`.
   */
  client?: Redis | Cluster;
  /**
   * `redis://…`, `rediss://…`, `redis+cluster://host:port,host:port` or
   * `redis+sentinel://host:port,host:port/mastername`: the store creates its own client.
   */
  url?: string;
  /** Prefix of every key; default `kc` (or the URL's `prefix` option). No braces. */
  prefix?: string;
  clock?: Clock;
  /** With `url`: how long one connection attempt may take; default 5000 ms. */
  connectTimeoutMs?: number;
  /** With `url`: how long a command may wait for its reply; default 5000 ms. */
  commandTimeoutMs?: number;
  /** With `url`: the longest wait between reconnection attempts; default 1000 ms. */
  reconnectMaxDelayMs?: number;
  /**
   * How often the revocation feed PINGs its connection: one that has not answered by the next PING is
   * reported `down` and replaced. Default 1000 ms, so a silently dead connection is noticed within 2 s.
   */
  revocationHeartbeatMs?: number;
  /**
   * `replicated`: revocations and blocks (revocation records, deleted logins, user updates) succeed only
   * once a replica has acknowledged them (WAIT), so a failover cannot undo one that was reported done; they
   * fail with store_unavailable when no replica answers in time. Default `primary` (or the URL's
   * `durability` option). See durability.ts and docs/stores-redis.md.
   */
  durability?: RedisDurability;
  /** With `durability: 'replicated'`: how long to wait for a replica; default 1000 ms. */
  replicationTimeoutMs?: number;
  /** Told about each connection error ioredis reports (for logs). The store goes on reconnecting. */
  onError?: (error: Error) => void;
}

export const DEFAULT_REVOCATION_HEARTBEAT_MS = 1000;

/** ioredis's words for a command refused because there is no connection, whatever the reason. */
const NOT_CONNECTED = /^(Stream isn't writeable|Connection is closed)/;

const PATCH_RESULTS: ReadonlySet<string> = new Set(['ok', 'missing', 'too_large']);

/**
 * A page of logins whose entries turn out stale (a session that expired while idle, a creation that
 * failed half-way) is topped up from the index in batches of at least this many entries.
 */
const REFILL_BATCH = 32;

export class RedisStore implements Store {
  readonly kind = 'redis';
  private readonly client: Redis | Cluster;
  /** True when the store created the client (from a URL) and so closes it. */
  private readonly ownsClient: boolean;
  private readonly keys: RedisKeys;
  private readonly scripts: RedisScripts;
  private readonly audit: RedisAudit;
  private readonly factors: RedisFactors;
  private readonly clock: Clock;
  /** The first connection attempt of a client the store owns; operations wait for it, then it is gone. */
  private firstConnection: Promise<void> | null = null;
  private readonly onError: (error: Error) => void;
  /** The Cluster seed nodes from the URL: where the feed connects before the slot table is known. */
  private readonly seedNodes: RedisNode[];
  private readonly reconnectMaxDelayMs: number;
  private readonly heartbeatMs: number;
  private readonly replication: ReplicationPolicy;
  private readonly feeds = new Set<RevocationFeed>();
  private closed = false;
  /**
   * Why the client is not connected: the last error ioredis reported since it was last ready. Operations
   * refused meanwhile ("Stream isn't writeable") carry it as their cause, so that what is logged and
   * printed says why (connection refused, WRONGPASS, …) rather than only that.
   */
  private connectionError: Error | null = null;
  /**
   * The database the URL names, when it is not 0. ioredis selects it on every connection but carries on
   * in database 0 when the server refuses (a number beyond `databases`); the store then fails closed.
   */
  private readonly database: number;
  private databaseError: Error | null = null;
  private readonly onConnect = (): void => {
    this.databaseError = null;
  };
  private readonly onReady = (): void => {
    this.connectionError = null;
  };
  /** Users from before skeletons given theirs (see users.ts); once per store, retried after a failure. */
  private skeletonsReady: Promise<void> | null = null;

  constructor(options: RedisStoreOptions) {
    if (!options || (options.client === undefined) === (options.url === undefined)) {
      throw configurationError(
        "RedisStore needs either a client or a url, e.g. new RedisStore({ url: 'redis://localhost:6379' })",
      );
    }
    const parsed = options.url === undefined ? undefined : parseRedisURL(options.url);
    this.keys = redisKeys(options.prefix ?? parsed?.prefix ?? DEFAULT_PREFIX);
    this.clock = options.clock ?? systemClock;
    const report = options.onError;
    // An 'error' event with no listener is printed by ioredis (and would crash a plain EventEmitter);
    // failures reach callers as store_unavailable, so the event is kept as their cause and passed on for
    // logging.
    this.onError = (error) => {
      if (/DB index is out of range/.test(error.message)) this.databaseError = error;
      // "Not connected" is a symptom: it must not hide the cause recorded before it (ECONNRESET, …).
      else if (!(this.connectionError && NOT_CONNECTED.test(error.message))) this.connectionError = error;
      report?.(error);
    };
    this.database = parsed?.connection.db ?? 0;
    this.seedNodes = parsed?.connection.nodes ?? [];
    this.reconnectMaxDelayMs =
      options.reconnectMaxDelayMs ?? parsed?.connection.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS;
    this.heartbeatMs = options.revocationHeartbeatMs ?? DEFAULT_REVOCATION_HEARTBEAT_MS;
    this.replication = replicationPolicy(
      options.durability ?? parsed?.durability,
      options.replicationTimeoutMs ?? parsed?.replicationTimeoutMs,
    );
    if (!(Number.isInteger(this.heartbeatMs) && this.heartbeatMs > 0)) {
      throw configurationError('revocationHeartbeatMs must be a positive whole number of milliseconds');
    }
    if (parsed) {
      this.client = createRedisClient({
        ...parsed.connection,
        connectTimeoutMs: options.connectTimeoutMs ?? parsed.connection.connectTimeoutMs,
        commandTimeoutMs: options.commandTimeoutMs ?? parsed.connection.commandTimeoutMs,
        reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? parsed.connection.reconnectMaxDelayMs,
      });
      this.ownsClient = true;
    } else {
      this.client = options.client as Redis | Cluster;
      this.ownsClient = false;
    }
    this.client.on('error', this.onError);
    if (isCluster(this.client)) this.client.on('node error', this.onError);
    // Each new connection selects the database again: a refusal (databaseError) comes after 'connect'.
    this.client.on('connect', this.onConnect);
    this.client.on('ready', this.onReady);
    this.scripts = defineScripts(this.client);
    this.audit = new RedisAudit(this.client, this.keys);
    this.factors = new RedisFactors(this.client, this.keys);
    if (this.ownsClient) {
      // A failed first attempt is not fatal: ioredis keeps reconnecting, and until it succeeds operations
      // fail at once with store_unavailable. Waiting once avoids failing the calls made right after start.
      this.firstConnection = connectFirstTime(this.client).finally(() => {
        this.firstConnection = null;
      });
    }
  }

  /**
   * Waits for the first connection and checks that Redis answers (throws store_unavailable if not), and
   * gives users created before skeletons existed theirs (once; see users.ts).
   */
  async connect(): Promise<void> {
    if (this.firstConnection) await this.firstConnection;
    if (isCluster(this.client) && this.client.status !== 'ready') {
      // No seed node answered. A Cluster client queues commands until one does (see connection.ts), so a
      // PING now would wait for as long as the Cluster is away: fail the start instead, saying why.
      throw storeUnavailable('redis', this.connectionError ?? new Error('no Redis Cluster node answered'));
    }
    await this.ping();
    if (this.database !== 0 && this.ownsClient && !isCluster(this.client)) {
      // ioredis sent SELECT already and ignores a refusal; asking again makes the refusal an error here.
      await this.run(() => (this.client as Redis).select(this.database));
    }
    await this.ensureSkeletons();
  }

  /**
   * A login: the record and its user's two index entries. On a standalone Redis (or through Sentinel)
   * one script writes all three, atomically, in one round trip. On a Cluster the record and the indexes
   * are in different slots (keys.ts), so no one command may write both: the index goes first, then the
   * record — every live session is in its user's index, or "log out everywhere" and blocking would miss
   * it; a failure between the two writes leaves only a stale index entry, which listing skips.
   */
  async createLogin(record: LoginRecord): Promise<void> {
    const now = this.clock.now();
    // Nothing to keep for a record already past its expiry (the contract lets stores drop those).
    if (record.expiresAt <= now) return;
    const key = this.keys.session(record.id);
    const ttlMs = record.expiresAt - now;
    await this.run(async () => {
      if (!record.user) {
        await this.scripts.replaceHash(key, ttlMs, sessionFields(record));
        return;
      }
      const [byExpiry, byCreation] = this.indexes(record.user.id);
      const entry = {
        sessionId: record.id,
        createdAt: record.createdAt,
        absoluteExpiresAt: record.absoluteExpiresAt,
        now,
      };
      if (!isCluster(this.client)) {
        await this.scripts.createLogin([key, byExpiry, byCreation], ttlMs, entry, sessionFields(record));
        return;
      }
      await this.scripts.indexSession(
        [byExpiry, byCreation],
        record.id,
        record.createdAt,
        record.absoluteExpiresAt,
        now,
      );
      await this.scripts.replaceHash(key, ttlMs, sessionFields(record));
    });
  }

  /**
   * One HGETALL: the per-request hot path. The user and, for a token login, the refresh state are
   * embedded, so there is no second read. The reply is taken raw (readHash) and made into the record
   * in one pass (parseSession); no async frame is added around the command.
   */
  getLogin(id: string): Promise<LoginRecord | null> {
    return this.request(
      () => readHash(this.client, this.keys.session(id)),
      (reply) => parseSession(id, reply),
    );
  }

  async touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    await this.run(() =>
      this.scripts.touchLogin(this.keys.session(id), lastActiveAt, expiresAt, this.clock.now()),
    );
  }

  async patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    const touch = options.touch;
    const result = await this.run(() =>
      this.scripts.patchSession(this.keys.session(id), [
        options.maxBytes,
        this.clock.now(),
        touch?.lastActiveAt ?? '',
        touch?.expiresAt ?? '',
        ...patchArguments(patch),
      ]),
    );
    if (!PATCH_RESULTS.has(result)) throw storeUnavailable('redis', new Error('unexpected patch reply'));
    return result as PatchResult;
  }

  async deleteLogin(id: string, options: { userId?: string } = {}): Promise<boolean> {
    return this.run(() =>
      this.replicated(
        () => [this.keys.session(id)],
        async () => {
          const owner = await this.scripts.deleteLogin(this.keys.session(id), options.userId);
          if (owner === null) return false;
          if (owner !== '') await this.unindex(owner, [id]);
          return true;
        },
      ),
    );
  }

  /**
   * Newest first from the creation index, a page at a time: one script for the ids (it prunes ids past
   * their absolute expiry first), then the records in parallel. An entry whose record is gone (it expired
   * while idle, or its creation failed half-way) is skipped and the page topped up from where the index
   * left off, so a page is short only at the end of the list.
   */
  async listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    const limit = page ? Math.floor(page.limit) : Number.POSITIVE_INFINITY;
    if (!(limit >= 1)) return [];
    return this.run(async () => {
      const records: LoginRecord[] = [];
      let after = page?.after;
      for (let batch = limit; ; batch = Math.max(limit - records.length, REFILL_BATCH)) {
        const finite = Number.isFinite(batch);
        const entries = await this.scripts.pageLogins(
          this.indexes(userId),
          finite ? batch : -1,
          this.clock.now(),
          after,
        );
        const ids = entries.filter((_, i) => i % 2 === 0);
        const replies = await Promise.all(ids.map((id) => readHash(this.client, this.keys.session(id))));
        for (let i = 0; i < ids.length && records.length < limit; i++) {
          const record = parseSession(ids[i] as string, replies[i] ?? null);
          if (record && record.user?.id === userId) records.push(record);
        }
        if (!finite || ids.length < batch || records.length >= limit) return records;
        after = { createdAt: Number(entries[entries.length - 1]), id: ids[ids.length - 1] as string };
      }
    });
  }

  /**
   * One ZCOUNT of the expiry index: ids past their absolute expiry are not counted, pruned or not; a
   * session that expired while idle is, until its absolute expiry (the contract allows it).
   */
  async countUserLogins(userId: string): Promise<number> {
    return this.run(() => this.client.zcount(this.keys.userSessions(userId), `(${this.clock.now()}`, '+inf'));
  }

  /**
   * Live signed-in logins, for monitoring (the server samples it at most every 30 s). Redis keeps no index
   * of every login — one would cost a write on every login and logout, all instances on one key — so this
   * walks the keyspace with SCAN MATCH `kc:s:{*}` (on every master of a Cluster, each holding its share),
   * and reads each login key's expiry and user with HMGET, one pipeline per batch: O(keys in the
   * database) per call, about two round trips per `COUNT_SCAN_BATCH` keys, and memory for one batch. The
   * keys expire by TTL, but the expiry is checked against `now` too, and anonymous sessions (no user) are
   * left out. SCAN may return a key twice if Redis shrinks its key table during the walk (after mass
   * deletions), so a count taken then may be a little high: fine for a gauge, not for a decision.
   */
  async countLogins(now: number): Promise<number> {
    return this.run(async () => {
      const client = this.client;
      if (!isCluster(client)) return countLiveLogins(client, this.keys.sessionPattern(), now);
      const masters = client.nodes('master');
      if (masters.length === 0) throw new Error('no Redis Cluster master is known yet');
      const counts = await Promise.all(
        masters.map((node) => countLiveLogins(node, this.keys.sessionPattern(), now)),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    });
  }

  /** One script on the login's key: compare the generation, write the refresh fields and the touch. */
  async advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    const reply = await this.run(() =>
      this.scripts.advanceRefresh(this.keys.session(id), [
        expectedGeneration,
        this.clock.now(),
        touch.lastActiveAt,
        touch.expiresAt,
        ...refreshFields(next),
      ]),
    );
    return parseSession(id, reply);
  }

  /** From the expiry index, which holds every live session of the user (docs/stores-redis.md). */
  async deleteUserLogins(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    let deleted: string[] = [];
    const keysOf = () => [this.keys.userSessions(userId), ...deleted.map((id) => this.keys.session(id))];
    return this.run(() =>
      this.replicated(keysOf, async () => {
        const ids = (await this.client.zrange(this.keys.userSessions(userId), 0, -1)).filter(
          (id) => id !== options.exceptId,
        );
        // Each session key is deleted by its own script (they live in different slots), only if it is this
        // user's. An id whose key is missing stays in the index: it may be a session being created right now
        // (index written, record not yet), and dropping it would hide that session from the next delete-all.
        const owners = await Promise.all(
          ids.map((id) => this.scripts.deleteLogin(this.keys.session(id), userId)),
        );
        deleted = ids.filter((_, i) => owners[i] !== null);
        if (deleted.length > 0) await this.unindex(userId, deleted);
        return deleted.length;
      }),
    );
  }

  async createUser(user: UserRecord): Promise<void> {
    await this.ensureSkeletons();
    const result = await this.run(() =>
      this.scripts.createUser(
        [
          this.keys.user(user.id),
          this.keys.usernames(),
          this.keys.skeletons(),
          this.keys.sortedUsernames(),
          this.keys.emails(),
        ],
        user.username,
        user.skeleton,
        user.id,
        user.email ?? '',
        userFields(user),
      ),
    );
    if (result === 'exact' || result === 'lookalike') throw usernameTaken(user.username, result);
    if (result === 'email') throw emailTaken();
    if (result !== 'ok') throw storeUnavailable('redis', new Error('unexpected createUser reply'));
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    return this.run(async () => parseUser(await this.client.hgetall(this.keys.user(id))));
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    return this.run(async () => {
      // Two reads, not a script that builds the record's key from the id it finds: scripts declare their
      // keys. Users are never renamed; one deleted between the two reads is simply not found.
      const id = await this.client.hget(this.keys.usernames(), username);
      return id === null ? null : parseUser(await this.client.hgetall(this.keys.user(id)));
    });
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    return this.run(async () => {
      // Two reads, as by username; an address that moved between them finds the record no longer has
      // it, and then there is no such user.
      const id = await this.client.hget(this.keys.emails(), email);
      if (id === null) return null;
      const user = parseUser(await this.client.hgetall(this.keys.user(id)));
      return user?.email === email ? user : null;
    });
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    const { after, prefix } = options;
    // ZRANGEBYLEX compares bytes, so a prefix is the range [prefix, prefix + 0xFF): no UTF-8 string holds
    // the byte 0xFF, so every name that begins with the prefix sorts below the bound. Its characters are
    // literal (no pattern). With `after` too, the range starts after whichever bound is greater.
    const prefixFirst =
      prefix && (after === undefined || Buffer.compare(Buffer.from(prefix), Buffer.from(after)) > 0);
    const start = prefixFirst ? `[${prefix}` : after === undefined ? '-' : `(${after}`;
    const end = prefix ? Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]) : '+';
    return this.run(async () => {
      const names = await this.client.zrangebylex(
        this.keys.sortedUsernames(),
        start,
        end,
        'LIMIT',
        0,
        options.limit,
      );
      if (names.length === 0) return [];
      const ids = await this.client.hmget(this.keys.usernames(), ...names);
      const replies = await Promise.all(
        ids.map((id) => (id === null ? null : this.client.hgetall(this.keys.user(id)))),
      );
      return replies.map(parseUser).filter((user): user is UserRecord => user !== null);
    });
  }

  async countUsers(): Promise<number> {
    return this.run(() => this.client.hlen(this.keys.usernames()));
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    const reply = await this.run(() =>
      this.replicated(
        () => [this.keys.user(id)],
        () => this.scripts.updateUser([this.keys.user(id), this.keys.emails()], userUpdateFields(update)),
      ),
    );
    if (reply === 'email') throw emailTaken();
    return parseUser(typeof reply === 'string' ? null : reply);
  }

  /**
   * Single-use account tokens: a JSON string that Redis drops once the token's lifetime has passed (a
   * relative TTL, so the store's clock need not be Redis's); using one is one script.
   */
  async putAccountToken(record: AccountTokenRecord): Promise<void> {
    const ttlMs = Math.max(1, record.expiresAt - record.createdAt);
    const written = await this.run(() =>
      this.client.set(
        this.keys.accountToken(record.kind, record.hash),
        JSON.stringify(record),
        'PX',
        ttlMs,
        'NX',
      ),
    );
    if (written === null) throw new KeycardError('invalid_request', 'that account token exists');
  }

  async getAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const value = await this.run(() => this.client.get(this.keys.accountToken(kind, hash)));
    return parseAccountToken(value, kind, now);
  }

  async takeAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const value = await this.run(() => this.scripts.takeAccountToken(this.keys.accountToken(kind, hash)));
    return parseAccountToken(value, kind, now);
  }

  async deleteUser(id: string): Promise<boolean> {
    const keys: [string, string, string, string, string] = [
      this.keys.user(id),
      this.keys.usernames(),
      this.keys.skeletons(),
      this.keys.sortedUsernames(),
      this.keys.emails(),
    ];
    const deleted = await this.run(() =>
      this.replicated(
        () => keys,
        () => this.scripts.deleteUser(keys, id),
      ),
    );
    return Number(deleted) === 1;
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const [count, resetAt] = await this.run(() =>
      this.scripts.incrementCounter(this.keys.counter(key), now, now + windowMs, windowMs),
    );
    return { count: Number(count), resetAt: Number(resetAt) };
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const [count, resetAt] = await this.run(() => this.client.hmget(this.keys.counter(key), 'n', 'r'));
    if (count === null || count === undefined || resetAt === null || resetAt === undefined) return null;
    return Number(resetAt) > now ? { count: Number(count), resetAt: Number(resetAt) } : null;
  }

  async resetCounter(key: string): Promise<void> {
    await this.run(() => this.client.del(this.keys.counter(key)));
  }

  async releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    await this.run(() => this.scripts.releaseCounter(this.keys.counter(key), resetAt, now));
  }

  /**
   * One script: stores the record (the sorted set for reloads, the login's or user's key for the
   * per-request check), then publishes it on the channel — store first, in the same atomic step.
   */
  async addRevocation(record: RevocationRecord): Promise<void> {
    if (!isRevocationRecord(record)) {
      throw new TypeError('a revocation needs kind login or user, an id, and integer times in ms');
    }
    const now = this.clock.now();
    // Nothing to keep, or to announce, for a record that no longer affects any token.
    if (record.expiresAt <= now) return;
    const subject =
      record.kind === 'login' ? this.keys.loginRevocation(record.id) : this.keys.userRevocation(record.id);
    await this.run(() =>
      this.replicated(
        () => [subject],
        () =>
          this.scripts.addRevocation(
            [this.keys.revocations(), subject],
            [record.at, record.expiresAt, now, encodeRevocation(record), this.keys.revocationChannel()],
          ),
      ),
    );
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    const members = await this.run(() =>
      this.client.zrangebyscore(this.keys.revocations(), `(${now}`, '+inf'),
    );
    const records: RevocationRecord[] = [];
    for (const member of members) {
      const record = parseRevocation(member);
      if (record) records.push(record);
    }
    return records;
  }

  /** One MGET of the login's and the user's key, which share a slot. */
  async isRevoked(query: RevocationQuery, now: number): Promise<boolean> {
    const values = await this.run(() =>
      this.client.mget(this.keys.loginRevocation(query.loginId), this.keys.userRevocation(query.userId)),
    );
    return isRevokedBy(values, query, now);
  }

  /**
   * A dedicated subscriber connection (see feed.ts). Resolves once the first attempt has subscribed
   * (`up` already reported) or failed (`down` reported; the feed keeps trying by itself).
   */
  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    if (this.closed) throw storeUnavailable('redis', new Error('the store is closed'));
    if (this.firstConnection) await this.firstConnection;
    const feed = new RevocationFeed({
      channel: this.keys.revocationChannel(),
      listener,
      openConnection: (attempt) =>
        createFeedConnection(this.client, {
          attempt,
          seedNodes: this.seedNodes,
          name: `keycard-revocations:${this.keys.prefix}`,
        }),
      heartbeatMs: this.heartbeatMs,
      reconnectMaxDelayMs: this.reconnectMaxDelayMs,
      onError: this.onError,
    });
    this.feeds.add(feed);
    await feed.started;
    return {
      close: async () => {
        this.feeds.delete(feed);
        await feed.close();
      },
    };
  }

  async createClient(client: ClientRecord): Promise<void> {
    const result = await this.run(() =>
      this.scripts.createClient(
        [this.keys.client(client.id), this.keys.clientIds()],
        client.id,
        clientFields(client),
      ),
    );
    if (result === 'exists') throw new KeycardError('invalid_request', `client ${client.id} exists`);
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    return this.run(async () => parseClient(await this.client.hgetall(this.keys.client(id))));
  }

  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    if (!(options.limit >= 1)) return [];
    return this.run(async () => {
      const ids = await this.client.zrangebylex(
        this.keys.clientIds(),
        options.after === undefined ? '-' : `(${options.after}`,
        '+',
        'LIMIT',
        0,
        // A negative count is Redis's "no limit".
        Number.isFinite(options.limit) ? Math.floor(options.limit) : -1,
      );
      // A client deleted between the two reads is skipped (its HGETALL is empty).
      const replies = await Promise.all(ids.map((id) => this.client.hgetall(this.keys.client(id))));
      return replies.map(parseClient).filter((client): client is ClientRecord => client !== null);
    });
  }

  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    return this.run(async () =>
      parseClient(await this.scripts.updateClient(this.keys.client(id), clientUpdateArguments(update))),
    );
  }

  async deleteClient(id: string): Promise<boolean> {
    const deleted = await this.run(() =>
      this.scripts.deleteClient([this.keys.client(id), this.keys.clientIds()], id),
    );
    return Number(deleted) > 0;
  }

  /** The audit log (audit.ts): one script each (pruning, one per batch). */
  appendAudit(record: AuditRecord): Promise<void> {
    return this.run(() => this.audit.append(record));
  }
  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.run(() => this.audit.list(query));
  }
  pruneAudit(before: number): Promise<number> {
    return this.run(() => this.audit.prune(before));
  }

  /**
   * Second factors (factors.ts): one command or script each, on the `{factors}` slot. With `replicated`
   * durability a creation (a factor added), an advance (a code spent) and a deletion (a factor removed)
   * wait for a replica, as a revocation does: a failover that lost one would let the password alone sign
   * in again, or make a used code or a removed factor good again.
   */
  createFactor(record: FactorRecord): Promise<void> {
    return this.run(() =>
      this.replicated(
        () => [this.keys.factor(record.id)],
        () => this.factors.create(record),
      ),
    );
  }
  listFactors(userId: string): Promise<FactorRecord[]> {
    return this.run(() => this.factors.list(userId));
  }
  getFactor(id: string): Promise<FactorRecord | null> {
    return this.run(() => this.factors.get(id));
  }
  getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    return this.run(() => this.factors.getByCredentialId(credentialId));
  }
  advanceFactor(id: string, expectedCounter: number, next: FactorAdvance): Promise<FactorRecord | null> {
    return this.run(() =>
      this.replicated(
        () => [this.keys.factor(id)],
        () => this.factors.advance(id, expectedCounter, next),
      ),
    );
  }
  deleteFactor(id: string, options: { userId?: string } = {}): Promise<boolean> {
    return this.run(() =>
      this.replicated(
        () => [this.keys.factor(id)],
        () => this.factors.delete(id, options.userId),
      ),
    );
  }
  deleteUserFactors(userId: string, options: { kind?: FactorKind } = {}): Promise<number> {
    return this.run(() =>
      this.replicated(
        () => [this.keys.userFactors(userId)],
        () => this.factors.deleteUser(userId, options.kind),
      ),
    );
  }

  /** PING; on a Cluster, every master, since each holds a share of the sessions. */
  async ping(): Promise<void> {
    await this.run(async () => {
      const client = this.client;
      const masters = isCluster(client) ? client.nodes('master') : [];
      await Promise.all(masters.length > 0 ? masters.map((node) => node.ping()) : [client.ping()]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.feeds].map((feed) => feed.close()));
    this.feeds.clear();
    if (!this.ownsClient) {
      this.client.off('connect', this.onConnect);
      this.client.off('ready', this.onReady);
      this.client.off('error', this.onError);
      if (isCluster(this.client)) this.client.off('node error', this.onError);
      return;
    }
    await this.firstConnection;
    // The error listener stays: a socket error after quitting must not become an unhandled 'error' event.
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /** The user's two index keys: by absolute expiry (every live session), by creation (pages). */
  private indexes(userId: string): [string, string] {
    return [this.keys.userSessions(userId), this.keys.userLogins(userId)];
  }

  /**
   * Removes ids from a user's indexes (one script: both keys share the user's slot). Best effort: the
   * session keys are already gone, and an id left behind is skipped by listing and deleting and dropped
   * at its absolute expiry.
   */
  private async unindex(userId: string, ids: string[]): Promise<void> {
    await this.scripts.unindexSessions(this.indexes(userId), ids).catch(() => undefined);
  }

  /** Runs the skeleton back-fill once per store (users.ts); a failure is thrown and retried next time. */
  private ensureSkeletons(): Promise<void> {
    if (!this.skeletonsReady) {
      this.skeletonsReady = this.run(() => backfillSkeletons(this.client, this.keys, this.scripts)).catch(
        (error: unknown) => {
          this.skeletonsReady = null;
          throw error;
        },
      );
    }
    return this.skeletonsReady;
  }

  /** With `durability: 'replicated'`, `write` then WAIT for a replica on the keys it wrote (durability.ts). */
  private replicated<T>(keysOf: (result: T) => string[], write: () => Promise<T>): Promise<T> {
    return writeReplicated(this.client, this.replication, keysOf, write);
  }

  /** Runs Redis commands; any failure of the driver or the server becomes store_unavailable. */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.firstConnection) await this.firstConnection;
    // Fail closed: the connection is to database 0 instead of the URL's.
    if (this.databaseError) throw storeUnavailable('redis', this.databaseError);
    try {
      return await operation();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * `run` for one command, its reply decoded: the per-request read's path, one promise (`then`) instead
   * of two async functions. Before the first connection, or with the wrong database, it takes `run`'s way.
   */
  private request<R, T>(send: () => Promise<R>, decode: (reply: R) => T): Promise<T> {
    if (this.firstConnection || this.databaseError) return this.run(async () => decode(await send()));
    let reply: Promise<R>;
    try {
      reply = send();
    } catch (error) {
      return Promise.reject(this.failure(error));
    }
    // A reply that cannot be decoded (not written by keycard) fails like any other, as in `run`.
    return reply.then(
      (value) => {
        try {
          return decode(value);
        } catch (error) {
          throw this.failure(error);
        }
      },
      (error: unknown) => {
        throw this.failure(error);
      },
    );
  }

  private failure(error: unknown): unknown {
    if (error instanceof KeycardError) return error;
    const why = this.client.status !== 'ready' && this.connectionError ? this.connectionError : error;
    return storeUnavailable('redis', why);
  }
}

/** How many keys one SCAN call looks at (a hint to Redis), and so the largest HMGET pipeline. */
const COUNT_SCAN_BATCH = 1000;

/** `countLogins` on one server: SCAN for login keys, then each one's idle expiry and user in one pipeline. */
async function countLiveLogins(node: Redis, pattern: string, now: number): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', COUNT_SCAN_BATCH);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.hmget(key, 'e', 'uid');
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      // A key that expired since the SCAN answers [null, null]; an anonymous session has no `uid`.
      const [expiresAt, userId] = reply as (string | null)[];
      if (typeof userId === 'string' && Number(expiresAt) > now) count++;
    }
  } while (cursor !== '0');
  return count;
}

/**
 * HGETALL, its reply left as Redis sent it: a flat array of Buffers (field, value, …), empty for a
 * missing key. ioredis's `hgetall` would make every field and value a string and the pairs an object
 * first (its reply transformer for the command); parseSession reads the Buffers directly.
 */
class RawHGETALL extends Command {
  constructor(key: string) {
    super('hgetall', [key]);
  }

  override transformReply(reply: Buffer | Buffer[]): Buffer[] {
    return reply as Buffer[];
  }
}

function readHash(client: Redis | Cluster, key: string): Promise<Buffer[]> {
  if (!client.isCluster) coalesceWrites(client as Redis);
  return client.sendCommand(new RawHGETALL(key)) as Promise<Buffer[]>;
}

const corked = new WeakSet<object>();

/**
 * Holds the connection's writes until the event loop has handled every request that arrived with this
 * one, then sends them in one write: under load, several requests' reads share a system call (the
 * largest single cost of a session check on Redis) instead of one write each. Only delays a command
 * within the same turn of the event loop (setImmediate runs right after the I/O callbacks).
 */
function coalesceWrites(client: Redis): void {
  const stream = (client as unknown as { stream?: { cork(): void; uncork(): void; writable?: boolean } })
    .stream;
  if (!stream || corked.has(stream) || client.status !== 'ready') return;
  corked.add(stream);
  stream.cork();
  setImmediate(() => {
    corked.delete(stream);
    stream.uncork();
  });
}
