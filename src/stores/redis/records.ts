/**
 * How records are laid out in Redis hashes, and back.
 *
 * A session is one hash so that reading it is one HGETALL (the per-request hot path: one command, no
 * second read for its user, which is embedded). Each top-level data key is its own field — `d` followed
 * by the key's JSON — holding the value's JSON, so a per-key patch is HSET/HDEL of fields, atomic and
 * without re-encoding the rest of the data in Lua (whose cjson would turn `[]` into `{}` and round large
 * numbers). Meta fields never start with `d`.
 *
 * A token login's refresh state is six more fields of the same hash (`rg` generation, `rn` nonce, `rr`
 * rotated at, `rw` window started at, `rc` rotations in the window, `rt` revocation TTL), absent for a
 * session-strategy login: reading a login stays one HGETALL, and the rotation's compare-and-set is one
 * script on this one key that compares `rg` as it is stored.
 */
import { defineKey } from '../../core/session/data.js';
import type {
  ClientRecord,
  ClientUpdate,
  DataPatch,
  LoginRecord,
  RefreshState,
  SessionData,
  UserRecord,
  UserUpdate,
} from '../../core/store.js';

const DATA_FIELD = 'd';

/** A hash as ioredis returns it from HGETALL (an object) or from a script (a flat array). */
export type HashReply = Record<string, string> | string[];

function toMap(reply: HashReply): Map<string, string> {
  const map = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) map.set(reply[i] as string, reply[i + 1] as string);
  } else {
    for (const field of Object.keys(reply)) map.set(field, reply[field] as string);
  }
  return map;
}

export function dataField(key: string): string {
  return DATA_FIELD + JSON.stringify(key);
}

/** Field/value pairs for a new session record. */
export function sessionFields(record: LoginRecord): string[] {
  const fields = [
    'c',
    String(record.createdAt),
    'l',
    String(record.lastActiveAt),
    'e',
    String(record.expiresAt),
    'a',
    String(record.absoluteExpiresAt),
  ];
  if (record.user) fields.push('uid', record.user.id, 'un', record.user.username, 'ur', record.user.role);
  if (record.userAgent !== null) fields.push('ua', record.userAgent);
  if (record.ip !== null) fields.push('ip', record.ip);
  if (record.refresh) fields.push(...refreshFields(record.refresh));
  for (const key of Object.keys(record.data)) {
    const json = JSON.stringify(record.data[key]);
    // undefined and functions are not data (JSON.stringify drops them from objects, too).
    if (json !== undefined) fields.push(dataField(key), json);
  }
  return fields;
}

/** Field/value pairs of a token login's refresh state (all six, always written together). */
export function refreshFields(state: RefreshState): string[] {
  return [
    'rg',
    String(state.generation),
    'rn',
    state.nonce,
    'rr',
    String(state.rotatedAt),
    'rw',
    String(state.windowStartedAt),
    'rc',
    String(state.rotationsInWindow),
    'rt',
    String(state.revocationTTLMs),
  ];
}

/** The patch script's arguments after the touch: n, n field/JSON pairs, then fields to remove. */
export function patchArguments(patch: DataPatch): string[] {
  const set: string[] = [];
  for (const key of Object.keys(patch.set)) {
    const json = JSON.stringify(patch.set[key]);
    if (json !== undefined) set.push(dataField(key), json);
  }
  return [String(set.length / 2), ...set, ...patch.unset.map(dataField)];
}

/** The session in a hash, or null for a missing (empty) hash. */
export function parseSession(id: string, reply: HashReply | null): LoginRecord | null {
  if (reply === null) return null;
  const hash = toMap(reply);
  const createdAt = hash.get('c');
  if (createdAt === undefined) return null;
  const data: SessionData = {};
  for (const [field, value] of hash) {
    // defineKey, not assignment: `__proto__` is a data key like any other.
    if (field.startsWith(DATA_FIELD)) defineKey(data, JSON.parse(field.slice(1)), JSON.parse(value));
  }
  const userId = hash.get('uid');
  const generation = hash.get('rg');
  return {
    id,
    user:
      userId === undefined
        ? null
        : { id: userId, username: hash.get('un') ?? '', role: hash.get('ur') ?? '' },
    createdAt: Number(createdAt),
    lastActiveAt: Number(hash.get('l')),
    expiresAt: Number(hash.get('e')),
    absoluteExpiresAt: Number(hash.get('a')),
    data,
    userAgent: hash.get('ua') ?? null,
    ip: hash.get('ip') ?? null,
    refresh:
      generation === undefined
        ? null
        : {
            generation: Number(generation),
            nonce: hash.get('rn') ?? '',
            rotatedAt: Number(hash.get('rr')),
            windowStartedAt: Number(hash.get('rw')),
            rotationsInWindow: Number(hash.get('rc')),
            revocationTTLMs: Number(hash.get('rt')),
          },
  };
}

/** Field/value pairs for a new user record; a null password hash is an absent field. */
export function userFields(user: UserRecord): string[] {
  const fields = ['id', user.id, 'name', user.username, 'skel', user.skeleton, 'role', user.role];
  if (user.passwordHash !== null) fields.push('hash', user.passwordHash);
  fields.push(
    'blocked',
    user.blocked ? '1' : '0',
    'created',
    String(user.createdAt),
    'updated',
    String(user.updatedAt),
  );
  return fields;
}

/** Field/value pairs for the fields an update sets. */
export function userUpdateFields(update: UserUpdate): string[] {
  const fields: string[] = [];
  if (update.passwordHash !== undefined) fields.push('hash', update.passwordHash);
  if (update.role !== undefined) fields.push('role', update.role);
  if (update.blocked !== undefined) fields.push('blocked', update.blocked ? '1' : '0');
  fields.push('updated', String(update.updatedAt));
  return fields;
}

export function parseUser(reply: HashReply | null): UserRecord | null {
  if (reply === null) return null;
  const hash = toMap(reply);
  const id = hash.get('id');
  if (id === undefined) return null;
  return {
    id,
    username: hash.get('name') ?? '',
    skeleton: hash.get('skel') ?? '',
    passwordHash: hash.get('hash') ?? null,
    role: hash.get('role') ?? '',
    blocked: hash.get('blocked') === '1',
    createdAt: Number(hash.get('created')),
    updatedAt: Number(hash.get('updated')),
  };
}

/**
 * Field/value pairs for a new client. Scopes are their JSON array (a hash holds only strings); a null
 * previous secret, or its expiry, is an absent field.
 */
export function clientFields(client: ClientRecord): string[] {
  const fields = ['id', client.id, 'name', client.name, 'scopes', JSON.stringify(client.scopes)];
  fields.push('hash', client.secretHash);
  if (client.previousSecretHash !== null) fields.push('prevHash', client.previousSecretHash);
  if (client.previousSecretExpiresAt !== null) {
    fields.push('prevUntil', String(client.previousSecretExpiresAt));
  }
  fields.push(
    'gen',
    String(client.generation),
    'disabled',
    client.disabled ? '1' : '0',
    'created',
    String(client.createdAt),
    'updated',
    String(client.updatedAt),
  );
  return fields;
}

/**
 * The update script's arguments: n, n field/value pairs to set, then the fields to remove. A field left
 * `undefined` is neither (it keeps its value); `null` for the previous secret or its expiry removes it.
 */
export function clientUpdateArguments(update: ClientUpdate): string[] {
  const set: string[] = [];
  const unset: string[] = [];
  if (update.name !== undefined) set.push('name', update.name);
  if (update.scopes !== undefined) set.push('scopes', JSON.stringify(update.scopes));
  if (update.secretHash !== undefined) set.push('hash', update.secretHash);
  if (update.previousSecretHash === null) unset.push('prevHash');
  else if (update.previousSecretHash !== undefined) set.push('prevHash', update.previousSecretHash);
  if (update.previousSecretExpiresAt === null) unset.push('prevUntil');
  else if (update.previousSecretExpiresAt !== undefined) {
    set.push('prevUntil', String(update.previousSecretExpiresAt));
  }
  if (update.generation !== undefined) set.push('gen', String(update.generation));
  if (update.disabled !== undefined) set.push('disabled', update.disabled ? '1' : '0');
  set.push('updated', String(update.updatedAt));
  return [String(set.length / 2), ...set, ...unset];
}

export function parseClient(reply: HashReply | null): ClientRecord | null {
  if (reply === null) return null;
  const hash = toMap(reply);
  const id = hash.get('id');
  if (id === undefined) return null;
  const previousUntil = hash.get('prevUntil');
  return {
    id,
    name: hash.get('name') ?? '',
    scopes: JSON.parse(hash.get('scopes') ?? '[]') as string[],
    secretHash: hash.get('hash') ?? '',
    previousSecretHash: hash.get('prevHash') ?? null,
    previousSecretExpiresAt: previousUntil === undefined ? null : Number(previousUntil),
    generation: Number(hash.get('gen')),
    disabled: hash.get('disabled') === '1',
    createdAt: Number(hash.get('created')),
    updatedAt: Number(hash.get('updated')),
  };
}
