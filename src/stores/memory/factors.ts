/**
 * The memory store's second factors: one map by id, and an index of passkeys by credential id. Every
 * method runs in one synchronous step, so `advanceFactor`'s compare-and-set is atomic.
 */
import { KeycardError } from '../../core/errors.js';
import type { FactorAdvance, FactorKind, FactorRecord, FactorStore } from '../../core/store.js';

const byAge = (a: FactorRecord, b: FactorRecord): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class MemoryFactors implements FactorStore {
  private readonly factors = new Map<string, FactorRecord>();
  private readonly idsByCredential = new Map<string, string>();

  async createFactor(record: FactorRecord): Promise<void> {
    if (this.factors.has(record.id)) throw new KeycardError('invalid_request', 'that factor exists');
    if (record.credentialId !== null && this.idsByCredential.has(record.credentialId)) {
      throw new KeycardError('invalid_request', 'that passkey is registered already');
    }
    this.factors.set(record.id, { ...record });
    if (record.credentialId !== null) this.idsByCredential.set(record.credentialId, record.id);
  }

  async listFactors(userId: string): Promise<FactorRecord[]> {
    return [...this.factors.values()]
      .filter((factor) => factor.userId === userId)
      .sort(byAge)
      .map((factor) => ({ ...factor }));
  }

  async getFactor(id: string): Promise<FactorRecord | null> {
    const factor = this.factors.get(id);
    return factor ? { ...factor } : null;
  }

  async getFactorByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    const id = this.idsByCredential.get(credentialId);
    return id === undefined ? null : this.getFactor(id);
  }

  async advanceFactor(
    id: string,
    expectedCounter: number,
    next: FactorAdvance,
  ): Promise<FactorRecord | null> {
    const factor = this.factors.get(id);
    if (!factor || factor.counter !== expectedCounter) return null;
    const updated: FactorRecord = {
      ...factor,
      counter: next.counter,
      ...(next.lastUsedAt !== undefined ? { lastUsedAt: next.lastUsedAt } : {}),
      ...(next.confirmedAt !== undefined ? { confirmedAt: next.confirmedAt } : {}),
      ...(next.secret !== undefined ? { secret: next.secret } : {}),
    };
    this.factors.set(id, updated);
    return { ...updated };
  }

  async deleteFactor(id: string, options: { userId?: string } = {}): Promise<boolean> {
    const factor = this.factors.get(id);
    if (!factor || (options.userId !== undefined && factor.userId !== options.userId)) return false;
    this.remove(factor);
    return true;
  }

  async deleteUserFactors(userId: string, options: { kind?: FactorKind } = {}): Promise<number> {
    let count = 0;
    for (const factor of [...this.factors.values()]) {
      if (factor.userId !== userId || (options.kind && factor.kind !== options.kind)) continue;
      this.remove(factor);
      count++;
    }
    return count;
  }

  private remove(factor: FactorRecord): void {
    this.factors.delete(factor.id);
    if (factor.credentialId !== null) this.idsByCredential.delete(factor.credentialId);
  }
}
