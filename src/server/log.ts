/**
 * Log output. JSON lines (pino, via Fastify) for machines; in development on a terminal, one readable
 * line per entry instead, so the first-start instructions stand out. Cookies, Authorization headers and
 * Set-Cookie values are redacted in both.
 */
import type { Writable } from 'node:stream';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

interface Entry {
  level?: number;
  time?: number;
  msg?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
  err?: { message?: string };
}

/** Formats one pino JSON line for a human. */
export function formatLine(line: string): string {
  let entry: Entry;
  try {
    entry = JSON.parse(line) as Entry;
  } catch {
    return line;
  }
  const time = new Date(entry.time ?? Date.now()).toISOString().slice(11, 19);
  const parts = [time, LEVELS[entry.level ?? 30] ?? 'INFO ', entry.msg ?? ''];
  if (entry.req?.method) parts.push(`${entry.req.method} ${entry.req.url}`);
  if (entry.res?.statusCode)
    parts.push(`→ ${entry.res.statusCode} in ${Math.round(entry.responseTime ?? 0)} ms`);
  if (entry.err?.message) parts.push(`(${entry.err.message})`);
  return `${parts.join('  ')}\n`;
}

export function prettyStream(out: Writable): { write(line: string): void } {
  return { write: (line: string) => out.write(formatLine(line)) };
}

/**
 * Fastify's per-request log lines: "incoming request", "request completed" and "route not found" only
 * when `logRequests` is on; errors (a failed response, a broken stream, a serializer failure) always.
 */
export class RequestLogController extends LogController {
  constructor(private readonly logRequests: boolean) {
    super();
  }

  override incomingRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (this.logRequests) super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error || this.logRequests) super.requestCompleted(error, request, reply, metadata);
  }

  override routeNotFound(
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (this.logRequests) super.routeNotFound(request, reply, metadata);
  }
}
