/**
 * Graceful shutdown of `keycard serve` (issue 19), as users run it: bin/keycard.js over dist/. Under load
 * on keep-alive connections — password logins (Argon2id: the slow request), authenticated reads,
 * health checks — SIGTERM must let every request the server accepted finish with its normal answer,
 * refuse new connections, and exit 0; a second SIGTERM does not cut the drain short; a request that cannot
 * finish within --shutdown-timeout is cut off, and the exit code says so (1).
 *
 * "Accepted" is read from the server's own log (--log-requests): every request carries a number in its
 * query string, so a client-side connection error is checked against the log — the server must never
 * have started that request.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { builtCLI } from '../helpers/runtimes.js';
import { type ServerLog, watchLog } from '../helpers/server-log.js';
import { cleanEnvironment } from './helpers.js';

const ADMIN_PASSWORD = 'shutdown-admin-password-1';

interface Entry {
  msg: string;
  reqId?: string;
  req?: { url?: string };
  res?: { statusCode?: number };
}

interface Serve {
  child: ChildProcess;
  log: ServerLog;
  url: string;
}

async function serve(t: TestContext, shutdownTimeout: number): Promise<Serve> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-shutdown-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'admin-password'), ADMIN_PASSWORD);
  const child = spawn(
    process.execPath,
    [
      builtCLI(),
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--store',
      'memory:',
      '--preset',
      'api',
      '--keys',
      join(dir, 'keys.json'),
      '--admin-username',
      'admin',
      '--admin-password-file',
      join(dir, 'admin-password'),
      '--log-requests',
      '--shutdown-timeout',
      String(shutdownTimeout),
    ],
    { cwd: dir, env: cleanEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const log = watchLog(child);
  const listening = await log.waitFor(/^Server listening at /);
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(listening.msg)?.[1] as string;
  await log.waitFor(/created the first admin/);
  return { child, log, url };
}

interface Outcome {
  n: number;
  kind: 'login' | 'me' | 'health';
  status?: number;
  text?: string;
  error?: string;
}

let counter = 0;

/** One request on `agent`, numbered in its query string; resolves with the status or the error code. */
function send(url: string, agent: Agent | false, kind: Outcome['kind'], token?: string): Promise<Outcome> {
  const n = ++counter;
  const path = { login: '/auth/login', me: '/auth/me', health: '/healthz' }[kind];
  const body = kind === 'login' ? JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) : undefined;
  const headers: Record<string, string> = {};
  if (body) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve) => {
    const req = httpRequest(
      `${url}${path}?n=${n}`,
      { method: body ? 'POST' : 'GET', agent, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ n, kind, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ n, kind, error: error.code ?? error.message }),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ n, kind, error: error.code ?? error.message }),
    );
    req.end(body);
  });
}

/** The log entries of requests the server accepted (`incoming request`), and completed ones, by number. */
function accepted(log: ServerLog): { incoming: Map<number, Entry>; completed: Map<string, Entry> } {
  const incoming = new Map<number, Entry>();
  const completed = new Map<string, Entry>();
  for (const entry of log.entries as unknown as Entry[]) {
    const n = Number(/[?&]n=(\d+)/.exec(entry.req?.url ?? '')?.[1]);
    if (entry.msg === 'incoming request' && n) incoming.set(n, entry);
    if (entry.msg === 'request completed' && entry.reqId) completed.set(entry.reqId, entry);
  }
  return { incoming, completed };
}

/** Waits until the server has logged `incoming request` for each of these numbers. */
async function acceptedAll(log: ServerLog, numbers: number[]): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { incoming } = accepted(log);
    if (numbers.every((n) => incoming.has(n))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the server never logged the requests as incoming');
}

/** Resolves with the error code of a new connection's attempt (ECONNREFUSED), or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up']);

test('SIGTERM under load: every accepted request gets its normal answer, new connections are refused, exit 0', async (t) => {
  const { child, log, url } = await serve(t, 10);
  const login = await send(url, false, 'login');
  assert.equal(login.status, 200);
  const token = JSON.parse(login.text ?? '').access_token as string;

  const agent = new Agent({ keepAlive: true, maxSockets: 12 });
  const outcomes: Outcome[] = [];
  let stopped = false;
  // Logins are the in-flight ones below: more at once would meet the per-account throttle (a 429).
  const kinds: Outcome['kind'][] = ['me', 'health'];
  const worker = async (offset: number) => {
    for (let i = offset; !stopped; i++) {
      const outcome = await send(url, agent, kinds[i % kinds.length] as Outcome['kind'], token);
      outcomes.push(outcome);
      // A connection error ends this worker: the server is going away.
      if (outcome.error !== undefined) return;
    }
  };
  const workers = Array.from({ length: 12 }, (_, i) => worker(i));
  t.after(() => {
    stopped = true;
  });
  while (outcomes.length < 150) await new Promise((resolve) => setTimeout(resolve, 10));

  // Slow requests certainly in flight at the signal: logins the server has started hashing for.
  const slow = Array.from({ length: 4 }, () => send(url, false, 'login'));
  await acceptedAll(
    log,
    Array.from({ length: 4 }, (_, i) => counter - 3 + i),
  );
  child.kill('SIGTERM');
  await log.waitFor(/^shutdown: no longer accepting connections/);
  assert.equal(await tryConnect(url), 'ECONNREFUSED', 'a new connection during the drain is refused');
  const inFlight = await Promise.all(slow);
  const { code, signal } = await log.exited;
  stopped = true;
  await Promise.all(workers);
  agent.destroy();

  assert.equal(signal, null);
  assert.equal(code, 0, log.stderr());
  assert.deepEqual(
    inFlight.map((outcome) => outcome.status),
    [200, 200, 200, 200],
    'the logins in flight at SIGTERM finished',
  );
  const { incoming, completed } = accepted(log);
  for (const outcome of [...outcomes, ...inFlight]) {
    if (outcome.error !== undefined) {
      assert.ok(CONNECTION_ERRORS.has(outcome.error), `request ${outcome.n}: ${outcome.error}`);
      assert.equal(incoming.has(outcome.n), false, `request ${outcome.n} was accepted, then failed`);
      continue;
    }
    assert.equal(outcome.status, 200, `request ${outcome.n} (${outcome.kind}): ${outcome.status}`);
  }
  // Every request the server accepted was completed, with a normal status.
  for (const [n, entry] of incoming) {
    const done = completed.get(entry.reqId as string);
    assert.ok(done, `request ${n} completed`);
    assert.ok((done.res?.statusCode ?? 0) < 500, `request ${n}: ${done.res?.statusCode}`);
  }
  assert.ok(outcomes.filter((outcome) => outcome.status === 200).length >= 150);
  for (const step of [/HTTP server closed, requests drained/, /store closed/, /exit code 0/]) {
    assert.ok(
      log.entries.some((entry) => step.test(entry.msg)),
      String(step),
    );
  }
});

test('a second SIGTERM during the drain does not cut it short', async (t) => {
  const { child, log, url } = await serve(t, 10);
  // A login whose body is held back: the drain cannot end before both signals have arrived.
  const body = JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD });
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  socket.on('error', () => {});
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString('utf8');
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(
    `POST /auth/login?n=${++counter} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
  );
  await acceptedAll(log, [counter]);
  child.kill('SIGTERM');
  await log.waitFor(/^SIGTERM: shutting down/);
  child.kill('SIGTERM');
  await log.waitFor(/^SIGTERM: already shutting down/);
  socket.write(body.slice(5));
  await closed;
  const { code, signal } = await log.exited;
  assert.match(answer, /^HTTP\/1\.1 200 /, 'the held request got its normal answer');
  assert.equal(signal, null, 'the second SIGTERM did not kill the process');
  assert.equal(code, 0);
});

test('a request that cannot finish within --shutdown-timeout is cut off, and the exit code is 1', async (t) => {
  const { child, log, url } = await serve(t, 1);
  // A body that never comes: the request is in flight until the bound closes its connection.
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(
    `POST /auth/login?n=${++counter} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"username":`,
  );
  await acceptedAll(log, [counter]);
  child.kill('SIGTERM');
  await closed;
  const { code, signal } = await log.exited;
  assert.equal(signal, null);
  assert.equal(code, 1);
  assert.ok(log.entries.some((entry) => /closing the connections still in use/.test(entry.msg)));
  assert.ok(log.entries.some((entry) => /requests cut off/.test(entry.msg)));
  assert.ok(
    log.entries.some((entry) => /store closed/.test(entry.msg)),
    'the other steps still ran',
  );
});
