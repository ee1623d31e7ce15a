/**
 * The `keycard` command: a thin layer over core and the server's configuration. Usage mistakes print one
 * line and exit 2; failures print one line (never a stack trace, never a secret) and exit 1.
 */
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { isKeycardError } from 'keycard';
import { redactSecrets, redactURL } from 'keycard/stores';
import { clientCommand } from './commands/client.js';
import { keysCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { serveCommand } from './commands/serve.js';
import { sessionsCommand } from './commands/sessions.js';
import { tokenCommand } from './commands/token.js';
import { userCommand } from './commands/user.js';
import { type CLIContext, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, print, UsageError } from './io.js';

export const HELP = `Usage: keycard <command> [options]

Commands:
  serve                      start the auth server (see keycard serve --help)
  user add|list|block|unblock|passwd
                             manage users
  sessions list|revoke       list or end a user's sessions
  keys generate|rotate|list  the key file: secrets and JWT signing keys
  token inspect <token|->    decode and verify a JWT with the key file, and explain why it fails
  client add|list|rotate-secret|disable|enable|remove
                             API clients (OAuth 2.0 client credentials)
  migrate                    apply the store's schema migrations (see keycard migrate --help)

Run keycard <command> --help for the options of each command.`;

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
      case 'serve':
        return await serveCommand(context, rest);
      case 'user':
      case 'users':
        return await userCommand(context, rest);
      case 'sessions':
        return await sessionsCommand(context, rest);
      case 'keys':
        return await keysCommand(context, rest);
      case 'token':
        return await tokenCommand(context, rest);
      case 'client':
      case 'clients':
        return await clientCommand(context, rest);
      case 'migrate':
        return await migrateCommand(context, rest);
      default:
        throw new UsageError(`unknown command '${command}' (see keycard --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      print(context.stderr, safe(`keycard: ${error.message}`));
      return EXIT_USAGE;
    }
    const message = isKeycardError(error) || error instanceof Error ? error.message : String(error);
    print(context.stderr, safe(`keycard: ${message}`));
    if (context.env.KEYCARD_DEBUG) print(context.stderr, safe(inspect(error, { depth: 8 })));
    return EXIT_FAILURE;
  }
}

export async function main(args: string[]): Promise<void> {
  const code = await run(args, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  if (code !== null) process.exitCode = code;
}
