/**
 * Second factors on MongoDB: one document per factor, `_id` its id, so the collection's own `_id` index
 * refuses a taken id; a unique index on the passkey credential id, partial (only string ids) so that the
 * other kinds' null never collides; and a per-user index in listing order (`createdAt`, then `_id`, both
 * in byte order under the simple collation). Every operation is one command on one document or one
 * user's documents. `advanceFactor` is one `findOneAndUpdate` whose filter names the expected counter:
 * MongoDB applies it atomically to the one document, so of simultaneous advances from one counter
 * exactly one matches.
 */
import type { Collection, Filter, IndexDescription } from 'mongodb';
import { KeycardError } from '../../core/errors.js';
import type { FactorAdvance, FactorKind, FactorRecord } from '../../core/store.js';
import { duplicateKeyFields } from './errors.js';

/** A second factor; `_id` is its id. The contract's numbers are kept as they are (exact up to 2^53). */
export interface FactorDocument {
  _id: string;
  userId: string;
  kind: FactorKind;
  name: string;
  credentialId: string | null;
  secret: string;
  counter: number;
  confirmedAt: number | null;
  createdAt: number;
  lastUsedAt: number | null;
}

/** The indexes the factors collection needs besides `_id`'s. */
export const FACTOR_INDEXES: IndexDescription[] = [
  { key: { userId: 1, createdAt: 1, _id: 1 }, name: 'user_id_created_at_id' },
  {
    key: { credentialId: 1 },
    name: 'credential_id_unique',
    unique: true,
    partialFilterExpression: { credentialId: { $type: 'string' } },
  },
];

export function toFactorDocument(record: FactorRecord): FactorDocument {
  const { id, ...rest } = record;
  return { _id: id, ...rest };
}

export function toFactor(document: FactorDocument): FactorRecord {
  return {
    id: document._id,
    userId: document.userId,
    kind: document.kind,
    name: document.name,
    credentialId: document.credentialId,
    secret: document.secret,
    counter: document.counter,
    confirmedAt: document.confirmedAt,
    createdAt: document.createdAt,
    lastUsedAt: document.lastUsedAt,
  };
}

/** The factor operations on one collection; the store wraps each in its failure handling (store.ts). */
export class MongoFactors {
  constructor(private readonly factors: Collection<FactorDocument>) {}

  async create(record: FactorRecord): Promise<void> {
    try {
      await this.factors.insertOne(toFactorDocument(record));
    } catch (error) {
      const fields = duplicateKeyFields(error);
      if (fields === null) throw error;
      throw fields.includes('credentialId')
        ? new KeycardError('invalid_request', 'that passkey is registered already')
        : new KeycardError('invalid_request', 'that factor exists');
    }
  }

  async list(userId: string): Promise<FactorRecord[]> {
    const documents = await this.factors.find({ userId }).sort({ createdAt: 1, _id: 1 }).toArray();
    return documents.map(toFactor);
  }

  async get(id: string): Promise<FactorRecord | null> {
    const document = await this.factors.findOne({ _id: id });
    return document ? toFactor(document) : null;
  }

  async getByCredentialId(credentialId: string): Promise<FactorRecord | null> {
    const document = await this.factors.findOne({ credentialId });
    return document ? toFactor(document) : null;
  }

  /** `$set` names only the fields the advance gives (an `undefined` would be stored as null by the driver). */
  async advance(id: string, expectedCounter: number, next: FactorAdvance): Promise<FactorRecord | null> {
    const changes: Partial<FactorDocument> = { counter: next.counter };
    if (next.lastUsedAt !== undefined) changes.lastUsedAt = next.lastUsedAt;
    if (next.confirmedAt !== undefined) changes.confirmedAt = next.confirmedAt;
    if (next.secret !== undefined) changes.secret = next.secret;
    const document = await this.factors.findOneAndUpdate(
      { _id: id, counter: expectedCounter },
      { $set: changes },
      { returnDocument: 'after' },
    );
    return document ? toFactor(document) : null;
  }

  async delete(id: string, userId: string | undefined): Promise<boolean> {
    const filter: Filter<FactorDocument> = userId === undefined ? { _id: id } : { _id: id, userId };
    return (await this.factors.deleteOne(filter)).deletedCount > 0;
  }

  async deleteUser(userId: string, kind: FactorKind | undefined): Promise<number> {
    const filter: Filter<FactorDocument> = kind === undefined ? { userId } : { userId, kind };
    return (await this.factors.deleteMany(filter)).deletedCount;
  }
}
