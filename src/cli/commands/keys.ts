/** keycard keys generate: a fresh key file for production. */
import { writeFileSync } from 'node:fs';
import { generateKeyFileContents } from 'keycard/server';
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';

export const KEYS_HELP = `Usage: keycard keys generate [--out FILE]

Writes a new key file (mode 0600) with a random 256-bit secret, or prints it when --out is not given.
Point the server at it with --keys FILE or KEYCARD_KEYS_FILE.`;

export async function keysCommand(context: CLIContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    print(sub ? context.stdout : context.stderr, KEYS_HELP);
    return sub ? EXIT_OK : 2;
  }
  if (sub !== 'generate') throw new UsageError(`keys: unknown command '${sub}' (see keycard keys --help)`);
  const parsed = parse('keys generate', rest, { out: { type: 'string' } }, { min: 0, max: 0 });
  if (parsed.values.help) {
    print(context.stdout, KEYS_HELP);
    return EXIT_OK;
  }
  const contents = generateKeyFileContents();
  const out = stringFlag(parsed, 'out');
  if (out === undefined) {
    context.stdout.write(contents);
    return EXIT_OK;
  }
  try {
    writeFileSync(out, contents, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST')
      throw new Error(`keys generate: ${out} exists; it was not overwritten`);
    throw error;
  }
  print(context.stdout, `wrote ${out}`);
  return EXIT_OK;
}
