/**
 * The audit log of operator actions. What `keycard user block` or `keycard client disable` changes emits
 * the same typed audit events as the admin API (core emits them, whoever calls), and the CLI writes each
 * one as the server logs it — one JSON line, `{"level":30,…,"event":{…},"msg":"audit: user_blocked"}` —
 * so one collector and one query cover both. The line also says it came from the CLI, which command, and
 * the operating-system user who ran it: a request's `ip` and `userAgent` have no meaning here.
 *
 * Where: stderr by default (stdout stays the command's result, for scripts), or appended to the file that
 * `--audit-log FILE` or KEYCARD_AUDIT_LOG names (created mode 0600; `-` is stderr). The file is opened
 * before the store, so an audit log that cannot be written stops the command before it changes anything.
 * Each event is written when it is emitted, so a command that fails halfway still records what it did.
 *
 * Events never carry a secret (see core/events.ts), and the line never carries the command line, which
 * may hold a store URL with its password.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { AuthEvent } from 'keycard';
import { type CLIContext, print } from './io.js';

export interface AuditLog {
  record(event: AuthEvent): void;
  close(): void;
}

/** pino's `info`, as the server's lines carry it. */
const INFO = 30;

/** The OS user running the command; the uid when the system cannot name it (a container's bare uid). */
function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Why a file cannot be opened, in words (never the error's stack or an unrelated path). */
function openFailure(path: string, error: unknown): Error {
  const code = (error as { code?: string }).code;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'its directory does not exist',
    ENOTDIR: 'a part of its path is not a directory',
    EISDIR: 'it is a directory',
    EROFS: 'the file system is read-only',
  };
  return new Error(
    `cannot write the audit log ${path}: ${(code && reasons[code]) ?? code ?? 'unknown error'} (set --audit-log or KEYCARD_AUDIT_LOG to a writable file, or - for stderr)`,
  );
}

/** Opens the audit log `--audit-log` (or KEYCARD_AUDIT_LOG) names, for `command` (`user block`). */
export function openAuditLog(context: CLIContext, flag: string | undefined, command: string): AuditLog {
  const target = flag ?? context.env.KEYCARD_AUDIT_LOG ?? '-';
  let fd: number | null = null;
  if (target !== '-') {
    try {
      fd = openSync(target, 'a', 0o600);
    } catch (error) {
      throw openFailure(target, error);
    }
  }
  const fields = { pid: process.pid, hostname: hostname(), source: 'cli', command, operator: operator() };
  let closed = false;
  return {
    record(event) {
      const line = JSON.stringify({
        level: INFO,
        time: Date.now(),
        ...fields,
        event,
        msg: `audit: ${event.type}`,
      });
      // After close (nothing should emit then), stderr rather than a lost event.
      if (fd === null || closed) print(context.stderr, line);
      else writeSync(fd, `${line}\n`);
    },
    close() {
      if (fd !== null && !closed) closeSync(fd);
      closed = true;
    },
  };
}
