/**
 * The pairs the examples do not run: keycard/hono on Bun and keycard/fetch on Deno (examples/bun runs the
 * Fetch handler on Bun, examples/deno Hono on Deno). One app for both runtimes, chosen by environment:
 * KIND (`hono` or `fetch`), PRESET, KEYCARD_STORE and PORT; `Bun.serve` or `Deno.serve`, whichever this
 * runtime has. Its own routes: GET /api/profile (signed in) and POST /api/echo (a state-changing request,
 * guarded against cross-site and CSRF-less use of the cookie). test/runtimes/crossed-runtimes drives it.
 */
import { Hono } from 'hono';
import { authorize, createKeycard, generateJWTKey, isKeycardError, KeycardError, type Preset } from 'keycard';
import {
  authenticate,
  type ConnectionInfo,
  createFetchHandler,
  errorResponse,
  withCookies,
} from 'keycard/fetch';
import { type KeycardEnv, keycardErrors, keycardHono, requireAuth } from 'keycard/hono';
import { openStore } from 'keycard/stores';

type Handler = (request: Request, ip: string | null) => Response | Promise<Response>;
interface Runtimes {
  Bun?: {
    serve(options: {
      hostname: string;
      port: number;
      fetch: (
        request: Request,
        server: { requestIP(request: Request): { address: string } | null },
      ) => unknown;
    }): { hostname: string; port: number; stop(): Promise<void> };
  };
  Deno?: {
    serve(
      options: {
        hostname: string;
        port: number;
        onListen: (address: { hostname: string; port: number }) => void;
      },
      handler: (request: Request, info: { remoteAddr: { hostname: string } }) => unknown,
    ): { shutdown(): Promise<void> };
    addSignalListener(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
  };
}

const kind = process.env.KIND;
const preset = (process.env.PRESET ?? 'web-app') as Preset;
const store = await openStore(process.env.KEYCARD_STORE ?? 'memory:');
const tokenPreset = preset === 'api' || preset === 'spa' || preset === 'mobile';
const keycard = createKeycard({
  store,
  preset,
  ...(tokenPreset ? { jwt: { keys: [generateJWTKey('EdDSA')] } } : {}),
});

function honoApp(): Handler {
  const app = new Hono<KeycardEnv & { Bindings: { ip: string | null } }>();
  app.use(keycardHono(keycard, { clientAddress: (c) => c.env.ip }));
  app.get('/api/profile', requireAuth(), (c) => c.json({ user: c.get('auth').user }));
  app.post('/api/echo', requireAuth(), (c) => c.json({ echo: c.get('body') ?? null }));
  app.onError(keycardErrors());
  app.notFound((c) =>
    errorResponse(new KeycardError('not_found', `no route for ${c.req.method} ${c.req.path}`)),
  );
  return (request, ip) => app.fetch(request, { ip });
}

function fetchApp(): Handler {
  const own = async (request: Request, connection: ConnectionInfo = {}): Promise<Response> => {
    const route = `${request.method} ${new URL(request.url).pathname}`;
    let cookies: string[] = [];
    try {
      if (route !== 'GET /api/profile' && route !== 'POST /api/echo') {
        throw new KeycardError('not_found', `no route for ${route}`);
      }
      const authenticated = await authenticate(keycard, request, connection);
      cookies = authenticated.cookies;
      await authorize(authenticated.auth);
      const answer =
        route === 'GET /api/profile'
          ? { user: authenticated.auth.user }
          : { echo: (await request.json().catch(() => null)) as unknown };
      return withCookies(Response.json(answer), cookies);
    } catch (error) {
      if (!isKeycardError(error)) throw error;
      return errorResponse(error, { cookies });
    }
  };
  const handle = createFetchHandler(keycard, { fallback: own });
  return (request, ip) => handle(request, { ip });
}

if (kind !== 'hono' && kind !== 'fetch') {
  console.error(`KIND must be hono or fetch (got '${kind}')`);
  process.exit(2);
}
const handler = kind === 'hono' ? honoApp() : fetchApp();
const port = Number(process.env.PORT ?? 0);
const runtimes = globalThis as unknown as Runtimes;
let stopServer: () => Promise<void>;
if (runtimes.Bun) {
  const server = runtimes.Bun.serve({
    hostname: '127.0.0.1',
    port,
    fetch: (request, bun) => handler(request, bun.requestIP(request)?.address ?? null),
  });
  console.log(`${kind} on bun listening on http://${server.hostname}:${server.port}`);
  stopServer = () => server.stop();
} else if (runtimes.Deno) {
  const server = runtimes.Deno.serve(
    {
      hostname: '127.0.0.1',
      port,
      onListen: (address) =>
        console.log(`${kind} on deno listening on http://${address.hostname}:${address.port}`),
    },
    (request, info) => handler(request, info.remoteAddr.hostname),
  );
  stopServer = () => server.shutdown();
} else {
  console.error('run this with bun or deno');
  process.exit(2);
}

async function stop(): Promise<void> {
  await stopServer();
  await keycard.close();
  await store.close();
  process.exit(0);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  if (runtimes.Deno) runtimes.Deno.addSignalListener(signal, stop);
  else process.once(signal, stop);
}
