/**
 * Rows as the SQLite driver returns them (driver.ts), and the records they hold. SQLite has no boolean,
 * array or object type: flags are 0/1, client scopes and session data are JSON text, and a login's refresh state
 * is six columns, all null for a session-strategy login — plain integers and one string, so reading a
 * login costs no parsing beyond its data.
 */
import type { ClientRecord, LoginRecord, RevocationRecord, UserRecord } from '../../core/store.js';

export interface SessionRow {
  id: string;
  user_id: string | null;
  username: string | null;
  role: string | null;
  created_at: number;
  last_active_at: number;
  expires_at: number;
  absolute_expires_at: number;
  data: string;
  user_agent: string | null;
  ip: string | null;
  refresh_generation: number | null;
  refresh_nonce: string | null;
  refresh_rotated_at: number | null;
  refresh_window_started_at: number | null;
  refresh_rotations_in_window: number | null;
  refresh_revocation_ttl_ms: number | null;
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
    data: JSON.parse(row.data),
    userAgent: row.user_agent,
    ip: row.ip,
    // The columns are written together (sessionRow, refreshColumns), so the nonce stands for all six.
    refresh:
      row.refresh_nonce === null
        ? null
        : {
            generation: row.refresh_generation as number,
            nonce: row.refresh_nonce,
            rotatedAt: row.refresh_rotated_at as number,
            windowStartedAt: row.refresh_window_started_at as number,
            rotationsInWindow: row.refresh_rotations_in_window as number,
            revocationTTLMs: row.refresh_revocation_ttl_ms as number,
          },
  };
}

/** The refresh-state columns of a login (all null for a session-strategy login). */
export type RefreshColumns = Pick<
  SessionRow,
  | 'refresh_generation'
  | 'refresh_nonce'
  | 'refresh_rotated_at'
  | 'refresh_window_started_at'
  | 'refresh_rotations_in_window'
  | 'refresh_revocation_ttl_ms'
>;

export function refreshColumns(refresh: LoginRecord['refresh']): RefreshColumns {
  return {
    refresh_generation: refresh?.generation ?? null,
    refresh_nonce: refresh?.nonce ?? null,
    refresh_rotated_at: refresh?.rotatedAt ?? null,
    refresh_window_started_at: refresh?.windowStartedAt ?? null,
    refresh_rotations_in_window: refresh?.rotationsInWindow ?? null,
    refresh_revocation_ttl_ms: refresh?.revocationTTLMs ?? null,
  };
}

export function sessionRow(record: LoginRecord): SessionRow {
  return {
    id: record.id,
    user_id: record.user?.id ?? null,
    username: record.user?.username ?? null,
    role: record.user?.role ?? null,
    created_at: record.createdAt,
    last_active_at: record.lastActiveAt,
    expires_at: record.expiresAt,
    absolute_expires_at: record.absoluteExpiresAt,
    data: JSON.stringify(record.data),
    user_agent: record.userAgent,
    ip: record.ip,
    ...refreshColumns(record.refresh),
  };
}

export interface UserRow {
  id: string;
  username: string;
  skeleton: string;
  password_hash: string | null;
  role: string;
  blocked: number;
  email: string | null;
  email_verified_at: number | null;
  created_at: number;
  updated_at: number;
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    skeleton: row.skeleton,
    passwordHash: row.password_hash,
    role: row.role,
    blocked: row.blocked === 1,
    email: row.email,
    emailVerifiedAt: row.email_verified_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function userRow(user: UserRecord): UserRow {
  return {
    id: user.id,
    username: user.username,
    skeleton: user.skeleton,
    password_hash: user.passwordHash,
    role: user.role,
    blocked: user.blocked ? 1 : 0,
    email: user.email ?? null,
    email_verified_at: user.emailVerifiedAt ?? null,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

export interface ClientRow {
  id: string;
  name: string;
  /** JSON array of strings. */
  scopes: string;
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_secret_expires_at: number | null;
  generation: number;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export function toClient(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    secretHash: row.secret_hash,
    previousSecretHash: row.previous_secret_hash,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    generation: row.generation,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function clientRow(client: ClientRecord): ClientRow {
  return {
    id: client.id,
    name: client.name,
    scopes: JSON.stringify(client.scopes),
    secret_hash: client.secretHash,
    previous_secret_hash: client.previousSecretHash,
    previous_secret_expires_at: client.previousSecretExpiresAt,
    generation: client.generation,
    disabled: client.disabled ? 1 : 0,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
  };
}

export interface RevocationRow {
  kind: 'login' | 'user';
  id: string;
  at: number;
  expires_at: number;
}

export function toRevocation(row: RevocationRow): RevocationRecord {
  return { kind: row.kind, id: row.id, at: row.at, expiresAt: row.expires_at };
}
