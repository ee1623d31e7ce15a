/**
 * `keycard serve` as a Fastify application, built only from keycard's public API and its Fastify adapter.
 *
 * Layout: health routes and assets at the root (they never touch a session, so /healthz answers even
 * when the store is down); everything else inside one scope where keycard's hooks load the session.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { type AuthEvent, type Clock, createKeycard, type Keycard, KeycardError, type Store } from 'keycard';
import { keycardFastify } from 'keycard/fastify';
import type { ServerConfig } from './config.js';
import { createErrorHandler } from './errors.js';
import { type KeySet, loadKeySet } from './keys.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerAssetRoutes, registerPageRoutes } from './routes/pages.js';
import { registerSecurityHeaders } from './security-headers.js';
import { DEFAULT_STORE_URL, openStore } from './store-url.js';

export interface ServerDependencies {
  /** Injected time (tests). */
  clock?: Clock;
  /** A store to use instead of opening `config.store` (tests wrap stores to count operations). */
  store?: Store;
  /** Receives audit events in addition to the log. */
  onEvent?: (event: AuthEvent) => void;
  /** Where log lines go (default stdout, JSON lines). */
  logStream?: { write(line: string): void };
}

export interface KeycardServer {
  app: FastifyInstance;
  keycard: Keycard;
  store: Store;
  config: ServerConfig;
  keys: KeySet;
  /** Closes the HTTP server and the store. */
  close(): Promise<void>;
}

/** The command a newcomer runs to create the first admin, for the log and the sign-in page. */
export function firstAdminCommand(config: ServerConfig): string {
  const store = config.store === DEFAULT_STORE_URL ? '' : ` --store '${config.store}'`;
  return `npx keycard user add admin --role admin --password-stdin${store}`;
}

/**
 * Parses a JSON body. `__proto__` is refused outright: a body is data, and a key that can re-parent an
 * object when some later code merges it has no legitimate use here.
 */
function parseJSON(body: string): unknown {
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
function parseForm(body: string): Record<string, string> {
  const fields = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in fields)
      throw new KeycardError('invalid_request', `the form field ${name} appears twice`, { field: name });
    fields[name] = value;
  }
  return fields;
}

export async function buildServer(
  config: ServerConfig,
  deps: ServerDependencies = {},
): Promise<KeycardServer> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    routerOptions: { maxParamLength: 128 },
    return503OnClosing: true,
  });
  const keys = loadKeySet(config.keysFile, config.environment);
  if (keys.generated) {
    app.log.warn(
      `generated development keys in ${config.keysFile}; keep this file private, and provide your own keys in production (KEYCARD_KEYS_FILE)`,
    );
  }
  const store = deps.store ?? (await openStore(config.store, { clock: deps.clock }));
  const keycard = createKeycard({
    store,
    preset: config.preset,
    strategy: config.strategy,
    environment: config.environment,
    trustedOrigins: config.trustedOrigins,
    clock: deps.clock,
    onEvent(event) {
      app.log.info({ event }, `audit: ${event.type}`);
      deps.onEvent?.(event);
    },
  });

  app.setErrorHandler(createErrorHandler(config.bodyLimitBytes));
  app.setNotFoundHandler((request) => {
    throw new KeycardError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
  const bodyParser =
    (parse: (body: string) => unknown) =>
    (_request: unknown, body: string | Buffer, done: (error: Error | null, value?: unknown) => void) => {
      try {
        done(null, parse(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, bodyParser(parseJSON));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, bodyParser(parseForm));
  registerSecurityHeaders(app);
  registerHealthRoutes(app, store);
  registerAssetRoutes(app);
  await app.register(async (scope) => {
    await scope.register(keycardFastify, { keycard, errorHandler: false });
    registerAuthRoutes(scope, keycard);
    registerAdminRoutes(scope, keycard);
    registerPageRoutes(scope, keycard, { firstAdminCommand: firstAdminCommand(config) });
  });

  let closed = false;
  return {
    app,
    keycard,
    store,
    config,
    keys,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await store.close();
    },
  };
}

/** Builds the server, listens, and logs how to create the first admin when there are no users. */
export async function startServer(
  config: ServerConfig,
  deps: ServerDependencies = {},
): Promise<KeycardServer & { url: string }> {
  const server = await buildServer(config, deps);
  const url = await server.app.listen({ port: config.port, host: config.host });
  if ((await server.keycard.users.count()) === 0) {
    server.app.log.warn(`no users yet. Create the first admin with:  ${firstAdminCommand(config)}`);
  }
  return { ...server, url };
}
