/** Registers the framework-free route table (src/api/routes.ts) on Fastify: translation only. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireAuth } from 'keycard/fastify';
import type { ApiReply, ApiRoute } from '../../api/routes.js';
import { toKeycardError } from '../errors.js';
import { isFormPost } from '../http.js';

function send(reply: FastifyReply, answer: ApiReply): FastifyReply {
  if (answer.kind === 'redirect') return reply.redirect(answer.location, 303);
  if (answer.headers) reply.headers(answer.headers);
  if (answer.kind === 'html') reply.type('text/html; charset=utf-8');
  return reply.code(answer.status).send(answer.body);
}

export function registerApiRoutes(
  app: FastifyInstance,
  routes: readonly ApiRoute[],
  options: { bodyLimitBytes: number },
): void {
  for (const route of routes) {
    const fail = route.fail;
    app.route({
      method: route.method,
      url: route.path,
      ...(fail
        ? {
            errorHandler: (error, _request, reply) =>
              send(reply, fail(toKeycardError(error, options.bodyLimitBytes))),
          }
        : {}),
      ...(route.access ? { preHandler: requireAuth(route.access) } : {}),
      handler: async (request, reply) =>
        send(
          reply,
          await route.handle({
            method: request.method,
            auth: request.auth,
            body: request.body,
            form: isFormPost(request),
            params: request.params as Record<string, string | undefined>,
            query: request.query as Record<string, unknown>,
          }),
        ),
    });
  }
}
