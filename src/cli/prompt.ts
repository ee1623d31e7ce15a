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

/** A new password: from stdin with `--password-stdin`, else typed twice at a terminal. */
export async function readNewPassword(context: CLIContext, fromStdin: boolean): Promise<string> {
  if (fromStdin) return readPasswordFromStdin(context);
  if (!context.stdin.isTTY) {
    throw new UsageError(
      'no password given: pipe it with --password-stdin, or run in a terminal to be asked for it',
    );
  }
  const first = await ask(context, 'Password: ');
  const second = await ask(context, 'Repeat password: ');
  if (first !== second) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}
