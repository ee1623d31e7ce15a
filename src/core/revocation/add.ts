/**
 * Storing many revocations at once: through the store's `addRevocations` when it has one (one statement
 * and a few messages on PostgreSQL), otherwise one `addRevocation` after another — the contract's fallback,
 * so a store need not implement the batch to be correct, only to be fast.
 */
import type { RevocationRecord, RevocationStore } from '../store.js';

/** Resolves once every record is stored (and so published, or about to be). */
export async function addRevocations(
  store: RevocationStore,
  records: readonly RevocationRecord[],
): Promise<void> {
  if (records.length === 0) return;
  if (records.length === 1) return store.addRevocation(records[0] as RevocationRecord);
  if (store.addRevocations) return store.addRevocations(records);
  for (const record of records) await store.addRevocation(record);
}
