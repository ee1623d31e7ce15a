/**
 * Throttle counters: fixed windows, one row per key. Each operation is one statement — the increment an
 * upsert that starts a new window when the old one has ended, the release a conditional decrement — so
 * concurrent increments and releases from every process on the file are all counted exactly.
 */
import type { CounterStore, CounterValue } from '../../core/store.js';
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase } from './driver.js';

interface CounterRow {
  count: number;
  reset_at: number;
}

function prepare(db: SQLiteDatabase) {
  return {
    get: db.prepare('SELECT count, reset_at FROM counters WHERE key = ?'),
    increment: db.prepare(
      `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @reset_at)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN counters.reset_at > @now THEN counters.count + 1 ELSE 1 END,
         reset_at = CASE WHEN counters.reset_at > @now THEN counters.reset_at ELSE @reset_at END
       RETURNING count, reset_at`,
    ),
    // Only the live window the increment went into, and never below zero; an UPDATE never creates a row.
    release: db.prepare(
      `UPDATE counters SET count = count - 1
       WHERE key = @key AND reset_at = @reset_at AND reset_at > @now AND count > 0`,
    ),
    delete: db.prepare('DELETE FROM counters WHERE key = ?'),
  };
}

export class SQLiteCounters implements CounterStore {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  async incrementCounter(key: string, windowMs: number, now: number): Promise<CounterValue> {
    const row = this.connection.run(
      () => this.statements().increment.get({ key, now, reset_at: now + windowMs }) as CounterRow,
    );
    return { count: row.count, resetAt: row.reset_at };
  }

  async readCounter(key: string, now: number): Promise<CounterValue | null> {
    const row = this.connection.run(() => this.statements().get.get(key) as CounterRow | undefined);
    return row && row.reset_at > now ? { count: row.count, resetAt: row.reset_at } : null;
  }

  async resetCounter(key: string): Promise<void> {
    this.connection.run(() => this.statements().delete.run(key));
  }

  async releaseCounter(key: string, resetAt: number, now: number): Promise<void> {
    this.connection.run(() => this.statements().release.run({ key, reset_at: resetAt, now }));
  }
}
