/** The security headers of src/api/headers.ts on every answer of keycard serve. */
import type { FastifyInstance } from 'fastify';
import { securityHeaders } from '../api/headers.js';

export { API_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY } from '../api/headers.js';

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const type = reply.getHeader('content-type');
    reply.headers(securityHeaders(typeof type === 'string' ? type : undefined));
    done(null, payload);
  });
}
