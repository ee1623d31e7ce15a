/**
 * The audit log on Redis: each record a string of JSON, and its id in sorted sets (all at score 0, so
 * ZRANGEBYLEX pages them, and ids sort by time: core/audit/query.ts) — every record, by user, by type,
 * and by type and user. Every key has the `{audit}` hash tag (keys.ts), so each operation is one script
 * on one Cluster slot:
 * - an append writes the record and its three or five index entries (one round trip);
 * - a page reads the one index that matches its filters — or, for several types, one per type, each cut
 *   to the page's size and merged, which is exact since the newest `limit` of a union are among the
 *   newest `limit` of each part — then the records;
 * - pruning takes the oldest ids in batches and removes each record from every index it is in (the
 *   record says which). Records read by a page after a prune removed them are skipped.
 * Scripts build record keys from the `{audit}` prefix they are given (ids are only known inside them);
 * those keys share the declared keys' slot, which is what Redis Cluster requires.
 */
import type { Cluster, Redis } from 'ioredis';
import { checkAuditPrune, checkAuditQuery, checkAuditRecord } from '../../core/audit/query.js';
import { KeycardError } from '../../core/errors.js';
import type { AuditQuery, AuditRecord } from '../../core/store.js';
import type { RedisKeys } from './keys.js';

/** Records removed per prune script: bounds how long one script holds the server. */
const PRUNE_BATCH = 500;

const SCRIPTS = {
  /** KEYS: the record, then its indexes. ARGV: id, JSON. 0 when the id exists (nothing written), else 1. */
  keycardAppendAudit: `
if not redis.call('SET', KEYS[1], ARGV[2], 'NX') then return 0 end
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return 1
`,
  /**
   * KEYS: the indexes to merge. ARGV: max, min (ZRANGEBYLEX bounds), limit, the `{audit}` prefix. The
   * page's records' JSON, newest first.
   */
  keycardListAudit: `
local limit = tonumber(ARGV[3])
local ids = {}
for i = 1, #KEYS do
  local part = redis.call('ZREVRANGEBYLEX', KEYS[i], ARGV[1], ARGV[2], 'LIMIT', 0, limit)
  for j = 1, #part do ids[#ids + 1] = part[j] end
end
if #KEYS > 1 then table.sort(ids, function(a, b) return a > b end) end
local page = {}
for i = 1, math.min(#ids, limit) do
  local json = redis.call('GET', ARGV[4] .. 'r:' .. ids[i])
  if json then page[#page + 1] = json end
end
return page
`,
  /**
   * KEYS: every record's index. ARGV: the first id to keep, the batch size, the `{audit}` prefix. Removes
   * up to a batch of older records from every index; returns how many.
   */
  keycardPruneAudit: `
local ids = redis.call('ZRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local p = ARGV[3]
for i = 1, #ids do
  local id = ids[i]
  local json = redis.call('GET', p .. 'r:' .. id)
  if json then
    local ok, record = pcall(cjson.decode, json)
    if ok and type(record) == 'table' then
      if type(record.type) == 'string' then
        redis.call('ZREM', p .. 't:' .. record.type, id)
        if type(record.userId) == 'string' then
          redis.call('ZREM', p .. 'ut:' .. record.type .. ':' .. record.userId, id)
        end
      end
      if type(record.userId) == 'string' then redis.call('ZREM', p .. 'u:' .. record.userId, id) end
    end
    redis.call('DEL', p .. 'r:' .. id)
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids
`,
} as const;

type Command = (...args: (string | number)[]) => Promise<unknown>;

export class RedisAudit {
  private readonly commands: Record<keyof typeof SCRIPTS, Command>;

  constructor(
    client: Redis | Cluster,
    private readonly keys: RedisKeys,
  ) {
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
    this.commands = client as unknown as Record<keyof typeof SCRIPTS, Command>;
  }

  async append(record: AuditRecord): Promise<void> {
    checkAuditRecord(record);
    const { keys } = this;
    const indexes = [keys.auditAll(), keys.auditType(record.type)];
    if (record.userId !== null) {
      indexes.push(keys.auditUser(record.userId), keys.auditUserType(record.type, record.userId));
    }
    const json = JSON.stringify(record);
    const written = await this.commands.keycardAppendAudit(
      1 + indexes.length,
      keys.auditRecord(record.id),
      ...indexes,
      record.id,
      json,
    );
    if (Number(written) !== 1) throw new KeycardError('invalid_request', `audit record ${record.id} exists`);
  }

  async list(query: AuditQuery): Promise<AuditRecord[]> {
    const range = checkAuditQuery(query);
    const { keys } = this;
    const { userId, types } = range;
    const indexes =
      types === null
        ? [userId === null ? keys.auditAll() : keys.auditUser(userId)]
        : types.map((type) => (userId === null ? keys.auditType(type) : keys.auditUserType(type, userId)));
    const page = (await this.commands.keycardListAudit(
      indexes.length,
      ...indexes,
      range.upper === null ? '+' : `(${range.upper}`,
      range.lower === null ? '-' : `[${range.lower}`,
      range.limit,
      keys.audit(),
    )) as string[];
    return page.map((json) => JSON.parse(json) as AuditRecord);
  }

  async prune(before: number): Promise<number> {
    const bound = checkAuditPrune(before);
    let total = 0;
    for (;;) {
      const removed = Number(
        await this.commands.keycardPruneAudit(1, this.keys.auditAll(), bound, PRUNE_BATCH, this.keys.audit()),
      );
      total += removed;
      if (removed < PRUNE_BATCH) return total;
    }
  }
}
