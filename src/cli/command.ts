/**
 * Runs a command with subcommands (`keycard user add …`) from its table: help for the command and for
 * each subcommand, the unknown-subcommand line, parsing, then the subcommand's handler.
 */
import { type Parsed, parseSubcommand } from './args.js';
import { type CommandTable, commandHelp, subcommandHelp } from './help.js';
import { type CLIContext, EXIT_OK, print, UsageError } from './io.js';

export type Handler = (context: CLIContext, parsed: Parsed) => Promise<number>;

export async function runCommand(
  context: CLIContext,
  table: CommandTable,
  handlers: Record<string, Handler>,
  args: string[],
): Promise<number> {
  const [sub, ...rest] = args;
  const names = table.subcommands.map((spec) => spec.name.slice(table.name.length + 1));
  if (!sub) {
    throw new UsageError(
      `${table.name}: missing <command>: ${names.join(', ')} (see keycard ${table.name} --help)`,
    );
  }
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    print(context.stdout, commandHelp(table));
    return EXIT_OK;
  }
  const spec = table.subcommands.find((candidate) => candidate.name === `${table.name} ${sub}`);
  const handler = Object.hasOwn(handlers, sub) ? handlers[sub] : undefined;
  if (!spec || !handler) {
    throw new UsageError(`${table.name}: unknown command '${sub}' (see keycard ${table.name} --help)`);
  }
  const parsed = parseSubcommand(spec, rest);
  if (parsed.values.help) {
    print(context.stdout, subcommandHelp(spec));
    return EXIT_OK;
  }
  return handler(context, parsed);
}
