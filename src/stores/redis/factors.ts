/**
 * Second factors on Redis: each factor a hash, its id in its user's sorted set (scored by `createdAt`; a
 * sorted set orders equal scores by member, byte by byte, which is the contract's "then by id"), and a
 * passkey's credential id in one hash of credential id → factor id. Every key has the `{factors}` hash
 * tag (keys.ts), so each operation is one script on one Cluster slot, and atomic:
 * - creating one refuses a taken id or credential id, then writes the record and both indexes;
 * - `advanceFactor` compares the stored counter with the expected one (both written as the same decimal
 *   string) and writes only on a match, so of simultaneous advances exactly one matches;
 * - deleting removes the record and its index entries together, so a deleted passkey's credential id is
 *   free at once.
 * Scripts that reach factors through an index build their keys from the `{factors}` prefix they are
 * given; those keys share the declared keys' slot, which is what Redis Cluster requires. Factors do not
 * expire: they have no TTL, like users.
 */
import type { Cluster, Redis } from 'ioredis';
import { KeycardError } from '../../core/errors.js';
import type { FactorAdvance, FactorKind, FactorRecord } from '../../core/store.js';
import type { RedisKeys } from './keys.js';
import { type HashReply, toMap } from './records.js';

const SCRIPTS = {
  /**
   * KEYS: the factor, its user's index, the credential index. ARGV: id, createdAt, '1' and the credential
   * id (or '0' and ''), then field/value pairs. 'exists', 'credential' (nothing written) or 'ok'.
   */
  keycardCreateFactor: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
if ARGV[3] == '1' then
  if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then return 'credential' end
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 'ok'
`,
  /** KEYS: the user's index. ARGV: the `{factors}` prefix. Each factor's hash, oldest first. */
  keycardListFactors: `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local factors = {}
for i = 1, #ids do
  local hash = redis.call('HGETALL', ARGV[1] .. 'f:' .. ids[i])
  if #hash > 0 then factors[#factors + 1] = hash end
end
return factors
`,
  /** KEYS: the credential index. ARGV: credential id, the `{factors}` prefix. The factor's hash, or nil. */
  keycardFactorByCredential: `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGETALL', ARGV[2] .. 'f:' .. id)
`,
  /**
   * KEYS: the factor. ARGV: expected counter, n, n field/value pairs to set, then fields to remove. The
   * updated hash when the stored counter is the expected one, nil otherwise (nothing written, and a
   * missing factor is never created).
   */
  keycardAdvanceFactor: `
local counter = redis.call('HGET', KEYS[1], 'n')
if not counter or counter ~= ARGV[1] then return false end
local last = 2 + 2 * tonumber(ARGV[2])
for i = 3, last, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = last + 1, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return redis.call('HGETALL', KEYS[1])
`,
  /**
   * KEYS: the factor, the credential index. ARGV: factor id, '1' and the user id it must belong to (or
   * '0' and ''), the `{factors}` prefix. 1 when it deleted the factor, 0 otherwise.
   */
  keycardDeleteFactor: `
local fields = redis.call('HMGET', KEYS[1], 'uid', 'cid')
if not fields[1] then return 0 end
if ARGV[2] == '1' and fields[1] ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[4] .. 'u:' .. fields[1], ARGV[1])
if fields[2] and redis.call('HGET', KEYS[2], fields[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], fields[2]) end
return 1
`,
  /**
   * KEYS: the user's index, the credential index. ARGV: the kind to delete ('' for every kind), the
   * `{factors}` prefix. How many factors it deleted.
   */
  keycardDeleteUserFactors: `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local count = 0
for i = 1, #ids do
  local key = ARGV[2] .. 'f:' .. ids[i]
  local fields = redis.call('HMGET', key, 'kind', 'cid')
  if not fields[1] then
    redis.call('ZREM', KEYS[1], ids[i])
  elseif ARGV[1] == '' or fields[1] == ARGV[1] then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], ids[i])
    if fields[2] and redis.call('HGET', KEYS[2], fields[2]) == ids[i] then
      redis.call('HDEL', KEYS[2], fields[2])
    end
    count = count + 1
  end
end
return count
`,
} as const;

type Command = (...args: (string | number)[]) => Promise<unknown>;

/** Field/value pairs for a new factor; a null credential id, confirmation or last use is an absent field. */
function factorFields(record: FactorRecord): string[] {
  const fields = ['id', record.id, 'uid', record.userId, 'kind', record.kind, 'name', record.name];
  if (record.credentialId !== null) fields.push('cid', record.credentialId);
  fields.push('sec', record.secret, 'n', String(record.counter), 't', String(record.createdAt));
  if (record.confirmedAt !== null) fields.push('ca', String(record.confirmedAt));
  if (record.lastUsedAt !== null) fields.push('lu', String(record.lastUsedAt));
  return fields;
}

/** The advance script's arguments after the expected counter: n, n pairs to set, then fields to remove. */
function advanceArguments(next: FactorAdvance): string[] {
  const set = ['n', String(next.counter)];
  const unset: string[] = [];
  if (next.lastUsedAt === null) unset.push('lu');
  else if (next.lastUsedAt !== undefined) set.push('lu', String(next.lastUsedAt));
  if (next.confirmedAt === null) unset.push('ca');
  else if (next.confirmedAt !== undefined) set.push('ca', String(next.confirmedAt));
  if (next.secret !== undefined) set.push('sec', next.secret);
  return [String(set.length / 2), ...set, ...unset];
}

function parseFactor(reply: HashReply | null): FactorRecord | null {
  if (reply === null) return null;
  const hash = toMap(reply);
  const id = hash.get('id');
  if (id === undefined) return null;
  const time = (field: string): number | null => (hash.has(field) ? Number(hash.get(field)) : null);
  return {
    id,
    userId: hash.get('uid') ?? '',
    kind: hash.get('kind') as FactorKind,
    name: hash.get('name') ?? '',
    credentialId: hash.get('cid') ?? null,
    secret: hash.get('sec') ?? '',
    counter: Number(hash.get('n')),
    confirmedAt: time('ca'),
    createdAt: Number(hash.get('t')),
    lastUsedAt: time('lu'),
  };
}

/** The factor operations on one client; the store wraps each in its failure handling (store.ts). */
export class RedisFactors {
  private readonly commands: Record<keyof typeof SCRIPTS, Command>;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly keys: RedisKeys,
  ) {
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
    this.commands = client as unknown as Record<keyof typeof SCRIPTS, Command>;
  }

  async create(record: FactorRecord): Promise<void> {
    const { keys } = this;
    const result = await this.commands.keycardCreateFactor(
      3,
      keys.factor(record.id),
      keys.userFactors(record.userId),
      keys.factorCredentials(),
      record.id,
      record.createdAt,
      record.credentialId === null ? '0' : '1',
      record.credentialId ?? '',
      ...factorFields(record),
    );
    if (result === 'exists') throw new KeycardError('invalid_request', 'that factor exists');
    if (result === 'credential') {
      throw new KeycardError('invalid_request', 'that passkey is registered already');
    }
  }

  async list(userId: string): Promise<FactorRecord[]> {
    const replies = (await this.commands.keycardListFactors(
      1,
      this.keys.userFactors(userId),
      this.keys.factors(),
    )) as string[][];
    return replies.map(parseFactor).filter((factor) => factor !== null);
  }

  async get(id: string): Promise<FactorRecord | null> {
    return parseFactor(await this.client.hgetall(this.keys.factor(id)));
  }

  async getByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    const reply = (await this.commands.keycardFactorByCredential(
      1,
      this.keys.factorCredentials(),
      credentialId,
      this.keys.factors(),
    )) as string[] | null;
    return parseFactor(reply);
  }

  async advance(id: string, expectedCounter: number, next: FactorAdvance): Promise<FactorRecord | null> {
    const reply = (await this.commands.keycardAdvanceFactor(
      1,
      this.keys.factor(id),
      String(expectedCounter),
      ...advanceArguments(next),
    )) as string[] | null;
    return parseFactor(reply);
  }

  async delete(id: string, userId: string | undefined): Promise<boolean> {
    const deleted = await this.commands.keycardDeleteFactor(
      2,
      this.keys.factor(id),
      this.keys.factorCredentials(),
      id,
      userId === undefined ? '0' : '1',
      userId ?? '',
      this.keys.factors(),
    );
    return Number(deleted) === 1;
  }

  async deleteUser(userId: string, kind: FactorKind | undefined): Promise<number> {
    const deleted = await this.commands.keycardDeleteUserFactors(
      2,
      this.keys.userFactors(userId),
      this.keys.factorCredentials(),
      kind ?? '',
      this.keys.factors(),
    );
    return Number(deleted);
  }
}
