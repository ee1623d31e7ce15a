/**
 * `keycard config check` reads the configuration as `keycard serve` does and reports it: every setting's
 * value and source, every error, secrets in URLs redacted; `keycard config schema` prints the published
 * schema. Most cases run in-process; the ones about what a real process prints (redaction, exit codes)
 * run the CLI as a child.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SCHEMA_FILE } from '../../scripts/config-schema.js';
import { SERVER_SETTINGS } from '../../src/server/index.js';
import { type CLIResult, lines, runCLI, runInProcess, tempDir } from './helpers.js';

const SECRET = 'Sup3rSecretPw';

interface Report {
  valid: boolean;
  file: string | null;
  settings: Record<string, { value: unknown; source: string; from: string }>;
  errors: string[];
}

/** The row `config check` prints for a setting: its value and where it came from. */
function row(result: CLIResult, key: string): string[] {
  const line = lines(result.stdout).find((candidate) => candidate.startsWith(`  ${key} `));
  assert.ok(line, `a row for ${key} in:\n${result.stdout}`);
  return line.trim().split(/\s{2,}/);
}

function report(result: CLIResult): Report {
  return JSON.parse(result.stdout) as Report;
}

test('config check prints every setting with its value and source, by precedence flag > env > file > default', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'keycard.json');
  writeFileSync(
    file,
    JSON.stringify({
      $schema: './node_modules/keycard/config.schema.json',
      port: 4000,
      logLevel: 'warn',
      preset: 'api',
      trustedOrigins: ['https://app.example.com'],
    }),
  );
  const result = await runInProcess(['config', 'check', '--config', file, '--port', '6000'], {
    env: { KEYCARD_LOG_LEVEL: 'debug', PORT: '5000', KEYCARD_TRUST_PROXY: '10.0.0.0/8, ::1' },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.equal(lines(result.stdout)[0], `config file: ${file}`);
  assert.deepEqual(row(result, 'port'), ['port', '6000', 'flag: --port']);
  assert.deepEqual(row(result, 'logLevel'), ['logLevel', 'debug', 'env: KEYCARD_LOG_LEVEL']);
  assert.deepEqual(row(result, 'preset'), ['preset', 'api', `file: preset in ${file}`]);
  assert.deepEqual(row(result, 'trustedOrigins'), [
    'trustedOrigins',
    'https://app.example.com',
    `file: trustedOrigins in ${file}`,
  ]);
  assert.deepEqual(row(result, 'trustProxy'), ['trustProxy', '10.0.0.0/8,::1', 'env: KEYCARD_TRUST_PROXY']);
  assert.deepEqual(row(result, 'host'), ['host', 'localhost', 'default']);
  assert.deepEqual(row(result, 'strategy'), ['strategy', "(the preset's)", 'default']);
  assert.equal(lines(result.stdout).at(-1), 'The configuration is valid.');

  // The same from KEYCARD_CONFIG, as JSON: values typed as the server uses them.
  const json = await runInProcess(['config', 'check', '--json'], { env: { KEYCARD_CONFIG: file } });
  assert.equal(json.code, 0, json.stderr);
  const parsed = report(json);
  assert.equal(parsed.valid, true);
  assert.equal(parsed.file, file);
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(parsed.settings.port, { value: 4000, source: 'file', from: `port in ${file}` });
  assert.deepEqual(parsed.settings.logRequests, { value: false, source: 'default', from: 'logRequests' });
  assert.deepEqual(Object.keys(parsed.settings), Object.keys(SERVER_SETTINGS));
});

test('config check lists every error with where it came from, and exits 1', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'keycard.json');
  writeFileSync(file, JSON.stringify({ stroe: 'memory:', bodyLimitBytes: 10, logRequests: 'yes' }));
  const result = await runInProcess(['config', 'check', '--config', file, '--preset', 'nope'], {
    env: { PORT: 'abc' },
  });
  assert.equal(result.code, 1);
  const errors = lines(result.stderr);
  assert.equal(errors[0], 'keycard: config check: the configuration is invalid (5 errors):');
  assert.deepEqual(
    errors.slice(1).sort(),
    [
      `  --preset: expected one of web-app, banking, spa, api, microservices, mobile (got 'nope')`,
      `  PORT: expected a whole number from 0 to 65535`,
      `  bodyLimitBytes in ${file}: expected a whole number from 1024 to 1048576`,
      `  config file ${file}: unknown setting 'stroe'; known: ${Object.keys(SERVER_SETTINGS).join(', ')}`,
      `  logRequests in ${file}: expected true or false`,
    ].sort(),
  );
  // The settings are still shown, so that the operator sees what was read.
  assert.deepEqual(row(result, 'port'), ['port', 'abc', 'env: PORT']);

  const json = await runInProcess(['config', 'check', '--json', '--config', file, '--preset', 'nope'], {
    env: { PORT: 'abc' },
  });
  assert.equal(json.code, 1);
  assert.equal(json.stderr, '');
  const parsed = report(json);
  assert.equal(parsed.valid, false);
  assert.deepEqual(
    parsed.errors,
    errors.slice(1).map((line) => line.trim()),
  );
});

test('config check on a config file that is missing, garbage or not an object: the reason, exit 1', async (t) => {
  const dir = tempDir(t);
  const garbage = join(dir, 'garbage.json');
  writeFileSync(garbage, `{"store": "postgres://keycard:${SECRET}`);
  const array = join(dir, 'array.json');
  writeFileSync(array, '[]');
  for (const [file, reason] of [
    [join(dir, 'missing.json'), 'does not exist'],
    [garbage, 'is not valid JSON'],
    [array, 'must hold a JSON object'],
  ] as const) {
    const result = await runInProcess(['config', 'check', '--config', file]);
    assert.equal(result.code, 1, file);
    assert.deepEqual(lines(result.stderr).slice(1), [`  config file ${file} ${reason}`]);
    assert.ok(!result.stdout.includes(SECRET) && !result.stderr.includes(SECRET));
  }
});

test('config check never shows a store URL password or user, from a flag, the environment or the file', async (t) => {
  const dir = tempDir(t);
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, `{"secret": "${SECRET}-key-file"}`);
  const postgres = `postgres://dbuser:${SECRET}@db.internal/keycard`;
  const redis = `redis://:${SECRET}@cache.internal:6379`;
  const file = join(dir, 'keycard.json');
  // A key file serve would generate (development): the configuration is valid.
  writeFileSync(file, JSON.stringify({ store: postgres, keysFile: join(dir, 'generated.keys.json') }));
  const cases: [string[], NodeJS.ProcessEnv, string][] = [
    [['--store', postgres], {}, 'postgres://***:***@db.internal/keycard'],
    [[], { KEYCARD_STORE: redis }, 'redis://:***@cache.internal:6379'],
    [['--config', file], {}, 'postgres://***:***@db.internal/keycard'],
    [['--store', 'postgres://user:secret@host/db'], {}, 'postgres://***:***@host/db'],
    [['--store', 'redis://:secret@host'], {}, 'redis://:***@host'],
  ];
  for (const [args, env, shown] of cases) {
    for (const json of [false, true]) {
      const result = await runCLI(['config', 'check', ...args, ...(json ? ['--json'] : [])], { env });
      const label = `${args.join(' ')} ${JSON.stringify(env)} json=${json}`;
      assert.equal(result.code, 0, `${label}: ${result.stderr}`);
      const output = result.stdout + result.stderr;
      for (const secret of [SECRET, 'dbuser', ':secret@'])
        assert.ok(!output.includes(secret), `${label}: ${output}`);
      const value = json ? report(result).settings.store?.value : row(result, 'store')[1];
      assert.equal(value, shown, label);
    }
  }
  // An invalid store URL's error is redacted too, and the key file's content is never shown.
  const bad = await runCLI([
    'config',
    'check',
    '--store',
    `mysql://root:${SECRET}@db/keycard`,
    '--keys',
    keys,
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /mysql/);
  assert.ok(!(bad.stdout + bad.stderr).includes(SECRET), bad.stderr);
  assert.deepEqual(row(bad, 'keysFile'), ['keysFile', keys, 'flag: --keys']);
});

test('config check takes exactly the flags serve takes; usage mistakes exit 2 in one line', async () => {
  for (const [args, message] of [
    [['config'], /config: missing <command>: check, schema/],
    [['config', 'verify'], /config: unknown command 'verify'/],
    [['config', 'check', 'extra'], /config check: unexpected argument 'extra'/],
    [['config', 'check', '--nope'], /unknown option '--nope'/],
    [['config', 'check', '--port'], /--port/],
  ] as const) {
    const result = await runInProcess([...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(lines(result.stderr).length, 1);
    assert.match(result.stderr, message);
  }
  // Every serve flag, the on/off and repeatable ones included.
  const result = await runInProcess([
    'config',
    'check',
    '--log-requests',
    '--trusted-origin',
    'https://a.example.com',
    '--trusted-origin',
    'https://b.example.com,https://c.example.com',
    '--metrics-port',
    '9464',
    '--admin-username',
    'root-admin',
    '--admin-password-file',
    '-',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(row(result, 'logRequests'), ['logRequests', 'true', 'flag: --log-requests']);
  assert.deepEqual(
    row(result, 'trustedOrigins')[1],
    'https://a.example.com,https://b.example.com,https://c.example.com',
  );
  assert.deepEqual(row(result, 'metricsPort')[1], '9464');
});

test('config schema prints the published config.schema.json', async () => {
  const result = await runInProcess(['config', 'schema']);
  assert.equal(result.code, 0);
  assert.deepEqual(JSON.parse(result.stdout), JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
});

test('config check checks the key file as serve does at start, printing none of it and writing nothing', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.keys.json');
  const production = await runInProcess([
    'config',
    'check',
    '--env',
    'production',
    '--keys',
    missing,
    '--json',
  ]);
  assert.equal(production.code, 1, production.stdout);
  const refused = report(production);
  assert.equal(refused.valid, false);
  assert.match(refused.errors.join('\n'), /does not exist; in production keys are never generated/);

  // Development: serve would generate it, so the configuration is valid, and nothing is written.
  const development = await runInProcess(['config', 'check', '--keys', missing]);
  assert.equal(development.code, 0, development.stderr);
  assert.match(development.stdout, /keycard serve generates them at its first start/);
  assert.throws(() => readFileSync(missing), /ENOENT/, 'config check wrote no key file');

  // A real key file, made by keycard keys generate: valid in production, and no secret of it printed.
  const file = join(dir, 'keycard.keys.json');
  const generated = await runInProcess(['keys', 'generate', '--out', file]);
  assert.equal(generated.code, 0, generated.stderr);
  const secret = (JSON.parse(readFileSync(file, 'utf8')) as { secrets: { secret: string }[] }).secrets[0]
    ?.secret;
  assert.ok(secret);
  const valid = await runInProcess([
    'config',
    'check',
    '--env',
    'production',
    '--keys',
    file,
    '--preset',
    'api',
  ]);
  assert.equal(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, new RegExp(`key file: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is valid`));
  assert.ok(!valid.stdout.includes(secret) && !valid.stderr.includes(secret), 'no secret printed');
});

test('config check: the mail settings go together, are checked as serve uses them, and never show the SMTP password', async () => {
  const smtp = `smtp://mailer:${SECRET}@mail.internal:587`;
  const ok = await runCLI([
    'config',
    'check',
    '--smtp',
    smtp,
    '--mail-from',
    'no-reply@example.com',
    '--public-url',
    'https://auth.example.com',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(!(ok.stdout + ok.stderr).includes(SECRET), ok.stdout);
  assert.deepEqual(row(ok, 'smtp').slice(0, 2), ['smtp', 'smtp://***:***@mail.internal:587']);
  const cases: [string[], RegExp][] = [
    [['--smtp', smtp], /--smtp needs KEYCARD_MAIL_FROM and KEYCARD_PUBLIC_URL too/],
    [['--mail-from', 'a@example.com'], /--mail-from is set but KEYCARD_SMTP is not/],
    [
      ['--smtp', `http://u:${SECRET}@x`, '--mail-from', 'a@example.com', '--public-url', 'https://a.example'],
      /--smtp: the SMTP URL .* must start with smtp:\/\/ or smtps:\/\//,
    ],
    [
      ['--smtp', smtp, '--mail-from', 'a@example.com', '--public-url', 'http://auth.example.com'],
      /--public-url: expected the https URL/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCLI(['config', 'check', ...args]);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, message);
    assert.ok(!(result.stdout + result.stderr).includes(SECRET), result.stderr);
  }
});
