/**
 * The memory store's single-use account tokens: one map by hash. Expired ones are never returned and
 * are dropped when read or by `prune`.
 */
import { KeycardError } from '../../core/errors.js';
import type { AccountTokenKind, AccountTokenRecord, AccountTokenStore } from '../../core/store.js';

export class MemoryAccountTokens implements AccountTokenStore {
  private readonly tokens = new Map<string, AccountTokenRecord>();

  async putAccountToken(record: AccountTokenRecord): Promise<void> {
    if (this.tokens.has(record.hash)) throw new KeycardError('invalid_request', 'that account token exists');
    this.tokens.set(record.hash, { ...record });
  }

  async getAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    return this.find(hash, kind, now);
  }

  async takeAccountToken(
    hash: string,
    kind: AccountTokenKind,
    now: number,
  ): Promise<AccountTokenRecord | null> {
    // Found and deleted in one synchronous step: no other call runs in between.
    const record = this.find(hash, kind, now);
    if (record) this.tokens.delete(hash);
    return record;
  }

  private find(hash: string, kind: AccountTokenKind, now: number): AccountTokenRecord | null {
    const record = this.tokens.get(hash);
    if (!record) return null;
    if (record.expiresAt <= now) {
      this.tokens.delete(hash);
      return null;
    }
    return record.kind === kind ? { ...record } : null;
  }

  /** Drops expired tokens; returns how many. */
  prune(now: number): number {
    let count = 0;
    for (const [hash, record] of this.tokens) {
      if (record.expiresAt <= now) {
        this.tokens.delete(hash);
        count++;
      }
    }
    return count;
  }

  get size(): number {
    return this.tokens.size;
  }
}
