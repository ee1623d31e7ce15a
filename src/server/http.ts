/**
 * The Fastify side of the API's input helpers (src/api/input.ts): what a route reads from a Fastify
 * request, and answering a browser form with a redirect where an API client gets JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isFormType, bodyObject as readBody, validId } from '../api/input.js';

export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  optionalBoolean,
  optionalString,
  type PublicSession,
  pageQuery,
  requiredString,
  toPublicSession,
} from '../api/input.js';

/** True when the request came from an HTML form (the server's pages post urlencoded forms). */
export function isFormPost(request: FastifyRequest): boolean {
  return isFormType(request.headers['content-type']);
}

/** True when a browser navigated here and should get HTML rather than JSON. */
export function wantsHTML(request: FastifyRequest): boolean {
  if (isFormPost(request)) return true;
  const accept = request.headers.accept ?? '';
  return request.method === 'GET' && accept.includes('text/html');
}

/** The request body as an object; 400 naming what was expected when it is missing or not an object. */
export function bodyObject(request: FastifyRequest, expected: string): Record<string, unknown> {
  return readBody(request.body, expected);
}

/** A route parameter that must look like one of our ids (base64url). */
export function idParam(request: FastifyRequest, name: string): string {
  return validId((request.params as Record<string, string | undefined>)[name], name);
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
