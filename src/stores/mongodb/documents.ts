/**
 * The MongoDB store's documents, and the conversions between them and the contract's records.
 *
 * Times are kept as the contract's numbers (milliseconds since the epoch, stored as BSON doubles, exact up
 * to 2^53) so that every record round-trips exactly. TTL indexes need a BSON date, so each expiring
 * document also carries `purgeAt`: the wall-clock moment at which MongoDB's TTL monitor may delete it (see
 * `MongoStore.purgeOffset` for why it is not simply `new Date(expiresAt)`).
 */
import { defineKey } from '../../core/session/data.js';
import type {
  AccountTokenKind,
  AccountTokenRecord,
  AuthUser,
  ClientRecord,
  LoginRecord,
  RefreshState,
  RevocationRecord,
  SessionData,
  UserRecord,
} from '../../core/store.js';

/**
 * One top-level key of session data, as the JSON text of its key and of its value. Keys are stored as
 * values, never as BSON field names, so a key may be anything JSON allows (`a.b`, `$where`, `__proto__`,
 * the empty string) without meeting MongoDB's rules for field names; both are kept as JSON text so that
 * they round-trip exactly as in the other stores (no BSON type conversions, no `$`-prefixed keys inside
 * nested values for an update to misread, and a lone UTF-16 surrogate survives as its `\uXXXX` escape).
 * `bytes` is this key's share of the data's JSON (`"key":value`), which lets the server check the size
 * limit on the merged result in the same atomic update (see `pipelines.ts`).
 */
export interface DataEntry {
  /** `JSON.stringify(key)`. */
  key: string;
  /** `JSON.stringify(value)`. */
  json: string;
  bytes: number;
}

export interface SessionDocument {
  _id: string;
  user: AuthUser | null;
  createdAt: number;
  lastActiveAt: number;
  expiresAt: number;
  absoluteExpiresAt: number;
  data: DataEntry[];
  userAgent: string | null;
  ip: string | null;
  /** A token login's refresh state, a subdocument; null for a session login (absent in documents written before it existed). */
  refresh: RefreshState | null;
  purgeAt: Date;
}

export interface UserDocument {
  _id: string;
  username: string;
  /** Unique (index `skeleton_unique`); absent only in documents written before it existed, until `upgrade.ts` fills it in. */
  skeleton: string;
  passwordHash: string | null;
  role: string;
  blocked: boolean;
  /** Absent when the user has none (index `email_unique` is partial: only string addresses are unique). */
  email?: string;
  emailVerifiedAt?: number;
  createdAt: number;
  updatedAt: number;
}

/** A single-use account token; `_id` is its hash. */
export interface AccountTokenDocument {
  _id: string;
  kind: AccountTokenKind;
  userId: string | null;
  email: string | null;
  role: string | null;
  stamp: string | null;
  createdAt: number;
  expiresAt: number;
  purgeAt: Date;
}

export function toAccountTokenDocument(record: AccountTokenRecord, purgeAt: Date): AccountTokenDocument {
  const { hash, ...rest } = record;
  return { _id: hash, ...rest, purgeAt };
}

export function toAccountToken(document: AccountTokenDocument): AccountTokenRecord {
  return {
    hash: document._id,
    kind: document.kind,
    userId: document.userId,
    email: document.email,
    role: document.role,
    stamp: document.stamp,
    createdAt: document.createdAt,
    expiresAt: document.expiresAt,
  };
}

/** A stored revocation; `_id` is the driver's ObjectId. Several may exist for one subject. */
export interface RevocationDocument {
  kind: RevocationRecord['kind'];
  id: string;
  at: number;
  expiresAt: number;
  purgeAt: Date;
}

/** A revocation as the feed document carries it. */
export interface RevocationEntry {
  kind: RevocationRecord['kind'];
  id: string;
  at: number;
  expiresAt: number;
}

/**
 * The feed: one document whose `seq` counts every revocation ever published (since `epoch`), and whose
 * `entries` are the latest ones, oldest first — the last entry is number `seq`. Both change in one atomic
 * update, so a reader that sees `seq` sees every entry up to it (see `revocation-feed.ts`).
 */
export interface RevocationFeedDocument {
  _id: string;
  seq: number;
  /** Set when the document is created: a new epoch means the count started again (the document was removed). */
  epoch: string;
  entries: RevocationEntry[];
}

/** An API client; `_id` is the client id. It never expires, so it has no `purgeAt`. */
export interface ClientDocument {
  _id: string;
  name: string;
  scopes: string[];
  secretHash: string;
  previousSecretHash: string | null;
  previousSecretExpiresAt: number | null;
  generation: number;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface CounterDocument {
  _id: string;
  count: number;
  resetAt: number;
  purgeAt: Date;
}

/** Session data as entries, in key order. A key whose value has no JSON (undefined, a function) is absent. */
export function toEntries(data: SessionData): DataEntry[] {
  const entries: DataEntry[] = [];
  for (const key of Object.keys(data)) {
    const json = JSON.stringify(data[key]);
    if (json !== undefined) entries.push(toEntry(key, json));
  }
  return entries;
}

export function toEntry(key: string, json: string): DataEntry {
  const keyJSON = JSON.stringify(key);
  return { key: keyJSON, json, bytes: Buffer.byteLength(`${keyJSON}:${json}`) };
}

/** Keys are defined, never assigned, so `__proto__` stays a plain key (as in `applyPatch`). */
export function fromEntries(entries: readonly DataEntry[]): SessionData {
  const data: SessionData = {};
  for (const entry of entries) defineKey(data, JSON.parse(entry.key), JSON.parse(entry.json));
  return data;
}

export function toSessionDocument(record: LoginRecord, purgeAt: Date): SessionDocument {
  return {
    _id: record.id,
    user: record.user && { id: record.user.id, username: record.user.username, role: record.user.role },
    createdAt: record.createdAt,
    lastActiveAt: record.lastActiveAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    data: toEntries(record.data),
    userAgent: record.userAgent,
    ip: record.ip,
    refresh: record.refresh && toRefreshState(record.refresh),
    purgeAt,
  };
}

export function toSession(document: SessionDocument): LoginRecord {
  const user = document.user ?? null;
  return {
    id: document._id,
    user: user && { id: user.id, username: user.username, role: user.role },
    createdAt: document.createdAt,
    lastActiveAt: document.lastActiveAt,
    expiresAt: document.expiresAt,
    absoluteExpiresAt: document.absoluteExpiresAt,
    data: fromEntries(document.data ?? []),
    userAgent: document.userAgent ?? null,
    ip: document.ip ?? null,
    refresh: document.refresh ? toRefreshState(document.refresh) : null,
  };
}

/** Only the contract's fields, in both directions: nothing else is written or read back. */
export function toRefreshState(state: RefreshState): RefreshState {
  return {
    generation: state.generation,
    nonce: state.nonce,
    rotatedAt: state.rotatedAt,
    windowStartedAt: state.windowStartedAt,
    rotationsInWindow: state.rotationsInWindow,
    revocationTTLMs: state.revocationTTLMs,
  };
}

export function toUserDocument(user: UserRecord): UserDocument {
  return {
    _id: user.id,
    username: user.username,
    skeleton: user.skeleton,
    passwordHash: user.passwordHash,
    role: user.role,
    blocked: user.blocked,
    ...(user.email ? { email: user.email } : {}),
    ...(typeof user.emailVerifiedAt === 'number' ? { emailVerifiedAt: user.emailVerifiedAt } : {}),
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

export function toUser(document: UserDocument): UserRecord {
  return {
    id: document._id,
    username: document.username,
    skeleton: document.skeleton,
    passwordHash: document.passwordHash ?? null,
    role: document.role,
    blocked: document.blocked === true,
    email: document.email ?? null,
    emailVerifiedAt: document.emailVerifiedAt ?? null,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

export function toRevocationDocument(record: RevocationRecord, purgeAt: Date): RevocationDocument {
  return { ...toRevocationEntry(record), purgeAt };
}

export function toRevocationEntry(record: RevocationRecord): RevocationEntry {
  return { kind: record.kind, id: record.id, at: record.at, expiresAt: record.expiresAt };
}

/** From a stored revocation or a feed entry: only the contract's fields, never `_id` or `purgeAt`. */
export function toRevocation(document: RevocationEntry): RevocationRecord {
  return { kind: document.kind, id: document.id, at: document.at, expiresAt: document.expiresAt };
}

export function toClientDocument(client: ClientRecord): ClientDocument {
  return {
    _id: client.id,
    name: client.name,
    scopes: [...client.scopes],
    secretHash: client.secretHash,
    previousSecretHash: client.previousSecretHash,
    previousSecretExpiresAt: client.previousSecretExpiresAt,
    generation: client.generation,
    disabled: client.disabled,
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
  };
}

export function toClient(document: ClientDocument): ClientRecord {
  return {
    id: document._id,
    name: document.name,
    scopes: [...(document.scopes ?? [])],
    secretHash: document.secretHash,
    previousSecretHash: document.previousSecretHash ?? null,
    previousSecretExpiresAt: document.previousSecretExpiresAt ?? null,
    generation: document.generation,
    disabled: document.disabled === true,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}
