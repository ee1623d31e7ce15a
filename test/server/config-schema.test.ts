/**
 * The published JSON Schema of the config file (config.schema.json) says what the loader accepts: ajv,
 * independent of TypeBox, validates a corpus of config files with it, and its verdict must be the
 * loader's for each. Where the loader is stricter, it is one of the rules JSON Schema cannot say (listed
 * below), and the case says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { SCHEMA_FILE, schemaText } from '../../scripts/config-schema.js';
import { checkServerConfig, loadServerConfig, SERVER_SETTINGS } from '../../src/server/index.js';

const published = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(published);

const dir = mkdtempSync(join(tmpdir(), 'keycard-config-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function writeConfig(json: unknown): string {
  const file = join(dir, `config-${files++}.json`);
  writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

/** The loader's verdict on a config file holding `text`, with no environment and no flags. */
function loaderAccepts(text: string): { ok: boolean; errors: string[] } {
  const { config, errors } = checkServerConfig({ env: {}, flags: {}, file: writeConfig(text) });
  return { ok: config !== null, errors };
}

function ajvAccepts(text: string): boolean {
  return validate(JSON.parse(text)) === true;
}

test('config.schema.json is the one generated from the settings table (run scripts/config-schema.ts)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
});

test('the schema is JSON Schema 2020-12 that ajv compiles in strict mode, naming every setting', () => {
  assert.equal(published.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(published.additionalProperties, false);
  assert.deepEqual(
    Object.keys(published.properties as object).sort(),
    ['$schema', ...Object.keys(SERVER_SETTINGS)].sort(),
  );
});

const GOOD: Record<string, unknown>[] = [
  {},
  { $schema: './node_modules/keycard/config.schema.json' },
  { port: 0, host: '0.0.0.0', store: 'memory:', preset: 'api', strategy: 'hybrid', transport: 'header' },
  { port: 65_535, keyAlgorithm: 'ES256', environment: 'production', keysFile: '/run/secrets/keys.json' },
  { trustProxy: true },
  { trustProxy: false },
  { trustProxy: ['10.0.0.0/8', '::1', 'loopback'] },
  { trustedOrigins: ['https://app.example.com'] },
  { bodyLimitBytes: 1024, maxHeaderBytes: 1_048_576, logLevel: 'silent', logRequests: true },
  { metricsPort: 9464, metricsHost: '127.0.0.1', shutdownTimeout: 0 },
  { shutdownTimeout: 600, issuer: 'https://auth.example.com', audience: 'api' },
  { adminUsername: 'root-admin', adminPasswordFile: '/run/secrets/admin' },
  // Any NODE_ENV other than production is development (NODE_ENV=test is common).
  { environment: 'test' },
];

const BAD: Record<string, unknown>[] = [
  { stroe: 'memory:' },
  { Port: 3000 },
  { $schema: 42 },
  { port: -1 },
  { port: 65_536 },
  { port: 3000.5 },
  // The file holds JSON: a number is a number, a list a list (flags and variables are text).
  { port: '3000' },
  { logRequests: 'true' },
  { trustProxy: '10.0.0.0/8' },
  { trustedOrigins: 'https://app.example.com' },
  { trustedOrigins: [] },
  { trustedOrigins: [''] },
  { trustProxy: [] },
  { host: '' },
  { store: 42 },
  { preset: 'webapp' },
  { strategy: 'sessions' },
  { transport: 'query' },
  { keyAlgorithm: 'none' },
  { keyAlgorithm: 'HS512' },
  { logLevel: 'verbose' },
  { bodyLimitBytes: 1023 },
  { maxHeaderBytes: 4095 },
  { shutdownTimeout: 601 },
  { metricsPort: 70_000 },
  { issuer: null },
  { environment: '' },
];

/** Valid to the schema, refused by the code next to it: the rules JSON Schema cannot say. */
const CODE_RULES: [string, Record<string, unknown>, RegExp][] = [
  [
    'a proxy that is not an address or range',
    { trustProxy: ['10.0.0.0/33'] },
    /trustProxy in .*: expected true, false, or the proxies’ addresses/,
  ],
  ['a store URL that does not parse', { store: 'mysql://db/keycard' }, /mysql/],
  ['the admin without a password file', { adminUsername: 'root-admin' }, /needs the password too/],
  [
    'a password file without the admin',
    { adminPasswordFile: '/run/secrets/admin' },
    /is set but KEYCARD_ADMIN_USERNAME is not/,
  ],
  [
    'an admin name keycard refuses',
    { adminUsername: 'bad name!', adminPasswordFile: '-' },
    /^adminUsername in /,
  ],
  ['metrics on the public port', { port: 8080, metricsPort: 8080 }, /must differ from the public port/],
];

test('ajv and the loader agree on every file of the corpus', () => {
  for (const [cases, verdict] of [
    [GOOD, true],
    [BAD, false],
  ] as const) {
    for (const json of cases) {
      const text = JSON.stringify(json);
      assert.equal(ajvAccepts(text), verdict, `ajv on ${text}: ${ajv.errorsText(validate.errors)}`);
      const loaded = loaderAccepts(text);
      assert.equal(loaded.ok, verdict, `loader on ${text}: ${loaded.errors.join('; ')}`);
    }
  }
});

test('what only code checks passes the schema and fails the loader, each with its own message', () => {
  for (const [label, json, message] of CODE_RULES) {
    const text = JSON.stringify(json);
    assert.equal(ajvAccepts(text), true, `${label}: the schema accepts it`);
    const loaded = loaderAccepts(text);
    assert.equal(loaded.ok, false, `${label}: the loader refuses it`);
    assert.match(loaded.errors.join('\n'), message, label);
  }
});

test('every error in a file is reported, each naming its setting and the file', () => {
  const text = JSON.stringify({ port: 'x', preset: 'nope', stroe: 1, logRequests: 2 });
  const { ok, errors } = loaderAccepts(text);
  assert.equal(ok, false);
  assert.equal(errors.length, 4, errors.join('\n'));
  assert.match(errors.join('\n'), /unknown setting 'stroe'/);
  assert.match(errors.join('\n'), /port in .*config-\d+\.json: expected a whole number from 0 to 65535/);
  assert.match(errors.join('\n'), /preset in .*: expected one of web-app, .* \(got 'nope'\)/);
  assert.match(errors.join('\n'), /logRequests in .*: expected true or false/);
});

test('loadServerConfig (what serve and every command use) throws every error, on one line', () => {
  assert.throws(() => loadServerConfig({ env: { PORT: '-1' }, flags: { 'log-level': 'loud' } }), {
    code: 'invalid_configuration',
    message:
      "PORT: expected a whole number from 0 to 65535; --log-level: expected one of fatal, error, warn, info, debug, trace, silent (got 'loud')",
  });
});

// Values that keep clear of the code-only rules above, so that the schema alone decides.
const junk = fc.oneof(
  fc.integer({ min: -100_000, max: 2_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(''),
  fc.constant([]),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const anyText = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
);
const VALUES: Partial<Record<string, fc.Arbitrary<unknown>>> = {
  port: fc.oneof(fc.constantFrom(0, 3000, 8080), fc.integer({ min: 65_536, max: 1e9 }), fc.string()),
  metricsPort: fc.oneof(fc.constantFrom(0, 9464), fc.integer({ min: -5, max: -1 })),
  store: fc.constantFrom('memory:', 'sqlite:./keycard.db'),
  trustProxy: fc.oneof(fc.boolean(), fc.constantFrom(['10.0.0.0/8'], ['::1', 'loopback'])),
  preset: fc.oneof(fc.constantFrom('web-app', 'api', 'spa'), fc.string()),
  logLevel: fc.oneof(fc.constantFrom('info', 'debug'), fc.string()),
  bodyLimitBytes: fc.integer({ min: 0, max: 2_000_000 }),
  shutdownTimeout: fc.integer({ min: -10, max: 700 }),
  host: anyText,
  issuer: anyText,
  trustedOrigins: fc.oneof(fc.constant(['https://app.example.com']), anyText),
  logRequests: fc.oneof(fc.boolean(), fc.constantFrom('true', 1, 0)),
  environment: fc.oneof(fc.constantFrom('production', 'development'), fc.string({ maxLength: 5 })),
};
const UNKNOWN = ['stroe', 'Port', '__proto__', 'constructor', 'toString', 'firstAdmin', ''];

test('property: for random files, ajv and the loader give the same verdict', () => {
  const verdicts = new Set<boolean>();
  const entry = fc.oneof(
    fc
      .constantFrom(...Object.keys(VALUES))
      .chain((key) =>
        fc.tuple(
          fc.constant(key),
          fc.oneof(
            VALUES[key] as fc.Arbitrary<unknown>,
            key === 'store' || key === 'trustProxy' || key === 'metricsPort' || key === 'port'
              ? fc.constantFrom(null, 7, '', [])
              : junk,
          ),
        ),
      ),
    fc.tuple(fc.constantFrom(...UNKNOWN), junk),
  );
  fc.assert(
    fc.property(fc.uniqueArray(entry, { selector: ([key]) => key, maxLength: 6 }), (entries) => {
      // Written by hand, so that '__proto__' is a key of the file like any other.
      const text = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
      const loaded = loaderAccepts(text);
      assert.equal(ajvAccepts(text), loaded.ok, `${text}: ${loaded.errors.join('; ')}`);
      verdicts.add(loaded.ok);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual([...verdicts].sort(), [false, true], 'the runs met both valid and invalid files');
});

test("docs/configuration.md's example file is one both the schema and the loader accept", () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const example = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'the page has a JSON example');
  assert.equal(ajvAccepts(example), true, ajv.errorsText(validate.errors));
  const loaded = loaderAccepts(example);
  assert.equal(loaded.ok, true, loaded.errors.join('; '));
});

test('the schema is in the npm package and resolves as keycard/config.schema.json', () => {
  assert.equal(fileURLToPath(import.meta.resolve('keycard/config.schema.json')), SCHEMA_FILE);
  // What `npm pack` would put in the tarball, without building it.
  const packed = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [{ files }] = JSON.parse(packed) as [{ files: { path: string }[] }];
  assert.ok(
    files.some((file) => file.path === 'config.schema.json'),
    'config.schema.json is in the tarball',
  );
});

/** A valid value of a setting, as the file holds it, from its schema: integers, booleans and choices. */
function validValue(schema: {
  type?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: { const?: string }[];
}): fc.Arbitrary<unknown> | null {
  if (schema.type === 'integer') return fc.integer({ min: schema.minimum, max: schema.maximum });
  if (schema.type === 'boolean') return fc.boolean();
  if (schema.anyOf?.every((choice) => typeof choice.const === 'string'))
    return fc.constantFrom(...schema.anyOf.map((choice) => choice.const));
  return null;
}

test('property: a value given as text (flag or variable) is the value the file gives as JSON', () => {
  const typed = Object.entries(SERVER_SETTINGS).flatMap(([key, spec]) => {
    const value = validValue(spec.schema as Parameters<typeof validValue>[0]);
    // metricsPort would meet port's default (3000) now and then: that rule is the loader's, not text's.
    return value && key !== 'metricsPort' ? [fc.tuple(fc.constant(key), value)] : [];
  });
  assert.ok(typed.length >= 8, 'most settings are integers, booleans or choices');
  const lists = fc.constantFrom(
    ['trustProxy', ['10.0.0.0/8', '::1']],
    ['trustProxy', true],
    ['trustedOrigins', ['https://a.example.com', 'http://localhost:5173']],
  );
  fc.assert(
    fc.property(fc.oneof(...typed, lists), ([key, value]) => {
      const spec = SERVER_SETTINGS[key as keyof typeof SERVER_SETTINGS];
      const text = Array.isArray(value) ? value.join(', ') : String(value);
      const fromFile = checkServerConfig({ env: {}, file: writeConfig({ [key]: value }) });
      const fromEnv = checkServerConfig({ env: { [spec.env]: text } });
      const fromFlag = checkServerConfig({ env: {}, flags: { [spec.flag]: text } });
      assert.deepEqual(fromFile.errors, []);
      for (const other of [fromEnv, fromFlag]) {
        assert.deepEqual(other.errors, [], `${key} as '${text}'`);
        assert.deepEqual(
          other.settings[key as keyof typeof SERVER_SETTINGS].value,
          value,
          `${key} as '${text}'`,
        );
        assert.deepEqual(other.config, fromFile.config);
      }
    }),
    { numRuns: 300 },
  );
});
