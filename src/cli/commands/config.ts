/**
 * keycard config check|schema: the server's configuration, read exactly as `keycard serve` reads it and
 * checked before a deployment; and the JSON Schema of its config file.
 */
import {
  type ConfigCheck,
  checkServerConfig,
  configSchemaDocument,
  prepareServerKeys,
  SERVER_SETTINGS,
  type ServerConfig,
  type SettingSpec,
  serverStrategy,
  settingDefault,
} from 'keycard/server';
import { redactSecrets } from 'keycard/stores';
import type { Parsed, Subcommand } from '../args.js';
import { runCommand } from '../command.js';
import type { CommandTable } from '../help.js';
import { type CLIContext, EXIT_FAILURE, EXIT_OK, print } from '../io.js';
import { SERVER_FLAGS } from '../server-flags.js';

const CHECK: Subcommand = {
  name: 'config check',
  args: [],
  summary: 'check the configuration and print it, with where each value came from',
  description: [
    'Reads the configuration exactly as keycard serve does (defaults, then the config file, then',
    'environment variables, then flags, each overriding the one before), checks it, and prints every',
    'setting with its value and where it came from. Passwords and user names in URLs are redacted. The',
    'key file is checked as keycard serve checks it at start (it must exist in production, and hold a',
    'signing key for the token strategies); nothing in it is printed and nothing is written. Prints every',
    'error found and exits 1 when the configuration is invalid. Takes every flag of keycard serve',
    '(keycard serve --help says what each does).',
  ].join('\n'),
  flags: {
    config: { type: 'string', value: 'FILE', help: 'JSON config file (KEYCARD_CONFIG)' },
    json: { type: 'boolean', help: 'print JSON: { valid, file, settings, keyFile, errors }' },
    ...SERVER_FLAGS,
  },
};

const SCHEMA: Subcommand = {
  name: 'config schema',
  args: [],
  summary: "print the config file's JSON Schema (also in the package: keycard/config.schema.json)",
  flags: {},
};

export const CONFIG_COMMANDS: CommandTable = {
  name: 'config',
  subcommands: [CHECK, SCHEMA],
  footer: 'docs/configuration.md describes the sources, their precedence and the schema.',
};

/**
 * A value as it may be shown: the password and user name of any URL in it replaced (a store URL such as
 * postgres://user:secret@host/db, or one mistyped into another setting).
 */
function redact(value: unknown, urls: string[]): unknown {
  if (Array.isArray(value)) return value.map((entry) => redact(entry, urls));
  if (typeof value !== 'string') return value;
  return urls.reduce((shown, url) => redactSecrets(shown, url, { hideUser: true }), value);
}

/** Every string given to any setting that could be a URL with credentials. */
function urlsOf(check: ConfigCheck): string[] {
  return Object.values(check.settings)
    .flatMap(({ value }) => (Array.isArray(value) ? value : [value]))
    .filter((value): value is string => typeof value === 'string' && /[:@]/.test(value));
}

function shown(spec: SettingSpec, value: unknown): string {
  if (value === undefined) return `(${settingDefault(spec)})`;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The key file, checked as `keycard serve` checks it before it starts: what it would refuse is an error
 * here too. Reads the file, prints none of it, writes nothing (a development start would generate it).
 */
function checkKeyFile(config: ServerConfig): { error?: string; note: string } {
  try {
    const keys = prepareServerKeys(config.keysFile, {
      environment: config.environment,
      needSigningKeys: serverStrategy(config) !== 'session',
      algorithm: config.keyAlgorithm,
    });
    return {
      note:
        keys.generated.length > 0
          ? `key file: ${config.keysFile} lacks ${keys.generated.join(' and ')}; keycard serve generates them at its first start (development only)`
          : `key file: ${config.keysFile} is valid`,
    };
  } catch (error) {
    return { error: (error as Error).message, note: `key file: ${config.keysFile} cannot be used` };
  }
}

async function check(context: CLIContext, parsed: Parsed): Promise<number> {
  const { config: file, json, ...flags } = parsed.values;
  const result = checkServerConfig({
    flags,
    env: context.env,
    file: typeof file === 'string' ? file : undefined,
  });
  const urls = urlsOf(result);
  const settings = Object.fromEntries(
    Object.entries(result.settings).map(([key, setting]) => [
      key,
      { ...setting, value: redact(setting.value, urls) },
    ]),
  );
  const keyFile = result.config ? checkKeyFile(result.config) : undefined;
  const errors = [...result.errors, ...(keyFile?.error ? [keyFile.error] : [])].map(
    (error) => redact(error, urls) as string,
  );
  const valid = errors.length === 0;
  if (json) {
    print(
      context.stdout,
      JSON.stringify(
        { valid, file: result.file ?? null, settings, keyFile: keyFile?.note ?? null, errors },
        null,
        2,
      ),
    );
    return valid ? EXIT_OK : EXIT_FAILURE;
  }
  const rows = Object.entries(settings).map(([key, setting]) => [
    key,
    shown(SERVER_SETTINGS[key as keyof typeof SERVER_SETTINGS], setting.value),
    setting.source === 'default' ? 'default' : `${setting.source}: ${setting.from}`,
  ]);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => (row[column] as string).length)));
  print(context.stdout, `config file: ${result.file ?? 'none'}`);
  for (const [key, value, source] of rows) {
    print(
      context.stdout,
      `  ${(key as string).padEnd(widths[0] as number)}  ${(value as string).padEnd(widths[1] as number)}  ${source}`,
    );
  }
  if (keyFile) print(context.stdout, keyFile.note);
  if (valid) {
    print(context.stdout, 'The configuration is valid.');
    return EXIT_OK;
  }
  print(
    context.stderr,
    `keycard: config check: the configuration is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):`,
  );
  for (const error of errors) print(context.stderr, `  ${error}`);
  return EXIT_FAILURE;
}

async function schema(context: CLIContext): Promise<number> {
  print(context.stdout, JSON.stringify(configSchemaDocument(), null, 2));
  return EXIT_OK;
}

export async function configCommand(context: CLIContext, args: string[]): Promise<number> {
  return runCommand(context, CONFIG_COMMANDS, { check, schema }, args);
}
