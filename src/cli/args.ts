/** Flag parsing on node:util's parseArgs (strict), with errors turned into one clear line. */
import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parse(
  command: string,
  args: string[],
  options: OptionSpec,
  positionals: { min: number; max: number },
): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (error) {
    const message = (error as Error).message
      .replace(/\. To specify a positional argument.*$/s, '')
      .replace(/^Unknown option/, 'unknown option');
    throw new UsageError(`${command}: ${message} (see keycard ${command} --help)`);
  }
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
