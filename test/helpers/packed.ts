/**
 * keycard as a user gets it: the checkout packed with `npm pack` (which runs `prepare`, the build) and the
 * tarball installed into a new, empty app with `npm install`, exactly as `npm i keycard` would — with
 * nothing from this repository's node_modules. The tests that use it run the installed CLI, server and
 * library from the app's own directory.
 *
 * Packing and installing take minutes (the build, and better-sqlite3 compiled from source), so both are
 * done once per tree and shared by every test file and every process of a run: the results live under
 * the system's temp directory, keyed by a hash of the packed sources, behind a directory lock (mkdir is
 * atomic). Apps are copies of an installed base (hard links, so a copy is cheap); a test that needs
 * other versions (Express 4) installs them over its copy.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CommandResult, runCommand } from './command.js';

export type { CommandResult };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = join(tmpdir(), 'keycard-packed');

/** Every file `npm pack` would take from the checkout that can change the package. */
function packedSources(): string[] {
  const files: string[] = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  for (const dir of ['src', 'bin', 'docs', 'scripts']) if (existsSync(join(ROOT, dir))) walk(dir);
  return files.sort();
}

/** A hash of what goes into the package, so a change to the sources makes a new tarball. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of packedSources()) {
    hash.update(file);
    hash.update(readFileSync(join(ROOT, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** True when the process that took `lock` has exited (its pid no longer exists). */
function lockHolderGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false; // just taken: the pid is being written
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

/**
 * Runs `make` once for `dir` across processes: the first caller creates `dir` under a lock and marks it
 * ready; the others wait for the mark. A failed attempt leaves no mark, and its error is re-thrown.
 */
async function once(dir: string, make: (dir: string) => Promise<void>, timeoutMs: number): Promise<string> {
  const ready = join(dir, '.ready');
  const lock = `${dir}.lock`;
  mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(ready)) return dir;
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
    } catch {
      // Someone else is making it — unless its process is gone (a killed run), or the lock is older than
      // the timeout: then the lock is broken and the work done again.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > timeoutMs || lockHolderGone(lock)) {
        rmSync(lock, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${relative(CACHE, dir)} to be prepared by another process`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      if (!existsSync(ready)) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        await make(dir);
        writeFileSync(ready, new Date().toISOString());
      }
      return dir;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function failure(what: string, result: CommandResult): Error {
  return new Error(
    `${what} failed (exit ${result.code}):\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
  );
}

/**
 * A new tarball makes the packs and apps of older sources garbage: those not touched for an hour (so no
 * concurrent run of other sources is still using them) are removed, keeping the cache bounded.
 */
function pruneCache(keep: string): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name);
    if (path === keep || name.endsWith('.lock') || existsSync(`${path}.lock`)) continue;
    const modified = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (modified < hourAgo) rmSync(path, { recursive: true, force: true });
  }
}

/** The tarball `npm pack` makes of this checkout (built by its `prepare` script). */
export async function packedTarball(): Promise<string> {
  const dir = await once(
    join(CACHE, `pack-${sourcesHash()}`),
    async (out) => {
      const result = await runCommand('npm', ['pack', '--silent', '--pack-destination', out], {
        cwd: ROOT,
        timeoutMs: 600_000,
      });
      if (result.code !== 0) throw failure('npm pack', result);
      pruneCache(out);
    },
    900_000,
  );
  const [tarball] = readdirSync(dir).filter((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
  return join(dir, tarball);
}

/** An app directory with keycard installed from the tarball, plus `dependencies` (npm specs). */
export interface PackedApp {
  dir: string;
  /** Runs a command in the app (`npx keycard …`, `node app.js`), with the app's own PATH entries first. */
  run(
    command: string,
    args: string[],
    options?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CommandResult>;
  /**
   * Starts a long-running command in the app (`npx keycard serve`) in its own process group, so that
   * `stop` ends it and whatever it started (npx's child); its output is collected in `output()`.
   */
  start(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv }): StartedCommand;
  /** Installs more packages into this copy only (e.g. `express@4` over the base's Express 5). */
  install(specs: string[]): Promise<void>;
  /** Removes the copy. */
  remove(): void;
}

export interface StartedCommand {
  child: ChildProcess;
  /** What it wrote so far. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM to its process group; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Spawns `command` as the leader of a new process group, collecting its output. */
function startCommand(command: string, args: string[], options: SpawnOptions): StartedCommand {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    child,
    output: () => ({ stdout, stderr }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      return exited;
    },
  };
}

/** npm install in `dir`, as a user would (scripts run: native modules build). */
async function npmInstall(dir: string, specs: string[]): Promise<void> {
  const result = await runCommand(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs],
    { cwd: dir, timeoutMs: 900_000 },
  );
  if (result.code !== 0) throw failure(`npm install ${specs.join(' ')}`, result);
}

/** The files npm rewrites in place (not by replacing them), which a hard-linked copy must not share. */
const REWRITTEN_IN_PLACE = ['package.json', 'package-lock.json', 'node_modules/.package-lock.json'];

/**
 * Copies an installed app: hard links where the file system allows (GNU cp -al), else a plain copy. The
 * files npm writes in place get their own copies, so that `npm install` in the copy leaves `from` as it was.
 */
function copyApp(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  const linked = spawnSync('cp', ['-al', `${from}/.`, to]);
  if (linked.status !== 0) cpSync(from, to, { recursive: true });
  for (const file of REWRITTEN_IN_PLACE) {
    const path = join(to, file);
    if (!existsSync(path)) continue;
    const contents = readFileSync(path);
    rmSync(path);
    writeFileSync(path, contents);
  }
  rmSync(join(to, '.ready'), { force: true });
}

/** The app with keycard alone installed from the tarball, made once per tarball. */
async function baseApp(tarball: string): Promise<string> {
  const key = createHash('sha256').update(tarball).update('[]').digest('hex').slice(0, 16);
  return once(
    join(CACHE, `app-${key}`),
    async (dir) => {
      writeFileSync(
        join(dir, 'package.json'),
        `${JSON.stringify({ name: 'keycard-user-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
      );
      await npmInstall(dir, [tarball]);
    },
    1_800_000,
  );
}

/**
 * A fresh copy of an app with keycard (from the tarball) and `dependencies` installed. The install is made
 * once per tarball and dependency list — the dependencies installed over a copy of the keycard-only app,
 * so that better-sqlite3 is compiled once — and each call copies it (hard links) into a new directory.
 */
export async function packedApp(dependencies: string[] = []): Promise<PackedApp> {
  const tarball = await packedTarball();
  let base = await baseApp(tarball);
  if (dependencies.length > 0) {
    const key = createHash('sha256')
      .update(tarball)
      .update(JSON.stringify([...dependencies].sort()))
      .digest('hex')
      .slice(0, 16);
    const keycardOnly = base;
    base = await once(
      join(CACHE, `app-${key}`),
      async (dir) => {
        copyApp(keycardOnly, dir);
        await npmInstall(dir, dependencies);
      },
      1_800_000,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'keycard-app-'));
  copyApp(base, dir);
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      // The app must not see the repository's test settings, nor tsx or the source condition.
      if (/^(KEYCARD_|NODE_OPTIONS$|NODE_TEST|npm_)/.test(name)) continue;
      clean[name] = value;
    }
    return { ...clean, PATH: `${join(dir, 'node_modules/.bin')}:${process.env.PATH}`, ...extra };
  };
  return {
    dir,
    run: (command, args, options = {}) =>
      runCommand(command, args, {
        cwd: dir,
        env: env(options.env),
        input: options.input,
        timeoutMs: options.timeoutMs,
      }),
    start: (command, args, options = {}) => startCommand(command, args, { cwd: dir, env: env(options.env) }),
    install: (specs) => npmInstall(dir, specs),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
