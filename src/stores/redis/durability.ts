/**
 * `durability: 'replicated'`: revocations and blocks acknowledged only once a replica has them.
 *
 * Redis replicates asynchronously: a primary answers a write before any replica has it, so a primary that
 * dies right after answering takes the write with it, and the replica promoted in its place (by Sentinel,
 * or by a Redis Cluster) never saw it. For most of keycard's state that is a nuisance (a login to redo);
 * for a revocation it is a security failure — the logout, "log out everywhere" or block was reported
 * done, and the token works again after the failover.
 *
 * With `replicated`, each write that revokes (a revocation record, a deleted login, a user update such as
 * a block) is followed by `WAIT 1 <replicationTimeoutMs>` on the connection that carried it: Redis answers
 * once one replica has acknowledged every write made on that connection so far
 * (https://redis.io/commands/wait/). When none does in time, the operation fails with store_unavailable
 * — the write may or may not survive a failover, so the caller must not report it done. WAIT cannot make
 * a write that failed disappear: it narrows the loss window to writes never acknowledged.
 *
 * WAIT counts the writes of its own connection, so it must travel on the one that carried the write: on
 * a standalone or Sentinel client the store's single connection (checked to be the same socket before the
 * write and after the WAIT: a reconnection in between — to a promoted replica, say — would make WAIT
 * answer for a connection that wrote nothing); on a Cluster, in a pipeline with a command on the written
 * key, which ioredis routes to the node serving that key's slot, over that node's connection.
 */
import type { Cluster, Redis } from 'ioredis';
import { configurationError } from '../../core/errors.js';
import { isCluster } from './connection.js';

/** `primary`: a write is acknowledged when the primary has it (Redis's default). `replicated`: see above. */
export type RedisDurability = 'primary' | 'replicated';

export const DEFAULT_REPLICATION_TIMEOUT_MS = 1000;

const DURABILITIES: readonly RedisDurability[] = ['primary', 'replicated'];

export function parseDurability(value: unknown): RedisDurability {
  if (!DURABILITIES.includes(value as RedisDurability)) {
    throw configurationError(`redis store durability must be one of ${DURABILITIES.join(', ')}`);
  }
  return value as RedisDurability;
}

export interface ReplicationPolicy {
  durability: RedisDurability;
  /** How long WAIT may wait for a replica's acknowledgement. */
  timeoutMs: number;
}

export function replicationPolicy(durability: unknown, timeoutMs: unknown): ReplicationPolicy {
  const policy = {
    durability: parseDurability(durability ?? 'primary'),
    timeoutMs: timeoutMs ?? DEFAULT_REPLICATION_TIMEOUT_MS,
  };
  if (!(Number.isInteger(policy.timeoutMs) && (policy.timeoutMs as number) > 0)) {
    throw configurationError('replicationTimeoutMs must be a positive whole number of milliseconds');
  }
  return policy as ReplicationPolicy;
}

function notReplicated(why: string): Error {
  return new Error(`no replica acknowledged the write (${why}): it may be lost in a failover`);
}

/** The socket a standalone (or Sentinel) client is using now. */
function socketOf(client: Redis): unknown {
  return client.stream;
}

/** WAIT 1 on the node serving `key`, over the connection that carried the writes to it. */
async function waitOnClusterNode(client: Cluster, key: string, timeoutMs: number): Promise<number> {
  const replies = await client.pipeline().exists(key).call('wait', 1, timeoutMs).exec();
  const reply = replies?.[1];
  if (!reply) throw notReplicated('no reply to WAIT');
  if (reply[0]) throw reply[0];
  return Number(reply[1]);
}

/**
 * Runs `write`, then (with `replicated`) waits until one replica has it; throws when none acknowledges in
 * time. `keysOf(result)` names the keys written (a Cluster waits on each node serving one). The wait
 * happens also when `write` found nothing to do: the same operation may have written and then failed its
 * WAIT a moment ago, and its retry must not report success while that write is still unreplicated.
 */
export async function writeReplicated<T>(
  client: Redis | Cluster,
  policy: ReplicationPolicy,
  keysOf: (result: T) => string[],
  write: () => Promise<T>,
): Promise<T> {
  if (policy.durability !== 'replicated') return write();
  if (isCluster(client)) {
    const result = await write();
    const keys = [...new Set(keysOf(result))];
    // Several keys on one node share a connection: the first WAIT covers them all, the rest return at once.
    const acknowledged = await Promise.all(
      keys.map((key) => waitOnClusterNode(client, key, policy.timeoutMs)),
    );
    if (acknowledged.some((count) => !(count >= 1))) throw notReplicated('WAIT timed out');
    return result;
  }
  const socket = socketOf(client);
  const result = await write();
  if (socketOf(client) !== socket) throw notReplicated('the connection changed');
  const acknowledged = Number(await client.call('wait', 1, policy.timeoutMs));
  if (socketOf(client) !== socket) throw notReplicated('the connection changed');
  if (!(acknowledged >= 1)) throw notReplicated('WAIT timed out');
  return result;
}
