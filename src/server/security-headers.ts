/**
 * Headers on every response: no caching of anything that may carry a credential or personal data, no
 * MIME sniffing, and no framing. HTML pages also get the full document policy: a strict
 * Content-Security-Policy (the pages use no inline script or style), no referrer, a separate browsing
 * context group. A JSON answer is never rendered as a document, so it carries only what still applies to
 * it (OWASP's REST security headers, and no referrer, as every auth response) — every header costs on
 * every response.
 */
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

const apiHeaders = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
};
const documentHeaders = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const type = reply.getHeader('content-type');
    reply.headers(
      typeof type === 'string' && type.startsWith('application/json') ? apiHeaders : documentHeaders,
    );
    done(null, payload);
  });
}
