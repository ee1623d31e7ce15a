/**
 * Runs the real `keycard` CLI as a child process, from source (src/cli/run.ts under tsx with the `source`
 * export condition), so the tests never depend on a build in dist/.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createKeycard, type Keycard, type Store } from 'keycard';
import { SQLiteStore } from 'keycard/stores/sqlite';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'src/cli/run.ts');
/** An absolute URL, so the child finds tsx whatever its working directory. */
const TSX = import.meta.resolve('tsx');

export interface CLIResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed; stdin is always a pipe, never a TTY. */
  stdin?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** The environment without any keycard setting of the machine running the tests. */
function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(KEYCARD_|NODE_ENV$|PORT$|HOST$|NODE_OPTIONS$|NODE_TEST)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Starts the CLI; the caller owns the process (see `runCLI` to wait for it). */
export function spawnCLI(args: string[], options: RunOptions = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', ENTRY, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnvironment(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A command that exits without reading stdin closes the pipe; that is not the test's failure.
  child.stdin?.on('error', () => {});
  child.stdin?.end(options.stdin ?? '');
  return child;
}

/** Runs the CLI to completion. */
export function runCLI(args: string[], options: RunOptions = {}): Promise<CLIResult> {
  const child = spawnCLI(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The lines of a stream's output, without the final newline. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/**
 * A failure the CLI reports the way it promises: the exit code, nothing on stdout, and exactly one line
 * on stderr — no stack trace — which is returned for further checks.
 */
export function assertOneLineFailure(result: CLIResult, code: number | number[]): string {
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(
    codes.includes(result.code as number),
    `exit code ${result.code}, expected ${codes.join(' or ')}; stderr: ${result.stderr}`,
  );
  assert.equal(result.stdout, '', 'nothing on stdout');
  const errorLines = lines(result.stderr);
  assert.equal(errorLines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.ok(result.stderr.endsWith('\n'));
  const [line] = errorLines as [string];
  assert.match(line, /^keycard\b/);
  assert.doesNotMatch(line, /\bat .+:\d+:\d+|Error:/, 'no stack trace or error class name');
  return line;
}

/** A successful run: exit 0 and nothing on stderr. */
export function assertSuccess(result: CLIResult): void {
  assert.equal(result.code, 0, `exit code ${result.code}; stderr: ${result.stderr}`);
  assert.equal(result.stderr, '');
}

/** A temp directory removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Workspace {
  dir: string;
  /** The SQLite file every command of this test uses. */
  dbPath: string;
  /** `--store sqlite:<dir>/keycard.db` */
  storeFlag: string[];
  /** Runs the CLI with `--store` pointing at this workspace's file. */
  run(args: string[], options?: RunOptions): Promise<CLIResult>;
  /** The same file opened in this process, for setting up and checking state. */
  open(): { keycard: Keycard; store: Store };
}

export function workspace(t: TestContext): Workspace {
  const dir = tempDir(t);
  const dbPath = join(dir, 'keycard.db');
  const storeFlag = ['--store', `sqlite:${dbPath}`];
  let opened: { keycard: Keycard; store: Store } | undefined;
  t.after(async () => {
    await opened?.store.close();
  });
  return {
    dir,
    dbPath,
    storeFlag,
    run: (args, options) => runCLI([...args, ...storeFlag], { cwd: dir, ...options }),
    open() {
      if (!opened) {
        const store = new SQLiteStore({ path: dbPath });
        opened = { keycard: createKeycard({ store }), store };
      }
      return opened;
    },
  };
}
