/**
 * Brute-force throttling on the real server over HTTP, with an injected clock (no test waits for a
 * window). Requests leave from distinct loopback source addresses (127.0.0.0/8 all reach the server), so
 * the server sees real, different client addresses without trusting any header.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadServerConfig } from '../../src/server/config.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { ManualClock } from '../helpers/clock.js';
import { type CountingStore, countingStore } from '../helpers/counting-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'tulip-Quartz-7781-harbor';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
  json: any;
}

/** One request from the source address `from`, with a JSON or form body. */
function send(
  baseURL: string,
  path: string,
  options: { from: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> },
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, baseURL),
      { method: 'POST', headers, agent: false, localAddress: options.from },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const login = (server: TestServer, from: string, username: string, password: string, headers = {}) =>
  send(server.url, '/auth/login', { from, json: { username, password }, headers });

function assertThrottled(reply: Reply, retryAfter?: number): number {
  assert.equal(reply.status, 429, reply.text);
  assert.equal(reply.json.error.code, 'too_many_requests');
  const header = Number(reply.headers['retry-after']);
  assert.ok(Number.isInteger(header) && header >= 1, `Retry-After: ${reply.headers['retry-after']}`);
  if (retryAfter !== undefined) assert.equal(header, retryAfter);
  assert.equal(reply.headers['set-cookie'], undefined, 'no cookie');
  return header;
}

describe('server: login throttling', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let counting: CountingStore;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keycard-throttle-'));
    counting = countingStore(new SQLiteStore({ path: join(dir, 'keycard.db'), clock }));
    server = await startTestServer({ clock, store: counting.store });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('the sixth failure → 429 + Retry-After; the right password is then refused alike, unread', async () => {
    const from = '127.0.0.11';
    for (let i = 1; i <= 5; i++) {
      const reply = await login(server, from, 'alice', `wrong-${i}`);
      assert.equal(reply.status, 401, `failure ${i}`);
      assert.equal(reply.headers['retry-after'], undefined);
    }
    assertThrottled(await login(server, from, 'alice', 'wrong-6'), 1);
    counting.reset();
    const right = await login(server, from, 'alice', PASSWORD);
    const wrong = await login(server, from, 'alice', 'wrong-7');
    assertThrottled(right, 1);
    assert.equal(right.text, wrong.text, 'no oracle: the right password gets the very same answer');
    assert.equal(counting.counts.get('getUserByUsername') ?? 0, 0, 'no user read, so no password hashed');
    const event = server.events.at(-1);
    assert.equal(event?.type, 'throttled');
    assert.equal(event?.type === 'throttled' && event.ip, from);

    const form = await send(server.url, '/auth/login', {
      from,
      form: { username: 'alice', password: PASSWORD },
    });
    // The sign-in form goes back to the sign-in page (POST-redirect-GET), saying how long to wait.
    assert.equal(form.status, 303, 'the sign-in form is sent back to the sign-in page');
    assert.equal(form.headers.location, '/login?error=too_many_requests&username=alice&retry=1');
    const wrongForm = await send(server.url, '/auth/login', {
      from,
      form: { username: 'alice', password: 'wrong-8' },
    });
    assert.equal(wrongForm.headers.location, form.headers.location, 'no oracle for forms either');

    clock.advanceSeconds(1);
    assert.equal((await login(server, from, 'alice', PASSWORD)).status, 200, 'the wait is over');
  });

  test('an unknown username is throttled exactly like a real one', async () => {
    const replies = async (from: string, username: string) => {
      const all: string[] = [];
      for (let i = 0; i < 7; i++) {
        const reply = await login(server, from, username, `wrong-${i}`);
        all.push(`${reply.status} ${reply.headers['retry-after'] ?? '-'} ${reply.text}`);
      }
      return all;
    };
    assert.deepEqual(await replies('127.0.0.21', 'nobody-here'), await replies('127.0.0.22', 'alice'));
  });

  test('the per-account wait doubles and stops at 5 minutes; the real user elsewhere is not delayed', async () => {
    const attacker = '127.0.0.12';
    const waits: number[] = [];
    for (let i = 1; i <= 16; i++) {
      const reply = await login(server, attacker, 'alice', `guess-${i}`);
      if (reply.status === 401) continue;
      const wait = assertThrottled(reply);
      waits.push(wait);
      assertThrottled(await login(server, attacker, 'alice', `guess-${i}b`), wait);
      clock.advanceSeconds(wait);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    assert.ok(Math.max(...waits) <= 300);
    assert.equal((await login(server, '127.0.0.13', 'alice', PASSWORD)).status, 200);
  });

  test('an address is refused after 20 failures in 15 minutes; another address is not', async () => {
    const sprayer = '127.0.0.14';
    for (let i = 1; i < 20; i++) {
      assert.equal((await login(server, sprayer, `user${i}`, 'Summer2025!')).status, 401, `account ${i}`);
    }
    assertThrottled(await login(server, sprayer, 'user20', 'Summer2025!'), 900);
    assertThrottled(await login(server, sprayer, 'alice', PASSWORD), 900);
    assert.equal((await login(server, '127.0.0.15', 'alice', PASSWORD)).status, 200, 'another address');
    clock.advanceSeconds(900);
    assert.equal((await login(server, sprayer, 'alice', PASSWORD)).status, 200, 'the window has passed');
  });

  test('without trustProxy, X-Forwarded-For is ignored: rotating fake values does not escape', async () => {
    const from = '127.0.0.16';
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const reply = await login(server, from, 'dave', `rotating-${i}`, { 'x-forwarded-for': `10.9.8.${i}` });
      statuses.push(reply.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    const failed = server.events.filter((event) => event.type === 'login_failed').at(-1);
    assert.equal(failed?.ip, from, 'the socket address, not the header');
  });
});

describe('server: login throttling behind a trusted proxy', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ clock, flags: { 'trust-proxy': 'true' } });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('with trustProxy, X-Forwarded-For is the client address', async () => {
    const proxy = '127.0.0.31';
    const client = { 'x-forwarded-for': '203.0.113.5' };
    for (let i = 1; i <= 5; i++) {
      assert.equal((await login(server, proxy, 'alice', `wrong-${i}`, client)).status, 401);
    }
    assertThrottled(await login(server, proxy, 'alice', 'wrong-6', client), 1);
    const event = server.events.at(-1);
    assert.equal(event?.ip, '203.0.113.5');
    // Another client behind the same proxy is another address.
    const other = await login(server, proxy, 'alice', PASSWORD, { 'x-forwarded-for': '203.0.113.6' });
    assert.equal(other.status, 200);
  });
});

describe('server: login throttling behind named proxies', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ clock, flags: { 'trust-proxy': '127.0.0.33, 192.0.2.0/24' } });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('the client address is the nearest one the proxy saw; what the client put before it is ignored', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 6; i++) {
      // The proxy appended the address it saw to whatever the client sent.
      const forwarded = { 'x-forwarded-for': `10.0.0.${i}, 203.0.113.7` };
      statuses.push((await login(server, '127.0.0.33', 'alice', `wrong-${i}`, forwarded)).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    assert.equal(server.events.at(-1)?.ip, '203.0.113.7');
  });

  test('a peer that is not a named proxy is its own address, whatever it forwards', async () => {
    const reply = await login(server, '127.0.0.34', 'alice', 'wrong', { 'x-forwarded-for': '203.0.113.8' });
    assert.equal(reply.status, 401);
    assert.equal(server.events.at(-1)?.ip, '127.0.0.34');
  });

  test('the setting takes true, false or addresses and CIDR ranges, nothing else', () => {
    const config = (value: unknown) =>
      loadServerConfig({ flags: { 'trust-proxy': value }, env: {} }).trustProxy;
    assert.equal(config(true), true);
    assert.equal(config('false'), false);
    assert.deepEqual(config('10.0.0.0/8, ::1, loopback'), ['10.0.0.0/8', '::1', 'loopback']);
    for (const bad of ['2', 'proxy.example', '10.0.0.0/33', '10.0.0.1/8/8', '']) {
      assert.throws(() => config(bad), /--trust-proxy: expected true, false, or the proxies’ addresses/, bad);
    }
  });
});

describe('server: refresh throttling (jwt, header transport)', () => {
  const clock = new ManualClock(Date.now());
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ clock, flags: { preset: 'api' } });
    await server.keycard.users.create({ username: 'alice', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  const refresh = (from: string, token: string) =>
    send(server.url, '/auth/refresh', { from, json: { refresh_token: token } });

  test('30 failed refreshes from one address → 429 for the rest of 15 minutes; other addresses are not', async () => {
    const from = '127.0.0.41';
    const signedIn = await login(server, from, 'alice', PASSWORD);
    assert.equal(signedIn.status, 200);
    for (let i = 1; i <= 30; i++) {
      const reply = await refresh(from, `bogus-token-${i}`);
      assert.equal(reply.status, 401, `failure ${i}: the failing request itself learns what was wrong`);
      assert.equal(reply.json.error.code, 'token_invalid');
    }
    assertThrottled(await refresh(from, 'bogus-token-31'), 900);
    assertThrottled(await refresh(from, signedIn.json.refresh_token), 900);
    const event = server.events.at(-1);
    assert.deepEqual(
      event && { type: event.type, ip: event.ip, action: event.type === 'throttled' && event.action },
      { type: 'throttled', ip: from, action: 'refresh' },
    );
    assert.equal((await refresh('127.0.0.42', 'bogus-token')).status, 401, 'another address');
    clock.advanceSeconds(900);
    const again = await refresh(from, signedIn.json.refresh_token);
    assert.equal(again.status, 200, again.text);
  });
});
