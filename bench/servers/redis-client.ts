/**
 * A node-redis client (what connect-redis needs) whose commands are counted, for the peers that keep
 * sessions in Redis through connect-redis.
 */
import { createClient } from 'redis';
import { countOperation } from './common.js';

export async function countedRedisClient(url: string) {
  const client = createClient({ url });
  client.on('error', () => {});
  // createClient returns an object whose prototype is the client proper (`_self`); every command, typed or
  // raw, ends in `_self.sendCommand`, so that is where one is counted.
  const self = (client as unknown as { _self: { sendCommand: (...args: unknown[]) => unknown } })._self;
  const send = self.sendCommand;
  self.sendCommand = function (this: unknown, ...args: unknown[]) {
    countOperation();
    return send.apply(this, args);
  };
  await client.connect();
  return client;
}
