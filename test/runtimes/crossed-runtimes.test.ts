/**
 * The runtime/API pairs the examples leave out (test/runtimes/apps/crossed.ts): keycard/hono on Bun with
 * the session strategy (web-app preset), and keycard/fetch on Deno with the hybrid strategy (spa preset).
 * Each answers the auth API conversation exactly as a `keycard serve` of the same preset does, guards its
 * own routes (401 signed out, 200 signed in, a cookie-carried POST refused cross-site and without its
 * CSRF token) and ends on SIGTERM with exit code 0. With test/runtimes/fetch-runtimes (Fetch on Bun, Hono
 * on Deno), both APIs run on both runtimes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertDocumentedAnswers, CONVERSATION_PASSWORD, converse } from '../helpers/api-conversation.js';
import { eventually } from '../helpers/eventually.js';
import {
  assertStopsCleanly,
  type RunningExample,
  startExample,
  startReferenceServer,
} from '../helpers/examples.js';
import { Client, request } from '../helpers/http.js';
import {
  DENO_SERVE_PERMISSIONS,
  type RuntimeName,
  runtimeBinary,
  runtimeSkipReason,
} from '../helpers/runtimes.js';
import type { TestServer } from '../helpers/server.js';

const APP = 'test/runtimes/apps/crossed.ts';
const PAIRS: Record<RuntimeName, { kind: 'hono' | 'fetch'; preset: string; args: string[] }> = {
  bun: { kind: 'hono', preset: 'web-app', args: ['--conditions=source', APP] },
  deno: {
    kind: 'fetch',
    preset: 'spa',
    args: ['run', ...DENO_SERVE_PERMISSIONS, '--conditions=source', '--sloppy-imports', APP],
  },
};

const skips: Record<RuntimeName, string | undefined> = {
  bun: runtimeSkipReason('bun'),
  deno: runtimeSkipReason('deno'),
};
const running: Partial<Record<RuntimeName, { app: RunningExample; served: TestServer }>> = {};

before(async () => {
  const started = (Object.keys(PAIRS) as RuntimeName[])
    .filter((runtime) => skips[runtime] === undefined)
    .map(async (runtime) => {
      const { kind, preset, args } = PAIRS[runtime];
      const [app, served] = await Promise.all([
        startExample(runtimeBinary(runtime), args, { KIND: kind, PRESET: preset }),
        startReferenceServer(preset),
      ]);
      running[runtime] = { app, served };
    });
  const results = await Promise.allSettled(started);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
});
after(async () => {
  for (const { app, served } of Object.values(running)) {
    app.kill();
    await served.close();
  }
});

for (const runtime of Object.keys(PAIRS) as RuntimeName[]) {
  const { kind, preset } = PAIRS[runtime];
  describe(`keycard/${kind} on ${runtime} (${preset} preset)`, { skip: skips[runtime] }, () => {
    const started = () => {
      const found = running[runtime];
      assert.ok(found, `${runtime}: the app did not start`);
      return found;
    };

    test('the auth API answers the conversation exactly as keycard serve does', async () => {
      const { app, served } = started();
      const [fromServe, fromApp] = await Promise.all([
        converse(served.url, preset),
        converse(app.url, preset),
      ]);
      assert.deepEqual(fromApp, fromServe);
      assertDocumentedAnswers(fromServe, preset);
    });

    test('its own routes: 401 signed out, 200 signed in; a cookie POST refused cross-site and without its CSRF token', async () => {
      const { url } = started().app;
      const anonymous = await request(url, 'GET', '/api/profile');
      assert.equal(anonymous.status, 401, anonymous.text);
      assert.equal(anonymous.json.error.code, 'unauthenticated');

      const client = new Client(url);
      const login = await client.post('/auth/login', {
        json: { username: 'bob', password: CONVERSATION_PASSWORD },
      });
      assert.equal(login.status, 200, login.text);
      const profile = await client.get('/api/profile');
      assert.equal(profile.status, 200, profile.text);
      assert.equal(profile.json.user.username, 'bob');

      const echo = { json: { text: 'hello' } };
      const crossSite = await client.post('/api/echo', {
        ...echo,
        headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(crossSite.status, 403, crossSite.text);
      assert.equal(crossSite.json.error.code, 'cross_site_request');
      const sameOrigin = { origin: url, 'sec-fetch-site': 'same-origin' };
      const tokenless = await client.post('/api/echo', { ...echo, headers: sameOrigin });
      assert.equal(tokenless.status, 403, tokenless.text);
      assert.equal(tokenless.json.error.code, 'csrf_rejected');
      const csrf = login.json.csrf_token as string;
      assert.equal(typeof csrf, 'string', login.text);
      const kept = await client.post('/api/echo', {
        ...echo,
        headers: { ...sameOrigin, 'x-csrf-token': csrf },
      });
      assert.equal(kept.status, 200, kept.text);
      assert.deepEqual(kept.json, { echo: { text: 'hello' } });

      const out = await client.post('/auth/logout', { headers: { ...sameOrigin, 'x-csrf-token': csrf } });
      assert.equal(out.status, 200, out.text);
      assert.equal((await client.get('/api/profile')).status, 401, 'signed out');
    });

    test('SIGTERM: the app exits 0', async () => {
      await assertStopsCleanly(started().app);
    });
  });
}

describe('deno without --allow-sys=uid,gid: the SQLite store names the missing flag', {
  skip: skips.deno,
}, () => {
  test('requests are refused 503 store_unavailable, and the log says which flag to add', async () => {
    const permissions = DENO_SERVE_PERMISSIONS.filter((flag) => !flag.startsWith('--allow-sys'));
    const app = await startExample(
      runtimeBinary('deno'),
      ['run', ...permissions, '--conditions=source', '--sloppy-imports', APP],
      { KIND: 'fetch', PRESET: 'web-app' },
    );
    try {
      const login = () =>
        request(app.url, 'POST', '/auth/login', {
          json: { username: 'bob', password: CONVERSATION_PASSWORD },
        });
      // The file check runs every second, so the first requests may still be served.
      await eventually(async () => (await login()).status === 503, 'a 503 once the file check has run');
      const refused = await login();
      assert.equal(refused.json.error.code, 'store_unavailable');
      await eventually(() => app.output().includes('--allow-sys=uid,gid'), 'the log naming the flag');
    } finally {
      app.kill();
    }
  });
});
