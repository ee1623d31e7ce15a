/**
 * The in-memory set of revoked logins and per-user cut-offs that an instance checks on every request
 * (hybrid strategy, and resource servers subscribed to the feed). A check is two Map lookups.
 */
import type { RevocationRecord } from '../store.js';

export class RevocationList {
  /** Revoked login id → when the record may be forgotten. */
  private readonly logins = new Map<string, number>();
  /** User id → the latest cut-off (ms) and when it may be forgotten. */
  private readonly users = new Map<string, { at: number; expiresAt: number }>();

  get size(): number {
    return this.logins.size + this.users.size;
  }

  apply(record: RevocationRecord): void {
    if (record.kind === 'login') {
      this.logins.set(record.id, Math.max(record.expiresAt, this.logins.get(record.id) ?? 0));
      return;
    }
    const existing = this.users.get(record.id);
    this.users.set(record.id, {
      at: Math.max(record.at, existing?.at ?? record.at),
      expiresAt: Math.max(record.expiresAt, existing?.expiresAt ?? record.expiresAt),
    });
  }

  /**
   * Revoked if the login is, or the user was revoked at or after the token was issued. `issuedAt` is
   * the token's `iat` in ms — whole seconds, so a token issued in the same second as a user-wide
   * revocation counts as revoked (a second of false refusals rather than of false acceptance).
   */
  isRevoked(loginId: string, userId: string, issuedAt: number): boolean {
    if (this.logins.has(loginId)) return true;
    const user = this.users.get(userId);
    return user !== undefined && user.at >= issuedAt;
  }

  /** Forgets records past `expiresAt`: no token they could affect is alive. */
  prune(now: number): void {
    for (const [id, expiresAt] of this.logins) if (expiresAt <= now) this.logins.delete(id);
    for (const [id, user] of this.users) if (user.expiresAt <= now) this.users.delete(id);
  }

  clear(): void {
    this.logins.clear();
    this.users.clear();
  }
}
