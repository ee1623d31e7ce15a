/** The CLI's view of the process, injectable for tests: streams, environment, exit codes. */
import type { Readable, Writable } from 'node:stream';

export interface CLIContext {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** A mistake in how the command was called: printed as one line with a pointer to --help; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function print(stream: Writable, line: string): void {
  stream.write(`${line}\n`);
}
