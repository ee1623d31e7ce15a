/** keycard serve: the auth server. */
import {
  loadServerConfig,
  prettyStream,
  SERVER_SETTINGS,
  type SettingSpec,
  settingDefault,
  startServer,
} from 'keycard/server';
import { type OptionSpec, parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print } from '../io.js';
import { readNewPassword } from '../prompt.js';
import { SERVER_FLAG_OPTIONS } from '../server-flags.js';

const WIDTH = 100;
const COLUMN = 24;

/** Words joined into lines of at most WIDTH characters, every line after the first indented to COLUMN. */
function wrap(first: string, text: string): string[] {
  const lines: string[] = [];
  // A flag too long for its column gets a line of its own.
  if (first.length >= COLUMN - 1) lines.push(first);
  let line = first.length >= COLUMN - 1 ? ' '.repeat(COLUMN - 1) : first.padEnd(COLUMN - 1);
  for (const word of text.split(' ')) {
    if (line.length + 1 + word.length > WIDTH && line.trim() !== '') {
      lines.push(line);
      line = ' '.repeat(COLUMN - 1);
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

function optionLines(spec: SettingSpec): string[] {
  const flag = `  --${spec.flag}${spec.value ? ` ${spec.value}` : ''}`;
  return wrap(flag, `${spec.help} (${spec.env}; default ${settingDefault(spec)})`);
}

/** Built from the settings table the configuration is loaded with, so it lists every choice there is. */
export const SERVE_HELP = [
  'Usage: keycard serve [options]',
  '',
  "Starts the auth server: login API and pages, the user's sessions, the admin API.",
  '',
  'Options (each also from an environment variable or a JSON config file; docs/server.md):',
  ...Object.values(SERVER_SETTINGS).flatMap(optionLines),
  ...wrap(
    '  --config FILE',
    'JSON config file with the settings above, by their names in docs/server.md (KEYCARD_CONFIG)',
  ),
  ...wrap('  -h, --help', 'show this help'),
].join('\n');

const SERVE_OPTIONS: OptionSpec = { ...SERVER_FLAG_OPTIONS, config: { type: 'string' } };

/** Starts the server and resolves once it listens; the process then runs until SIGINT or SIGTERM. */
export async function serveCommand(context: CLIContext, args: string[]): Promise<number | null> {
  const parsed = parse('serve', args, SERVE_OPTIONS, { min: 0, max: 0 });
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
  const server = await startServer(config, {
    ...(pretty ? { logStream: prettyStream(process.stdout) } : {}),
    // `--admin-password-file -`: piped in, or asked for twice in a terminal; read only when the first
    // admin is actually created (the store has no users).
    readAdminPassword: (check) => readNewPassword(context, !context.stdin.isTTY, check),
  });
  // Graceful shutdown (docs/operations.md): exit 0 when every request in flight finished and everything
  // closed; 1 when the bound cut requests off or a step failed. A second signal during the drain does not
  // cut it short (an orchestrator may repeat SIGTERM; the bound still holds); it is logged.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      server.app.log.info(`${signal}: already shutting down; requests in flight still have their time`);
      return;
    }
    stopping = true;
    server.app.log.info(`${signal}: shutting down`);
    server.close().then(
      (result) => {
        const clean = !result.timedOut && result.failed.length === 0;
        server.app.log.info(`shutdown: done${clean ? '' : ' (not clean)'}; exit code ${clean ? 0 : 1}`);
        process.exit(clean ? 0 : 1);
      },
      (error: unknown) => {
        server.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return null;
}
