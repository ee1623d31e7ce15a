/**
 * `keycard serve` as a Fastify application, built only from keycard's public API and its Fastify adapter.
 *
 * Layout: health routes and assets at the root (they never touch a session, so /healthz answers even
 * when the store is down); everything else inside one scope where keycard's hooks load the session.
 */
import { readFileSync, statSync } from 'node:fs';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import {
  type AuthEvent,
  type Clock,
  createKeycard,
  createMutableKeySet,
  type Keycard,
  KeycardError,
  type Store,
} from 'keycard';
import { keycardFastify } from 'keycard/fastify';
import { DEFAULT_STORE_URL, openStore, redactSecrets, redactURL } from 'keycard/stores';
import type { ServerConfig } from './config.js';
import { createErrorHandler } from './errors.js';
import { serverKeycardOptions, serverStrategy } from './keycard-options.js';
import { buildKeySet, loadServerKeys, parseKeyFile, type ServerKeys } from './keys.js';
import { RequestLogController } from './log.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerClientRoutes } from './routes/clients.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerAssetRoutes, registerPageRoutes } from './routes/pages.js';
import { registerSecurityHeaders } from './security-headers.js';

export interface ServerDependencies {
  /** Injected time (tests). */
  clock?: Clock;
  /** A store to use instead of opening `config.store` (tests wrap stores to count operations). */
  store?: Store;
  /** Receives audit events in addition to the log. */
  onEvent?: (event: AuthEvent) => void;
  /** How often the key file is checked for rotation (default 5000 ms). */
  keyReloadIntervalMs?: number;
  /** Where log lines go (default stdout, JSON lines). */
  logStream?: { write(line: string): void };
}

export interface KeycardServer {
  app: FastifyInstance;
  keycard: Keycard;
  store: Store;
  config: ServerConfig;
  keys: ServerKeys;
  /** Closes the HTTP server and the store. */
  close(): Promise<void>;
}

/** A shell word: single-quoted, with any `'` inside closed, escaped and reopened. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The command a newcomer runs to create the first admin, for the log and the sign-in page (which anyone
 * can read while there are no users). A store URL is shown only through `redactURL`; when it carries a
 * password, the command reads the URL from `KEYCARD_STORE` instead of printing it, and a shell comment
 * (ignored when the line is pasted) says which URL that is, its password shown as `***`. An unset
 * variable makes the command fail ("--store: expected a non-empty string") rather than quietly create
 * the admin in the default SQLite file.
 */
export function firstAdminCommand(config: ServerConfig): string {
  const command = 'npx keycard user add admin --role admin --password-stdin';
  if (config.store === DEFAULT_STORE_URL) return command;
  const shown = redactURL(config.store);
  if (shown === config.store) return `${command} --store ${shellQuote(config.store)}`;
  // A control character (a newline) would end the comment and turn the rest into a command.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  const note = shown.replace(/[\u0000-\u001f\u007f]/g, '?');
  return `${command} --store "$KEYCARD_STORE"  # KEYCARD_STORE: this server's store URL, ${note} (password not shown)`;
}

/**
 * The log's destination, with the store URL's secrets removed from every line: a safety net under the
 * rule that keycard shows store URLs only through `redactURL`, for text it did not write (a driver's error
 * or one of its fields, serialized into an `err`). Nothing to remove when the URL has no secrets.
 */
function logDestination(
  storeURL: string,
  stream: { write(line: string): void } | undefined,
): { write(line: string): void } | undefined {
  if (redactURL(storeURL) === storeURL) return stream;
  const out = stream ?? process.stdout;
  return { write: (line: string) => out.write(redactSecrets(line, storeURL)) };
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

/**
 * Answers a request Node could not parse (it never reaches a route) in keycard's error shape: 431 for a
 * header section over the limit, 408 for a client too slow to send one, 400 otherwise. Never into a
 * response already under way on the connection (as Node's own handler): the client would read our
 * answer as garbage after it.
 */
function answerClientError(maxHeaderBytes: number) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // Node's private field for the response in flight on this socket (what its default handler checks).
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (error.code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after a request that said `Connection: close` (such as an unframed body): that request is
      // answered as usual, the connection then closes, and the extra bytes are ignored.
      if (!inFlight) socket.destroy();
      return;
    }
    if (inFlight?.headersSent) {
      socket.destroy(error);
      return;
    }
    const failure =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new KeycardError(
            'header_too_large',
            `the request's headers are larger than ${maxHeaderBytes} bytes`,
          )
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new KeycardError('request_timeout', 'the request took too long to arrive')
          : new KeycardError('invalid_request', 'the request is malformed');
    const { status } = failure;
    const body = JSON.stringify(failure.toJSON());
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}

export async function buildServer(
  config: ServerConfig,
  deps: ServerDependencies = {},
): Promise<KeycardServer> {
  const logStream = logDestination(config.store, deps.logStream);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      ...(logStream ? { stream: logStream } : {}),
    },
    // Per-request lines only when asked for; then each request also gets its own child logger (with its
    // id), otherwise request.log is the server's logger and costs nothing until something is logged.
    logController: new RequestLogController(config.logRequests),
    ...(config.logRequests ? {} : { childLoggerFactory: (logger) => logger }),
    bodyLimit: config.bodyLimitBytes,
    // Node counts the request line and every header against this and answers 431 beyond it.
    http: { maxHeaderSize: config.maxHeaderBytes },
    clientErrorHandler: answerClientError(config.maxHeaderBytes),
    // Only behind a proxy we run: then request.ip (the address throttling counts) comes from
    // X-Forwarded-For; otherwise it is the socket's address, whatever the headers say.
    trustProxy: config.trustProxy,
    routerOptions: { maxParamLength: 128 },
    // The router's own refusals never reach a route or the error handler: answered here in keycard's
    // shape, without echoing the URL back.
    frameworkErrors: (error, _request, reply) => {
      const failure =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new KeycardError('uri_too_long', 'a segment of the URL path is longer than 128 characters')
          : new KeycardError('invalid_request', 'the URL is malformed');
      (reply as FastifyReply).code(failure.status).header('cache-control', 'no-store').send(failure.toJSON());
    },
    return503OnClosing: true,
  });
  const strategy = serverStrategy(config);
  const keyOptions = {
    environment: config.environment,
    needSigningKeys: strategy !== 'session',
    algorithm: config.keyAlgorithm,
  } as const;
  const keys = loadServerKeys(config.keysFile, keyOptions);
  if (keys.generated.length > 0) {
    app.log.warn(
      `generated development keys (${keys.generated.join(', ')}) in ${config.keysFile}; keep this file private, and provide your own keys in production (KEYCARD_KEYS_FILE)`,
    );
  }
  const jwtKeys = createMutableKeySet(keys.jwtKeys);
  const store = deps.store ?? (await openStore(config.store, { clock: deps.clock }));
  const keycard = createKeycard(
    serverKeycardOptions(config, {
      store,
      keys: { jwtKeys, secrets: keys.secrets },
      clock: deps.clock,
      onEvent(event) {
        app.log.info({ event }, `audit: ${event.type}`);
        deps.onEvent?.(event);
      },
      revocation: {
        onStateChange: (state) => app.log.info(`revocation feed: ${state}`),
        onError: (error) => app.log.warn({ err: error }, 'revocation feed error'),
      },
    }),
  );
  // Rotation without a restart: every instance reading the same key file picks up `keycard keys rotate`.
  const reloadTimer = setInterval(() => {
    try {
      if (statSync(config.keysFile).mtimeMs === keys.mtimeMs) {
        jwtKeys.replace(
          buildKeySet(
            config.keysFile,
            parseKeyFile(config.keysFile, readFileSync(config.keysFile, 'utf8')),
            Date.now(),
          ),
        );
        return;
      }
      const fresh = loadServerKeys(config.keysFile, keyOptions);
      keys.mtimeMs = fresh.mtimeMs;
      jwtKeys.replace(fresh.jwtKeys);
      app.log.info(
        `reloaded keys from ${config.keysFile}: signing with ${fresh.jwtKeys.signing?.kid ?? 'none'}`,
      );
    } catch (error) {
      app.log.error({ err: error }, `cannot reload ${config.keysFile}; keeping the keys in use`);
    }
  }, deps.keyReloadIntervalMs ?? 5000);
  reloadTimer.unref();
  // Rotation overlaps end on time even when no client comes to authenticate.
  const clientTimer = setInterval(() => {
    keycard.clients
      ?.finalizeRotations()
      .catch((error) => app.log.warn({ err: error }, 'cannot end client secret overlaps'));
  }, 60_000);
  clientTimer.unref();

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
  registerHealthRoutes(app, store, keycard.revocations);
  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(jwtKeys.toJWKS()),
  );
  registerAssetRoutes(app);
  await app.register(async (scope) => {
    await scope.register(keycardFastify, { keycard, errorHandler: false });
    registerAuthRoutes(scope, keycard);
    registerAdminRoutes(scope, keycard);
    registerClientRoutes(scope, keycard);
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
      clearInterval(reloadTimer);
      clearInterval(clientTimer);
      await app.close();
      await keycard.close();
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
