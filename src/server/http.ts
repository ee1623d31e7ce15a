/**
 * Small HTTP helpers shared by the server's routes: input validation with errors that name the field,
 * the public shape of a session, and answering a browser form with a redirect where an API client gets
 * JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeycardError, type SessionRecord } from 'keycard';

/** True when the request came from an HTML form (the server's pages post urlencoded forms). */
export function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** True when a browser navigated here and should get HTML rather than JSON. */
export function wantsHTML(request: FastifyRequest): boolean {
  if (isFormPost(request)) return true;
  const accept = request.headers.accept ?? '';
  return request.method === 'GET' && accept.includes('text/html');
}

type Body = Record<string, unknown>;

/** The request body as an object; 400 naming what was expected when it is missing or not an object. */
export function bodyObject(request: FastifyRequest, expected: string): Body {
  const body = request.body;
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
export function idParam(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, string | undefined>)[name];
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

export function toPublicSession(session: SessionRecord, currentId: string | null | undefined): PublicSession {
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

/** Form posts get a 303 to `location`; API clients get `json`. */
export function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  result: { json: unknown; status?: number; location: string },
): FastifyReply {
  if (isFormPost(request)) return reply.redirect(result.location, 303);
  return reply.code(result.status ?? 200).send(result.json);
}
