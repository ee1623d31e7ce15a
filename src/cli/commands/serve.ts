/** keycard serve: the auth server. */
import { loadServerConfig, prettyStream, startServer } from 'keycard/server';
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print } from '../io.js';

export const SERVE_HELP = `Usage: keycard serve [options]

Starts the auth server: login API and pages, the user's sessions, the admin API.

Options (each also from an environment variable or a JSON config file):
  --port N             port to listen on (PORT; default 3000)
  --host HOST          interface to bind (HOST; default localhost)
  --store URL          sqlite:./keycard.db (default), memory:, redis://…, redis+cluster://h:p,h:p,
                       postgres://… or mongodb://… (KEYCARD_STORE)
  --strategy NAME      session or jwt (KEYCARD_STRATEGY; default: the preset's)
  --preset NAME        web-app, banking, api, microservices or mobile (KEYCARD_PRESET; default web-app)
  --transport NAME     jwt: cookie or header (KEYCARD_TRANSPORT; default: the preset's)
  --issuer NAME        jwt: iss of tokens (KEYCARD_ISSUER; default keycard)
  --audience NAME      jwt: aud of tokens (KEYCARD_AUDIENCE; default keycard)
  --key-algorithm ALG  algorithm of keys generated in development: EdDSA, ES256, RS256, HS256
  --keys FILE          key file (KEYCARD_KEYS_FILE; default ./keycard.keys.json,
                       generated in development, required in production)
  --trust-proxy LIST   the proxies in front, as addresses or CIDR ranges (10.0.0.0/8,::1): only then
                       is X-Forwarded-For believed (KEYCARD_TRUST_PROXY; 'true' trusts any, avoid it)
  --trusted-origin URL another origin allowed to post with the session cookie (KEYCARD_TRUSTED_ORIGINS)
  --body-limit BYTES   largest request body (KEYCARD_BODY_LIMIT; default 16384)
  --max-header-bytes N largest request header section; larger gets 431 (KEYCARD_MAX_HEADER_BYTES; 16384)
  --log-level LEVEL    fatal, error, warn, info, debug, trace, silent (KEYCARD_LOG_LEVEL)
  --log-requests       log every request: method, path, status, time (KEYCARD_LOG_REQUESTS)
  --env NAME           development or production (NODE_ENV)
  --config FILE        JSON config file with the settings above (KEYCARD_CONFIG)
  -h, --help           show this help`;

/** Starts the server and resolves once it listens; the process then runs until SIGINT or SIGTERM. */
export async function serveCommand(context: CLIContext, args: string[]): Promise<number | null> {
  const parsed = parse(
    'serve',
    args,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      strategy: { type: 'string' },
      preset: { type: 'string' },
      transport: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'key-algorithm': { type: 'string' },
      keys: { type: 'string' },
      'trust-proxy': { type: 'string' },
      'max-header-bytes': { type: 'string' },
      'trusted-origin': { type: 'string', multiple: true },
      'body-limit': { type: 'string' },
      'log-level': { type: 'string' },
      'log-requests': { type: 'boolean' },
      env: { type: 'string' },
      config: { type: 'string' },
    },
    { min: 0, max: 0 },
  );
  if (parsed.values.help) {
    print(context.stdout, SERVE_HELP);
    return EXIT_OK;
  }
  const { config: file, ...flags } = parsed.values;
  const config = loadServerConfig({
    flags,
    env: context.env,
    file: stringFlag(parsed, 'config') ?? (file as undefined),
  });
  const pretty =
    config.environment !== 'production' && process.stdout.isTTY && context.env.KEYCARD_LOG_FORMAT !== 'json';
  const server = await startServer(config, pretty ? { logStream: prettyStream(process.stdout) } : {});
  const stop = (signal: string) => {
    server.app.log.info(`${signal}: closing`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return null;
}
