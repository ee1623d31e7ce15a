/**
 * Pruning: deletes logins past their idle or absolute expiry (with them goes a token login's refresh
 * state, which lives in its row), counters whose window has ended and revocations no access token can
 * need any more, and account tokens past their expiry. Each is one indexed DELETE; nothing here decides
 * whether a record is valid — readers check expiry themselves — so a late prune only costs space.
 */
import type { SQLiteConnection } from './connection.js';
import type { SQLiteDatabase } from './driver.js';

function prepare(db: SQLiteDatabase) {
  return {
    sessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR absolute_expires_at <= ?'),
    counters: db.prepare('DELETE FROM counters WHERE reset_at <= ?'),
    revocations: db.prepare('DELETE FROM revocations WHERE expires_at <= ?'),
    accountTokens: db.prepare('DELETE FROM account_tokens WHERE expires_at <= ?'),
  };
}

export class SQLitePruner {
  private readonly statements: () => ReturnType<typeof prepare>;

  constructor(private readonly connection: SQLiteConnection) {
    this.statements = connection.statements(prepare);
  }

  /** Deletes what expired at `now`; returns how many logins. */
  prune(now: number): number {
    return this.connection.run(() => {
      const statements = this.statements();
      const sessions = statements.sessions.run(now, now).changes;
      statements.counters.run(now);
      statements.revocations.run(now);
      statements.accountTokens.run(now);
      return sessions;
    });
  }
}
