/**
 * The revocation monitor: memory checks while the feed is in step, the store per request while it is
 * not, and a full reload when it comes back — so a revocation made during a gap is never missed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RevocationList } from '../../../src/core/revocation/list.js';
import { type FeedState, RevocationMonitor } from '../../../src/core/revocation/monitor.js';
import type {
  RevocationListener,
  RevocationRecord,
  RevocationSubscription,
} from '../../../src/core/store.js';
import { MemoryStore } from '../../../src/stores/memory/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { countingStore } from '../../helpers/counting-store.js';
import { eventually } from '../../helpers/eventually.js';

const HOUR = 3_600_000;

/** A memory store whose feed the test can cut and restore, as a dropped connection would. */
class CuttableStore extends MemoryStore {
  listeners: RevocationListener[] = [];
  override async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    this.listeners.push(listener);
    const inner = await super.subscribeRevocations({
      revoked: (record) => {
        if (this.connected) listener.revoked(record);
      },
      status: (state) => listener.status(state),
    });
    return inner;
  }
  connected = true;
  cut(): void {
    this.connected = false;
    for (const listener of this.listeners) listener.status('down');
  }
  restore(): void {
    this.connected = true;
    for (const listener of this.listeners) listener.status('up');
  }
}

describe('RevocationList', () => {
  test('logins are revoked outright; users at or before their cut-off; expired entries pruned', () => {
    const list = new RevocationList();
    list.apply({ kind: 'login', id: 's1', at: 1000, expiresAt: 5000 });
    list.apply({ kind: 'user', id: 'u1', at: 2000, expiresAt: 5000 });
    list.apply({ kind: 'user', id: 'u1', at: 1500, expiresAt: 4000 }); // an older cut-off never lowers it
    assert.equal(list.isRevoked('s1', 'u9', 99_999), true);
    assert.equal(list.isRevoked('s2', 'u1', 2000), true);
    assert.equal(list.isRevoked('s2', 'u1', 2001), false);
    assert.equal(list.isRevoked('s2', 'u2', 0), false);
    list.prune(5000);
    assert.equal(list.size, 0);
  });
});

describe('RevocationMonitor', () => {
  test('synced: checks are memory lookups with no store I/O, and see revocations from the feed', async () => {
    const clock = new ManualClock(Date.now());
    const memory = new MemoryStore({ clock });
    const counting = countingStore(memory);
    const monitor = new RevocationMonitor(counting.store, { clock });
    await monitor.start();
    await eventually(() => monitor.feedState === 'synced', 'synced');
    counting.reset();
    assert.equal(monitor.check('s1', 'u1', clock.now()), false);
    await memory.addRevocation({ kind: 'login', id: 's1', at: clock.now(), expiresAt: clock.now() + HOUR });
    await eventually(() => monitor.check('s1', 'u1', 0) === true, 'the feed to deliver');
    assert.equal(counting.counts.get('isRevoked') ?? 0, 0, 'no store read for a check');
    await monitor.close();
  });

  test('starting: before the first load completes, checks ask the store', async () => {
    const clock = new ManualClock(Date.now());
    const memory = new MemoryStore({ clock });
    await memory.addRevocation({ kind: 'user', id: 'u1', at: clock.now(), expiresAt: clock.now() + HOUR });
    const monitor = new RevocationMonitor(memory, { clock });
    const verdict = monitor.check('s', 'u1', clock.now() - 1000);
    assert.ok(verdict instanceof Promise, 'not trusted before synced');
    assert.equal(await verdict, true);
    await monitor.close();
  });

  test('a revocation made while the feed is cut is refused at once (store fallback) and after (reload)', async () => {
    const clock = new ManualClock(Date.now());
    const store = new CuttableStore({ clock });
    const states: FeedState[] = [];
    const monitor = new RevocationMonitor(store, { clock, onStateChange: (state) => states.push(state) });
    await monitor.start();
    await eventually(() => monitor.feedState === 'synced', 'synced');
    store.cut();
    assert.equal(monitor.feedState, 'unsynced');
    await store.addRevocation({ kind: 'login', id: 'gap', at: clock.now(), expiresAt: clock.now() + HOUR });
    const during = monitor.check('gap', 'u', 0);
    assert.ok(during instanceof Promise, 'asks the store while cut');
    assert.equal(await during, true);
    store.restore();
    await eventually(() => monitor.feedState === 'synced', 'resynced');
    assert.equal(monitor.check('gap', 'u', 0), true, 'the reload brought the missed revocation');
    assert.equal(states.at(-1), 'synced');
    assert.ok(
      states.indexOf('synced') < states.lastIndexOf('unsynced'),
      'synced, then unsynced by the cut, then synced',
    );
    await monitor.close();
  });

  test('while unsynced and the store is down, a check throws (the request gets 503), never allows', async () => {
    const clock = new ManualClock(Date.now());
    const store = new CuttableStore({ clock });
    const monitor = new RevocationMonitor(store, { clock });
    await monitor.start();
    await eventually(() => monitor.feedState === 'synced', 'synced');
    store.cut();
    store.isRevoked = async () => {
      const { storeUnavailable } = await import('../../../src/core/errors.js');
      throw storeUnavailable('memory', new Error('down'));
    };
    await assert.rejects(
      Promise.resolve(monitor.check('s', 'u', 0)),
      (error: Error & { code?: string }) => error.code === 'store_unavailable',
    );
    await monitor.close();
  });

  test('a failed reload is retried until it succeeds', async () => {
    const clock = new ManualClock(Date.now());
    const store = new CuttableStore({ clock });
    let failures = 2;
    const list = store.listRevocations.bind(store);
    store.listRevocations = async (now: number): Promise<RevocationRecord[]> => {
      if (failures-- > 0) throw new Error('not yet');
      return list(now);
    };
    const monitor = new RevocationMonitor(store, { clock, retryMs: 5 });
    await monitor.start();
    await eventually(() => monitor.feedState === 'synced', 'synced after retries');
    assert.equal(failures, -1);
    await monitor.close();
  });
});
