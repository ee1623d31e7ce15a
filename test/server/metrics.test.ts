/**
 * Metrics (issue 19): `keycard serve --metrics-port` on its management listener, scraped over HTTP and
 * read with an independent parser (parse-prometheus-text-format). The counts must move exactly as the
 * audit events say things happened, store calls must be timed by store, capability and operation, and no
 * label may carry a username, an id, an address or a token.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { storeUnavailable } from '../../src/core/errors.js';
import { METRICS } from '../../src/server/metrics/catalog.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { ManualClock } from '../helpers/clock.js';
import { request } from '../helpers/http.js';
import { deleteKeysWithPrefix } from '../helpers/redis-servers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { REDIS_URL, redisSkipReason, uniqueName } from '../helpers/services.js';

interface Family {
  name: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
  }[];
}

interface Scrape {
  /** Families with their types (the parser drops a histogram's labels, so read series from `samples`). */
  families: Family[];
  /** Every sample line as its own untyped family (`x_bucket`, `x_count`, …), labels kept. */
  samples: Family[];
}

async function scrape(server: TestServer): Promise<Scrape> {
  assert.ok(server.metricsURL, 'metrics are on');
  const response = await request(server.metricsURL, 'GET', '/metrics');
  assert.equal(response.status, 200);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const untyped = response.text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
  // A histogram's lines alternate (`_bucket`, `_sum`, `_count`, then the next series): one family per name.
  const samples = new Map<string, Family>();
  for (const family of parsePrometheusTextFormat(untyped) as Family[]) {
    const known = samples.get(family.name);
    if (known) known.metrics.push(...family.metrics);
    else samples.set(family.name, { ...family, metrics: [...family.metrics] });
  }
  return { families: parsePrometheusTextFormat(response.text) as Family[], samples: [...samples.values()] };
}

/** The value of the sample `name` with exactly these labels (0 when the series is absent). */
function value(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = scraped.samples.find((entry) => entry.name === name);
  const series = family?.metrics.find(
    (metric) => JSON.stringify(metric.labels ?? {}) === JSON.stringify(labels),
  );
  return series ? Number(series.value) : 0;
}

const USERNAME = 'metrics-user-quokka';
const PASSWORD = 'metrics-password-42';
const BURST_USERNAME = 'burst-target-wombat';

describe('server: metrics on the management listener', () => {
  const clock = new ManualClock();
  let server: TestServer;
  let userId: string;
  const secrets: string[] = [];

  before(async () => {
    server = await startTestServer({
      clock,
      storeURL: 'memory:',
      flags: { strategy: 'hybrid', transport: 'header', 'metrics-port': '0' },
    });
    userId = (await server.keycard.users.create({ username: USERNAME, password: PASSWORD })).id;
    await server.keycard.users.create({ username: BURST_USERNAME, password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('logins, refreshes (a reuse among them), a logout and a throttled burst move the counts the events say', async () => {
    const before = await scrape(server);
    const eventsBefore = server.events.length;
    const login = () =>
      request(server.url, 'POST', '/auth/login', { json: { username: USERNAME, password: PASSWORD } });
    const first = await login();
    assert.equal(first.status, 200, first.text);
    secrets.push(first.json.access_token, first.json.refresh_token, first.json.session.id);
    for (const wrong of ['wrong-1', 'wrong-2']) {
      const failed = await request(server.url, 'POST', '/auth/login', {
        json: { username: USERNAME, password: wrong },
      });
      assert.equal(failed.status, 401);
    }
    const refreshed = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: first.json.refresh_token },
    });
    assert.equal(refreshed.status, 200, refreshed.text);
    secrets.push(refreshed.json.access_token, refreshed.json.refresh_token);
    clock.advanceSeconds(16);
    const reused = await request(server.url, 'POST', '/auth/refresh', {
      json: { refresh_token: first.json.refresh_token },
    });
    assert.equal(reused.json.error.code, 'refresh_token_reused');
    const garbage = await request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: 'nope' } });
    assert.equal(garbage.status, 401);
    const second = await login();
    assert.equal(second.status, 200);
    secrets.push(second.json.access_token, second.json.refresh_token, second.json.session.id);
    const logout = await request(server.url, 'POST', '/auth/logout', {
      headers: { authorization: `Bearer ${second.json.access_token}` },
    });
    assert.equal(logout.status, 200, logout.text);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const attempt = await request(server.url, 'POST', '/auth/login', {
        json: { username: BURST_USERNAME, password: `wrong-${i}` },
      });
      statuses.push(attempt.status);
    }
    assert.ok(statuses.includes(429), `the burst was throttled: ${statuses.join(' ')}`);

    const now = await scrape(server);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(now, name, labels) - value(before, name, labels);
    const events = server.events.slice(eventsBefore);
    const count = (predicate: (event: (typeof events)[number]) => boolean) => events.filter(predicate).length;

    assert.equal(delta('keycard_logins_total', { outcome: 'succeeded' }), 2);
    assert.equal(
      delta('keycard_logins_total', { outcome: 'invalid_credentials' }),
      count((event) => event.type === 'login_failed'),
    );
    assert.ok(delta('keycard_logins_total', { outcome: 'invalid_credentials' }) >= 2 + 5);
    const throttledLogins = count((event) => event.type === 'throttled' && event.action === 'login');
    assert.ok(throttledLogins >= 1);
    assert.equal(delta('keycard_logins_total', { outcome: 'throttled' }), throttledLogins);
    const throttledSeries = now.samples
      .find((family) => family.name === 'keycard_throttled_total')
      ?.metrics.reduce((sum, metric) => sum + Number(metric.value), 0);
    assert.equal(throttledSeries, throttledLogins);
    assert.equal(delta('keycard_refreshes_total', { outcome: 'succeeded' }), 1);
    assert.equal(delta('keycard_refreshes_total', { outcome: 'reuse_detected' }), 1);
    assert.equal(delta('keycard_refreshes_total', { outcome: 'invalid' }), 1);
    assert.equal(delta('keycard_logouts_total'), 1);
    // The reuse revoked the first login, the logout the second: one login revocation each.
    assert.equal(delta('keycard_revocations_written_total', { kind: 'login' }), 2);
    // Hybrid: both came back on the feed (the memory store's channel).
    assert.ok(delta('keycard_revocation_feed_lag_seconds_count') >= 2);
    assert.equal(value(now, 'keycard_revocation_feed_synced'), 1);
    assert.equal(value(now, 'keycard_revocation_feed_reconnects_total'), 0);
  });

  test('password changes: changed, a wrong current password, and throttled, each in its own series', async () => {
    const before = await scrape(server);
    const login = await request(server.url, 'POST', '/auth/login', {
      json: { username: USERNAME, password: PASSWORD },
    });
    assert.equal(login.status, 200, login.text);
    let auth = { authorization: `Bearer ${login.json.access_token}` };
    const change = (current: string, next: string) =>
      request(server.url, 'POST', '/auth/password', {
        json: { current_password: current, new_password: next },
        headers: auth,
      });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await change(`wrong-${i}`, 'a brand new passphrase')).status);
    assert.ok(statuses.includes(429), statuses.join(' '));
    clock.advanceSeconds(3600); // every wait over, and the access token too: a new login
    const again = await request(server.url, 'POST', '/auth/login', {
      json: { username: USERNAME, password: PASSWORD },
    });
    assert.equal(again.status, 200, again.text);
    auth = { authorization: `Bearer ${again.json.access_token}` };
    const done = await change(PASSWORD, 'a brand new passphrase');
    assert.equal(done.status, 200, done.text);
    const now = await scrape(server);
    const delta = (labels: Record<string, string>) =>
      value(now, 'keycard_password_changes_total', labels) -
      value(before, 'keycard_password_changes_total', labels);
    const failed = server.events.filter((event) => event.type === 'password_change_failed').length;
    assert.equal(delta({ outcome: 'changed' }), 1);
    assert.equal(delta({ outcome: 'invalid_current_password' }), failed);
    const throttled = server.events.filter(
      (event) => event.type === 'throttled' && event.action === 'password_change',
    ).length;
    assert.ok(throttled >= 1);
    assert.equal(delta({ outcome: 'throttled' }), throttled);
    assert.equal(
      value(now, 'keycard_throttled_total', { action: 'password_change', scope: 'account' }) >= 1,
      true,
    );
  });

  test('store calls are timed by store, capability and operation', async () => {
    const scraped = await scrape(server);
    const type = scraped.families.find((entry) => entry.name === 'keycard_store_operation_duration_seconds');
    assert.equal(type?.type, 'HISTOGRAM');
    const family = scraped.samples.find(
      (entry) => entry.name === 'keycard_store_operation_duration_seconds_count',
    );
    const series = (operation: string, capability: string) =>
      family?.metrics.find(
        (metric) =>
          metric.labels?.operation === operation &&
          metric.labels?.capability === capability &&
          metric.labels?.store === 'memory',
      );
    for (const [operation, capability] of [
      ['createLogin', 'logins'],
      ['advanceRefresh', 'logins'],
      ['getUserByUsername', 'users'],
      ['incrementCounter', 'counters'],
      ['addRevocation', 'revocations'],
    ]) {
      const found = series(operation as string, capability as string);
      assert.ok(found, `${capability}.${operation} has a series`);
      assert.ok(Number(found.value) > 0);
    }
  });

  test('no label value carries a username, an id, an address or a token', async () => {
    const { samples } = await scrape(server);
    const forbidden = [USERNAME, BURST_USERNAME, userId, '127.0.0.1', ...secrets].filter(Boolean);
    let labels = 0;
    for (const family of samples) {
      for (const metric of family.metrics) {
        for (const label of Object.values(metric.labels ?? {})) {
          labels++;
          for (const secret of forbidden) assert.ok(!label.includes(secret), `${family.name}: ${label}`);
        }
      }
    }
    assert.ok(labels > 20, 'labels were checked');
  });

  test('process metrics are there, prefixed', async () => {
    const { families } = await scrape(server);
    assert.ok(families.some((family) => family.name === 'keycard_process_cpu_user_seconds_total'));
    assert.ok(families.some((family) => family.name === 'keycard_nodejs_eventloop_lag_seconds'));
    for (const family of families) assert.match(family.name, /^keycard_/);
  });

  test('the listener serves GET and HEAD /metrics only; the public port has no /metrics', async () => {
    assert.ok(server.metricsURL);
    assert.notEqual(new URL(server.metricsURL).port, new URL(server.url).port);
    const head = await request(server.metricsURL, 'HEAD', '/metrics');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal((await request(server.metricsURL, 'GET', '/')).status, 404);
    assert.equal((await request(server.metricsURL, 'GET', '/healthz')).status, 404);
    assert.equal((await request(server.metricsURL, 'POST', '/metrics', { body: 'x' })).status, 405);
    const publicMetrics = await request(server.url, 'GET', '/metrics');
    assert.equal(publicMetrics.status, 404);
  });

  test('every metric in the catalog is exposed, with its type and labels', async () => {
    const { families, samples } = await scrape(server);
    for (const spec of Object.values(METRICS)) {
      const family = families.find((entry) => entry.name === spec.name);
      assert.ok(family, `${spec.name} is exposed`);
      assert.equal(family.type, spec.type.toUpperCase());
      const name = spec.type === 'histogram' ? `${spec.name}_count` : spec.name;
      const series = samples.find((entry) => entry.name === name);
      // A labelled metric has no sample until it is first observed (no store call has failed here).
      if (Object.keys(spec.labels).length === 0 || spec.name !== METRICS.storeErrors.name)
        assert.ok(series, name);
      for (const metric of series?.metrics ?? []) {
        const names = Object.keys(metric.labels ?? {}).filter((name) => name !== 'le');
        assert.deepEqual(names.sort(), Object.keys(spec.labels).sort(), spec.name);
        for (const [label, allowed] of Object.entries(spec.labels)) {
          if (allowed !== '*') assert.ok(allowed.includes(metric.labels?.[label] as string));
        }
      }
    }
  });
});

/** Whether the scrape has a sample of `name` (a gauge without one is listed by its HELP and TYPE only). */
function sampled(scraped: Scrape, name: string): boolean {
  return scraped.samples.some((family) => family.name === name && family.metrics.length > 0);
}

const ACTIVE = 'keycard_active_logins';

/** Signs `username` in (hybrid, header transport) and returns its access token. */
async function signIn(server: TestServer, username: string): Promise<string> {
  const response = await request(server.url, 'POST', '/auth/login', {
    json: { username, password: PASSWORD },
  });
  assert.equal(response.status, 200, response.text);
  return response.json.access_token;
}

for (const [kind, storeURL] of [
  ['memory', 'memory:'],
  ['sqlite', undefined],
  ['redis', `${REDIS_URL}/?prefix=${uniqueName('kcmetrics')}`],
] as const) {
  describe(`server: ${ACTIVE} on ${kind}`, () => {
    const clock = new ManualClock();
    const usernames = ['active-ibis', 'active-heron', 'active-egret'];
    let server: TestServer | undefined;
    let skip: string | undefined;

    before(async () => {
      if (kind === 'redis') skip = await redisSkipReason();
      if (skip) return;
      server = await startTestServer({
        clock,
        storeURL,
        flags: { strategy: 'hybrid', transport: 'header', 'metrics-port': '0' },
      });
      for (const username of [...usernames, 'active-never-signs-in']) {
        await server.keycard.users.create({ username, password: PASSWORD });
      }
    });
    after(async () => {
      await server?.close();
      if (kind === 'redis' && !skip && storeURL) {
        const admin = new Redis(REDIS_URL);
        try {
          await deleteKeysWithPrefix(admin, new URL(storeURL).searchParams.get('prefix') as string);
        } finally {
          admin.disconnect();
        }
      }
    });

    test('reports the users signed in, counted at most once per 30 s of the server’s clock', async (t) => {
      if (skip || !server) return t.skip(skip);
      const empty = await scrape(server);
      assert.ok(sampled(empty, ACTIVE), 'a sample from the first scrape');
      assert.equal(value(empty, ACTIVE), 0, 'users, but no one signed in');

      const tokens = [];
      for (const username of usernames) tokens.push(await signIn(server, username));
      const cached = await scrape(server);
      assert.equal(
        value(cached, ACTIVE),
        0,
        'within the interval: the count of the first scrape still stands',
      );

      clock.advanceSeconds(30);
      assert.equal(
        value(await scrape(server), ACTIVE),
        usernames.length,
        'every one of them, once counted again',
      );

      // One logs out, another signs in on a second device: logins, not users, are counted.
      const logout = await request(server.url, 'POST', '/auth/logout', {
        headers: { authorization: `Bearer ${tokens[0]}` },
      });
      assert.equal(logout.status, 200, logout.text);
      await signIn(server, usernames[1] as string);
      clock.advanceSeconds(30);
      assert.equal(value(await scrape(server), ACTIVE), usernames.length);

      // Three counts for five scrapes: the store was asked once per interval, through the instrumented store.
      const last = await scrape(server);
      const labels = { store: kind, capability: 'logins', operation: 'countLogins' };
      assert.equal(value(last, 'keycard_store_operation_duration_seconds_count', labels), 3);
      assert.equal(value(last, 'keycard_store_operation_errors_total', labels), 0);
    });
  });
}

describe(`server: ${ACTIVE} when the store cannot count`, () => {
  const clock = new ManualClock();
  const memory = new MemoryStore({ clock });
  let failing = false;
  // A real memory store whose count alone can be made to fail, as a store does when it cannot be reached.
  // The flag is read at each call: the server takes the method once.
  const store = new Proxy(memory, {
    get(target, property) {
      if (property === 'countLogins') {
        return async (now: number) => {
          if (failing) throw storeUnavailable('memory', new Error('induced for the test'));
          return target.countLogins(now);
        };
      }
      const member: unknown = Reflect.get(target, property, target);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      clock,
      store,
      flags: { strategy: 'hybrid', transport: 'header', 'metrics-port': '0' },
    });
    await server.keycard.users.create({ username: 'active-plover', password: PASSWORD });
  });
  after(async () => {
    await server?.close();
  });

  test('the scrape still answers, without the gauge’s sample, and the failure is counted; a later count brings it back', async () => {
    await signIn(server, 'active-plover');
    assert.equal(value(await scrape(server), ACTIVE), 1);
    const call = { store: 'memory', capability: 'logins', operation: 'countLogins' };

    failing = true;
    clock.advanceSeconds(30);
    const failed = await scrape(server); // asserts the 200
    assert.equal(sampled(failed, ACTIVE), false, 'no sample rather than the previous 1');
    assert.ok(
      failed.families.some((family) => family.name === ACTIVE),
      'the metric itself is still described',
    );
    assert.equal(value(failed, 'keycard_logins_total', { outcome: 'succeeded' }), 1, 'the rest is there');

    // prom-client collects a scrape's metrics all at once, so the store counters show the count this
    // scrape made from the next scrape on; that one is within the interval: the store is not asked again.
    const again = await scrape(server);
    assert.equal(sampled(again, ACTIVE), false);
    assert.equal(value(again, 'keycard_store_operation_errors_total', call), 1, 'one failed count');
    assert.equal(
      value(again, 'keycard_store_operation_duration_seconds_count', call),
      2,
      'two counts in all',
    );

    failing = false;
    clock.advanceSeconds(30);
    assert.equal(value(await scrape(server), ACTIVE), 1, 'counted again once the interval passed');
    const after = await scrape(server);
    assert.equal(value(after, 'keycard_store_operation_errors_total', call), 1, 'and that count succeeded');
    assert.equal(value(after, 'keycard_store_operation_duration_seconds_count', call), 3);
  });
});

describe('server: metrics off', () => {
  test('without --metrics-port there is no management listener', async () => {
    const server = await startTestServer({ storeURL: 'memory:' });
    try {
      assert.equal(server.metricsURL, null);
      assert.equal((await request(server.url, 'GET', '/metrics')).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('docs/operations.md: metrics', () => {
  test('the metrics table lists every metric of the catalog, with its type and labels', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const rows = doc
      .split('\n')
      .filter((line) => line.startsWith('| `keycard_'))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
    assert.deepEqual(
      rows.map((cells) => cells[0]),
      Object.values(METRICS).map((spec) => `\`${spec.name}\``),
    );
    for (const spec of Object.values(METRICS)) {
      const row = rows.find((cells) => cells[0] === `\`${spec.name}\``) as string[];
      assert.equal(row[1], spec.type);
      const labels = Object.keys(spec.labels);
      assert.equal(row[2], labels.length === 0 ? '' : labels.map((label) => `\`${label}\``).join(', '));
    }
  });
});
