/**
 * `countLogins` is optional in the store contract (an app's own store may leave it out, and then the
 * server has no `keycard_active_logins` gauge), but every store keycard ships has it: the conformance
 * cases skip a store without it, so this is what notices one that lost it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { MongoStore } from '../../src/stores/mongodb/index.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { RedisStore } from '../../src/stores/redis/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';

test('every store keycard ships counts live logins (the optional countLogins)', () => {
  for (const store of [MemoryStore, SQLiteStore, PostgresStore, RedisStore, MongoStore]) {
    assert.equal(typeof store.prototype.countLogins, 'function', store.name);
  }
});
