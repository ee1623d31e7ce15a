/**
 * The Lua scripts that make the Redis store's multi-step operations atomic. A script runs on one node
 * with nothing interleaved (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/),
 * so "check, then write" inside one is race-free. Every script declares the keys it touches, and all of
 * them share one hash tag (see keys.ts), so each runs on one Cluster slot.
 *
 * They are registered with ioredis's `defineCommand`, which sends EVALSHA and falls back to EVAL once per
 * connection when the server does not know the script yet (after a restart or a failover).
 *
 * Times arrive as decimal strings of milliseconds. Lua numbers are doubles, exact for integers up to 2^53,
 * so comparisons are exact; values are written back as the strings they came in as, never reformatted.
 * TTLs are relative (PEXPIRE with "expires at" minus the caller's "now"), so a Redis whose clock differs
 * from the application's never cuts a session short (docs/stores-redis.md).
 */
import type { Cluster, Redis } from 'ioredis';

/** ms from `now` until `at`, at least 1 (a PEXPIRE of 0 or less would delete the key at once). */
const TTL = `
local function ttl(at, now)
  local ms = tonumber(at) - tonumber(now)
  if ms < 1 then ms = 1 end
  return string.format('%d', ms)
end
`;

/** The contract's touch: lastActiveAt and expiresAt only move forward, expiresAt never past `a`. */
const TOUCH = `${TTL}
local function touch(key, lastActiveAt, expiresAt, now)
  local current = redis.call('HMGET', key, 'l', 'e', 'a')
  local l, e = current[1], current[2]
  if tonumber(lastActiveAt) > tonumber(l) then l = lastActiveAt end
  if tonumber(expiresAt) > tonumber(e) then e = expiresAt end
  if tonumber(e) > tonumber(current[3]) then e = current[3] end
  redis.call('HSET', key, 'l', l, 'e', e)
  redis.call('PEXPIRE', key, ttl(e, now))
end
`;

/** Calls `call` with `list` in slices of at most 1000 (`unpack` is bounded by Lua's C stack). */
const CHUNKS = `
local function for_chunks(list, call)
  for i = 1, #list, 1000 do call({unpack(list, i, math.min(i + 999, #list))}) end
end
`;

/**
 * Drops from a user's two indexes (`us` by absolute expiry, `ul` by creation) every id whose absolute
 * expiry is at or before `now`: such a session is certainly gone, whatever its idle expiry was.
 */
const PRUNE = `${TTL}${CHUNKS}
local function prune(us, ul, now)
  local gone = redis.call('ZRANGEBYSCORE', us, '-inf', now)
  if #gone == 0 then return end
  for_chunks(gone, function(ids) redis.call('ZREM', ul, unpack(ids)) end)
  redis.call('ZREMRANGEBYSCORE', us, '-inf', now)
end
`;

/**
 * A record's hash written afresh: its field/value pairs (ARGV from `first` on), then its TTL. One HSET
 * per 500 pairs rather than one per field (`unpack` is bounded by Lua's C stack, as in CHUNKS).
 */
const REPLACE = `
local function replace(key, ttl, first)
  redis.call('DEL', key)
  for i = first, #ARGV, 1000 do redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, #ARGV))) end
  redis.call('PEXPIRE', key, ttl)
end
`;

/**
 * Adds a session id to its user's two indexes (`us` by absolute expiry, `ul` by creation) after dropping
 * the ids past their absolute expiry (those sessions are certainly gone), and keeps each key alive as
 * long as its longest-lived session (PTTL is -1 on a key without TTL, so a fresh index always gets one).
 */
const INDEX = `${PRUNE}
local function index(us, ul, id, createdAt, absoluteExpiresAt, now)
  prune(us, ul, now)
  redis.call('ZADD', us, absoluteExpiresAt, id)
  redis.call('ZADD', ul, createdAt, id)
  for _, key in ipairs({us, ul}) do
    if redis.call('PTTL', key) < tonumber(absoluteExpiresAt) - tonumber(now) then
      redis.call('PEXPIRE', key, ttl(absoluteExpiresAt, now))
    end
  end
end
`;

const SCRIPTS = {
  /** KEYS: hash. ARGV: ttl ms, then field/value pairs. Writes the hash afresh with its TTL. */
  keycardReplaceHash: {
    keys: 1,
    lua: `${REPLACE}
replace(KEYS[1], ARGV[1], 2)
return 1
`,
  },

  /**
   * KEYS: the user's two indexes (by absolute expiry, by creation). ARGV: session id, createdAt, its
   * absolute expiry, now. Indexes the session (INDEX above). The login on a Cluster: its record and its
   * user's indexes are in different slots (keys.ts), so this runs first and keycardReplaceHash after.
   */
  keycardIndexSession: {
    keys: 2,
    lua: `${INDEX}
index(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
`,
  },

  /**
   * KEYS: the session's hash, then its user's two indexes. ARGV: ttl ms, session id, createdAt, absolute
   * expiry, now, then the record's field/value pairs. A login on a standalone Redis (or through
   * Sentinel) in one round trip, and atomically: the index entry and the record appear together, where
   * the Cluster's two commands (above) can only order them. Only where no slot rule applies: the hash is
   * in the session's slot and the indexes in the user's.
   */
  keycardCreateLogin: {
    keys: 3,
    lua: `${INDEX}${REPLACE}
index(KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
replace(KEYS[1], ARGV[1], 6)
return 1
`,
  },

  /** KEYS: the user's two indexes. ARGV: session ids. Removes them from both. */
  keycardUnindexSessions: {
    keys: 2,
    lua: `${CHUNKS}
for_chunks(ARGV, function(ids)
  redis.call('ZREM', KEYS[1], unpack(ids))
  redis.call('ZREM', KEYS[2], unpack(ids))
end)
return 1
`,
  },

  /**
   * KEYS: the user's two indexes. ARGV: limit (negative: no limit), now, then the cursor's createdAt and
   * id ('' and '' for the first page). Prunes ids past their absolute expiry, then returns the next
   * entries of the creation index as a flat [id, createdAt, …] list, newest first: a sorted set orders
   * equal scores by member, byte by byte, so REV gives createdAt descending, then id descending.
   * Strictly after the cursor is: the ids at the cursor's createdAt that sort below its id (that
   * millisecond's logins, compared here byte by byte — Lua's own string comparison follows the server's
   * locale), then everything strictly older. O(log n + page + logins of that one millisecond), whether or
   * not the cursor's login still exists.
   */
  keycardPageLogins: {
    keys: 2,
    lua: `${PRUNE}
local function below(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
prune(KEYS[1], KEYS[2], ARGV[2])
local limit = tonumber(ARGV[1])
if ARGV[3] == '' then
  return redis.call('ZRANGE', KEYS[2], '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit, 'WITHSCORES')
end
local page = {}
local ties = redis.call('ZRANGE', KEYS[2], ARGV[3], ARGV[3], 'BYSCORE', 'REV', 'WITHSCORES')
for i = 1, #ties, 2 do
  if limit >= 0 and #page >= 2 * limit then return page end
  if below(ties[i], ARGV[4]) then
    page[#page + 1] = ties[i]
    page[#page + 1] = ties[i + 1]
  end
end
local rest = -1
if limit >= 0 then rest = limit - #page / 2 end
if rest == 0 then return page end
local older = redis.call('ZRANGE', KEYS[2], '(' .. ARGV[3], '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, rest, 'WITHSCORES')
for i = 1, #older do page[#page + 1] = older[i] end
return page
`,
  },

  /** KEYS: session. ARGV: lastActiveAt, expiresAt, now. A missing session stays missing (no HSET on it). */
  keycardTouchSession: {
    keys: 1,
    lua: `${TOUCH}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
touch(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
`,
  },

  /**
   * KEYS: session. ARGV: maxBytes, now, touch lastActiveAt ('' for none), touch expiresAt, n; then n
   * field/JSON pairs to set; then fields to remove. Data fields are `d` + the key's JSON, so the merged
   * data's JSON size is computable here without decoding anything: `{`, `}`, one `"key":value` per field
   * (its field length minus the `d`, plus the colon, plus the value) and the commas between them — exactly
   * `Buffer.byteLength(JSON.stringify(data))` in the other stores. Set before unset, as `applyPatch` does.
   */
  keycardPatchSession: {
    keys: 1,
    lua: `${TOUCH}
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 'missing' end
local sizes = {}
local stored = redis.call('HGETALL', key)
for i = 1, #stored, 2 do
  if string.sub(stored[i], 1, 1) == 'd' then sizes[stored[i]] = #stored[i] + #stored[i + 1] end
end
local first = 6
local last = first + 2 * tonumber(ARGV[5]) - 1
for i = first, last, 2 do sizes[ARGV[i]] = #ARGV[i] + #ARGV[i + 1] end
for i = last + 1, #ARGV do sizes[ARGV[i]] = nil end
local total, count = 2, 0
for _, size in pairs(sizes) do
  total = total + size
  count = count + 1
end
if count > 1 then total = total + count - 1 end
if total > tonumber(ARGV[1]) then return 'too_large' end
for i = first, last, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
for i = last + 1, #ARGV do redis.call('HDEL', key, ARGV[i]) end
if ARGV[3] ~= '' then touch(key, ARGV[3], ARGV[4], ARGV[2]) end
return 'ok'
`,
  },

  /**
   * KEYS: session. ARGV: '1' when it must belong to the user in ARGV[2]. Returns the owner's id ('' for an
   * anonymous session) when it deleted the session, nil otherwise.
   */
  keycardDeleteSession: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local owner = redis.call('HGET', KEYS[1], 'uid')
if ARGV[1] == '1' and owner ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
return owner or ''
`,
  },

  /**
   * KEYS: login. ARGV: expected generation, now, touch lastActiveAt, touch expiresAt, then the refresh
   * state's field/value pairs. The rotation's compare-and-set: only when the stored generation is the
   * expected one (compared as the decimal strings both are written as — integers, never reformatted)
   * are the refresh fields replaced and the touch applied; returns the updated hash, nil otherwise (no
   * such login, a session login without `rg`, or another rotation won). A missing key is never written.
   */
  keycardAdvanceRefresh: {
    keys: 1,
    lua: `${TOUCH}
if redis.call('HGET', KEYS[1], 'rg') ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
touch(KEYS[1], ARGV[3], ARGV[4], ARGV[2])
return redis.call('HGETALL', KEYS[1])
`,
  },

  /** KEYS: counter. ARGV: now, resetAt of a new window, windowMs. Returns {count, resetAt}. */
  keycardIncrementCounter: {
    keys: 1,
    lua: `
local resetAt = redis.call('HGET', KEYS[1], 'r')
if resetAt and tonumber(resetAt) > tonumber(ARGV[1]) then
  return {redis.call('HINCRBY', KEYS[1], 'n', 1), resetAt}
end
redis.call('HSET', KEYS[1], 'n', 1, 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, ARGV[2]}
`,
  },

  /**
   * KEYS: counter. ARGV: the window's resetAt, now. Takes back one increment only from that live window
   * (its stored end is exactly `resetAt`, still after now) and only while the count is above zero; a
   * missing counter stays missing. The key keeps its TTL (HINCRBY does not touch it).
   */
  keycardReleaseCounter: {
    keys: 1,
    lua: `
local current = redis.call('HMGET', KEYS[1], 'n', 'r')
if not current[1] or not current[2] then return 0 end
local resetAt = tonumber(current[2])
if resetAt ~= tonumber(ARGV[1]) or resetAt <= tonumber(ARGV[2]) or tonumber(current[1]) <= 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'n', -1)
return 1
`,
  },

  /**
   * KEYS: user record, usernames hash, skeletons hash, sorted usernames, emails hash. ARGV: username,
   * skeleton, user id, email ('' for none), then field/value pairs. Refuses a taken username ('exact'),
   * then a taken skeleton ('lookalike'), then a taken address ('email'); else claims them, and writes the record and the sorted set in the same script, so a user is either fully
   * there or not at all, and two concurrent creations of one name or of two look-alikes admit one.
   */
  keycardCreateUser: {
    keys: 5,
    lua: `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'exact' end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return 'lookalike' end
if ARGV[4] ~= '' and redis.call('HEXISTS', KEYS[5], ARGV[4]) == 1 then return 'email' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], ARGV[4], ARGV[3]) end
redis.call('DEL', KEYS[1])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[4], 0, ARGV[1])
return 'ok'
`,
  },

  /**
   * KEYS: the users' schema marker, the skeletons hash, then user records. ARGV: the marker's value, '1'
   * when this is the last batch (then the marker is set), then a skeleton and a user id per user record,
   * oldest user first. Gives each user that has no skeleton yet its skeleton — or, when an earlier user
   * already holds that skeleton, '#legacy:<id>', which no real name's skeleton can be — and claims it.
   * Does nothing once the marker is set, so instances starting together back-fill once.
   */
  keycardBackfillSkeletons: {
    keys: -1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
local changed = 0
for i = 3, #KEYS do
  local skeleton, id = ARGV[2 * i - 3], ARGV[2 * i - 2]
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('HEXISTS', KEYS[i], 'skel') == 0 then
    if redis.call('HSETNX', KEYS[2], skeleton, id) == 0 then
      skeleton = '#legacy:' .. id
      redis.call('HSET', KEYS[2], skeleton, id)
    end
    redis.call('HSET', KEYS[i], 'skel', skeleton)
    changed = changed + 1
  end
end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], ARGV[1]) end
return changed
`,
  },

  /**
   * KEYS: user record, usernames hash, skeletons hash, sorted usernames, emails hash. ARGV: user id.
   * Deletes the record and frees its username, skeleton and email address in one script — each only if it
   * still names this user — so a user is either fully there or gone, and a concurrent creation of the
   * name either fails or follows.
   * Returns 1, or 0 for an unknown user.
   */
  keycardDeleteUser: {
    keys: 5,
    lua: `
local fields = redis.call('HMGET', KEYS[1], 'name', 'skel', 'email')
if not fields[1] then return 0 end
if redis.call('HGET', KEYS[2], fields[1]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], fields[1])
  redis.call('ZREM', KEYS[4], fields[1])
end
if fields[2] and redis.call('HGET', KEYS[3], fields[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[3], fields[2])
end
if fields[3] and redis.call('HGET', KEYS[5], fields[3]) == ARGV[1] then
  redis.call('HDEL', KEYS[5], fields[3])
end
redis.call('DEL', KEYS[1])
return 1
`,
  },

  /**
   * KEYS: user record, emails hash. ARGV: '1' and the new address ('' removes it) or '0' and '', '1' and
   * the verification time ('' removes it) or '0' and '', then field/value pairs. Returns the updated
   * record, nil for an unknown user, 'email' when the address is another user's (nothing is written).
   */
  keycardUpdateUser: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then
  local id = redis.call('HGET', KEYS[1], 'id')
  local old = redis.call('HGET', KEYS[1], 'email')
  if ARGV[2] ~= '' and ARGV[2] ~= old then
    if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 'email' end
  end
  if old and old ~= ARGV[2] and redis.call('HGET', KEYS[2], old) == id then redis.call('HDEL', KEYS[2], old) end
  if ARGV[2] == '' then
    redis.call('HDEL', KEYS[1], 'email')
  else
    redis.call('HSET', KEYS[2], ARGV[2], id)
    redis.call('HSET', KEYS[1], 'email', ARGV[2])
  end
end
if ARGV[3] == '1' then
  if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'ev') else redis.call('HSET', KEYS[1], 'ev', ARGV[4]) end
end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HGETALL', KEYS[1])
`,
  },

  /** KEYS: an account token. Returns its value and deletes it, in one step (GETDEL for any Redis version). */
  keycardTakeAccountToken: {
    keys: 1,
    lua: `
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`,
  },

  /**
   * KEYS: client record, client ids (both in the `{clients}` slot). ARGV: client id, then field/value
   * pairs. An existing record refuses the call; otherwise the record and its id are written together, so
   * a client is listed exactly when it exists.
   */
  keycardCreateClient: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 'ok'
`,
  },

  /**
   * KEYS: client record. ARGV: n, n field/value pairs to set, then fields to remove. Returns the updated
   * record, nil for an unknown client (nothing is written: an update never creates a client).
   */
  keycardUpdateClient: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local last = 1 + 2 * tonumber(ARGV[1])
for i = 2, last, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = last + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return redis.call('HGETALL', KEYS[1])
`,
  },

  /** KEYS: client record, client ids. ARGV: client id. Returns 1 when it deleted a client, 0 otherwise. */
  keycardDeleteClient: {
    keys: 2,
    lua: `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`,
  },

  /**
   * KEYS: all revocations (zset), the login's or user's revocation key (same slot). ARGV: at, expiresAt,
   * now, the record's JSON, the channel. Drops members that expired, adds this one, keeps on the
   * login's or user's key the latest `at` and the latest expiry (`<at> <expiresAt>`), and publishes the
   * JSON — after the writes and in the same atomic step, so a subscriber that hears of it and reloads
   * always finds it. Every key lives until its latest expiry.
   */
  keycardAddRevocation: {
    keys: 2,
    lua: `${TTL}
local at, expiresAt, now = ARGV[1], ARGV[2], ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], expiresAt, ARGV[4])
if redis.call('PTTL', KEYS[1]) < tonumber(expiresAt) - tonumber(now) then
  redis.call('PEXPIRE', KEYS[1], ttl(expiresAt, now))
end
local current = redis.call('GET', KEYS[2])
if current then
  local a, e = string.match(current, '^(%S+) (%S+)$')
  if a and tonumber(a) > tonumber(at) then at = a end
  if e and tonumber(e) > tonumber(expiresAt) then expiresAt = e end
end
redis.call('SET', KEYS[2], at .. ' ' .. expiresAt, 'PX', ttl(expiresAt, now))
redis.call('PUBLISH', ARGV[5], ARGV[4])
return 1
`,
  },
} as const;

type Arg = string | number;

/** The scripts as typed functions over one client (replies as Redis gives them, decoded in store.ts). */
export interface RedisScripts {
  replaceHash(key: string, ttlMs: number, fields: Arg[]): Promise<unknown>;
  createLogin(
    keys: [string, string, string],
    ttlMs: number,
    index: { sessionId: string; createdAt: number; absoluteExpiresAt: number; now: number },
    fields: Arg[],
  ): Promise<unknown>;
  indexSession(
    indexes: [string, string],
    sessionId: string,
    createdAt: number,
    absoluteExpiresAt: number,
    now: number,
  ): Promise<unknown>;
  unindexSessions(indexes: [string, string], sessionIds: string[]): Promise<unknown>;
  pageLogins(
    indexes: [string, string],
    limit: number,
    now: number,
    after: { createdAt: number; id: string } | undefined,
  ): Promise<string[]>;
  touchLogin(key: string, lastActiveAt: number, expiresAt: number, now: number): Promise<unknown>;
  patchSession(key: string, args: Arg[]): Promise<string>;
  deleteLogin(key: string, ownerId: string | undefined): Promise<string | null>;
  /** The updated hash as the raw reply parseSession reads (Buffers), or null. */
  advanceRefresh(key: string, args: Arg[]): Promise<Buffer[] | null>;
  incrementCounter(key: string, now: number, resetAt: number, windowMs: number): Promise<[number, string]>;
  releaseCounter(key: string, resetAt: number, now: number): Promise<unknown>;
  createUser(
    keys: [string, string, string, string, string],
    username: string,
    skeleton: string,
    id: string,
    email: string,
    fields: Arg[],
  ): Promise<string>;
  backfillSkeletons(keys: string[], args: Arg[]): Promise<number>;
  updateUser(keys: [string, string], fields: Arg[]): Promise<string[] | string | null>;
  takeAccountToken(key: string): Promise<string | null>;
  deleteUser(keys: [string, string, string, string, string], id: string): Promise<number>;
  addRevocation(keys: [string, string], args: [number, number, number, string, string]): Promise<unknown>;
  createClient(keys: [string, string], id: string, fields: Arg[]): Promise<string>;
  updateClient(key: string, args: Arg[]): Promise<string[] | null>;
  deleteClient(keys: [string, string], id: string): Promise<number>;
}

export function defineScripts(client: Redis | Cluster): RedisScripts {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    // A script with a variable number of keys takes the count as its first argument.
    client.defineCommand(
      name,
      script.keys < 0 ? { lua: script.lua } : { numberOfKeys: script.keys, lua: script.lua },
    );
  }
  // defineCommand adds methods ioredis's types cannot know about.
  const commands = client as unknown as Record<keyof typeof SCRIPTS, (...args: Arg[]) => Promise<unknown>>;
  // …and a `…Buffer` twin of each, whose reply is left as Buffers.
  const buffers = client as unknown as Record<
    `${keyof typeof SCRIPTS}Buffer`,
    (...args: Arg[]) => Promise<unknown>
  >;
  return {
    replaceHash: (key, ttlMs, fields) => commands.keycardReplaceHash(key, ttlMs, ...fields),
    createLogin: (keys, ttlMs, index, fields) =>
      commands.keycardCreateLogin(
        ...keys,
        ttlMs,
        index.sessionId,
        index.createdAt,
        index.absoluteExpiresAt,
        index.now,
        ...fields,
      ),
    indexSession: (indexes, sessionId, createdAt, absoluteExpiresAt, now) =>
      commands.keycardIndexSession(...indexes, sessionId, createdAt, absoluteExpiresAt, now),
    unindexSessions: (indexes, sessionIds) => commands.keycardUnindexSessions(...indexes, ...sessionIds),
    pageLogins: (indexes, limit, now, after) =>
      commands.keycardPageLogins(...indexes, limit, now, after?.createdAt ?? '', after?.id ?? '') as Promise<
        string[]
      >,
    touchLogin: (key, lastActiveAt, expiresAt, now) =>
      commands.keycardTouchSession(key, lastActiveAt, expiresAt, now),
    patchSession: (key, args) => commands.keycardPatchSession(key, ...args) as Promise<string>,
    deleteLogin: (key, ownerId) =>
      commands.keycardDeleteSession(key, ownerId === undefined ? '0' : '1', ownerId ?? '') as Promise<
        string | null
      >,
    advanceRefresh: (key, args) =>
      buffers.keycardAdvanceRefreshBuffer(key, ...args) as Promise<Buffer[] | null>,
    incrementCounter: (key, now, resetAt, windowMs) =>
      commands.keycardIncrementCounter(key, now, resetAt, windowMs) as Promise<[number, string]>,
    releaseCounter: (key, resetAt, now) => commands.keycardReleaseCounter(key, resetAt, now),
    createUser: (keys, username, skeleton, id, email, fields) =>
      commands.keycardCreateUser(...keys, username, skeleton, id, email, ...fields) as Promise<string>,
    backfillSkeletons: (keys, args) =>
      commands.keycardBackfillSkeletons(keys.length, ...keys, ...args) as Promise<number>,
    updateUser: (keys, fields) =>
      commands.keycardUpdateUser(...keys, ...fields) as Promise<string[] | string | null>,
    takeAccountToken: (key) => commands.keycardTakeAccountToken(key) as Promise<string | null>,
    deleteUser: (keys, id) => commands.keycardDeleteUser(...keys, id) as Promise<number>,
    addRevocation: (keys, args) => commands.keycardAddRevocation(...keys, ...args),
    createClient: (keys, id, fields) =>
      commands.keycardCreateClient(...keys, id, ...fields) as Promise<string>,
    updateClient: (key, args) => commands.keycardUpdateClient(key, ...args) as Promise<string[] | null>,
    deleteClient: (keys, id) => commands.keycardDeleteClient(...keys, id) as Promise<number>,
  };
}
