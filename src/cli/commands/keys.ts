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
import { type Parsed, stringFlag } from '../args.js';
import { runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_OK, print, UsageError } from '../io.js';

const ALG = {
  type: 'string',
  value: 'ALG',
  help: `signing algorithm: ${ALGORITHMS.join(', ')} (default EdDSA)`,
} as const;
const KEYS_FILE = {
  type: 'string',
  value: 'FILE',
  help: 'the key file (KEYCARD_KEYS_FILE; default ./keycard.keys.json)',
} as const;

export const KEYS_COMMANDS: CommandTable = {
  name: 'keys',
  subcommands: [
    {
      name: 'keys generate',
      args: [],
      summary: 'a new key file (mode 0600): one 256-bit secret and one signing key',
      description:
        'Writes a new key file (mode 0600) with one 256-bit secret and one signing key; prints it when --out\nis not given. An existing file is never overwritten.',
      flags: { out: { type: 'string', value: 'FILE', help: 'write the key file here' }, alg: ALG },
    },
    {
      name: 'keys rotate',
      args: [],
      summary: 'add a new signing key; the current one keeps verifying for 25 h',
      description:
        'Adds a new signing key. The current one keeps verifying for 25 h (longer than any access token\nlives), then a later rotate drops it. --delay publishes the new key now and signs with it later, so\nevery verifier knows it before the first token arrives. Running servers notice a rotated file within\nseconds; no restart is needed.',
      flags: {
        keys: KEYS_FILE,
        alg: ALG,
        delay: {
          type: 'string',
          value: 'DURATION',
          help: 'sign with the new key only after this long, e.g. 10m',
        },
      },
    },
    {
      name: 'keys list',
      args: [],
      summary: 'the signing keys: kid, algorithm, status',
      flags: { keys: KEYS_FILE, json: { type: 'boolean', help: 'machine-readable output' } },
    },
  ],
};

function algorithm(value: string | undefined): Algorithm {
  if (value === undefined) return 'EdDSA';
  if (!isAlgorithm(value)) throw new UsageError(`keys: --alg must be one of ${ALGORITHMS.join(', ')}`);
  return value;
}

function keysFile(context: CLIContext, flag: string | undefined): string {
  return loadServerConfig({ flags: { keys: flag }, env: context.env }).keysFile;
}

export function keysCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(context, KEYS_COMMANDS, { generate, rotate, list }, args);
}

async function generate(context: CLIContext, parsed: Parsed): Promise<number> {
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

async function rotate(context: CLIContext, parsed: Parsed): Promise<number> {
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

async function list(context: CLIContext, parsed: Parsed): Promise<number> {
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
