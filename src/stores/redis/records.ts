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
  AccountTokenKind,
  AccountTokenRecord,
  ClientRecord,
  ClientUpdate,
  DataPatch,
  LoginRecord,
  RefreshState,
  UserRecord,
  UserUpdate,
} from '../../core/store.js';

const DATA_FIELD = 'd';

/** A hash as ioredis returns it from HGETALL (an object) or from a script (a flat array). */
export type HashReply = Record<string, string> | string[];

export function toMap(reply: HashReply): Map<string, string> {
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

/**
 * The session in a hash — the raw reply of HGETALL (or of a script returning one) as ioredis hands it
 * over before any conversion: a flat array of Buffers, field, value, field, value — or null for a missing
 * (empty) hash. This is the per-request hot path, so the record is built in one pass over the reply: field
 * names are told apart by their bytes and never become strings, times are read as digits from their
 * Buffers, and only the values the record holds as strings are decoded. (ioredis's own HGETALL turns every
 * field and value into a string and the pairs into an object; a Map from that was the next step here.)
 * Fields this version does not know are skipped, so a record written by a later version still reads.
 */
export function parseSession(id: string, reply: readonly Buffer[] | null): LoginRecord | null {
  if (reply === null || reply.length === 0) return null;
  const record: LoginRecord = {
    id,
    user: null,
    createdAt: Number.NaN,
    lastActiveAt: Number.NaN,
    expiresAt: Number.NaN,
    absoluteExpiresAt: Number.NaN,
    data: {},
    userAgent: null,
    ip: null,
    refresh: null,
  };
  let created = false;
  let userId: string | undefined;
  let username = '';
  let role = '';
  let refresh: Buffer[] | null = null;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field = reply[i] as Buffer;
    const value = reply[i + 1] as Buffer;
    const first = field[0];
    if (first === D) {
      // defineKey, not assignment: `__proto__` is a data key like any other.
      defineKey(record.data, JSON.parse(field.toString('utf8', 1)), JSON.parse(value.toString('utf8')));
    } else if (field.length === 1) {
      if (first === C) {
        created = true;
        record.createdAt = decimal(value);
      } else if (first === L) record.lastActiveAt = decimal(value);
      else if (first === E) record.expiresAt = decimal(value);
      else if (first === A) record.absoluteExpiresAt = decimal(value);
    } else if (field.length === 2) {
      const second = field[1];
      if (first === U) {
        if (second === N) username = value.toString('utf8');
        else if (second === R) role = value.toString('utf8');
        else if (second === A) record.userAgent = value.toString('utf8');
      } else if (first === I && second === P) {
        record.ip = value.toString('utf8');
      } else if (first === R) {
        refresh ??= [];
        const at = REFRESH_FIELDS.indexOf(second as number);
        if (at >= 0) refresh[at] = value;
      }
    } else if (field.length === 3 && first === U && field[1] === I && field[2] === D) {
      userId = value.toString('utf8');
    }
  }
  // No `c`: not a session hash (or one half-written by something else), as before.
  if (!created) return null;
  if (userId !== undefined) record.user = { id: userId, username, role };
  if (refresh !== null && refresh[0] !== undefined) {
    const [generation, nonce, rotatedAt, windowStartedAt, rotations, ttl] = refresh;
    record.refresh = {
      generation: decimal(generation as Buffer),
      nonce: nonce?.toString('utf8') ?? '',
      rotatedAt: optionalDecimal(rotatedAt),
      windowStartedAt: optionalDecimal(windowStartedAt),
      rotationsInWindow: optionalDecimal(rotations),
      revocationTTLMs: optionalDecimal(ttl),
    };
  }
  return record;
}

// The bytes of the session hash's field names (see sessionFields and refreshFields).
const [A, C, D, E, I, L, N, P, R, U] = [...'acdeilnpru'].map((char) => char.charCodeAt(0)) as number[];
/** The second byte of `rg`, `rn`, `rr`, `rw`, `rc`, `rt`, in RefreshState's order. */
const REFRESH_FIELDS = [...'gnrwct'].map((char) => char.charCodeAt(0));

/**
 * A number written by `String(n)`: the digits read straight from the Buffer when it is a plain integer
 * of up to 15 digits (every time in ms, every count), `Number` of its text otherwise (a sign, a fraction,
 * an exponent), so any value written reads back as it did through a string.
 */
function decimal(value: Buffer): number {
  const length = value.length;
  if (length === 0 || length > 15) return Number(value.toString('latin1'));
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = (value[i] as number) - 48;
    if (digit < 0 || digit > 9) return Number(value.toString('latin1'));
    n = n * 10 + digit;
  }
  return n;
}

/** As `Number(hash.get(field))` did for a missing field: NaN. */
function optionalDecimal(value: Buffer | undefined): number {
  return value === undefined ? Number.NaN : decimal(value);
}

/** Field/value pairs for a new user record; a null password hash is an absent field. */
export function userFields(user: UserRecord): string[] {
  const fields = ['id', user.id, 'name', user.username, 'skel', user.skeleton, 'role', user.role];
  if (user.passwordHash !== null) fields.push('hash', user.passwordHash);
  if (user.email) fields.push('email', user.email);
  if (user.emailVerifiedAt !== undefined && user.emailVerifiedAt !== null) {
    fields.push('ev', String(user.emailVerifiedAt));
  }
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

/**
 * The arguments of an update (keycardUpdateUser): whether the address changes and to what ('' removes
 * it), whether its verification time changes and to what ('' removes it), then field/value pairs to set.
 */
export function userUpdateFields(update: UserUpdate): string[] {
  const fields: string[] = [
    update.email === undefined ? '0' : '1',
    update.email ?? '',
    update.emailVerifiedAt === undefined ? '0' : '1',
    update.emailVerifiedAt === undefined || update.emailVerifiedAt === null
      ? ''
      : String(update.emailVerifiedAt),
  ];
  if (update.passwordHash !== undefined) fields.push('hash', update.passwordHash);
  if (update.role !== undefined) fields.push('role', update.role);
  if (update.blocked !== undefined) fields.push('blocked', update.blocked ? '1' : '0');
  fields.push('updated', String(update.updatedAt));
  return fields;
}

/** A stored account token, if it is of this kind and unexpired at `now`; anything unreadable is none. */
export function parseAccountToken(
  value: string | null,
  kind: AccountTokenKind,
  now: number,
): AccountTokenRecord | null {
  if (value === null) return null;
  let record: AccountTokenRecord;
  try {
    record = JSON.parse(value);
  } catch {
    return null;
  }
  if (record?.kind !== kind || typeof record.expiresAt !== 'number' || record.expiresAt <= now) return null;
  return record;
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
    email: hash.get('email') ?? null,
    emailVerifiedAt: hash.has('ev') ? Number(hash.get('ev')) : null,
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
