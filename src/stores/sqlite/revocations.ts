/**
 * Revocations (jwt and hybrid strategies): rows kept until no access token they could affect is alive,
 * the per-request check, and the polling feed (feed.ts). A row is committed before any feed can read
 * it, so a listener that reloads after `up` sees everything the feed delivered.
 */
import type {
  RevocationListener,
  RevocationRecord,
  RevocationStore,
  RevocationSubscription,
} from '../../core/store.js';
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase } from './driver.js';
import { type PollingFeed, pollRevocations } from './feed.js';
import { type RevocationRow, toRevocation } from './rows.js';

function prepare(db: SQLiteDatabase) {
  return {
    insert: db.prepare('INSERT INTO revocations (kind, id, at, expires_at) VALUES (?, ?, ?, ?)'),
    list: db.prepare('SELECT kind, id, at, expires_at FROM revocations WHERE expires_at > ? ORDER BY seq'),
    after: db.prepare('SELECT seq, kind, id, at, expires_at FROM revocations WHERE seq > ? ORDER BY seq'),
    last: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM revocations'),
    isRevoked: db.prepare(
      `SELECT 1 FROM revocations WHERE expires_at > @now
         AND ((kind = 'login' AND id = @login) OR (kind = 'user' AND id = @user AND at >= @issued)) LIMIT 1`,
    ),
  };
}

export class SQLiteRevocations implements RevocationStore {
  private readonly statements: () => ReturnType<typeof prepare>;
  /** Open subscriptions, stopped when the store closes. */
  private readonly feeds = new Set<PollingFeed>();

  constructor(
    private readonly connection: SQLiteConnection,
    private readonly pollIntervalMs: number,
  ) {
    this.statements = connection.statements(prepare);
  }

  async addRevocation(record: RevocationRecord): Promise<void> {
    this.connection.run(() =>
      this.statements().insert.run(record.kind, record.id, record.at, record.expiresAt),
    );
  }

  /** Every record in one write transaction: one commit, and the polling feed sees them together. */
  async addRevocations(records: readonly RevocationRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.connection.write(() => {
      const { insert } = this.statements();
      for (const record of records) insert.run(record.kind, record.id, record.at, record.expiresAt);
    });
  }

  async listRevocations(now: number): Promise<RevocationRecord[]> {
    const rows = this.connection.run(() => this.statements().list.all(now) as RevocationRow[]);
    return rows.map(toRevocation);
  }

  async isRevoked(
    query: { loginId: string; userId: string; issuedAt: number },
    now: number,
  ): Promise<boolean> {
    const row = this.connection.run(() =>
      this.statements().isRevoked.get({
        now,
        login: query.loginId,
        user: query.userId,
        issued: query.issuedAt,
      }),
    );
    return row !== undefined;
  }

  async subscribeRevocations(listener: RevocationListener): Promise<RevocationSubscription> {
    const source = {
      lastSequence: () => this.connection.run(() => (this.statements().last.get() as { seq: number }).seq),
      rowsAfter: (seq: number) =>
        this.connection.run(() => this.statements().after.all(seq) as (RevocationRow & { seq: number })[]),
    };
    const feed = pollRevocations(source, listener, this.pollIntervalMs, () => this.feeds.delete(feed));
    this.feeds.add(feed);
    return { close: feed.close };
  }

  /** Stops every subscription (the store is closing). */
  stopFeeds(): void {
    for (const feed of this.feeds) feed.stop();
  }
}
