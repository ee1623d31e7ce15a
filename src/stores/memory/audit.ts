/**
 * The memory store's audit log: records as JSON strings (no caller can alias them) in one array sorted
 * by id, so a page is a binary search and a walk down from its upper bound, and pruning cuts the front.
 */
import { checkAuditPrune, checkAuditQuery, checkAuditRecord, matchesAudit } from '../../core/audit/query.js';
import { KeycardError } from '../../core/errors.js';
import type { AuditQuery, AuditRecord, AuditStore } from '../../core/store.js';

/** The index of the first entry whose id is at least `id`. */
function lowerBound(entries: readonly { id: string }[], id: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((entries[middle] as { id: string }).id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class MemoryAudit implements AuditStore {
  private entries: { id: string; json: string }[] = [];

  async appendAudit(record: AuditRecord): Promise<void> {
    checkAuditRecord(record);
    const index = lowerBound(this.entries, record.id);
    if (this.entries[index]?.id === record.id) {
      throw new KeycardError('invalid_request', `audit record ${record.id} exists`);
    }
    this.entries.splice(index, 0, { id: record.id, json: JSON.stringify(record) });
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const range = checkAuditQuery(query);
    const page: AuditRecord[] = [];
    const start = range.upper === null ? this.entries.length : lowerBound(this.entries, range.upper);
    for (let i = start - 1; i >= 0 && page.length < range.limit; i--) {
      const entry = this.entries[i] as { id: string; json: string };
      if (range.lower !== null && entry.id < range.lower) break;
      const record = JSON.parse(entry.json) as AuditRecord;
      if (matchesAudit(range, record)) page.push(record);
    }
    return page;
  }

  async pruneAudit(before: number): Promise<number> {
    const count = lowerBound(this.entries, checkAuditPrune(before));
    this.entries = this.entries.slice(count);
    return count;
  }
}
