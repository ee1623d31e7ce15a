/**
 * What `npm i keycard` installs is decided in package.json (docs/dependencies.md says why): the server's
 * framework as a dependency, the default store's driver as an optional one, the other stores' drivers
 * and the frameworks an app brings as optional peers. These checks keep those decisions, and keep
 * package-lock.json in step with them, so `npm ci` from a fresh clone installs what package.json says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

const read = (path: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));
const manifest = read('package.json') as Manifest;
const lock = read('package-lock.json') as { packages: Record<string, Manifest & { version?: string }> };

test('keycard serve and the default store come with the package; the other drivers are optional peers', () => {
  assert.match(manifest.dependencies?.fastify ?? '', /^\^5\./, 'fastify 5 for keycard serve');
  // guards: better-sqlite3 13 needs Node 22 and crashes on Node 20, which keycard supports.
  assert.match(manifest.optionalDependencies?.['better-sqlite3'] ?? '', /^\^12\.\d+\.\d+$/);
  // guards: argon2 pinned exactly, for a release with prebuilt binaries for this platform.
  assert.match(manifest.dependencies?.argon2 ?? '', /^\d+\.\d+\.\d+$/);
  for (const driver of ['ioredis', 'pg', 'mongodb', 'express']) {
    assert.ok(manifest.peerDependencies?.[driver], `${driver} is a peer`);
    assert.equal(manifest.peerDependenciesMeta?.[driver]?.optional, true, `${driver} is optional`);
    assert.equal(manifest.dependencies?.[driver], undefined, `${driver} is not installed for everyone`);
  }
  for (const name of ['fastify', 'better-sqlite3']) {
    assert.equal(manifest.peerDependencies?.[name], undefined, `${name} is installed, not a peer`);
    assert.equal(manifest.devDependencies?.[name], undefined, `${name} is listed once`);
  }
});

test('package-lock.json is in step with package.json', () => {
  const root = lock.packages[''];
  assert.ok(root);
  for (const field of [
    'dependencies',
    'optionalDependencies',
    'peerDependencies',
    'devDependencies',
  ] as const) {
    assert.deepEqual(root[field] ?? {}, manifest[field] ?? {}, field);
  }
  // What the lock resolved satisfies the ranges that matter.
  assert.match(lock.packages['node_modules/better-sqlite3']?.version ?? '', /^12\./);
  assert.equal(lock.packages['node_modules/argon2']?.version, manifest.dependencies?.argon2);
  assert.match(lock.packages['node_modules/fastify']?.version ?? '', /^5\./);
});
