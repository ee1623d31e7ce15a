/**
 * Runs the real `keycard` CLI as a child process, from source (src/cli/run.ts under tsx with the `source`
 * export condition), so the tests never depend on a build in dist/.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AuthEvent, createKeycard, type Keycard, type Store } from 'keycard';
import { SQLiteStore } from 'keycard/stores/sqlite';
import { run } from '../../src/cli/main.js';

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
  /** Kill the process after this long (default: never): a command that should fail but serves. */
  timeoutMs?: number;
  /** Run as this user and group (a root test runner checking what a non-writable directory does). */
  uid?: number;
  gid?: number;
}

/** The environment without any keycard setting of the machine running the tests. */
/** The test process's environment without keycard's settings, for a CLI that reads only what it is given. */
export function cleanEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
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
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  // A command that exits without reading stdin closes the pipe; that is not the test's failure.
  child.stdin?.on('error', () => {});
  child.stdin?.end(options.stdin ?? '');
  return child;
}

/**
 * Runs the CLI in this process (`run` from src/cli/main.ts) with its streams captured: for the many
 * usage cases that touch no store, at a fraction of a process's cost. What only a real process shows
 * (uncaught errors, a driver writing to the console) is checked with `runCLI`.
 */
export async function runInProcess(args: string[], options: RunOptions = {}): Promise<CLIResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new PassThrough().on('data', (chunk: Buffer) => append(chunk.toString('utf8')));
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await run(args, {
    stdin,
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
    env: options.env ?? {},
  });
  // Let the streams deliver what was written.
  await new Promise((resolve) => setImmediate(resolve));
  return { code, signal: null, stdout, stderr };
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
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
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

/** A line of a JavaScript stack trace, as Node prints one. */
const STACK_LINE = /^\s+at /m;

export interface CleanFailureOptions {
  /** Strings that must appear nowhere in the output (passwords, URL passwords, key material). */
  secrets?: readonly string[];
  /** keycard serve may have logged (JSON lines on stdout) before it failed; other commands print nothing. */
  logsOnStdout?: boolean;
}

/**
 * A failure as the CLI promises it on any path: a non-zero exit, exactly one line on stderr (the reason),
 * no stack trace anywhere, and no secret anywhere. Returns the line.
 */
export function assertCleanFailure(
  result: CLIResult,
  label: string,
  options: CleanFailureOptions = {},
): string {
  const output = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
  assert.ok(
    result.code !== 0 && result.code !== null,
    `${label}: a non-zero exit, got ${result.code}\n${output}`,
  );
  assert.doesNotMatch(result.stderr, STACK_LINE, `${label}: no stack trace on stderr\n${output}`);
  assert.doesNotMatch(result.stdout, STACK_LINE, `${label}: no stack trace on stdout\n${output}`);
  const errorLines = lines(result.stderr);
  assert.equal(errorLines.length, 1, `${label}: one line on stderr\n${output}`);
  const [line] = errorLines as [string];
  assert.match(line, /^keycard: \S/, `${label}: the line says it is keycard's`);
  assert.doesNotMatch(line, /\bat .+:\d+:\d+|\b[A-Z][A-Za-z]*Error:/, `${label}: no error class or location`);
  if (!options.logsOnStdout) assert.equal(result.stdout, '', `${label}: nothing on stdout`);
  for (const secret of options.secrets ?? []) {
    assert.equal(
      `${result.stdout}${result.stderr}`.includes(secret),
      false,
      `${label}: shows a secret\n${output}`,
    );
  }
  return line;
}

/** Runs `task` over `items`, at most `limit` at a time (CLI processes are CPU-heavy on a 2-core CI). */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One audit line, as the CLI writes it (the server's shape, plus who ran which command). */
export interface AuditLine {
  level: number;
  time: number;
  pid: number;
  hostname: string;
  source: string;
  command: string;
  operator: string;
  event: AuthEvent;
  msg: string;
}

/** Whether a line of output is an audit line. */
function parseAuditLine(line: string): AuditLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry = JSON.parse(line) as AuditLine;
    return typeof entry.msg === 'string' && entry.msg.startsWith('audit: ') ? entry : null;
  } catch {
    return null;
  }
}

/** The audit lines in a stream's output (stderr by default, or an --audit-log file's contents). */
export function auditLines(text: string): AuditLine[] {
  return lines(text).flatMap((line) => {
    const entry = parseAuditLine(line);
    return entry ? [entry] : [];
  });
}

/**
 * A successful run: exit 0, and nothing on stderr but audit lines (the events of what it changed), which
 * are returned.
 */
export function assertSuccess(result: CLIResult): AuditLine[] {
  assert.equal(result.code, 0, `exit code ${result.code}; stderr: ${result.stderr}`);
  const other = lines(result.stderr).filter((line) => parseAuditLine(line) === null);
  assert.deepEqual(other, [], 'nothing on stderr but audit lines');
  return auditLines(result.stderr);
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
  /** The same, in this process (`runInProcess`). */
  runInProcess(args: string[], options?: RunOptions): Promise<CLIResult>;
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
    runInProcess: (args, options) => runInProcess([...args, ...storeFlag], options),
    open() {
      if (!opened) {
        const store = new SQLiteStore({ path: dbPath });
        opened = { keycard: createKeycard({ store }), store };
      }
      return opened;
    },
  };
}

/** A CLI invocation that must fail cleanly (see `assertCleanFailure`), and what its line must say. */
export interface FailureCase {
  label: string;
  args: string[];
  options?: RunOptions;
  expect?: RegExp;
  /** Secrets beyond the file's own that must appear nowhere in the output. */
  secrets?: string[];
}

/** Runs the cases (three at a time) and checks each fails in one clean line, never showing `secrets`. */
export async function checkFailures(cases: FailureCase[], secrets: string[]): Promise<void> {
  const results = await pool(cases, 3, (item) => runCLI(item.args, { timeoutMs: 60_000, ...item.options }));
  cases.forEach((item, index) => {
    const result = results[index];
    assert.ok(result);
    const line = assertCleanFailure(result, item.label, {
      secrets: [...secrets, ...(item.secrets ?? [])],
      logsOnStdout: item.args[0] === 'serve',
    });
    if (item.expect) assert.match(line, item.expect, item.label);
  });
}
