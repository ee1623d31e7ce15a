/**
 * Reading the auth API's input, framework-free: bodies (JSON and forms), fields, ids and page queries,
 * each refusal a 400 that names the field; and the public shape of a login. `keycard serve` and the
 * Fetch handler read requests through these, so both answer bad input the same way.
 */
import { KeycardError, type LoginRecord } from 'keycard';

export type Body = Record<string, unknown>;

/**
 * Parses a JSON body. `__proto__` is refused outright: a body is data, and a key that can re-parent an
 * object when some later code merges it has no legitimate use here.
 */
export function parseJSON(body: string): unknown {
  if (body.trim() === '') throw new KeycardError('invalid_request', 'the JSON body is empty');
  let forbidden = false;
  let value: unknown;
  try {
    value = JSON.parse(body, (key, item) => {
      if (key === '__proto__') forbidden = true;
      return item;
    });
  } catch {
    throw new KeycardError('invalid_request', 'the body is not valid JSON');
  }
  if (forbidden) throw new KeycardError('invalid_request', 'the JSON body has a forbidden key (__proto__)');
  return value;
}

/** Parses `application/x-www-form-urlencoded` into a null-prototype object; a repeated field is an error. */
export function parseForm(body: string): Record<string, string> {
  const fields = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in fields)
      throw new KeycardError('invalid_request', `the form field ${name} appears twice`, { field: name });
    fields[name] = value;
  }
  return fields;
}

/** True for a urlencoded form body: what the pages' forms post. */
export function isFormType(contentType: string | undefined): boolean {
  return (contentType ?? '').startsWith('application/x-www-form-urlencoded');
}

/** The request body as an object; 400 naming what was expected when it is missing or not an object. */
export function bodyObject(body: unknown, expected: string): Body {
  if (body === undefined || body === null) {
    throw new KeycardError('invalid_request', `send a JSON or form body with ${expected}`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new KeycardError('invalid_request', `the body must be an object with ${expected}`);
  }
  return body as Body;
}

export function requiredString(body: Body, name: string, maxLength: number): string {
  const value = body[name];
  if (value === undefined || value === '') {
    throw new KeycardError('invalid_request', `${name} is required`, { field: name });
  }
  if (typeof value !== 'string')
    throw new KeycardError('invalid_request', `${name} must be a string`, { field: name });
  if (value.length > maxLength) {
    throw new KeycardError('invalid_request', `${name} must be at most ${maxLength} characters`, {
      field: name,
    });
  }
  return value;
}

export function optionalString(body: Body, name: string, maxLength: number): string | undefined {
  return body[name] === undefined ? undefined : requiredString(body, name, maxLength);
}

/** Accepts JSON booleans and the strings a form sends. */
export function optionalBoolean(body: Body, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === true || value === 'true' || value === 'on') return true;
  if (value === false || value === 'false') return false;
  throw new KeycardError('invalid_request', `${name} must be true or false`, { field: name });
}

/** Page sizes of the listing routes: `limit` defaults to this and may be at most MAX_PAGE_SIZE. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** `?limit=` and `?cursor=` of a listing route, validated (400 naming the parameter otherwise). */
export function pageQuery(
  query: unknown,
  cursorName = 'cursor',
): { limit: number; cursor: string | undefined } {
  const params = (query ?? {}) as Record<string, unknown>;
  const limitText = params.limit ?? String(DEFAULT_PAGE_SIZE);
  if (
    typeof limitText !== 'string' ||
    !/^\d{1,4}$/.test(limitText) ||
    Number(limitText) < 1 ||
    Number(limitText) > MAX_PAGE_SIZE
  ) {
    throw new KeycardError('invalid_request', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`, {
      field: 'limit',
    });
  }
  const cursor = params[cursorName];
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 256)) {
    throw new KeycardError('invalid_request', `${cursorName} must be the value a previous page returned`, {
      field: cursorName,
    });
  }
  return { limit: Number(limitText), cursor };
}

/** A route parameter that must look like one of our ids (base64url), so garbage never reaches a store. */
export function validId(value: string | undefined, name: string): string {
  if (!value || !/^[A-Za-z0-9_-]{16,64}$/.test(value)) {
    throw new KeycardError('invalid_request', `${name} is not a valid id`, { field: name });
  }
  return value;
}

export interface PublicSession {
  id: string;
  current: boolean;
  createdAt: string;
  lastActiveAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
  userAgent: string | null;
  ip: string | null;
}

export function toPublicSession(session: LoginRecord, currentId: string | null | undefined): PublicSession {
  return {
    id: session.id,
    current: session.id === currentId,
    createdAt: new Date(session.createdAt).toISOString(),
    lastActiveAt: new Date(session.lastActiveAt).toISOString(),
    expiresAt: new Date(Math.min(session.expiresAt, session.absoluteExpiresAt)).toISOString(),
    absoluteExpiresAt: new Date(session.absoluteExpiresAt).toISOString(),
    userAgent: session.userAgent,
    ip: session.ip,
  };
}
