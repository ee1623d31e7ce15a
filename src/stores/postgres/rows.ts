/** Rows as the store's queries return them (int8 already parsed to number, jsonb to objects), and their records. */
import type {
  ClientRecord,
  LoginRecord,
  RefreshState,
  RevocationRecord,
  SessionData,
  UserRecord,
} from '../../core/store.js';

export interface SessionRow {
  id: string;
  user_id: string | null;
  username: string | null;
  role: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  absolute_expires_at: number;
  data: SessionData;
  user_agent: string | null;
  ip: string | null;
  /** jsonb, written by `encodeRefresh`; NULL for a session-strategy login. */
  refresh: RefreshState | null;
}

export interface UserRow {
  id: string;
  username: string;
  skeleton: string;
  password_hash: string | null;
  role: string;
  blocked: boolean;
  email: string | null;
  email_verified_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RevocationRow {
  kind: 'login' | 'user';
  id: string;
  at: number;
  expires_at: number;
}

export interface ClientRow {
  id: string;
  name: string;
  /** text[], which pg parses to an array of strings. */
  scopes: string[];
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  generation: number;
  disabled: boolean;
  created_at: number;
  updated_at: number;
}

export function toClient(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    generation: row.generation,
    disabled: row.disabled,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRevocation(row: RevocationRow): RevocationRecord {
  return { kind: row.kind, id: row.id, at: row.at, expiresAt: row.expires_at };
}

export function toSession(row: SessionRow): LoginRecord {
  return {
    id: row.id,
    user:
      row.user_id === null ? null : { id: row.user_id, username: row.username ?? '', role: row.role ?? '' },
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    data: row.data,
    userAgent: row.user_agent,
    ip: row.ip,
    refresh: row.refresh,
  };
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    skeleton: row.skeleton,
    passwordHash: row.password_hash,
    role: row.role,
    blocked: row.blocked,
    email: row.email,
    emailVerifiedAt: row.email_verified_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Top-level keys as the store writes them: JSON text of each value, and the bytes each key adds to the
 * compact JSON of the whole object (`"key":value,`). A value JSON cannot hold (undefined, a function) is
 * absent from JSON, so it is returned as a key to remove — as JSON.stringify of the merged data would drop it.
 */
export interface EncodedData {
  json: string;
  sizes: string;
  dropped: string[];
}

export function encodeData(data: SessionData): EncodedData {
  const values: string[] = [];
  const sizes: string[] = [];
  const dropped: string[] = [];
  for (const key of Object.keys(data)) {
    const value = JSON.stringify(data[key]);
    const name = JSON.stringify(key);
    if (value === undefined) {
      dropped.push(key);
      continue;
    }
    // Built as text, not through an object, so that a key named __proto__ stays a plain key.
    values.push(`${name}:${value}`);
    sizes.push(`${name}:${Buffer.byteLength(name) + Buffer.byteLength(value) + 2}`);
  }
  return { json: `{${values.join(',')}}`, sizes: `{${sizes.join(',')}}`, dropped };
}

/**
 * A refresh state as the jsonb the `refresh` column holds: the contract's fields and nothing else, so what
 * getLogin returns is exactly what the contract describes (the CHECK `sessions_refresh_shape` holds).
 */
export function encodeRefresh(state: RefreshState | null): string | null {
  if (state === null) return null;
  const { generation, nonce, rotatedAt, windowStartedAt, rotationsInWindow, revocationTTLMs } = state;
  return JSON.stringify({
    generation,
    nonce,
    rotatedAt,
    windowStartedAt,
    rotationsInWindow,
    revocationTTLMs,
  });
}
