/**
 * The store contract: one small Promise interface that every backend implements (memory, SQLite, and later
 * Redis, PostgreSQL, MongoDB) and that `test/conformance/store.ts` runs against each on its real server.
 *
 * Conventions: `null` means "not found"; a store that cannot be reached throws a `KeycardError` with code
 * `store_unavailable` (see `storeUnavailable`); times are milliseconds since the epoch; stores never look at
 * a clock to decide whether a session is valid (the login registry does, with its injected clock) but may
 * drop records whose `expiresAt` has passed.
 *
 * Race safety is part of the contract:
 * - `touchLogin` only ever moves `lastActiveAt`/`expiresAt` forward and never rewrites data;
 * - nothing but `createLogin` creates a record, and it is only called with a fresh random id, so a write
 *   that arrives after a delete (touch or patch) can never bring a session back;
 * - session data is written as per-key patches applied atomically by the store, so two requests that set
 *   different keys of one session both persist (the same key: the last write wins).
 */

/** What a login knows about its user: enough to authorize a request without reading the user record. */
export interface AuthUser {
  readonly id: string;
  readonly username: string;
  readonly role: string;
}

export type SessionData = Record<string, unknown>;

/**
 * One login, whatever the strategy: a session (session strategy), or a token login with its refresh state
 * (jwt, hybrid). Anonymous pre-login sessions are logins with `user: null`.
 */
export interface LoginRecord {
  /** base64url SHA-256 of the session token: the token itself is never stored. */
  id: string;
  /** Null for an anonymous (pre-login) session. Role changes end a user's sessions, so this never goes stale. */
  user: AuthUser | null;
  createdAt: number;
  lastActiveAt: number;
  /** Idle expiry; never later than `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
  data: SessionData;
  userAgent: string | null;
  ip: string | null;
  /**
   * Logins of the jwt and hybrid strategies: their refresh-token state, and how long a revocation of the
   * login must be kept. Null for a session-strategy login. Because the record says it, whoever ends the
   * login — the server, an app, or the CLI run with nothing but `--store` — writes the revocation its
   * access tokens need.
   */
  refresh: RefreshState | null;
}

/**
 * A token login's refresh state: O(1) per login however often it refreshes (docs/jwt.md, "Refresh
 * tokens"). A refresh token is `loginId.generation.MAC`, where the MAC (HMAC-SHA256 with the server's
 * refresh secret, over the login id, the generation and `nonce`) makes every token of the family
 * recognisable without storing any of them: the current one (`generation`), the previous one within
 * the grace window, and every older one — a reuse that revokes the family.
 */
export interface RefreshState {
  /** The current refresh token's number: 0 at login, one more at every rotation. */
  generation: number;
  /**
   * 256 random bits (base64url) mixed into every MAC of this login: the refresh secret alone cannot mint
   * a login's tokens, nor can this value alone (a leaked database).
   */
  nonce: string;
  /** When the current generation was issued (ms); the previous one is honoured for the grace window after. */
  rotatedAt: number;
  /** The per-login rotation limit's fixed window: when it started (ms) and how many rotations it holds. */
  windowStartedAt: number;
  rotationsInWindow: number;
  /**
   * How long (ms) a revocation of this login must be kept: longer than any access token it issued can
   * still be accepted (access-token lifetime + leeway + a margin).
   */
  revocationTTLMs: number;
}

/** A page of a user's logins, newest first (`createdAt` descending, then `id` descending). */
export interface LoginPageOptions {
  limit: number;
  /** Continue after this login: only logins that sort after it (older, or as old with a smaller id). */
  after?: { createdAt: number; id: string };
}

/** A change to session data: top-level keys to set (JSON values) and to remove. */
export interface DataPatch {
  set: SessionData;
  unset: string[];
}

export interface PatchOptions {
  /** The patch is refused (`too_large`) if the merged data would exceed this many bytes of JSON. */
  maxBytes: number;
  /** Moves activity forward in the same write (with `touchLogin`'s only-forward rule). */
  touch?: { lastActiveAt: number; expiresAt: number };
}

export type PatchResult = 'ok' | 'missing' | 'too_large';

export interface LoginStore {
  createLogin(record: LoginRecord): Promise<void>;
  getLogin(id: string): Promise<LoginRecord | null>;
  /** Moves `lastActiveAt` and `expiresAt` forward (never back, never past `absoluteExpiresAt`); no-op if gone. */
  touchLogin(id: string, lastActiveAt: number, expiresAt: number): Promise<void>;
  patchLoginData(id: string, patch: DataPatch, options: PatchOptions): Promise<PatchResult>;
  /** With `userId`, deletes only if the session belongs to that user. True if a record was deleted. */
  deleteLogin(id: string, options?: { userId?: string }): Promise<boolean>;
  /**
   * The user's sessions, newest first (`createdAt` descending, ties by `id` descending); O(page) with an
   * index, never a scan. Without `page`, every one of them.
   */
  listUserLogins(userId: string, page?: LoginPageOptions): Promise<LoginRecord[]>;
  /** How many sessions the user has (expired ones not yet removed may be counted). */
  countUserLogins(userId: string): Promise<number>;
  /**
   * The refresh rotation's atomic step (compare-and-set): if the login exists and its
   * `refresh.generation` is `expectedGeneration`, replace `refresh` with `next` and apply `touch` (with
   * `touchLogin`'s only-forward rule) in one atomic write, and return the updated record. Otherwise
   * (no such login, not a token login, or another rotation won) change nothing and return null. The
   * decision itself — rotate, grace, reuse — is core's (`decideRotation`), not the store's.
   */
  advanceRefresh(
    id: string,
    expectedGeneration: number,
    next: RefreshState,
    touch: { lastActiveAt: number; expiresAt: number },
  ): Promise<LoginRecord | null>;
  /** Deletes every session of the user except `exceptId`; returns how many were deleted. */
  deleteUserLogins(userId: string, options?: { exceptId?: string }): Promise<number>;
  /**
   * Optional: how many signed-in logins are live at `now` (ms), across every user — those with a user
   * whose `expiresAt` is after `now`; anonymous (pre-login) sessions are not counted. For monitoring
   * only (the server's `keycard_active_logins` gauge, sampled at most every 30 s): nothing in core
   * calls it, and it may cost O(logins) — an index range on SQLite and PostgreSQL, a SCAN of the login
   * keys on Redis (docs/stores.md). Logins created or ended while it counts may or may not be counted.
   * A store without it simply has no such gauge; every store keycard ships has it.
   */
  countLogins?(now: number): Promise<number>;
}

/** @deprecated Renamed `LoginRecord`: every strategy's logins use it, not only sessions. */
export type SessionRecord = LoginRecord;
/** @deprecated Renamed `LoginStore`. */
export type SessionStore = LoginStore;

export interface UserRecord {
  id: string;
  /** Canonical form (see `normalizeUsername`); unique. */
  username: string;
  /**
   * The username's confusable skeleton (UTS #39, `usernameSkeleton`); unique too, so that a name that
   * merely looks like another (`аlice` with a Cyrillic а) cannot be created beside it.
   */
  skeleton: string;
  /** PHC string (Argon2id) or a legacy bcrypt hash; null when the user cannot sign in with a password. */
  passwordHash: string | null;
  role: string;
  blocked: boolean;
  /**
   * The user's address in normal form (`normalizeEmail`: trimmed, NFC, lower case); unique among users.
   * Stores read it back as null when there is none; a record written without it has none.
   */
  email?: string | null;
  /** When the address was shown to be the user's (a verification or reset link used); null until then. */
  emailVerifiedAt?: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface UserUpdate {
  passwordHash?: string;
  role?: string;
  blocked?: boolean;
  /** A new address (null removes it); throws `emailTaken` when another user has it. */
  email?: string | null;
  emailVerifiedAt?: number | null;
  updatedAt: number;
}

export interface ListUsersOptions {
  limit: number;
  /** Usernames sort ascending; pass the last one seen to get the next page. */
  after?: string;
  /**
   * Only usernames that begin with this (a canonical username's beginning), combined with `after`. Every
   * character is literal: stores compare ranges (or `startsWith`), never a LIKE pattern or a regular
   * expression, so `%`, `_` and `\` match only themselves. An empty prefix is no filter.
   */
  prefix?: string;
}

export interface UserStore {
  /**
   * Throws `usernameTaken(username, 'exact')` when the canonical username exists, and
   * `usernameTaken(username, 'lookalike')` when another user has the same skeleton (both
   * `KeycardError('username_taken')`); atomically, so two concurrent creations admit one. The same for
   * an email address another user has: `emailTaken()` (`email_taken`).
   */
  createUser(user: UserRecord): Promise<void>;
  getUserById(id: string): Promise<UserRecord | null>;
  getUserByUsername(username: string): Promise<UserRecord | null>;
  /** By normalized address. */
  getUserByEmail(email: string): Promise<UserRecord | null>;
  listUsers(options: ListUsersOptions): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** The updated record, or null if there is no such user. */
  updateUser(id: string, update: UserUpdate): Promise<UserRecord | null>;
  /**
   * Deletes the user record and frees its username and skeleton, so either can be created again — in one
   * atomic step where the backend allows it, so a concurrent `createUser` of the name either fails or
   * follows the delete. The user's logins are not the store's to end here (the user service ends them,
   * writing the revocations their tokens need). False if there was no such user.
   */
  deleteUser(id: string): Promise<boolean>;
}

export interface CounterValue {
  count: number;
  /** When the current window ends and the counter starts again from zero. */
  resetAt: number;
}

/**
 * Fixed-window counters for throttling, shared by every instance using the store. A window starts at the
 * first increment and lasts `windowMs`; after it, the next increment starts a new window at 1.
 */
export interface CounterStore {
  incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue>;
  /** The counter's value, or null when it has no live window. */
  readCounter(key: string, now: number): Promise<CounterValue | null>;
  resetCounter(key: string): Promise<void>;
  /**
   * Takes back one increment — a reservation that did not become a failure — if the counter's live
   * window is the one that ends at `resetAt` (the window the increment went into) and its count is above
   * zero; otherwise does nothing. Atomic, like the increment.
   */
  releaseCounter(key: string, resetAt: number, now: number): Promise<void>;
}

/**
 * A revocation, for the jwt and hybrid strategies, whose access tokens are verified without the store:
 * - `login`: every token of the login `id` (the JWT `sid`) is revoked;
 * - `user`: every token of the user `id` issued at or before `at` (ms; compared with `iat`) is revoked.
 * A record is kept until `expiresAt`, when no access token it could affect is still alive.
 */
export interface RevocationRecord {
  kind: 'login' | 'user';
  id: string;
  at: number;
  expiresAt: number;
}

/** What a revocation feed tells its listener. */
export interface RevocationListener {
  /** A revocation made on any instance, as soon as the store's channel delivers it. */
  revoked(record: RevocationRecord): void;
  /**
   * The channel's state. `down`: revocations may be missed from now on (the listener must fall back to
   * asking the store per request); `up`: subscribed again — the listener reloads the full list, since
   * anything published while it was down is lost.
   */
  status(state: 'up' | 'down'): void;
}

export interface RevocationSubscription {
  close(): Promise<void>;
}

/**
 * Revocations persist in the store and travel on the store's own channel (Redis pub/sub, PostgreSQL
 * LISTEN/NOTIFY, polling for SQLite): `addRevocation` must store the record before it is published, so
 * that a listener that reloads after `up` sees everything.
 */
export interface RevocationStore {
  addRevocation(record: RevocationRecord): Promise<void>;
  /**
   * Optional: stores many records and publishes them, as `addRevocation` would each one but in fewer
   * round trips (blocking a user with a thousand logins, a mass revoke). Resolves once every record is
   * stored; the same rule holds per record — stored before it is published. An empty list does nothing.
   * A store without it gets `addRevocation` called once per record (`addRevocations` in
   * core/revocation/add.ts).
   */
  addRevocations?(records: readonly RevocationRecord[]): Promise<void>;
  /** Every record whose `expiresAt` is after `now`. */
  listRevocations(now: number): Promise<RevocationRecord[]>;
  /**
   * One round trip: is this token revoked — its login revoked, or its user revoked at or after
   * `issuedAt` (ms)? The per-request fallback while a feed is down.
   */
  isRevoked(query: { loginId: string; userId: string; issuedAt: number }, now: number): Promise<boolean>;
  /** Subscribes to revocations; `status('up')` is called once subscribed. */
  subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription>;
}

/**
 * An API client (OAuth 2.0 client credentials). Its secret is 256 random bits, stored only as SHA-256
 * (like session tokens: a secret that cannot be guessed needs no slow hash, and a leaked database yields
 * nothing usable). During a rotation's overlap the previous secret keeps working until
 * `previousSecretExpiresAt`.
 */
export interface ClientRecord {
  /** The client_id, public. */
  id: string;
  name: string;
  /** Scopes the client may request. */
  scopes: string[];
  secretHash: string;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  /** Incremented by every rotation; tokens carry it, so one generation's tokens can be revoked. */
  generation: number;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ClientUpdate {
  name?: string;
  scopes?: string[];
  secretHash?: string;
  previousSecretHash?: string | null;
  previousSecretExpiresAt?: number | null;
  generation?: number;
  disabled?: boolean;
  updatedAt: number;
}

export interface ClientStore {
  createClient(client: ClientRecord): Promise<void>;
  getClient(id: string): Promise<ClientRecord | null>;
  /** Clients by id, ascending; pass the last id seen as `after` for the next page. */
  listClients(options: { limit: number; after?: string }): Promise<ClientRecord[]>;
  /** The updated record, or null if there is no such client. */
  updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null>;
  deleteClient(id: string): Promise<boolean>;
}

/** A value an audit record's `data` may hold: a JSON scalar, or a list of them. */
export type AuditValue = string | number | boolean | null | readonly (string | number | boolean | null)[];

/**
 * One audit event, as the store keeps it (core/audit/record.ts builds it from an `AuthEvent`). Never a
 * token, a secret or a password: `data` holds the event's other fields (a session id is the SHA-256 of
 * its token, which grants nothing), and a typed username only as a truncated keyed hash.
 */
export interface AuditRecord {
  /**
   * Unique and time-ordered: `at` as 12 lower-case hex digits, then 16 random hex digits (`auditId`), so
   * ids sort by time and records of one millisecond still have a total order. The store refuses an id
   * that does not start with its `at`: its time bounds are id ranges.
   */
  id: string;
  /** When it happened (ms). */
  at: number;
  /** The event's type (`login_succeeded`, …). */
  type: string;
  /** The user the event is about; null when none is known (`login_failed`, a client's event). */
  userId: string | null;
  ip: string | null;
  /** At most 256 characters. */
  userAgent: string | null;
  data: Record<string, AuditValue>;
}

/**
 * A page of the audit log, newest first (`id` descending). Every filter is optional and they combine
 * (and). Stores check it with `checkAuditQuery` (core/audit/query.ts): a bad value is `invalid_request`.
 */
export interface AuditQuery {
  /** 1 to 1000. */
  limit: number;
  /** Continue after the previous page: only records whose id sorts before this one (its last id). */
  before?: string;
  userId?: string;
  /** Any of these types (1 to 50 of them). */
  types?: readonly string[];
  /** Records at or after this time (ms). */
  since?: number;
  /** Records before this time (ms). */
  until?: number;
}

/** The audit log: append-only, read newest first, pruned by age. */
export interface AuditStore {
  /** One round trip. A record whose id exists already is refused. */
  appendAudit(record: AuditRecord): Promise<void>;
  /** Newest first; with an index per filter (all, by user, by type), never a scan of the whole log. */
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes every record whose `at` is before `before` (ms), from every index; returns how many. */
  pruneAudit(before: number): Promise<number>;
}

/**
 * What a single-use account token is for: a link sent by mail (`password_reset`, `verify_email`,
 * `invitation`), a sign-in waiting for its second factor (`mfa_pending`), a WebAuthn ceremony's
 * challenge (`webauthn_challenge`).
 */
export type AccountTokenKind =
  | 'password_reset'
  | 'verify_email'
  | 'invitation'
  | 'mfa_pending'
  | 'webauthn_challenge';

export const ACCOUNT_TOKEN_KINDS: readonly AccountTokenKind[] = [
  'password_reset',
  'verify_email',
  'invitation',
  'mfa_pending',
  'webauthn_challenge',
];

/**
 * A single-use token sent in a link (password reset, email verification, invitation). Only its SHA-256
 * is stored (`hash`, base64url): the token has 256 random bits, so a leaked table grants nothing.
 */
export interface AccountTokenRecord {
  hash: string;
  kind: AccountTokenKind;
  /** The user it acts on; null for an invitation. */
  userId: string | null;
  /** The address it was sent to. */
  email: string | null;
  /** An invitation's role. */
  role: string | null;
  /**
   * What must still hold when it is used, compared by core: for a reset, a fingerprint of the password
   * hash it was issued against, so any password change voids every outstanding reset link.
   */
  stamp: string | null;
  createdAt: number;
  expiresAt: number;
}

/** Single-use tokens: kept until used or expired, never returned after `expiresAt`. */
export interface AccountTokenStore {
  /** A record whose hash exists already is refused (`invalid_request`). */
  putAccountToken(record: AccountTokenRecord): Promise<void>;
  /** The token of this kind, unexpired at `now`, without using it; null otherwise. */
  getAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null>;
  /**
   * Uses the token: deletes and returns it if it is of this kind and unexpired at `now`, atomically, so of
   * simultaneous takes exactly one gets it. A token of another kind is neither returned nor used.
   */
  takeAccountToken(hash: string, kind: AccountTokenKind, now: number): Promise<AccountTokenRecord | null>;
}

/** A second factor's kind (docs/mfa.md). */
export type FactorKind = 'totp' | 'passkey' | 'recovery';

export const FACTOR_KINDS: readonly FactorKind[] = ['totp', 'passkey', 'recovery'];

/**
 * One second factor of a user's (docs/mfa.md): a TOTP authenticator, a passkey, or the user's set of
 * recovery codes. Never a usable secret in clear: a TOTP secret is encrypted with the server's secret,
 * a passkey holds only its public key, recovery codes only their hashes.
 */
export interface FactorRecord {
  /** Random, unique. */
  id: string;
  userId: string;
  kind: FactorKind;
  /** The user's name for it ("Phone", "YubiKey"); at most 64 characters. */
  name: string;
  /**
   * A passkey's credential id (base64url), unique across every user: a passwordless sign-in finds the
   * factor by it. Null for the other kinds.
   */
  credentialId: string | null;
  /**
   * The kind's material, as text the store keeps as it is: an encrypted TOTP secret; a passkey's public
   * key and transports (JSON); the recovery codes' hashes (JSON).
   */
  secret: string;
  /**
   * The compare-and-set counter (`advanceFactor`): TOTP's last accepted time step, a passkey's signature
   * counter, the recovery codes used (a bit per code).
   */
  counter: number;
  /** When enrolment was confirmed (a TOTP's first valid code); null while pending: not yet a factor. */
  confirmedAt: number | null;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What `advanceFactor` writes when the counter still holds the expected value. */
export interface FactorAdvance {
  counter: number;
  lastUsedAt?: number | null;
  confirmedAt?: number | null;
  /** A new secret (a re-encrypted TOTP secret, regenerated recovery codes). */
  secret?: string;
}

/** Second factors (docs/mfa.md). */
export interface FactorStore {
  /**
   * Stores a new factor. A record whose id exists already, or a passkey whose `credentialId` another
   * factor has, is refused (`invalid_request`).
   */
  createFactor(record: FactorRecord): Promise<void>;
  /** The user's factors, oldest first (`createdAt`, then `id`), pending ones included. */
  listFactors(userId: string): Promise<FactorRecord[]>;
  getFactor(id: string): Promise<FactorRecord | null>;
  /** The passkey with this credential id, or null. */
  getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null>;
  /**
   * The compare-and-set that makes every code single use: if the factor exists and its `counter` is
   * `expectedCounter`, apply `next` in one atomic write and return the updated record; otherwise
   * change nothing and return null. Of simultaneous advances from one value, exactly one succeeds.
   */
  advanceFactor(id: string, expectedCounter: number, next: FactorAdvance): Promise<FactorRecord | null>;
  /** With `userId`, deletes only if the factor is that user's. True if a record was deleted. */
  deleteFactor(id: string, options?: { userId?: string }): Promise<boolean>;
  /** Deletes every factor of the user (optionally only of one kind); returns how many. */
  deleteUserFactors(userId: string, options?: { kind?: FactorKind }): Promise<number>;
}

export interface Store
  extends LoginStore,
    UserStore,
    CounterStore,
    RevocationStore,
    ClientStore,
    AuditStore,
    AccountTokenStore,
    FactorStore {
  /** A short name for messages and metrics: `memory`, `sqlite`, … */
  readonly kind: string;
  /** Resolves when the backend answers a real query; throws `store_unavailable` otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
