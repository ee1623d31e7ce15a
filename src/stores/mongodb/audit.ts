/**
 * The audit log on MongoDB: one document per record, `_id` its id (time-ordered: core/audit/query.ts),
 * so the collection's own `_id` index orders the log, bounds it in time and refuses a duplicate, and
 * pruning is one `deleteMany` on an `_id` range. Two compound indexes serve the user and type filters in
 * the same order, newest first. Each operation is one command.
 */
import type { Collection, Filter, IndexDescription } from 'mongodb';
import { checkAuditQuery } from '../../core/audit/query.js';
import { KeycardError } from '../../core/errors.js';
import type { AuditQuery, AuditRecord } from '../../core/store.js';
import { isDuplicateOf } from './errors.js';

export interface AuditDocument {
  _id: string;
  at: number;
  type: string;
  userId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: AuditRecord['data'];
}

/** The indexes the audit collection needs besides `_id`'s. */
export const AUDIT_INDEXES: IndexDescription[] = [
  { key: { userId: 1, _id: -1 }, name: 'user_id_id' },
  { key: { type: 1, _id: -1 }, name: 'type_id' },
];

function toAudit(document: AuditDocument): AuditRecord {
  return {
    id: document._id,
    at: document.at,
    type: document.type,
    userId: document.userId,
    ip: document.ip,
    userAgent: document.userAgent,
    data: document.data,
  };
}

/** The record must have been checked (`checkAuditRecord`). */
export async function appendAudit(audit: Collection<AuditDocument>, record: AuditRecord): Promise<void> {
  try {
    await audit.insertOne({
      _id: record.id,
      at: record.at,
      type: record.type,
      userId: record.userId,
      ip: record.ip,
      userAgent: record.userAgent,
      data: record.data,
    });
  } catch (error) {
    if (isDuplicateOf(error, '_id'))
      throw new KeycardError('invalid_request', `audit record ${record.id} exists`);
    throw error;
  }
}

/** Checks the query before anything is sent (a bad one is `invalid_request`, not a driver error). */
export function auditFilter(query: AuditQuery): { filter: Filter<AuditDocument>; limit: number } {
  const range = checkAuditQuery(query);
  const filter: Filter<AuditDocument> = {};
  if (range.userId !== null) filter.userId = range.userId;
  if (range.types !== null) filter.type = { $in: range.types };
  if (range.lower !== null || range.upper !== null) {
    filter._id = {
      ...(range.lower === null ? {} : { $gte: range.lower }),
      ...(range.upper === null ? {} : { $lt: range.upper }),
    };
  }
  return { filter, limit: range.limit };
}

export async function listAudit(
  audit: Collection<AuditDocument>,
  query: { filter: Filter<AuditDocument>; limit: number },
): Promise<AuditRecord[]> {
  const documents = await audit.find(query.filter).sort({ _id: -1 }).limit(query.limit).toArray();
  return documents.map(toAudit);
}

export async function pruneAudit(audit: Collection<AuditDocument>, bound: string): Promise<number> {
  return (await audit.deleteMany({ _id: { $lt: bound } })).deletedCount;
}
