import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { describeStoreConformance, sessionFixture } from '../conformance/store.js';
import { ManualClock } from '../helpers/clock.js';

describeStoreConformance('memory', async (clock) => {
  let store = new MemoryStore({ clock });
  const harness = {
    store,
    async reset() {
      await store.close();
      store = new MemoryStore({ clock });
      harness.store = store;
    },
    /** Entries of every map the store keeps (reached through its private fields: test only). */
    async recordCount() {
      const maps = store as unknown as Record<string, unknown>;
      let count = 0;
      for (const value of Object.values(maps)) {
        if (value instanceof Map) count += value.size;
      }
      return count;
    },
    close: () => store.close(),
  };
  // The suite reads `harness.store` once; route calls to whichever store is current after a reset.
  return {
    ...harness,
    store: new Proxy({} as MemoryStore, {
      get: (_, property) => {
        const value = Reflect.get(store, property);
        return typeof value === 'function' ? value.bind(store) : value;
      },
    }),
  };
});

test('memory store sweeps expired sessions (idle or absolute)', async () => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const idle = sessionFixture(clock, { expiresAt: clock.now() + 1000 });
  const absolute = sessionFixture(clock, {
    expiresAt: clock.now() + 5000,
    absoluteExpiresAt: clock.now() + 2000,
  });
  const live = sessionFixture(clock);
  for (const record of [idle, absolute, live]) await store.createLogin(record);
  clock.advance(2000);
  assert.equal(store.sweep(), 2);
  assert.equal(await store.getLogin(idle.id), null);
  assert.equal(await store.getLogin(absolute.id), null);
  assert.ok(await store.getLogin(live.id));
  assert.deepEqual(
    (await store.listUserLogins('user-1')).map((s) => s.id),
    [live.id],
  );
  await store.close();
});

test('memory store at its size cap evicts expired sessions first, then the oldest', async () => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock, maxSessions: 3 });
  const expired = sessionFixture(clock, { expiresAt: clock.now() + 10 });
  const oldest = sessionFixture(clock);
  const middle = sessionFixture(clock);
  for (const record of [expired, oldest, middle]) await store.createLogin(record);
  clock.advance(100);
  const fourth = sessionFixture(clock);
  await store.createLogin(fourth);
  assert.equal(store.size, 3);
  assert.equal(await store.getLogin(expired.id), null);
  assert.ok(await store.getLogin(oldest.id));
  const fifth = sessionFixture(clock);
  await store.createLogin(fifth);
  assert.equal(store.size, 3);
  assert.equal(await store.getLogin(oldest.id), null, 'the oldest live session is evicted');
  assert.ok(await store.getLogin(fifth.id));
  await store.close();
});

test('memory store returns copies: changing a returned record changes nothing stored', async () => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const record = sessionFixture(clock, { data: { list: [1] } });
  await store.createLogin(record);
  const loaded = await store.getLogin(record.id);
  assert.ok(loaded);
  (loaded.data.list as number[]).push(2);
  record.data.list = 'changed';
  assert.deepEqual((await store.getLogin(record.id))?.data, { list: [1] });
  await store.close();
});

test('memory store warns when used in production', async () => {
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  try {
    const store = new MemoryStore();
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
  } finally {
    process.env.NODE_ENV = previous;
    process.off('warning', listener);
  }
  assert.ok(warnings.some((warning) => (warning as { code?: string }).code === 'KEYCARD_MEMORY_STORE'));
});
