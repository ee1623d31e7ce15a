/**
 * `keycard serve` as a Fastify application, built only from keycard's public API and its Fastify adapter.
 *
 * Layout: health routes and assets at the root (they never touch a session, so /healthz answers even
 * when the store is down); everything else inside one scope where keycard's hooks load the session.
 */
import { readFileSync, statSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import {
  type AuthEvent,
  type Clock,
  createKeycard,
  createMutableKeySet,
  instrumentStore,
  type Keycard,
  KeycardError,
  type MutableKeySet,
  type Store,
  systemClock,
} from 'keycard';
import { keycardFastify } from 'keycard/fastify';
import { smtpMailer } from 'keycard/mail';
import { openStore, redactSecrets, redactURL } from 'keycard/stores';
import { clientRoutes } from '../api/clients.js';
import { adminRoutes, authRoutes } from '../api/routes.js';
import { registerBodyParsers } from './bodies.js';
import { answerClientError } from './client-errors.js';
import type { FirstAdminConfig, ServerConfig } from './config.js';
import { registerCORS } from './cors.js';
import { createErrorHandler } from './errors.js';
import {
  checkFirstAdminPassword,
  createFirstAdmin,
  firstAdminCommand,
  firstAdminHint,
  isProcessLocalStore,
  readFirstAdminPassword,
} from './first-admin.js';
import { serverKeycardOptions, serverStrategy } from './keycard-options.js';
import {
  buildKeySet,
  loadServerKeys,
  parseKeyFile,
  prepareServerKeys,
  type ServerKeys,
  saveGeneratedKeys,
} from './keys.js';
import { RequestLogController } from './log.js';
import type { MetricsListener } from './metrics/listener.js';
import type { ServerMetrics } from './metrics/registry.js';
import { registerApiRoutes } from './routes/api.js';
import { registerClientScript } from './routes/client-script.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOpenAPIRoute } from './routes/openapi.js';
import { registerAssetRoutes, registerPageRoutes } from './routes/pages.js';
import { registerPasskeyAssets } from './routes/passkey-assets.js';
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
  /**
   * Reads the first admin's password when `adminPasswordFile` is `-` (the CLI: stdin, or a prompt in a
   * terminal). Called only when the admin is actually created.
   */
  readAdminPassword?: (check: (password: string) => string | null) => Promise<string>;
}

/** A route as registered: what docs/server.md's endpoint table is checked against. */
export interface RouteInfo {
  method: string;
  url: string;
}

export interface KeycardServer {
  app: FastifyInstance;
  keycard: Keycard;
  store: Store;
  config: ServerConfig;
  keys: ServerKeys;
  /** Every route, in registration order (HEAD routes Fastify adds for GET routes left out). */
  routes: readonly RouteInfo[];
  /**
   * Creates the first admin the settings name, if the store had no users when the server was built (the
   * password was read and checked then); logs what it did. Once: later calls do nothing. `startServer`
   * calls it once the server listens.
   */
  createFirstAdmin(): Promise<void>;
  /** Takes back the key file this start wrote, if it wrote one (the start failed after all). */
  discardGeneratedKeys(): void;
  /**
   * Starts the management listener serving `GET /metrics` when `metricsPort` is set, and returns its URL
   * (null when metrics are off). `startServer` calls it once the server listens.
   */
  listenMetrics(): Promise<string | null>;
  /**
   * Shuts down (docs/operations.md, "Shutdown"): stops accepting connections, lets requests in flight
   * finish for at most `shutdownTimeout` seconds and then closes the connections that remain, closes idle
   * keep-alive connections, then the revocation feed, the metrics listener and the store, logging each
   * step. Later calls return the first call's result.
   */
  close(): Promise<ShutdownResult>;
}

/** How a shutdown went: clean when nothing was cut off and every step closed. */
export interface ShutdownResult {
  /** True when the bound was hit and connections with requests in flight were closed. */
  timedOut: boolean;
  /** The steps that failed to close (`revocation feed`, `metrics listener`, `store`). */
  failed: string[];
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
    // While shutting down, a request that still arrives on an open keep-alive connection gets its normal
    // answer (with `Connection: close`), not a 503: the client sent it before it could know.
    return503OnClosing: false,
  });
  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      // Fastify adds a HEAD route for every GET route; it answers as its GET does.
      if (method === 'HEAD' && routes.some((known) => known.method === 'GET' && known.url === route.url))
        continue;
      routes.push({ method, url: route.url });
    }
  });
  const strategy = serverStrategy(config);
  const keyOptions = {
    environment: config.environment,
    needSigningKeys: strategy !== 'session',
    algorithm: config.keyAlgorithm,
  } as const;
  // Read and checked first, written last: generated keys reach the disk only once every other start-up
  // check has passed.
  const keys = prepareServerKeys(config.keysFile, keyOptions);
  const jwtKeys = createMutableKeySet(keys.jwtKeys);
  // Metrics only when asked for: then prom-client is loaded, and every store call is timed.
  const metrics: ServerMetrics | null =
    config.metricsPort === undefined
      ? null
      : await (await import('./metrics/registry.js')).createServerMetrics();
  const opened = deps.store ?? (await openStore(config.store, { clock: deps.clock }));
  const store = metrics ? instrumentStore(opened, metrics.storeHook) : opened;
  if (metrics) {
    const counting = metrics.sampleActiveLogins(store, {
      clock: deps.clock ?? systemClock,
      onError: (error) =>
        app.log.warn({ err: error }, 'cannot count the active logins for keycard_active_logins'),
    });
    if (!counting) {
      app.log.warn(
        `the ${store.kind} store cannot count logins (no countLogins): keycard_active_logins has no value`,
      );
    }
  }
  let keycard: Keycard | undefined;
  let firstAdmin: { admin: FirstAdminConfig; password: string } | null = null;
  let discardGeneratedKeys: () => void = () => {};
  try {
    keycard = createKeycard(
      serverKeycardOptions(config, {
        store,
        keys: { jwtKeys, secrets: keys.secrets },
        clock: deps.clock,
        mailer: config.mail ? smtpMailer({ url: config.mail.smtp, from: config.mail.from }) : undefined,
        onHookError: (error) =>
          app.log.error({ err: error }, 'background work failed (audit append, hook or mail)'),
        onEvent(event) {
          app.log.info({ event }, `audit: ${event.type}`);
          metrics?.observeEvent(event);
          deps.onEvent?.(event);
        },
        revocation: {
          onStateChange: (state) => app.log.info(`revocation feed: ${state}`),
          onError: (error) => app.log.warn({ err: error }, 'revocation feed error'),
        },
      }),
    );
    if (metrics) keycard.revocations?.observe(metrics.feed);
    if (config.firstAdmin) {
      if ((await keycard.users.count()) === 0) {
        const password = await readFirstAdminPassword(keycard, config.firstAdmin, deps.readAdminPassword);
        checkFirstAdminPassword(keycard, config.firstAdmin, password);
        firstAdmin = { admin: config.firstAdmin, password };
      } else {
        app.log.info(
          `${config.firstAdmin.usernameFrom} is set but the store already has users: no user was created or changed`,
        );
      }
    }
    registerRoutes(app, keycard, store, config, jwtKeys);
    await app.ready();
    discardGeneratedKeys = saveGeneratedKeys(keys);
  } catch (error) {
    await app.close().catch(() => {});
    await keycard?.close().catch(() => {});
    if (!deps.store) await store.close().catch(() => {});
    throw error;
  }
  if (keys.generated.length > 0) {
    app.log.warn(
      `generated development keys (${keys.generated.join(', ')}) in ${config.keysFile}; keep this file private, and provide your own keys in production (KEYCARD_KEYS_FILE)`,
    );
  }
  const running = keycard;
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
    running.clients
      ?.finalizeRotations()
      .catch((error) => app.log.warn({ err: error }, 'cannot end client secret overlaps'));
  }, 60_000);
  clientTimer.unref();

  let metricsListener: MetricsListener | null = null;
  let closing: Promise<ShutdownResult> | null = null;
  /** One shutdown step: logged, and a failure noted rather than stopping the steps after it. */
  const closeStep = async (name: string, step: () => Promise<void>, failed: string[]): Promise<void> => {
    try {
      await step();
      app.log.info(`shutdown: ${name} closed`);
    } catch (error) {
      failed.push(name);
      app.log.error({ err: error }, `shutdown: cannot close the ${name}`);
    }
  };
  const shutdown = async (): Promise<ShutdownResult> => {
    clearInterval(reloadTimer);
    clearInterval(clientTimer);
    const failed: string[] = [];
    let timedOut = false;
    const listening = app.server.listening;
    const timeoutSeconds = config.shutdownTimeout;
    // Node's server.close() closes the connections idle at that moment; a keep-alive connection whose
    // request finishes later would stay open until its keep-alive timeout, so idle ones are closed as
    // they appear. Requests that arrive meanwhile on an open connection are answered, with
    // `Connection: close`.
    const idle = setInterval(() => app.server.closeIdleConnections(), 100);
    const bound = setTimeout(() => {
      timedOut = true;
      app.log.warn(`shutdown: ${timeoutSeconds} s passed; closing the connections still in use`);
      app.server.closeAllConnections();
    }, timeoutSeconds * 1000);
    try {
      let settled = false;
      const closed = app.close().finally(() => {
        settled = true;
      });
      if (listening) {
        // Said once it is true: Fastify stops listening a few ticks into close().
        while (app.server.listening && !settled) await new Promise((resolve) => setImmediate(resolve));
        app.log.info(
          `shutdown: no longer accepting connections; waiting at most ${timeoutSeconds} s for requests in flight`,
        );
      }
      await closed;
    } finally {
      clearInterval(idle);
      clearTimeout(bound);
    }
    if (listening) {
      app.log.info(
        timedOut
          ? 'shutdown: HTTP server closed, requests cut off'
          : 'shutdown: HTTP server closed, requests drained',
      );
    }
    if (running.revocations) await closeStep('revocation feed', () => running.close(), failed);
    else await running.close();
    const listener = metricsListener;
    if (listener) await closeStep('metrics listener', () => listener.close(), failed);
    await closeStep('store', () => store.close(), failed);
    return { timedOut, failed };
  };
  return {
    app,
    keycard: running,
    store,
    config,
    keys,
    routes,
    discardGeneratedKeys,
    async createFirstAdmin() {
      if (!firstAdmin) return;
      const { admin, password } = firstAdmin;
      firstAdmin = null;
      const result = await createFirstAdmin(running, admin, password);
      app.log.info(
        result === 'created'
          ? `created the first admin '${admin.username}' (username from ${admin.usernameFrom}, password from ${admin.passwordFile === '-' ? 'stdin' : `the file ${admin.passwordFile}`})`
          : `the first admin '${admin.username}' was created by another instance at the same time; nothing changed`,
      );
    },
    async listenMetrics() {
      if (!metrics || config.metricsPort === undefined) return null;
      const { startMetricsListener } = await import('./metrics/listener.js');
      metricsListener = await startMetricsListener(metrics.registry, {
        host: config.metricsHost,
        port: config.metricsPort,
        onError: (error) => app.log.error({ err: error }, 'cannot collect metrics'),
      });
      app.log.info(`metrics at ${metricsListener.url}/metrics`);
      return metricsListener.url;
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

/** The error handler, body parsers and every route. */
function registerRoutes(
  app: FastifyInstance,
  keycard: Keycard,
  store: Store,
  config: ServerConfig,
  jwtKeys: MutableKeySet,
): void {
  app.setErrorHandler(createErrorHandler({ bodyLimitBytes: config.bodyLimitBytes, storeURL: config.store }));
  app.setNotFoundHandler((request) => {
    throw new KeycardError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
  registerBodyParsers(app);
  registerSecurityHeaders(app);
  registerCORS(app, keycard);
  registerHealthRoutes(app, store, keycard.revocations, { storeURL: config.store });
  app.get('/.well-known/jwks.json', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(jwtKeys.toJWKS()),
  );
  registerAssetRoutes(app);
  registerClientScript(app);
  registerPasskeyAssets(app);
  const apiRoutes = [...authRoutes(keycard), ...adminRoutes(keycard), ...clientRoutes(keycard)];
  registerOpenAPIRoute(app, keycard, apiRoutes);
  app.register(async (scope) => {
    await scope.register(keycardFastify, { keycard, errorHandler: false });
    registerApiRoutes(scope, apiRoutes, { bodyLimitBytes: config.bodyLimitBytes });
    registerPageRoutes(scope, keycard, {
      firstAdmin: { command: firstAdminCommand(config), restart: isProcessLocalStore(config.store) },
    });
  });
}

/** What the server runs with, in one line: what an operator checks first when something is off. */
function startupLine(server: KeycardServer): { fields: Record<string, unknown>; message: string } {
  const { options } = server.keycard;
  const fields = {
    preset: options.preset,
    strategy: options.strategy,
    transport: options.jwt?.transport ?? 'cookie',
    store: redactURL(server.config.store),
    keysFile: server.config.keysFile,
    trustedOrigins: options.trustedOrigins ? [...options.trustedOrigins] : [],
    environment: options.environment,
  };
  const origins = fields.trustedOrigins.length > 0 ? fields.trustedOrigins.join(' ') : 'none';
  return {
    fields,
    message: `keycard serve: preset ${fields.preset}, strategy ${fields.strategy}, transport ${fields.transport}, store ${fields.store}, key file ${fields.keysFile}, trusted origins ${origins}, ${fields.environment}`,
  };
}

/**
 * Builds the server and listens; then creates the first admin when the settings name one and there are
 * no users, says what it runs, and how to create the first admin when there is still none. A start that
 * fails leaves nothing behind: no key file, no admin.
 */
export async function startServer(
  config: ServerConfig,
  deps: ServerDependencies = {},
): Promise<KeycardServer & { url: string; metricsURL: string | null }> {
  const server = await buildServer(config, deps);
  let url: string;
  let metricsURL: string | null;
  try {
    url = await server.app.listen({ port: config.port, host: config.host });
    metricsURL = await server.listenMetrics();
    const line = startupLine(server);
    server.app.log.info(line.fields, line.message);
    await server.createFirstAdmin();
    if ((await server.keycard.users.count()) === 0) server.app.log.warn(firstAdminHint(config));
  } catch (error) {
    await server.close().catch(() => {});
    server.discardGeneratedKeys();
    throw error;
  }
  return { ...server, url, metricsURL };
}
