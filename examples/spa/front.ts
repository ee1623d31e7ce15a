/**
 * The single-page app's web server: the page, keycard under the same origin, and the app's own API.
 *
 * - `GET /`: index.html (plain HTML and a module script, no build step).
 * - `/auth/…`: passed on to keycard as they are, `Host` included — keycard's origin check compares the
 *   browser's `Origin` with the host it was sent to. One origin means no CORS and cookies at their
 *   strictest (docs/spa.md, "Same origin, behind a proxy"); nginx or Caddy do the same in production.
 * - `GET /api/hello`: the app's API. It asks keycard who the caller is (`GET /auth/verify` with the
 *   browser's cookies) and passes keycard's 401 on as it is, so that the client sees `token_expired`
 *   and refreshes.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';

const PAGE = readFileSync(new URL('index.html', import.meta.url));

export interface FrontOptions {
  keycardURL: string;
  /** More files to serve, by path (examples/react adds its bundle and its own page as '/'). */
  files?: Record<string, { type: string; body: string | Buffer }>;
}

export function createFrontServer(options: FrontOptions): Server {
  const keycard = new URL(options.keycardURL);
  const files: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html', body: PAGE },
    ...options.files,
  };

  function proxy(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const upstream = request(
      { hostname: keycard.hostname, port: keycard.port, path: incoming.url, method: incoming.method },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value !== undefined) upstream.setHeader(name, value);
    }
    upstream.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end('keycard is not reachable');
    });
    incoming.pipe(upstream);
  }

  async function hello(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const verified = await fetch(new URL('/auth/verify', keycard), {
      headers: { cookie: incoming.headers.cookie ?? '' },
    });
    const body = (await verified.json()) as { user?: { username: string } };
    outgoing.writeHead(verified.status, { 'content-type': 'application/json' });
    outgoing.end(JSON.stringify(verified.ok ? { message: `hello, ${body.user?.username}` } : body));
  }

  return createServer((incoming, outgoing) => {
    const path = new URL(incoming.url ?? '/', 'http://front').pathname;
    if (path.startsWith('/auth/')) return proxy(incoming, outgoing);
    if (path === '/api/hello') {
      return void hello(incoming, outgoing).catch(() => outgoing.writeHead(502).end());
    }
    const file = files[path];
    if (file) return void outgoing.writeHead(200, { 'content-type': file.type }).end(file.body);
    outgoing.writeHead(404).end('not found');
  });
}
