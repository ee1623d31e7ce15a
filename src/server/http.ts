/** What the server's routes and error handler read from a Fastify request: is it a form, does it want HTML. */
import type { FastifyRequest } from 'fastify';
import { isFormType } from '../api/input.js';

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
