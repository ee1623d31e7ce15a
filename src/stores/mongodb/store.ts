/**
 * The MongoDB store, on the official driver. Nine collections (sessions and logins, users, counters,
 * revocations, the revocation feed, API clients, the audit log: audit.ts, single-use account tokens, and
 * second factors: factors.ts), each record one document; every write is a single-document operation
 * (or a `deleteMany` of independent ones), which MongoDB applies atomically, so the store needs no
 * transaction and runs on a standalone server as well as a replica set or a sharded cluster. See
 * docs/stores-mongodb.md for the collections, indexes and atomicity choices.
 */
import { randomUUID } from 'node:crypto';
import type { Collection, Db, Document, Filter, MongoClient } from 'mongodb';
import { checkAuditPrune, checkAuditRecord } from '../../core/audit/query.js';
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
import {
  AUDIT_INDEXES,
  type AuditDocument,
  appendAudit,
  auditFilter,
  listAudit,
  pruneAudit,
} from './audit.js';
import {
  checkCollectionPrefix,
  checkDatabaseName,
  createClient,
  DEFAULT_DATABASE,
  databaseInURL,
} from './client.js';
import {
  type AccountTokenDocument,
  type ClientDocument,
  type CounterDocument,
  type RevocationDocument,
  type RevocationFeedDocument,
  type SessionDocument,
  toAccountToken,
  toAccountTokenDocument,
  toClient,
  toClientDocument,
  toRevocation,
  toRevocationDocument,
  toSession,
  toSessionDocument,
  toUser,
  toUserDocument,
  type UserDocument,
} from './documents.js';
import { duplicateKeyFields, isDuplicateOf, retryUpsert, toStoreError } from './errors.js';
import { FACTOR_INDEXES, type FactorDocument, MongoFactors } from './factors.js';
import {
  advanceStages,
  incrementStages,
  mergedData,
  mergedJSONBytes,
  planPatch,
  touchStages,
} from './pipelines.js';
import { DEFAULT_POLL_INTERVAL_MS, publishRevocation, RevocationPoller } from './revocation-feed.js';
import { PURGE_INDEX_NAME, upgradeCollections } from './upgrade.js';

export interface MongoStoreOptions {
  /** A client you manage: the store uses it and never closes it. Give this or `url`. */
  client?: MongoClient;
  /**
   * A connection string (`mongodb://…` or `mongodb+srv://…`): the store creates its own client and closes
   * it on `close()`. Server selection and connection time out after 5 s unless the URL sets them.
   */
  url?: string;
  /** The database; default: the one named in `url`'s path, else `keycard` (also with `client`). */
  database?: string;
  /** Prefix of the collection names; default `keycard_`. */
  collectionPrefix?: string;
  /** How often each revocation subscription polls the feed document; default 250 ms. */
  revocationPollIntervalMs?: number;
  clock?: Clock;
}

/** The collections' names, for operators and tests. */
export interface MongoCollectionNames {
  sessions: string;
  users: string;
  counters: string;
  revocations: string;
  /** One document: the revocation feed's counter and latest entries. */
  revocationFeed: string;
  clients: string;
  audit: string;
  accountTokens: string;
  factors: string;
}

/** A TTL index deletes a document once its date field is in the past (`expireAfterSeconds: 0`). */
const PURGE_INDEX = { key: { purgeAt: 1 }, name: PURGE_INDEX_NAME, expireAfterSeconds: 0 } as const;

export class MongoStore implements Store {
  readonly kind = 'mongodb';
  readonly client: MongoClient;
  readonly databaseName: string;
  readonly collectionNames: Readonly<MongoCollectionNames>;
  private readonly db: Db;
  private readonly sessions: Collection<SessionDocument>;
  private readonly users: Collection<UserDocument>;
  private readonly counters: Collection<CounterDocument>;
  private readonly revocations: Collection<RevocationDocument>;
  private readonly revocationFeed: Collection<RevocationFeedDocument>;
  private readonly clients: Collection<ClientDocument>;
  private readonly audit: Collection<AuditDocument>;
  private readonly accountTokens: Collection<AccountTokenDocument>;
  private readonly factorDocuments: Collection<FactorDocument>;
  private readonly factors: MongoFactors;
  private readonly pollIntervalMs: number;
  private readonly subscriptions = new Set<RevocationPoller>();
  private readonly ownsClient: boolean;
  /** Where refresh tokens were kept before they left the store; dropped by `upgrade.ts`. */
  private readonly legacyRefreshTokens: string;
  private readonly clock: Clock;
  private indexes: Promise<void> | null = null;
  private closed = false;

  constructor(options: MongoStoreOptions) {
    if (!options || (options.client === undefined) === (options.url === undefined)) {
      throw configurationError(
        "MongoStore needs a client or a url (not both), e.g. new MongoStore({ url: 'mongodb://localhost:27017/keycard' })",
      );
    }
    const prefix = options.collectionPrefix ?? 'keycard_';
    checkCollectionPrefix(prefix);
    const database =
      options.database ??
      (options.url === undefined ? undefined : databaseInURL(options.url)) ??
      DEFAULT_DATABASE;
    checkDatabaseName(database);
    this.client = options.client ?? createClient(options.url as string);
    this.ownsClient = options.client === undefined;
    if (this.client.writeConcern?.w === 0) {
      // Unacknowledged writes would report no duplicate username and no matched session.
      throw configurationError(
        'the mongodb store needs acknowledged writes: remove w=0 from its URL or client',
      );
    }
    const pollIntervalMs = options.revocationPollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0)) {
      throw configurationError(
        'the mongodb revocationPollIntervalMs must be a positive number of ms, e.g. 250',
      );
    }
    this.pollIntervalMs = pollIntervalMs;
    this.clock = options.clock ?? systemClock;
    this.databaseName = database;
    this.collectionNames = Object.freeze({
      sessions: `${prefix}sessions`,
      users: `${prefix}users`,
      counters: `${prefix}counters`,
      revocations: `${prefix}revocations`,
      revocationFeed: `${prefix}revocation_feed`,
      clients: `${prefix}clients`,
      audit: `${prefix}audit`,
      accountTokens: `${prefix}account_tokens`,
      factors: `${prefix}factors`,
    });
    // Reads go to the primary whatever the URL says: a secondary that lags could still show a session
    // that was just revoked, or miss one that was just created.
    this.db = this.client.db(database, { readPreference: 'primary' });
    this.sessions = this.db.collection<SessionDocument>(this.collectionNames.sessions);
    this.users = this.db.collection<UserDocument>(this.collectionNames.users);
    this.legacyRefreshTokens = `${prefix}refresh_tokens`;
    this.counters = this.db.collection<CounterDocument>(this.collectionNames.counters);
    this.revocations = this.db.collection<RevocationDocument>(this.collectionNames.revocations);
    this.revocationFeed = this.db.collection<RevocationFeedDocument>(this.collectionNames.revocationFeed);
    this.clients = this.db.collection<ClientDocument>(this.collectionNames.clients);
    this.audit = this.db.collection<AuditDocument>(this.collectionNames.audit);
    this.accountTokens = this.db.collection<AccountTokenDocument>(this.collectionNames.accountTokens);
    this.factorDocuments = this.db.collection<FactorDocument>(this.collectionNames.factors);
    this.factors = new MongoFactors(this.factorDocuments);
  }

  /**
   * Brings a database written by an earlier keycard up to date (`upgrade.ts`), then creates the indexes
   * (both idempotent) — connecting first if needed. Every operation waits for this once, so the unique
   * username and skeleton indexes exist before the first user is written; a failure is retried by the next
   * operation. `openStoreURL` calls it so that a server that cannot be reached is reported at start-up.
   */
  ensureIndexes(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.indexes ??= this.createIndexes().catch((error: unknown) => {
      this.indexes = null;
      throw toStoreError(error);
    });
    return this.indexes;
  }

  private async createIndexes(): Promise<void> {
    // One command first: a server that cannot be reached then fails with the driver's server-selection
    // error and its cause (refused, timed out, …), not with whichever of the parallel operations below
    // noticed the closed topology first.
    await this.db.command({ ping: 1 });
    // The skeleton index cannot be built while users without a skeleton share its null key.
    await upgradeCollections({
      db: this.db,
      users: this.users,
      sessions: this.db.collection(this.collectionNames.sessions),
      legacyRefreshTokens: this.legacyRefreshTokens,
    });
    await Promise.all([
      this.sessions.createIndexes([
        // The per-user index, in the order logins are listed (newest first, ties by id): a page is a
        // walk of `limit` keys from the cursor's position, and "revoke all" visits only that user's.
        { key: { 'user.id': 1, createdAt: -1, _id: -1 }, name: 'user_id_created_at_id' },
        PURGE_INDEX,
      ]),
      this.users.createIndexes([
        { key: { username: 1 }, name: 'username_unique', unique: true },
        // A name that merely looks like another (`usernameSkeleton`) is refused by this index.
        { key: { skeleton: 1 }, name: 'skeleton_unique', unique: true },
        // Addresses are unique among the users that have one.
        {
          key: { email: 1 },
          name: 'email_unique',
          unique: true,
          partialFilterExpression: { email: { $type: 'string' } },
        },
      ]),
      this.accountTokens.createIndexes([PURGE_INDEX]),
      this.counters.createIndexes([PURGE_INDEX]),
      this.revocations.createIndexes([
        // The per-request fallback (`isRevoked`): one equality lookup per branch of its `$or`.
        { key: { kind: 1, id: 1 }, name: 'kind_id' },
        PURGE_INDEX,
      ]),
      this.audit.createIndexes(AUDIT_INDEXES),
      this.factorDocuments.createIndexes(FACTOR_INDEXES),
    ]);
  }

  /**
   * Milliseconds to add to one of the contract's times to get the wall-clock moment for `purgeAt`.
   * MongoDB's TTL monitor compares `purgeAt` with the server's clock, while the contract's times come from
   * the store's clock. With the system clock the offset is zero (to the millisecond) and `purgeAt` is the
   * expiry itself; with a manual clock set in the past, it keeps the monitor from deleting a record the
   * store's own clock still considers live. Whether a record has expired is always decided in code (the
   * monitor runs only every 60 s): the TTL index only keeps the collections from growing.
   */
  private purgeOffset(): number {
    return Date.now() - this.clock.now();
  }

  private purgeAt(time: number): Date {
    return new Date(time + this.purgeOffset());
  }

  async createLogin(record: LoginRecord): Promise<void> {
    const purgeAt = this.purgeAt(Math.min(record.expiresAt, record.absoluteExpiresAt));
    await this.run(() => this.sessions.insertOne(toSessionDocument(record, purgeAt)));
  }

  async getLogin(id: string): Promise<LoginRecord | null> {
    const document = await this.run(() => this.sessions.findOne({ _id: id }));
    return document ? toSession(document) : null;
  }

  async touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void> {
    // No upsert: a touch that arrives after a delete matches nothing and creates nothing.
    const update = touchStages(lastActiveAt, expiresAt, this.purgeOffset());
    await this.run(() => this.sessions.updateOne({ _id: id }, update));
  }

  /**
   * One conditional update: the filter admits the session only if the patched data's JSON fits in
   * `maxBytes` (computed by the server from the stored entries), and the pipeline applies the patch (and
   * the touch) to the same document. No upsert, so a deleted session stays deleted. When nothing matched,
   * one read tells a missing session from one whose data would have been too large.
   */
  async patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult> {
    const plan = planPatch(patch);
    const update: Document[] = [{ $set: { data: mergedData(plan) } }];
    if (options.touch) {
      update.push(...touchStages(options.touch.lastActiveAt, options.touch.expiresAt, this.purgeOffset()));
    }
    const filter: Filter<SessionDocument> = {
      _id: id,
      $expr: { $lte: [mergedJSONBytes(plan), { $literal: options.maxBytes }] },
    };
    return this.run(async (): Promise<PatchResult> => {
      const result = await this.sessions.updateOne(filter, update);
      if (result.matchedCount > 0) return 'ok';
      const found = await this.sessions.findOne({ _id: id }, { projection: { _id: 1 } });
      return found ? 'too_large' : 'missing';
    });
  }

  async deleteLogin(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const filter: Filter<SessionDocument> =
      options.userId === undefined ? { _id: id } : { _id: id, 'user.id': options.userId };
    const result = await this.run(() => this.sessions.deleteOne(filter));
    return result.deletedCount > 0;
  }

  /**
   * Keyset paging on the per-user index: "after (createdAt, id)" is written as `createdAt <= c` (index
   * bounds) minus the few logins created in that same millisecond with an id at or above the cursor
   * (`$nor`), rather than as an `$or` of two ranges, so that the plan is one index walk in the sort's
   * order, stopped by the limit — O(page), whatever the planner makes of `$or` with a sort.
   */
  async listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]> {
    // MongoDB reads a limit of 0 as "no limit" (used here for Infinity only).
    if (page && !(page.limit >= 1)) return [];
    const filter: Filter<SessionDocument> = { 'user.id': userId };
    const after = page?.after;
    if (after) {
      filter.createdAt = { $lte: after.createdAt };
      filter.$nor = [{ createdAt: after.createdAt, _id: { $gte: after.id } }];
    }
    const limit = page && Number.isFinite(page.limit) ? Math.floor(page.limit) : 0;
    const documents = await this.run(() =>
      this.sessions.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray(),
    );
    return documents.map(toSession);
  }

  async countUserLogins(userId: string): Promise<number> {
    return this.run(() => this.sessions.countDocuments({ 'user.id': userId }));
  }

  /**
   * Live signed-in logins. `user.id` of a string type is a range of the per-user index
   * (`user_id_created_at_id`), so anonymous sessions are never visited; each signed-in login's document is
   * read for its expiry: O(signed-in logins, the expired ones the TTL monitor has not purged yet included).
   * Not the `purgeAt` index: its dates carry the clock offset of the moment they were written.
   */
  async countLogins(now: number): Promise<number> {
    return this.run(() =>
      this.sessions.countDocuments({
        'user.id': { $type: 'string' },
        expiresAt: { $gt: now },
        absoluteExpiresAt: { $gt: now },
      }),
    );
  }

  /**
   * One `findOneAndUpdate`: the filter is the compare (`refresh.generation` equal to the one the caller
   * read — a session login, whose `refresh` is null, never matches), the pipeline the set and the touch.
   * MongoDB applies it to one document atomically: of concurrent calls with one generation, the first
   * write changes the generation, and the filter of every other is evaluated again against the new
   * document and no longer matches, so exactly one wins. No upsert: an ended login stays ended.
   */
  async advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null> {
    const update = advanceStages(next, touch, this.purgeOffset());
    const document = await this.run(() =>
      this.sessions.findOneAndUpdate({ _id: id, 'refresh.generation': expectedGeneration }, update, {
        returnDocument: 'after',
      }),
    );
    return document ? toSession(document) : null;
  }

  async deleteUserLogins(userId: string, options: { exceptId?: string } = {}): Promise<number> {
    const filter: Filter<SessionDocument> =
      options.exceptId === undefined
        ? { 'user.id': userId }
        : { 'user.id': userId, _id: { $ne: options.exceptId } };
    const result = await this.run(() => this.sessions.deleteMany(filter));
    return result.deletedCount;
  }

  /**
   * One `insertOne` under the unique `username` and `skeleton` indexes, so of concurrent creations of one
   * name, or of look-alike names, exactly one is admitted. A refusal by the username index is `exact`.
   * A refusal by the skeleton index may hide an exact one too (the server reports one index, and which
   * one it checks first is not documented), so one read by username tells `exact` from `lookalike`.
   */
  async createUser(user: UserRecord): Promise<void> {
    await this.run(async () => {
      try {
        await this.users.insertOne(toUserDocument(user));
      } catch (error) {
        const fields = duplicateKeyFields(error);
        if (fields === null || fields.includes('_id')) throw error;
        if (fields.includes('username')) throw usernameTaken(user.username, 'exact');
        if (fields.includes('email')) throw emailTaken();
        const same = await this.users.findOne({ username: user.username }, { projection: { _id: 1 } });
        throw usernameTaken(user.username, same ? 'exact' : 'lookalike');
      }
    });
  }

  async getUserById(id: string): Promise<UserRecord | null> {
    const document = await this.run(() => this.users.findOne({ _id: id }));
    return document ? toUser(document) : null;
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    const document = await this.run(() => this.users.findOne({ username }));
    return document ? toUser(document) : null;
  }

  async getUserByEmail(email: string): Promise<UserRecord | null> {
    const document = await this.run(() => this.users.findOne({ email }));
    return document ? toUser(document) : null;
  }

  async listUsers(options: ListUsersOptions): Promise<UserRecord[]> {
    // MongoDB reads a limit of 0 as "no limit" (used here for Infinity only).
    if (!(options.limit >= 1)) return [];
    const { after, prefix } = options;
    // A prefix is a range on the unique username index (usernamePrefixEnd; strings compare by UTF-8 bytes
    // in the simple collation), never a $regex: its characters are literal.
    const range: { $gt?: string; $gte?: string; $lt?: string } = {};
    if (after !== undefined) range.$gt = after;
    if (prefix) {
      range.$gte = prefix;
      range.$lt = usernamePrefixEnd(prefix);
    }
    const filter: Filter<UserDocument> = Object.keys(range).length === 0 ? {} : { username: range };
    const documents = await this.run(() =>
      this.users
        .find(filter)
        .sort({ username: 1 })
        .limit(Number.isFinite(options.limit) ? Math.floor(options.limit) : 0)
        .toArray(),
    );
    return documents.map(toUser);
  }

  async countUsers(): Promise<number> {
    return this.run(() => this.users.countDocuments({}));
  }

  /**
   * One document: the unique username and skeleton index entries go with it in the same single-document
   * write, so the name is free the moment it is gone.
   */
  async deleteUser(id: string): Promise<boolean> {
    const result = await this.run(() => this.users.deleteOne({ _id: id }));
    return result.deletedCount > 0;
  }

  async updateUser(id: string, update: UserUpdate): Promise<UserRecord | null> {
    const changes: Partial<UserDocument> = { updatedAt: update.updatedAt };
    if (update.passwordHash !== undefined) changes.passwordHash = update.passwordHash;
    if (update.role !== undefined) changes.role = update.role;
    if (update.blocked !== undefined) changes.blocked = update.blocked;
    const unset: Record<string, ''> = {};
    if (update.email !== undefined) {
      if (update.email === null) unset.email = '';
      else changes.email = update.email;
    }
    if (update.emailVerifiedAt !== undefined) {
      if (update.emailVerifiedAt === null) unset.emailVerifiedAt = '';
      else changes.emailVerifiedAt = update.emailVerifiedAt;
    }
    const document = await this.run(async () => {
      try {
        return await this.users.findOneAndUpdate(
          { _id: id },
          Object.keys(unset).length > 0 ? { $set: changes, $unset: unset } : { $set: changes },
          { returnDocument: 'after' },
        );
      } catch (error) {
        if (duplicateKeyFields(error)?.includes('email')) throw emailTaken();
        throw error;
      }
    });
    return document ? toUser(document) : null;
  }

  /** Single-use account tokens: one document each, `_id` the hash; using one is one findOneAndDelete. */
  async putAccountToken(record: AccountTokenRecord): Promise<void> {
    await this.run(async () => {
      try {
        await this.accountTokens.insertOne(
          toAccountTokenDocument(record, new Date(record.expiresAt + this.purgeOffset())),
        );
      } catch (error) {
        if (duplicateKeyFields(error) !== null) {
          throw new KeycardError('invalid_request', 'that account token exists');
        }
        throw error;
      }
    });
  }

  async getAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const document = await this.run(() =>
      this.accountTokens.findOne({ _id: hash, kind, expiresAt: { $gt: now } }),
    );
    return document ? toAccountToken(document) : null;
  }

  async takeAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    const document = await this.run(() =>
      this.accountTokens.findOneAndDelete({ _id: hash, kind, expiresAt: { $gt: now } }),
    );
    return document ? toAccountToken(document) : null;
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const update = incrementStages(now, windowMs, this.purgeOffset());
    return this.run(async () => {
      const document = await retryUpsert(() =>
        this.counters.findOneAndUpdate({ _id: key }, update, { upsert: true, returnDocument: 'after' }),
      );
      if (!document) throw storeUnavailable('mongodb', new Error('the counter upsert returned nothing'));
      return { count: document.count, resetAt: document.resetAt };
    });
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const document = await this.run(() => this.counters.findOne({ _id: key }));
    return document && document.resetAt > now ? { count: document.count, resetAt: document.resetAt } : null;
  }

  async resetCounter(key: string): Promise<void> {
    await this.run(() => this.counters.deleteOne({ _id: key }));
  }

  /**
   * One `updateOne` with `$inc: -1` whose filter names the window (`resetAt` exactly) and a count above
   * zero: atomic on the one document like the increment, never below zero, and without upsert, so it
   * never creates a counter. A window that has ended (`resetAt <= now`) is not live: nothing to send.
   */
  async releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    if (!(resetAt > now)) return;
    await this.run(() =>
      this.counters.updateOne({ _id: key, resetAt, count: { $gt: 0 } }, { $inc: { count: -1 } }),
    );
  }

  /**
   * Stored first, then published on the feed (see `revocation-feed.ts`). Should publishing fail, the call
   * rejects though the record is stored: `isRevoked` and a reload see it, a listener that stays up does
   * not, so the caller must treat the failure as one (adding the same revocation again is harmless).
   */
  async addRevocation(record: RevocationRecord): Promise<void> {
    const document = toRevocationDocument(record, this.purgeAt(record.expiresAt));
    await this.run(async () => {
      await this.revocations.insertOne(document);
      await publishRevocation(this.revocationFeed, record, randomUUID);
    });
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    const documents = await this.run(() =>
      this.revocations
        .find({ expiresAt: { $gt: now } })
        .sort({ _id: 1 })
        .toArray(),
    );
    return documents.map(toRevocation);
  }

  async isRevoked(
    query: { loginId: string; userId: string; issuedAt: number },
    now: number,
  ): Promise<boolean> {
    const filter: Filter<RevocationDocument> = {
      expiresAt: { $gt: now },
      $or: [
        { kind: 'login', id: query.loginId },
        { kind: 'user', id: query.userId, at: { $gte: query.issuedAt } },
      ],
    };
    const found = await this.run(() => this.revocations.findOne(filter, { projection: { _id: 1 } }));
    return found !== null;
  }

  /**
   * Polls the feed document every `revocationPollIntervalMs` (change streams would need a replica set).
   * Resolves at once; the first poll reports `up`, or `down` if the server cannot be reached.
   */
  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    if (this.closed) throw closedError();
    const poller = new RevocationPoller(
      (filter) => this.run(() => this.revocationFeed.findOne(filter)),
      listener,
      this.pollIntervalMs,
      () => this.subscriptions.delete(poller),
    );
    this.subscriptions.add(poller);
    poller.start();
    return poller;
  }

  /** `_id` is the client id, so the collection's own unique `_id` index refuses a taken one. */
  async createClient(client: ClientRecord): Promise<void> {
    await this.run(async () => {
      try {
        await this.clients.insertOne(toClientDocument(client));
      } catch (error) {
        if (isDuplicateOf(error, '_id')) {
          throw new KeycardError('invalid_request', `client ${client.id} exists`);
        }
        throw error;
      }
    });
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const document = await this.run(() => this.clients.findOne({ _id: id }));
    return document ? toClient(document) : null;
  }

  /** By `_id`, in byte order (MongoDB's simple collation), as the other stores page. */
  async listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]> {
    // MongoDB reads a limit of 0 as "no limit" (used here for Infinity only).
    if (!(options.limit >= 1)) return [];
    const filter: Filter<ClientDocument> = options.after === undefined ? {} : { _id: { $gt: options.after } };
    const documents = await this.run(() =>
      this.clients
        .find(filter)
        .sort({ _id: 1 })
        .limit(Number.isFinite(options.limit) ? Math.floor(options.limit) : 0)
        .toArray(),
    );
    return documents.map(toClient);
  }

  /**
   * One `findOneAndUpdate` without upsert, so an unknown id matches nothing and creates nothing. `$set`
   * names only the fields the update gives (an `undefined` would be stored as null by the driver); a
   * previous secret or its expiry given as `null` is set to null, which is how the record clears them.
   */
  async updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null> {
    const changes: Partial<ClientDocument> = { updatedAt: update.updatedAt };
    if (update.name !== undefined) changes.name = update.name;
    if (update.scopes !== undefined) changes.scopes = [...update.scopes];
    if (update.secretHash !== undefined) changes.secretHash = update.secretHash;
    if (update.previousSecretHash !== undefined) changes.previousSecretHash = update.previousSecretHash;
    if (update.previousSecretExpiresAt !== undefined) {
      changes.previousSecretExpiresAt = update.previousSecretExpiresAt;
    }
    if (update.generation !== undefined) changes.generation = update.generation;
    if (update.disabled !== undefined) changes.disabled = update.disabled;
    const document = await this.run(() =>
      this.clients.findOneAndUpdate({ _id: id }, { $set: changes }, { returnDocument: 'after' }),
    );
    return document ? toClient(document) : null;
  }

  async deleteClient(id: string): Promise<boolean> {
    const result = await this.run(() => this.clients.deleteOne({ _id: id }));
    return result.deletedCount > 0;
  }

  /** Second factors (factors.ts): one command each. */
  createFactor(record: FactorRecord): Promise<void> {
    return this.run(() => this.factors.create(record));
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
    return this.run(() => this.factors.advance(id, expectedCounter, next));
  }
  deleteFactor(id: string, options: { userId?: string } = {}): Promise<boolean> {
    return this.run(() => this.factors.delete(id, options.userId));
  }
  deleteUserFactors(userId: string, options: { kind?: FactorKind } = {}): Promise<number> {
    return this.run(() => this.factors.deleteUser(userId, options.kind));
  }

  /** The audit log (audit.ts): one command each. Queries are checked before anything is sent. */
  async appendAudit(record: AuditRecord): Promise<void> {
    checkAuditRecord(record);
    await this.run(() => appendAudit(this.audit, record));
  }
  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const checked = auditFilter(query);
    return this.run(() => listAudit(this.audit, checked));
  }
  async pruneAudit(before: number): Promise<number> {
    const bound = checkAuditPrune(before);
    return this.run(() => pruneAudit(this.audit, bound));
  }

  async ping(): Promise<void> {
    await this.run(() => this.db.command({ ping: 1 }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    if (this.ownsClient) await this.client.close();
  }

  /** Runs an operation once the indexes exist, turning driver failures into `store_unavailable`. */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    await this.ensureIndexes();
    try {
      return await operation();
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

function closedError(): KeycardError {
  return storeUnavailable('mongodb', new Error('the store was closed'));
}
