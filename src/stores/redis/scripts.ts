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

const SCRIPTS = {
  /** KEYS: hash. ARGV: ttl ms, then field/value pairs. Writes the hash afresh with its TTL. */
  keycardReplaceHash: {
    keys: 1,
    lua: `
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`,
  },

  /**
   * KEYS: the user's session index. ARGV: session id, its absolute expiry, now. Adds the id, drops ids past
   * their absolute expiry (those sessions are certainly gone), and keeps the index alive as long as its
   * longest-lived session (PTTL is -1 on a key without TTL, so a fresh index always gets one).
   */
  keycardIndexSession: {
    keys: 1,
    lua: `${TTL}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) - tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ttl(ARGV[2], ARGV[3]))
end
return 1
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
   * KEYS: login session, presented token, successor token (all in the login's slot). ARGV: now, graceMs,
   * successor id, successor createdAt, successor expiresAt, touch lastActiveAt, touch expiresAt.
   * The decision of `RotationResult` in src/core/store.ts, taken atomically.
   */
  keycardRotateRefreshToken: {
    keys: 3,
    lua: `${TOUCH}
local now = tonumber(ARGV[1])
local token = redis.call('HMGET', KEYS[2], 'e', 's', 'n')
if not token[1] or tonumber(token[1]) <= now or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'invalid'}
end
if not token[2] then
  redis.call('HSET', KEYS[2], 's', ARGV[1], 'n', ARGV[3])
  if tonumber(ARGV[5]) > now then
    redis.call('DEL', KEYS[3])
    redis.call('HSET', KEYS[3], 'c', ARGV[4], 'e', ARGV[5])
    redis.call('PEXPIRE', KEYS[3], ttl(ARGV[5], ARGV[1]))
  end
  touch(KEYS[1], ARGV[6], ARGV[7], ARGV[1])
  return {'rotated', redis.call('HGETALL', KEYS[1])}
end
if token[3] and now - tonumber(token[2]) <= tonumber(ARGV[2]) then
  return {'grace', redis.call('HGETALL', KEYS[1]), token[3]}
end
local login = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return {'reused', login}
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
   * KEYS: user record, usernames hash, sorted usernames. ARGV: username, user id, then field/value pairs.
   * HSETNX claims the username; the record and the sorted set are written in the same script, so a user
   * is either fully there or not at all.
   */
  keycardCreateUser: {
    keys: 3,
    lua: `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 'taken' end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 'ok'
`,
  },

  /** KEYS: user record. ARGV: field/value pairs. Returns the updated record, nil for an unknown user. */
  keycardUpdateUser: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HGETALL', KEYS[1])
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
  indexSession(index: string, sessionId: string, absoluteExpiresAt: number, now: number): Promise<unknown>;
  touchSession(key: string, lastActiveAt: number, expiresAt: number, now: number): Promise<unknown>;
  patchSession(key: string, args: Arg[]): Promise<string>;
  deleteSession(key: string, ownerId: string | undefined): Promise<string | null>;
  rotateRefreshToken(keys: [string, string, string], args: Arg[]): Promise<unknown[]>;
  incrementCounter(key: string, now: number, resetAt: number, windowMs: number): Promise<[number, string]>;
  createUser(keys: [string, string, string], username: string, id: string, fields: Arg[]): Promise<string>;
  updateUser(key: string, fields: Arg[]): Promise<string[] | null>;
  addRevocation(keys: [string, string], args: [number, number, number, string, string]): Promise<unknown>;
  createClient(keys: [string, string], id: string, fields: Arg[]): Promise<string>;
  updateClient(key: string, args: Arg[]): Promise<string[] | null>;
  deleteClient(keys: [string, string], id: string): Promise<number>;
}

export function defineScripts(client: Redis | Cluster): RedisScripts {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  }
  // defineCommand adds methods ioredis's types cannot know about.
  const commands = client as unknown as Record<keyof typeof SCRIPTS, (...args: Arg[]) => Promise<unknown>>;
  return {
    replaceHash: (key, ttlMs, fields) => commands.keycardReplaceHash(key, ttlMs, ...fields),
    indexSession: (index, sessionId, absoluteExpiresAt, now) =>
      commands.keycardIndexSession(index, sessionId, absoluteExpiresAt, now),
    touchSession: (key, lastActiveAt, expiresAt, now) =>
      commands.keycardTouchSession(key, lastActiveAt, expiresAt, now),
    patchSession: (key, args) => commands.keycardPatchSession(key, ...args) as Promise<string>,
    deleteSession: (key, ownerId) =>
      commands.keycardDeleteSession(key, ownerId === undefined ? '0' : '1', ownerId ?? '') as Promise<
        string | null
      >,
    rotateRefreshToken: (keys, args) =>
      commands.keycardRotateRefreshToken(...keys, ...args) as Promise<unknown[]>,
    incrementCounter: (key, now, resetAt, windowMs) =>
      commands.keycardIncrementCounter(key, now, resetAt, windowMs) as Promise<[number, string]>,
    createUser: (keys, username, id, fields) =>
      commands.keycardCreateUser(...keys, username, id, ...fields) as Promise<string>,
    updateUser: (key, fields) => commands.keycardUpdateUser(key, ...fields) as Promise<string[] | null>,
    addRevocation: (keys, args) => commands.keycardAddRevocation(...keys, ...args),
    createClient: (keys, id, fields) =>
      commands.keycardCreateClient(...keys, id, ...fields) as Promise<string>,
    updateClient: (key, args) => commands.keycardUpdateClient(key, ...args) as Promise<string[] | null>,
    deleteClient: (keys, id) => commands.keycardDeleteClient(...keys, id) as Promise<number>,
  };
}
