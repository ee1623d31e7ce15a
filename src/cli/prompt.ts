/** Reading a password: from stdin when piped (`--password-stdin`), or typed at a hidden prompt. */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { CLIContext } from './io.js';
import { UsageError } from './io.js';

const MAX_STDIN_BYTES = 64 * 1024;

/** All of stdin, without one trailing newline (so `echo pw |` and a here-string both work). */
export async function readPasswordFromStdin(context: CLIContext): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of context.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError('the password on stdin is longer than 64 KiB');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks for a line without echoing it. */
function ask(context: CLIContext, question: string): Promise<string> {
  context.stderr.write(question);
  const muted = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const reader = createInterface({ input: context.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    reader.question('', (answer) => {
      reader.close();
      context.stderr.write('\n');
      resolve(answer);
    });
  });
}

/**
 * Refuses, before anything is opened or asked, a run that has no way to read a password: no
 * `--password-stdin` and no terminal.
 */
export function assertPasswordSource(context: CLIContext, fromStdin: boolean): void {
  if (!fromStdin && !context.stdin.isTTY) {
    throw new UsageError(
      'no password given: pipe it with --password-stdin, or run in a terminal to be asked for it',
    );
  }
}

/**
 * A new password: from stdin with `--password-stdin`, else typed twice at a terminal. `check` is the
 * password policy (a reason, or null): a password it refuses fails at once — at the prompt, before the
 * second time of asking, rather than after the operator has typed it twice.
 */
export async function readNewPassword(
  context: CLIContext,
  fromStdin: boolean,
  check: (password: string) => string | null,
): Promise<string> {
  assertPasswordSource(context, fromStdin);
  const refuse = (password: string): void => {
    const problem = check(password);
    if (problem !== null) throw new Error(`${problem}; nothing was changed`);
  };
  if (fromStdin) {
    const password = await readPasswordFromStdin(context);
    refuse(password);
    return password;
  }
  const first = await ask(context, 'Password: ');
  refuse(first);
  const second = await ask(context, 'Repeat password: ');
  if (first !== second) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}

/**
 * Asks a yes/no question at a terminal (the answer is shown as typed): true only for `y` or `yes`, in
 * any case. The caller refuses a run that is not at a terminal before asking (`--yes` is the way there).
 */
export function confirm(context: CLIContext, question: string): Promise<boolean> {
  context.stderr.write(question);
  const reader = createInterface({ input: context.stdin, terminal: false });
  return new Promise((resolve) => {
    let answered = false;
    reader.once('line', (line) => {
      answered = true;
      reader.close();
      resolve(/^\s*y(es)?\s*$/i.test(line));
    });
    // stdin closed without an answer: no.
    reader.once('close', () => {
      if (!answered) resolve(false);
    });
  });
}
