/**
 * Counting what a store does, without mocking anything: a proxy over a real keycard store that counts
 * calls by method (reads and writes, as test/helpers/counting-store.ts does for the tests), and counters for
 * what goes over the wire — Redis commands (ioredis and node-redis clients) and SQL statements (pg).
 */
import { Redis } from 'ioredis';
import type { Store } from 'keycard';
import pg from 'pg';

const READS = new Set([
  'getLogin',
  'listUserLogins',
  'countUserLogins',
  'getUserById',
  'getUserByUsername',
  'listUsers',
  'countUsers',
]);
const WRITES = new Set([
  'createLogin',
  'touchLogin',
  'patchLoginData',
  'deleteLogin',
  'deleteUserLogins',
  'advanceRefresh',
  'createUser',
  'updateUser',
]);

export interface CountingStore {
  store: Store;
  reset(): void;
  reads(): number;
  writes(): number;
}

export function countingStore(inner: Store): CountingStore {
  let reads = 0;
  let writes = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        if (READS.has(property)) reads++;
        if (WRITES.has(property)) writes++;
        return value.apply(target, args);
      };
    },
  });
  return {
    store,
    reset: () => {
      reads = 0;
      writes = 0;
    },
    reads: () => reads,
    writes: () => writes,
  };
}

/** Commands and statements sent since the last reset, by every counted client of this process. */
export const wire = {
  operations: 0,
  reset(): void {
    wire.operations = 0;
  },
};

/** An ioredis client whose commands are counted. */
export function countedIORedis(url: string): Redis {
  const client = new Redis(url);
  client.on('error', () => {});
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<typeof send>) => {
    wire.operations++;
    return send(...args);
  }) as typeof client.sendCommand;
  return client;
}

/** Counts a node-redis client's commands (they all end in the client proper's sendCommand). */
export function countNodeRedis(client: object): void {
  const self = (client as unknown as { _self: { sendCommand: (...args: unknown[]) => unknown } })._self;
  const send = self.sendCommand;
  self.sendCommand = function (this: unknown, ...args: unknown[]) {
    wire.operations++;
    return send.apply(this, args);
  };
}

/** Counts every SQL statement any pg client of this process sends, until the returned function undoes it. */
export function countPostgresQueries(): () => void {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    wire.operations++;
    return original.apply(this, args);
  };
  return () => {
    prototype.query = original;
  };
}
