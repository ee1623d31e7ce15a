/** The JSON log lines of a `keycard serve` process (pino, one object a line), and waiting for one. */
import type { ChildProcess } from 'node:child_process';

export interface LogEntry {
  level: number;
  msg: string;
}

export interface ServerLog {
  entries: LogEntry[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** The first log entry whose message matches; fails if the process exits first. */
  waitFor(pattern: RegExp): Promise<LogEntry>;
}

/** Collects the server's JSON log lines and waits for one that matches. */
export function watchLog(child: ChildProcess): ServerLog {
  const entries: LogEntry[] = [];
  let stdout = '';
  let stderr = '';
  let waiters: { test(entry: LogEntry): boolean; resolve(entry: LogEntry): void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf('\n');
    while (newline !== -1) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      newline = stdout.indexOf('\n');
      const entry = JSON.parse(line) as LogEntry;
      entries.push(entry);
      waiters = waiters.filter((waiter) => {
        if (!waiter.test(entry)) return true;
        waiter.resolve(entry);
        return false;
      });
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return {
    entries,
    exited,
    stderr: () => stderr,
    /** The first log entry whose message matches; fails if the process exits first. */
    waitFor(pattern: RegExp): Promise<LogEntry> {
      const found = entries.find((entry) => pattern.test(entry.msg));
      if (found) return Promise.resolve(found);
      return Promise.race([
        new Promise<LogEntry>((resolve) =>
          waiters.push({ test: (entry) => pattern.test(entry.msg), resolve }),
        ),
        exited.then(({ code }) => {
          throw new Error(`keycard serve exited (${code}) before logging ${pattern}; stderr: ${stderr}`);
        }),
      ]);
    },
  };
}
