/** keycard migrate: PostgreSQL migrations applied once and reported; SQLite's version printed; failures in one line. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { LATEST_VERSION, MIGRATIONS } from '../../src/stores/postgres/index.js';
import { LATEST_VERSION as SQLITE_VERSION } from '../../src/stores/sqlite/migrations.js';
import { postgresSkipReason, postgresURL } from '../helpers/postgres-schemas.js';
import { POSTGRES_URL, uniqueName } from '../helpers/services.js';
import { assertOneLineFailure, assertSuccess, lines, runCLI, tempDir } from './helpers.js';

test('keycard migrate --help explains the command; keycard --help lists it', async () => {
  const [own, top] = await Promise.all([runCLI(['migrate', '--help']), runCLI(['--help'])]);
  assertSuccess(own);
  assert.match(own.stdout, /^Usage: keycard migrate/);
  assert.match(own.stdout, /--store URL/);
  assertSuccess(top);
  assert.match(top.stdout, /\n {2}migrate {2,}/);
});

test('usage mistakes exit 2 with one line', async (t) => {
  const dir = tempDir(t);
  const [extra, bogus] = await Promise.all([
    runCLI(['migrate', 'now'], { cwd: dir }),
    runCLI(['migrate', '--bogus'], { cwd: dir }),
  ]);
  assert.match(assertOneLineFailure(extra, 2), /migrate: unexpected argument 'now'/);
  assert.match(assertOneLineFailure(bogus, 2), /unknown option '--bogus'/);
  assert.equal(existsSync(join(dir, 'keycard.db')), false, 'a usage mistake opens no store');
});

test('a SQLite file is migrated as it opens; the command prints its version', async (t) => {
  const dir = tempDir(t);
  const store = ['--store', `sqlite:${join(dir, 'keycard.db')}`];
  const first = await runCLI(['migrate', ...store], { cwd: dir });
  assertSuccess(first);
  assert.deepEqual(lines(first.stdout), [
    ...Array.from({ length: SQLITE_VERSION }, (_, i) => `applied migration ${i + 1}`),
    `sqlite database ${join(dir, 'keycard.db')} is now at version ${SQLITE_VERSION}`,
  ]);
  const again = await runCLI(['migrate', ...store], { cwd: dir });
  assertSuccess(again);
  assert.deepEqual(lines(again.stdout), [
    `sqlite database ${join(dir, 'keycard.db')} is already at version ${SQLITE_VERSION}`,
  ]);
});

test('a store with no schema has nothing to migrate', async () => {
  const result = await runCLI(['migrate', '--store', 'memory:']);
  assertSuccess(result);
  assert.equal(result.stdout, 'memory store: nothing to migrate\n');
});

test('an unreachable PostgreSQL fails in one line that does not show the password', async () => {
  const result = await runCLI(['migrate', '--store', 'postgres://keycard:hunter2@127.0.0.1:1/app']);
  const line = assertOneLineFailure(result, 1);
  assert.match(line, /the postgres store cannot be reached/);
  assert.doesNotMatch(line, /hunter2/);
});

const skip = await postgresSkipReason();

describe('keycard migrate on PostgreSQL', { skip }, () => {
  const admin = skip ? undefined : new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  const schemas: string[] = [];
  const storeFlag = () => {
    const schema = uniqueName('kc_cli');
    schemas.push(schema);
    return { schema, flag: ['--store', postgresURL({ schema })] };
  };
  after(async () => {
    for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  test('applies each migration once and says which; a second run applies nothing', async () => {
    const { schema, flag } = storeFlag();
    const first = await runCLI(['migrate', ...flag]);
    assertSuccess(first);
    assert.deepEqual(lines(first.stdout), [
      ...MIGRATIONS.map((migration) => `applied migration ${migration.version}: ${migration.description}`),
      `postgres schema ${schema} is now at version ${LATEST_VERSION}`,
    ]);
    const again = await runCLI(['migrate', ...flag]);
    assertSuccess(again);
    assert.deepEqual(lines(again.stdout), [
      `postgres schema ${schema} is already at version ${LATEST_VERSION}`,
    ]);
    const recorded = await admin?.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    assert.deepEqual(
      recorded?.rows.map((row) => row.version),
      MIGRATIONS.map((migration) => migration.version),
    );
  });

  test('runs from two machines at once apply each migration exactly once', async () => {
    const { schema, flag } = storeFlag();
    const results = await Promise.all([runCLI(['migrate', ...flag]), runCLI(['migrate', ...flag])]);
    for (const result of results) assertSuccess(result);
    const applied = results.flatMap((result) =>
      lines(result.stdout).filter((line) => line.startsWith('applied')),
    );
    assert.equal(applied.length, LATEST_VERSION, applied.join('\n'));
    const recorded = await admin?.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
    assert.equal(recorded?.rows[0].n, LATEST_VERSION);
  });

  test('a schema written by a newer keycard is refused in one line', async () => {
    const { schema, flag } = storeFlag();
    assertSuccess(await runCLI(['migrate', ...flag]));
    await admin?.query(
      `INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, 'future')`,
      [LATEST_VERSION + 1],
    );
    const line = assertOneLineFailure(await runCLI(['migrate', ...flag]), 1);
    assert.match(
      line,
      new RegExp(`schema ${schema} is at version ${LATEST_VERSION + 1}, newer than this keycard`),
    );
  });
});
