/**
 * The `keycard` command: a thin layer over core and the server's configuration. Usage mistakes print one
 * line and exit 2; failures print one line (never a stack trace, never a secret) and exit 1.
 *
 * Each command's module is imported only when that command runs, so `keycard --help` needs nothing but
 * this file, and a command whose package is missing (a store driver, or the server's Fastify) fails with
 * one line naming the package instead of a module-loader stack trace.
 */
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { redactSecrets, redactURL } from 'keycard/stores';
import { type CLIContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, print, UsageError } from './io.js';

export const HELP = `Usage: keycard <command> [options]

Commands:
  serve                      start the auth server (see keycard serve --help)
  user add|list|block|unblock|passwd|role|delete|reset-factors
                             manage users
  sessions list|revoke       list or end a user's sessions
  keys generate|rotate|list  the key file: secrets and JWT signing keys
  token inspect <token|->    decode and verify a JWT with the key file, and explain why it fails
  client add|list|rotate-secret|disable|enable|remove
                             API clients (OAuth 2.0 client credentials)
  migrate                    apply the store's schema migrations (see keycard migrate --help)
  config check|schema        check the server's configuration and show where each value came from;
                             print the config file's JSON Schema

Run keycard <command> --help, or keycard <command> <subcommand> --help, for the options of each.

What the user, sessions and client commands change is written to the audit log (stderr, or the file
named by --audit-log / KEYCARD_AUDIT_LOG) as JSON lines in the server's shape. Set KEYCARD_DEBUG=1 to
see the details of a failure.`;

type Command = (context: CLIContext, args: string[]) => Promise<number | null>;

/** The commands, each loaded on first use. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  user: async () => (await import('./commands/user.js')).userCommand,
  sessions: async () => (await import('./commands/sessions.js')).sessionsCommand,
  keys: async () => (await import('./commands/keys.js')).keysCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  client: async () => (await import('./commands/client.js')).clientCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
};
const ALIASES: Record<string, string> = { users: 'user', clients: 'client' };

function version(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../package.json']) {
    try {
      return (require(path) as { version: string }).version;
    } catch {
      // try the next layout (src/cli or dist/cli)
    }
  }
  return 'unknown';
}

/**
 * The store URLs with a password that this run was given: a flag's value (`--store URL`, `--store=URL`),
 * a stray argument (a URL typed without `--store`), or KEYCARD_STORE. What the CLI prints on failure goes
 * through `redactSecrets` for each, so that no usage line, failure line or KEYCARD_DEBUG dump of a
 * driver's error shows the password.
 */
function secretURLs(args: string[], env: NodeJS.ProcessEnv): string[] {
  const values = args.map((arg) => (/^--[^=]+=/.test(arg) ? arg.slice(arg.indexOf('=') + 1) : arg));
  if (env.KEYCARD_STORE) values.push(env.KEYCARD_STORE);
  return values.filter((value) => redactURL(value) !== value);
}

/**
 * A package the running code could not load, from Node's ERR_MODULE_NOT_FOUND ("Cannot find package 'x'
 * imported from …"); null for any other error, or a missing file inside a package (a broken install).
 */
export function missingPackage(error: unknown): string | null {
  if ((error as { code?: unknown })?.code !== 'ERR_MODULE_NOT_FOUND') return null;
  const name = /Cannot find package '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(String((error as Error).message));
  return name?.[1] ?? null;
}

/** The one line a failure prints: its message on one line, or what kind of failure it was. */
export function failureLine(error: unknown): string {
  const missing = missingPackage(error);
  if (missing !== null) {
    return `the package '${missing}' is not installed; install it with: npm install ${missing}`;
  }
  if (!(error instanceof Error)) return String(error);
  const message = error.message.replace(/\s*\n\s*/g, ' ').trim();
  if (message !== '') return message;
  // An error without a message (an AggregateError of refused connections): its code or class says more.
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `failed with ${code}` : `failed with ${error.name}`;
}

/** Runs one command; resolves to an exit code, or null when a server keeps the process running. */
export async function run(args: string[], context: CLIContext): Promise<number | null> {
  const [command, ...rest] = args;
  const safe = (text: string): string =>
    secretURLs(args, context.env).reduce((shown, url) => redactSecrets(shown, url), text);
  try {
    switch (command) {
      case undefined:
        print(context.stderr, HELP);
        return EXIT_USAGE;
      case '--help':
      case '-h':
      case 'help':
        print(context.stdout, HELP);
        return EXIT_OK;
      case '--version':
      case '-v':
        print(context.stdout, version());
        return EXIT_OK;
    }
    const name = ALIASES[command] ?? command;
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw new UsageError(`unknown command '${command}' (see keycard --help)`);
    return await (await load())(context, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      print(context.stderr, safe(`keycard: ${failureLine(error)}`));
      return EXIT_USAGE;
    }
    print(context.stderr, safe(`keycard: ${failureLine(error)}`));
    if (context.env.KEYCARD_DEBUG) print(context.stderr, safe(inspect(error, { depth: 8 })));
    return EXIT_FAILURE;
  }
}

/**
 * Failures outside a command's own flow — a driver's late 'error' event, a rejected promise nobody
 * awaited — print one line too, never Node's default stack trace.
 */
function catchStrays(context: CLIContext, args: string[]): void {
  const urls = secretURLs(args, context.env);
  const report = (error: unknown) => {
    const line = urls.reduce((shown, url) => redactSecrets(shown, url), `keycard: ${failureLine(error)}`);
    print(context.stderr, line);
    if (context.env.KEYCARD_DEBUG) {
      print(
        context.stderr,
        urls.reduce((shown, url) => redactSecrets(shown, url), inspect(error, { depth: 8 })),
      );
    }
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', report);
  process.on('unhandledRejection', report);
}

export async function main(args: string[]): Promise<void> {
  const context: CLIContext = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  catchStrays(context, args);
  const code = await run(args, context);
  if (code !== null) process.exitCode = code;
}
