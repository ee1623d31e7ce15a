/**
 * The audit log's ids and queries, checked in one place for every store. An id is its time as 12 hex
 * digits then 16 random hex digits, so a time bound is an id bound: every store pages, filters by time
 * and prunes on its primary key's order (an index range), and ties within a millisecond are broken the
 * same way everywhere.
 */
import { randomBytes } from 'node:crypto';
import { KeycardError } from '../errors.js';
import type { AuditQuery, AuditRecord } from '../store.js';

/** 12 hex digits of milliseconds last until the year 10889. */
const MAX_AT = 0xffff_ffff_ffff;
const AUDIT_ID = /^[0-9a-f]{28}$/;
/** An event type: what `AuthEvent['type']` spells. */
const AUDIT_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
export const MAX_AUDIT_LIMIT = 1000;
const MAX_TYPES = 50;
const MAX_USER_ID = 256;

/** The ids of records at `at` (ms) all start with this; it sorts before every one of them. */
export function auditIdPrefix(at: number): string {
  return at.toString(16).padStart(12, '0');
}

/** A fresh id for a record at `at` (ms). */
export function auditId(at: number): string {
  return auditIdPrefix(at) + randomBytes(8).toString('hex');
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_AT;
}

function refuse(field: string, message: string): never {
  throw new KeycardError('invalid_request', `audit query: ${message}`, { field });
}

/** Refuses a record a store must not keep: an id that is not its time's, a bad type. */
export function checkAuditRecord(record: AuditRecord): void {
  if (!isTime(record.at) || typeof record.id !== 'string' || !AUDIT_ID.test(record.id)) {
    throw new KeycardError('invalid_request', 'audit record: id and at must be set by auditId(at)');
  }
  if (!record.id.startsWith(auditIdPrefix(record.at))) {
    throw new KeycardError('invalid_request', 'audit record: its id does not start with its time');
  }
  if (typeof record.type !== 'string' || !AUDIT_TYPE.test(record.type)) {
    throw new KeycardError('invalid_request', 'audit record: type must be lower-case letters, digits and _');
  }
  if (record.userId !== null && (typeof record.userId !== 'string' || record.userId.length > MAX_USER_ID)) {
    throw new KeycardError(
      'invalid_request',
      `audit record: userId must be at most ${MAX_USER_ID} characters`,
    );
  }
}

/**
 * A query as every store runs it: the filters, and the ids as a range — at least `lower` (inclusive) and
 * before `upper` (exclusive); null for no bound.
 */
export interface AuditRange {
  limit: number;
  userId: string | null;
  /** Distinct, sorted; null for every type. */
  types: string[] | null;
  lower: string | null;
  upper: string | null;
}

/** Checks a query from anyone (an admin's URL included) and turns it into a range; `invalid_request` otherwise. */
export function checkAuditQuery(query: AuditQuery): AuditRange {
  if (!query || typeof query !== 'object') refuse('query', 'must be an object');
  const { limit, before, userId, types, since, until } = query;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
    refuse('limit', `limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  }
  if (before !== undefined && (typeof before !== 'string' || !AUDIT_ID.test(before))) {
    refuse('before', 'before must be the id of a record (28 hex digits)');
  }
  if (userId !== undefined && (typeof userId !== 'string' || userId === '' || userId.length > MAX_USER_ID)) {
    refuse('userId', `userId must be 1 to ${MAX_USER_ID} characters`);
  }
  let typeList: string[] | null = null;
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length === 0 || types.length > MAX_TYPES) {
      refuse('types', `types must be a list of 1 to ${MAX_TYPES} event types`);
    }
    for (const type of types) {
      if (typeof type !== 'string' || !AUDIT_TYPE.test(type)) {
        refuse('types', 'types must be event types such as login_failed');
      }
    }
    typeList = [...new Set(types as string[])].sort();
  }
  if (since !== undefined && !isTime(since)) refuse('since', 'since must be a time in ms since the epoch');
  if (until !== undefined && !isTime(until)) refuse('until', 'until must be a time in ms since the epoch');
  let upper = until === undefined ? null : auditIdPrefix(until);
  if (before !== undefined && (upper === null || before < upper)) upper = before;
  return {
    limit,
    userId: userId ?? null,
    types: typeList,
    lower: since === undefined ? null : auditIdPrefix(since),
    upper,
  };
}

/** Whether a record falls in a checked query (the memory store's filter; SQL stores say it in WHERE). */
export function matchesAudit(range: AuditRange, record: AuditRecord): boolean {
  return (
    (range.lower === null || record.id >= range.lower) &&
    (range.upper === null || record.id < range.upper) &&
    (range.userId === null || record.userId === range.userId) &&
    (range.types === null || range.types.includes(record.type))
  );
}

/** Checks a prune bound. */
export function checkAuditPrune(before: number): string {
  if (!isTime(before)) {
    throw new KeycardError('invalid_request', 'pruneAudit: before must be a time in ms since the epoch');
  }
  return auditIdPrefix(before);
}
