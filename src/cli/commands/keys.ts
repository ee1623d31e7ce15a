/** keycard keys generate|rotate|list: the key file's secrets and JWT signing keys. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ALGORITHMS, type Algorithm, isAlgorithm, parseDuration } from 'keycard';
import {
  generateKeyFile,
  loadServerConfig,
  parseKeyFile,
  RETIRED_KEY_LIFETIME_MS,
  rotateKeyFile,
  serializeKeyFile,
  writeKeyFile,
} from 'keycard/server';
import { parse, stringFlag } from '../args.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';

export const KEYS_HELP = `Usage: keycard keys <command> [options]

Commands:
  generate [--out FILE] [--alg ALG]     a new key file (mode 0600): one 256-bit secret and one signing key;
                                        printed when --out is not given
  rotate [--keys FILE] [--alg ALG] [--delay DURATION]
                                        add a new signing key; the current one keeps verifying for 25 h
                                        (longer than any access token lives), then a later rotate drops it.
                                        --delay publishes the new key now and signs with it later (e.g. 10m),
                                        so every verifier knows it before the first token arrives
  list [--keys FILE] [--json]           the signing keys: kid, algorithm, status

Options:
  --alg ALG      EdDSA (default), ES256, RS256 or HS256
  --keys FILE    the key file (default: KEYCARD_KEYS_FILE, or ./keycard.keys.json)
  -h, --help     show this help

Running servers notice a rotated file within seconds; no restart is needed.`;

function algorithm(value: string | undefined): Algorithm {
  if (value === undefined) return 'EdDSA';
  if (!isAlgorithm(value)) throw new UsageError(`keys: --alg must be one of ${ALGORITHMS.join(', ')}`);
  return value;
}

function keysFile(context: CLIContext, flag: string | undefined): string {
  return loadServerConfig({ flags: { keys: flag }, env: context.env }).keysFile;
}

export async function keysCommand(context: CLIContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    print(sub ? context.stdout : context.stderr, KEYS_HELP);
    return sub ? EXIT_OK : 2;
  }
  switch (sub) {
    case 'generate':
      return generate(context, rest);
    case 'rotate':
      return rotate(context, rest);
    case 'list':
      return list(context, rest);
    default:
      throw new UsageError(`keys: unknown command '${sub}' (see keycard keys --help)`);
  }
}

async function generate(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'keys generate',
    args,
    { out: { type: 'string' }, alg: { type: 'string' } },
    { min: 0, max: 0 },
  );
  if (parsed.values.help) return help(context);
  const contents = serializeKeyFile(generateKeyFile(algorithm(stringFlag(parsed, 'alg'))));
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

async function rotate(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'keys rotate',
    args,
    { keys: { type: 'string' }, alg: { type: 'string' }, delay: { type: 'string' } },
    { min: 0, max: 0 },
  );
  if (parsed.values.help) return help(context);
  const path = keysFile(context, stringFlag(parsed, 'keys'));
  if (!existsSync(path))
    throw new Error(
      `keys rotate: ${path} does not exist (create it with keycard keys generate --out ${path})`,
    );
  const delay = stringFlag(parsed, 'delay');
  const delayMs = delay === undefined ? undefined : parseDuration(delay, '--delay') * 1000;
  const current = parseKeyFile(path, readFileSync(path, 'utf8'));
  const { file, added, dropped } = rotateKeyFile(current, {
    algorithm: algorithm(stringFlag(parsed, 'alg')),
    delayMs,
  });
  writeKeyFile(path, file);
  const when = added.activatesAt ? `from ${added.activatesAt}` : 'now';
  print(context.stdout, `added ${added.alg} key ${added.kid}, signing ${when}`);
  if (dropped.length > 0) print(context.stdout, `dropped retired key(s) ${dropped.join(', ')}`);
  return EXIT_OK;
}

async function list(context: CLIContext, args: string[]): Promise<number> {
  const parsed = parse(
    'keys list',
    args,
    { keys: { type: 'string' }, json: { type: 'boolean' } },
    { min: 0, max: 0 },
  );
  if (parsed.values.help) return help(context);
  const path = keysFile(context, stringFlag(parsed, 'keys'));
  if (!existsSync(path)) throw new Error(`keys list: ${path} does not exist`);
  const file = parseKeyFile(path, readFileSync(path, 'utf8'));
  const now = Date.now();
  let signerChosen = false;
  const rows = file.signingKeys.map((entry) => {
    const activatesAt = entry.activatesAt ? Date.parse(entry.activatesAt) : 0;
    const retiredAt = entry.retiredAt ? Date.parse(entry.retiredAt) : undefined;
    let status: string;
    if (retiredAt !== undefined && retiredAt + RETIRED_KEY_LIFETIME_MS <= now) status = 'expired';
    else if (activatesAt > now) status = `published, signs from ${entry.activatesAt}`;
    else if (!signerChosen && (retiredAt === undefined || retiredAt > now)) {
      signerChosen = true;
      status = 'signing';
    } else {
      status = `verify-only until ${new Date((retiredAt ?? now) + RETIRED_KEY_LIFETIME_MS).toISOString()}`;
    }
    return { kid: entry.kid, alg: entry.alg, createdAt: entry.createdAt, status };
  });
  if (parsed.values.json) {
    print(context.stdout, JSON.stringify(rows, null, 2));
    return EXIT_OK;
  }
  if (rows.length === 0) {
    print(context.stdout, `${path} has no signing keys; add one with keycard keys rotate`);
    return EXIT_OK;
  }
  for (const row of rows)
    print(context.stdout, `${row.kid}  ${row.alg.padEnd(5)}  created ${row.createdAt}  ${row.status}`);
  return EXIT_OK;
}

function help(context: CLIContext): number {
  print(context.stdout, KEYS_HELP);
  return EXIT_OK;
}
