/**
 * Help text, written from the subcommands' descriptions (args.ts), so it lists exactly the arguments and
 * flags the parser accepts: `keycard user --help` lists the subcommands, `keycard user add --help` shows
 * that one's usage and every flag.
 */
import type { Flag, Subcommand } from './args.js';

const HELP_FLAG = '-h, --help';

function flagLabel(name: string, flag: Flag): string {
  return flag.type === 'string' ? `--${name} ${flag.value ?? 'VALUE'}` : `--${name}`;
}

/** Two columns: labels padded to the longest (at most `max`), longer ones on a line of their own. */
function columns(rows: [string, string][], max = 30): string[] {
  const width = Math.min(max, Math.max(...rows.map(([label]) => label.length)));
  const lines: string[] = [];
  for (const [label, text] of rows) {
    if (label.length > width) {
      lines.push(`  ${label}`);
      lines.push(`  ${' '.repeat(width)}  ${text}`);
    } else {
      lines.push(`  ${label.padEnd(width)}  ${text}`);
    }
  }
  return lines;
}

/** `keycard user add <username> [options]` */
export function usageLine(spec: Subcommand): string {
  return ['Usage: keycard', spec.name, ...spec.args, '[options]'].join(' ');
}

/** `keycard <command> <subcommand> --help`: the usage, what it does, and every flag. */
export function subcommandHelp(spec: Subcommand): string {
  const lines = [
    usageLine(spec),
    '',
    spec.description ?? `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
  ];
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, flag]) => [
    flagLabel(name, flag),
    flag.help,
  ]);
  rows.push([HELP_FLAG, 'show this help']);
  lines.push('', 'Options:', ...columns(rows));
  return lines.join('\n');
}

/** A command with subcommands: `keycard user …`. */
export interface CommandTable {
  name: string;
  subcommands: readonly Subcommand[];
  /** Flags every subcommand takes, listed once in the command's help. */
  common?: Record<string, Flag>;
  /** A closing paragraph of the command's help. */
  footer?: string;
}

/** `keycard <command> --help`: its subcommands, each with its arguments and what it does. */
export function commandHelp(table: CommandTable): string {
  const rows: [string, string][] = table.subcommands.map((spec) => [
    [spec.name.slice(table.name.length + 1), ...spec.args].join(' '),
    spec.summary,
  ]);
  const lines = [`Usage: keycard ${table.name} <command> [options]`, '', 'Commands:', ...columns(rows, 36)];
  if (table.common) {
    const common: [string, string][] = Object.entries(table.common).map(([name, flag]) => [
      flagLabel(name, flag),
      flag.help,
    ]);
    lines.push('', 'Options (all commands):', ...columns(common));
  }
  lines.push('', `Run keycard ${table.name} <command> --help for the options of each.`);
  if (table.footer) lines.push('', table.footer);
  return lines.join('\n');
}
