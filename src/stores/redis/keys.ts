/**
 * The Redis store's key layout. Every key starts with the store's prefix (default `kc`), and the part in
 * braces is the Redis Cluster hash tag: only that part decides the key's slot
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
 *
 * - `kc:s:{<sessionId>}`              hash   one session or token login (meta fields, the refresh state of a
 *                                            token login, one `d<json key>` field per data key)
 * - `kc:us:{<userId>}`                zset   the user's session ids, scored by absolute expiry: every live
 *                                            session is in it (what "log out everywhere" reads), and expired
 *                                            entries are found by score
 * - `kc:ul:{<userId>}`                zset   the same ids scored by `createdAt`, for newest-first pages
 * - `kc:c:<counter key>`              hash   a fixed-window counter (single-key operations only)
 * - `kc:{users}:u:<userId>`           hash   a user record
 * - `kc:{users}:names`                hash   canonical username → user id (HSETNX keeps usernames unique)
 * - `kc:{users}:skeletons`            hash   username skeleton → user id (unique too: no look-alikes)
 * - `kc:{users}:schema`               string `skeletons:1` once users from before skeletons have theirs
 * - `kc:{users}:sorted`               zset   usernames, all at score 0, for ZRANGEBYLEX pages
 * - `kc:{users}:emails`               hash   normalized email address → user id (keeps addresses unique)
 * - `kc:at:<kind>:<hash>`             string one single-use account token (JSON), expiring with it (PXAT)
 * - `kc:{rv}:all`                     zset   every revocation (its JSON), scored by its expiry
 * - `kc:{rv}:l:<loginId>`             string `<at> <expiresAt>` of a revoked login
 * - `kc:{rv}:u:<userId>`              string `<at> <expiresAt>` of a user's latest revocation cut-off
 * - `kc:{rv}:feed`                    the pub/sub channel revocations are published on (not a key)
 * - `kc:{clients}:c:<clientId>`       hash   an API client
 * - `kc:{clients}:ids`                zset   client ids, all at score 0, for ZRANGEBYLEX pages
 * - `kc:{factors}:f:<factorId>`      hash   a second factor (factors.ts)
 * - `kc:{factors}:u:<userId>`        zset   the user's factor ids, scored by `createdAt` (ties by id)
 * - `kc:{factors}:credentials`       hash   passkey credential id → factor id (keeps them unique)
 * - `kc:{audit}:r:<id>`               string an audit record's JSON
 * - `kc:{audit}:all`                  zset   every audit record's id, all at score 0 (ids sort by time)
 * - `kc:{audit}:u:<userId>`           zset   the ids of the records about a user
 * - `kc:{audit}:t:<type>`             zset   the ids of the records of a type
 * - `kc:{audit}:ut:<type>:<userId>`   zset   both (a type has no `:`, so the key is unambiguous)
 *
 * Revocations share one slot: a login revocation names only the login, so a key tagged with its user
 * could not be written, and the per-request check must read the login's and the user's key in one
 * command (an MGET on one slot). docs/stores-redis.md weighs this.
 *
 * API clients share one slot, as users do: creating one (refuse a taken id, write the record, index it)
 * and deleting one are single scripts over the record and the id set. Clients are few (a deployment's
 * services and partners), so one node holds them all easily.
 *
 * Second factors share one slot, as users do, rather than each user's slot: `getFactor` knows only the
 * factor's id and `getFactorByCredentialId` only the credential id, and a credential id must be unique
 * across every user — so creating a passkey (refuse a taken id or credential, write the record, index it)
 * and deleting a user's factors are single scripts over the record, the user's index and the credential
 * index. A user has a handful of factors, so the slot holds about as much as the users' own.
 *
 * The audit log shares one slot: an append writes the record and its indexes in one script, a page
 * merges several indexes in one, and pruning removes a record from every index it is in. The log is
 * bounded by its retention, so one node holds it (docs/stores-redis.md).
 *
 * A session and its user's index live in different slots (the session's slot is chosen by the session id,
 * which is all a request knows); `docs/stores-redis.md` explains how the index stays correct anyway. The
 * user's two index keys share the user's tag, so one script writes both.
 */
import { configurationError } from '../../core/errors.js';

export const DEFAULT_PREFIX = 'kc';

/**
 * A prefix may not contain braces: a `{` in it would become the hash tag of every key, putting the whole
 * store in one slot, or split keys that must share one. Nor glob characters (`*?[]\`), so that it can
 * stand in a SCAN MATCH pattern as it is.
 */
const PREFIX_SYNTAX = /^[A-Za-z0-9:._-]{1,64}$/;

export interface RedisKeys {
  readonly prefix: string;
  session(sessionId: string): string;
  /** A SCAN MATCH pattern for every login key (`kc:s:{*}`); the prefix holds no glob characters. */
  sessionPattern(): string;
  userSessions(userId: string): string;
  userLogins(userId: string): string;
  counter(key: string): string;
  user(userId: string): string;
  usernames(): string;
  skeletons(): string;
  usersSchema(): string;
  sortedUsernames(): string;
  emails(): string;
  /** A single-use account token, by kind and hash: a token of one kind never names another's key. */
  accountToken(kind: string, hash: string): string;
  revocations(): string;
  loginRevocation(loginId: string): string;
  userRevocation(userId: string): string;
  revocationChannel(): string;
  client(clientId: string): string;
  clientIds(): string;
  /** The factor keys' common start (`kc:{factors}:`): scripts that find factors by id build keys from it. */
  factors(): string;
  factor(factorId: string): string;
  userFactors(userId: string): string;
  factorCredentials(): string;
  /** The audit keys' common start (`kc:{audit}:`): scripts that find a record's indexes build them from it. */
  audit(): string;
  auditRecord(id: string): string;
  auditAll(): string;
  auditUser(userId: string): string;
  auditType(type: string): string;
  auditUserType(type: string, userId: string): string;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !PREFIX_SYNTAX.test(prefix)) {
    throw configurationError(
      'the redis store prefix must be 1 to 64 letters, digits or the characters : . _ - (no braces)',
    );
  }
  return prefix;
}

export function redisKeys(prefix: string = DEFAULT_PREFIX): RedisKeys {
  const p = checkPrefix(prefix);
  return {
    prefix: p,
    session: (sessionId) => `${p}:s:{${sessionId}}`,
    sessionPattern: () => `${p}:s:{*}`,
    userSessions: (userId) => `${p}:us:{${userId}}`,
    userLogins: (userId) => `${p}:ul:{${userId}}`,
    counter: (key) => `${p}:c:${key}`,
    user: (userId) => `${p}:{users}:u:${userId}`,
    usernames: () => `${p}:{users}:names`,
    skeletons: () => `${p}:{users}:skeletons`,
    usersSchema: () => `${p}:{users}:schema`,
    sortedUsernames: () => `${p}:{users}:sorted`,
    emails: () => `${p}:{users}:emails`,
    accountToken: (kind, hash) => `${p}:at:${kind}:${hash}`,
    revocations: () => `${p}:{rv}:all`,
    loginRevocation: (loginId) => `${p}:{rv}:l:${loginId}`,
    userRevocation: (userId) => `${p}:{rv}:u:${userId}`,
    revocationChannel: () => `${p}:{rv}:feed`,
    client: (clientId) => `${p}:{clients}:c:${clientId}`,
    clientIds: () => `${p}:{clients}:ids`,
    factors: () => `${p}:{factors}:`,
    factor: (factorId) => `${p}:{factors}:f:${factorId}`,
    userFactors: (userId) => `${p}:{factors}:u:${userId}`,
    factorCredentials: () => `${p}:{factors}:credentials`,
    audit: () => `${p}:{audit}:`,
    auditRecord: (id) => `${p}:{audit}:r:${id}`,
    auditAll: () => `${p}:{audit}:all`,
    auditUser: (userId) => `${p}:{audit}:u:${userId}`,
    auditType: (type) => `${p}:{audit}:t:${type}`,
    auditUserType: (type, userId) => `${p}:{audit}:ut:${type}:${userId}`,
  };
}
