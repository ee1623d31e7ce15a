/**
 * Flag parsing on node:util's parseArgs (strict), with errors turned into one clear line.
 *
 * A subcommand is described once, as data (`Subcommand`): its arguments, flags and their help. The same
 * description drives the parser, the "missing <username>" line and the help (help.ts), so what the help
 * lists is what the parser accepts.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** One flag of a subcommand, with its help. */
export interface Flag {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** The value's placeholder in the help (`URL`, `FILE`); string flags only. */
  value?: string;
  help: string;
}

export interface Subcommand {
  /** As typed: `user add`. */
  name: string;
  /** Its positional arguments, `<username>`; `[…]` marks an optional one, which comes last. */
  args: readonly string[];
  /** One line for the command's list. */
  summary: string;
  /** Paragraphs for the subcommand's own help, after the usage line. */
  description?: string;
  flags: Record<string, Flag>;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

const optional = (arg: string): boolean => arg.startsWith('[');

/** Whether `arg` is one of `options` (or -h/--help), as typed: `--name`, `--name=value`, `-h`. */
function isOption(arg: string, options: OptionSpec): boolean {
  if (arg.startsWith('--')) {
    const name = arg.slice(2).split('=')[0] as string;
    return name === 'help' || Object.hasOwn(options, name);
  }
  return arg === '-h';
}

/**
 * `--session -Xb3…` as `--session=-Xb3…`. parseArgs refuses an option value that begins with '-' (it
 * might be a forgotten value followed by another option), but ids are base64url and one in 64 begins
 * with '-': a value that is not itself one of the command's options is taken as the value.
 */
function joinDashValues(args: string[], options: OptionSpec): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--') {
      joined.push(...args.slice(index));
      break;
    }
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const next = args[index + 1];
    if (
      name !== undefined &&
      options[name]?.type === 'string' &&
      next !== undefined &&
      next.length > 1 &&
      next.startsWith('-') &&
      !isOption(next, options)
    ) {
      joined.push(`--${name}=${next}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** parseArgs, its errors as one usage line pointing at `keycard <command> --help`. */
function parseFlags(command: string, args: string[], options: OptionSpec): Parsed {
  try {
    return parseArgs({
      args: joinDashValues(args, options),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (error) {
    // parseArgs' messages run over several lines ("… is ambiguous.\nDid you forget …"): one line here.
    const message = (error as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/^Unknown option/, 'unknown option')
      .replace(/\s*\n\s*/g, ' ')
      .replace(/\.$/, '');
    throw new UsageError(`${command}: ${message} (see keycard ${command} --help)`);
  }
}

/**
 * Parses a subcommand's arguments. A missing argument is named (`user add: missing <username>`), an
 * extra one quoted; `--help` is always accepted and skips those checks.
 */
export function parseSubcommand(spec: Subcommand, args: string[]): Parsed {
  const options: OptionSpec = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = flag.multiple ? { type: flag.type, multiple: true } : { type: flag.type };
  }
  const parsed = parseFlags(spec.name, args, options);
  if (parsed.values.help) return parsed;
  const required = spec.args.filter((arg) => !optional(arg));
  const missing = required[parsed.positionals.length];
  if (missing !== undefined) {
    throw new UsageError(`${spec.name}: missing ${missing} (see keycard ${spec.name} --help)`);
  }
  if (parsed.positionals.length > spec.args.length) {
    throw new UsageError(
      `${spec.name}: unexpected argument '${parsed.positionals[spec.args.length]}' (see keycard ${spec.name} --help)`,
    );
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    const values = Array.isArray(value) ? value : [value];
    if (flag.type === 'string' && values.includes('')) {
      throw new UsageError(`${spec.name}: --${name} needs a value (see keycard ${spec.name} --help)`);
    }
  }
  return parsed;
}

/**
 * Parses a command without a description: `{ min, max }` positional arguments. Kept for `keycard serve`,
 * whose flags and help come from the server's own tables.
 */
export function parse(
  command: string,
  args: string[],
  options: OptionSpec,
  positionals: { min: number; max: number },
): Parsed {
  const parsed = parseFlags(command, args, options);
  if (parsed.values.help) return parsed;
  if (parsed.positionals.length < positionals.min) {
    throw new UsageError(`${command}: missing argument (see keycard ${command} --help)`);
  }
  if (parsed.positionals.length > positionals.max) {
    throw new UsageError(
      `${command}: unexpected argument '${parsed.positionals[positionals.max]}' (see keycard ${command} --help)`,
    );
  }
  return parsed;
}

export function stringFlag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}
