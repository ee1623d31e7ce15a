/**
 * CORS on keycard serve's API (`/auth/…` and the JWKS), from the keycard's trusted origins: the decision is
 * keycard's `decideCORS`; this hook only sends it. It runs before routing's not-found handler too, since a
 * preflight (OPTIONS) matches no route. The pages and health routes get none: pages are navigated to, not
 * fetched, and probes come from no browser. Nor does `/auth/client.js`, which carries its own
 * `Access-Control-Allow-Origin: *`: a credentialed answer there would pair `*` with credentials, which
 * browsers refuse.
 */
import type { FastifyInstance } from 'fastify';
import { decideCORS, type Keycard } from 'keycard';

const JWKS = '/.well-known/jwks.json';
const CLIENT_SCRIPT = '/auth/client.js';

/** `url` is `path`, with or without a query. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url[path.length] === '?');
}

function isAPIPath(url: string): boolean {
  return (url.startsWith('/auth/') && !isPath(url, CLIENT_SCRIPT)) || isPath(url, JWKS);
}

export function registerCORS(app: FastifyInstance, keycard: Keycard): void {
  const trustedOrigins = keycard.options.trustedOrigins;
  app.addHook('onRequest', (request, reply, done) => {
    if (!isAPIPath(request.url)) return done();
    const { headers } = request;
    const cors = decideCORS(
      {
        method: request.method,
        header: (name) => {
          const value = headers[name];
          return typeof value === 'string' ? value : undefined;
        },
      },
      trustedOrigins,
    );
    reply.headers(cors.headers);
    if (cors.action === 'continue') return done();
    if (cors.action === 'refuse') return done(cors.error);
    reply.code(204).send();
  });
}
