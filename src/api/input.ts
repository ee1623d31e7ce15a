/**
 * Reading the auth API's bodies, framework-free (JSON and forms, each refusal a 400), and the public shape
 * of a login. `keycard serve` and the Fetch handler parse requests through these, and check what they read
 * against the route schemas (src/api/schema.ts), so both answer bad input the same way.
 */
import { KeycardError, type LoginRecord } from 'keycard';

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
