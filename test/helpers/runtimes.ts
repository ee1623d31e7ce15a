/**
 * The other JavaScript runtimes keycard runs on, Bun and Deno, as the tests start them: the binaries the
 * `bun` and `deno` devDependencies install into node_modules/.bin, the flags each needs, and the built
 * CLI (dist/) they run. Locally a runtime that cannot start skips its tests with the reason; under
 * CI=true it is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_CI } from './services.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type RuntimeName = 'bun' | 'deno';
export const RUNTIMES: readonly RuntimeName[] = ['bun', 'deno'];

/**
 * What Deno needs to run `keycard serve`: files (the database, the key file), the network, the
 * environment (KEYCARD_*), the host name (the logger) and FFI (argon2 and any other N-API addon).
 */
export const DENO_SERVE_PERMISSIONS = [
  '--allow-read',
  '--allow-write',
  '--allow-net',
  '--allow-env',
  '--allow-sys',
  '--allow-ffi',
];

export function runtimeBinary(name: RuntimeName): string {
  return join(ROOT, 'node_modules', '.bin', name);
}

/** The runtime's version line, or a skip reason (thrown under CI) when it does not start. */
export function runtimeSkipReason(name: RuntimeName): string | undefined {
  const binary = runtimeBinary(name);
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? `exit ${probe.status}: ${probe.stderr.trim().slice(0, 300)}`;
  const reason = `${name} does not start (${binary}: ${why}); npm ci installs it (devDependency ${name})`;
  if (IN_CI) throw new Error(`CI=true: ${reason}`);
  return reason;
}

/** The environment for a child runtime: without this machine's keycard settings or Node's test wiring. */
export function childEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(KEYCARD_|NODE_ENV$|PORT$|HOST$|NODE_OPTIONS$|NODE_TEST)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

function newestModification(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    newest = Math.max(newest, stat.isDirectory() ? newestModification(path) : stat.mtimeMs);
  }
  return newest;
}

/**
 * The built CLI, bin/keycard.js over dist/, as users run it. `npm ci` builds dist (the `prepare`
 * script); when src/ has changed since (a local edit), it is built again here first.
 */
export function builtCLI(): string {
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  const built = existsSync(main) ? statSync(main).mtimeMs : 0;
  if (built < newestModification(join(ROOT, 'src'))) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) {
      throw new Error(`npm run build failed:\n${build.stdout.slice(-3000)}\n${build.stderr.slice(-3000)}`);
    }
  }
  return join(ROOT, 'bin', 'keycard.js');
}
