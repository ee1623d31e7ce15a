/**
 * The README cannot rot: its runnable blocks (and those of docs/, see test/package/runnable.ts) are run as
 * a new user would run them, against the packed package — installed with the README's own `npm i` lines
 * (keycard from `npm pack` of this checkout), the files written as shown, type-checked by the app's own
 * `tsc` with the README's strict tsconfig, started with the README's command, and driven over HTTP and in
 * Chromium: a wrong password (401 JSON, the process still up), malformed JSON (400 JSON), a browser login
 * with the token of the one-line CSRF route, a protected route, logout.
 *
 * Scenarios: `express` (with Express 5, and again with Express 4 as the README says it works), `fastify`,
 * and the token-verifying services `verify` (Express) and `verify-fastify` (in docs/jwt.md), each against
 * a real `keycard serve --preset api` from the same installed package. scripts/test.mjs installs the apps
 * before the runner starts (they are cached while the packed sources do not change).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { Client, request } from '../helpers/http.js';
import { type PackedApp, packedApp, type StartedCommand } from '../helpers/packed.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../helpers/services.js';
import {
  codeBlocks,
  installSteps,
  runnableBlocks,
  type Scenario,
  scenarios,
  shellLines,
  type Variant,
  variants,
} from './runnable.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIOS = scenarios(runnableBlocks(ROOT));
/** How each scenario is driven; a runnable scenario without a driver here fails the first test. */
const DRIVERS: Record<string, 'app' | 'verify'> = {
  express: 'app',
  fastify: 'app',
  verify: 'verify',
  'verify-fastify': 'verify',
};
/** Copying the prepared install, the install block's own commands, `npx tsc`, starting: well under this. */
const SETUP_TIMEOUT = 100_000;

describe('README: the runnable blocks', () => {
  test('every TypeScript and JavaScript block of the README, and every block of “Use it in your app”, is runnable', () => {
    const markdown = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const lines = markdown.split('\n');
    const start = lines.indexOf('## Use it in your app') + 1;
    const end = lines.findIndex((line, index) => index >= start && line.startsWith('## '));
    assert.ok(start > 0 && end > start, 'the README has its “Use it in your app” section');
    const inSection = (where: string): boolean => {
      const line = Number(where.split(':')[1]);
      return line > start && line <= end;
    };
    const unmarked = codeBlocks(markdown, 'README.md').filter(
      (block) => !block.marker && (['ts', 'js'].includes(block.language) || inSection(block.where)),
    );
    assert.deepEqual(
      unmarked.map((block) => block.where),
      [],
      'mark each with <!-- runnable: … --> (and drive it here), or it can rot',
    );
  });

  test('every runnable scenario has a driver here, and every driver a scenario', () => {
    assert.deepEqual([...SCENARIOS.keys()].sort(), Object.keys(DRIVERS).sort());
  });

  test('each scenario installs keycard and has the tsconfig; app scenarios add a user and have page code', () => {
    for (const scenario of SCENARIOS.values()) {
      assert.ok(installSteps(scenario.install).specs.includes('keycard'), scenario.install.where);
      assert.ok(scenario.files.has('tsconfig.json'), `${scenario.name} has the README's tsconfig.json`);
      if (DRIVERS[scenario.name] === 'app') {
        assert.ok(credentials(scenario), `${scenario.run.where}: the run block adds a user with a password`);
        assert.ok(scenario.browser, `${scenario.name} has a browser block`);
      }
    }
  });
});

/** The user the run block adds: `echo '<password>' | npx keycard user add <name> …`. */
function credentials(scenario: Scenario): { username: string; password: string } | null {
  for (const line of shellLines(scenario.run)) {
    const match = /^echo '([^']+)' \| npx keycard user add (\S+)/.exec(line);
    if (match) return { username: match[2] as string, password: match[1] as string };
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** How a started command ended, or null while it runs. */
function ended(started: StartedCommand | undefined): string | null {
  const child = started?.child;
  if (!child || (child.exitCode === null && child.signalCode === null)) return null;
  return `exit ${child.exitCode ?? child.signalCode}`;
}

function printed(started: StartedCommand | undefined): string {
  const output = started?.output();
  return output ? `${output.stdout}\n${output.stderr}` : '';
}

/** Waits until `url` answers over HTTP; fails at once, with its output, if the process ended. */
async function serving(started: StartedCommand, url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (ended(started)) assert.fail(`${what} ended (${ended(started)}):\n${printed(started)}`);
    try {
      await request(url, 'GET', '/');
      return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) assert.fail(`${what} did not start listening on ${url}:\n${printed(started)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runOK(app: PackedApp, line: string, what: string, input?: string): Promise<void> {
  const result = await app.run('sh', ['-c', line], { timeoutMs: 90_000, input });
  assert.equal(result.code, 0, `${what}: \`${line}\` failed:\n${result.stdout}\n${result.stderr}`);
}

interface Prepared {
  app: PackedApp;
  /** The run block's last line, which starts the server. */
  serverLine: string;
}

/**
 * The app as the scenario's blocks make it: keycard and the install block's packages (Express 4's for that
 * variant) installed, its other install commands run, its files written, and every line of its run block
 * but the last run (adding the user, `npx tsc`).
 */
async function prepare(variant: Variant): Promise<Prepared> {
  const { scenario } = variant;
  // keycard comes from the packed checkout (packedApp), never from the registry.
  const app = await packedApp(variant.dependencies);
  try {
    const express = variant.dependencies.find((spec) => spec.startsWith('express'));
    if (express) {
      const installed = JSON.parse(readFileSync(join(app.dir, 'node_modules/express/package.json'), 'utf8'));
      assert.match(installed.version, express === 'express@4' ? /^4\./ : /^5\./, variant.label);
    }
    for (const command of installSteps(scenario.install).commands) {
      await runOK(app, command, scenario.install.where);
    }
    for (const [name, code] of scenario.files) writeFileSync(join(app.dir, name), code);
    const lines = shellLines(scenario.run);
    for (const line of lines.slice(0, -1)) await runOK(app, line, scenario.run.where);
    return { app, serverLine: lines.at(-1) as string };
  } catch (error) {
    app.remove();
    throw error;
  }
}

const json = { 'content-type': 'application/json' };
/** What a page's fetch sends on a same-origin POST. */
const samePage = (base: string) => ({ 'sec-fetch-site': 'same-origin', origin: base });

function describeApp(variant: Variant): void {
  const { scenario, label } = variant;
  describe(`README ${label}: installed, type-checked, started and driven`, () => {
    let prepared: Prepared | undefined;
    let server: StartedCommand | undefined;
    let base = '';
    const user = credentials(scenario) ?? { username: '', password: '' };

    before(
      async () => {
        prepared = await prepare(variant);
        const port = await freePort();
        base = `http://localhost:${port}`;
        server = prepared.app.start('sh', ['-c', prepared.serverLine], { env: { PORT: String(port) } });
        await serving(server, base, label);
      },
      { timeout: SETUP_TIMEOUT },
    );
    after(async () => {
      await server?.stop();
      prepared?.app.remove();
    });

    const stillUp = async (): Promise<void> => {
      assert.equal(ended(server), null, `the app ended:\n${printed(server)}`);
      assert.equal((await request(base, 'GET', '/auth/csrf')).status, 200);
    };

    // guards: Express 4 ended the process on the first wrong password (an async handler's rejection)
    test('a wrong password: 401 JSON, and the process is still up', async () => {
      const wrong = await request(base, 'POST', '/login', {
        json: { username: user.username, password: 'not the password' },
      });
      assert.equal(wrong.status, 401, wrong.text);
      assert.equal(wrong.json?.error?.code, 'invalid_credentials');
      await stillUp();
    });

    // guards: malformed JSON got the framework's HTML error page
    test('malformed JSON, a missing field or an oversized body: keycard’s JSON errors', async () => {
      const malformed = await request(base, 'POST', '/login', {
        body: '{"username": "alice",',
        headers: json,
      });
      assert.equal(malformed.status, 400, malformed.text);
      assert.match(String(malformed.headers['content-type']), /^application\/json/);
      assert.equal(malformed.json?.error?.code, 'invalid_request');
      const missing = await request(base, 'POST', '/login', { json: { username: user.username } });
      assert.equal(missing.status, 400, missing.text);
      assert.deepEqual(
        [missing.json?.error?.code, missing.json?.error?.field],
        ['invalid_request', 'password'],
      );
      const large = await request(base, 'POST', '/login', {
        json: { username: user.username, password: 'p'.repeat(20_000) },
      });
      assert.equal(large.status, 413, large.text);
      assert.equal(large.json?.error?.code, 'payload_too_large');
      await stillUp();
    });

    // guards: a browser login was refused with 403 — the app had no way to hand out the pre-login token
    test('a page’s login with the token from /auth/csrf, a protected route, the role, logout (HTTP)', async () => {
      const page = new Client(base);
      const refused = await page.post('/login', { json: user, headers: samePage(base) });
      assert.equal(refused.status, 403, 'a browser login without the token is refused');
      assert.equal(refused.json?.error?.code, 'csrf_rejected');
      const token = (await page.get('/auth/csrf')).json?.token;
      assert.equal(typeof token, 'string');
      const login = await page.post('/login', {
        json: user,
        headers: { ...samePage(base), 'x-csrf-token': token },
      });
      assert.equal(login.status, 200, login.text);
      assert.equal(login.json?.user?.username, user.username);
      const profile = await page.get('/profile');
      assert.deepEqual([profile.status, profile.json?.visits], [200, 1]);
      assert.equal((await page.get('/profile')).json?.visits, 2, 'session data persists');
      assert.equal((await page.get('/admin')).status, 200, 'the README adds the user as an admin');
      assert.equal((await new Client(base).get('/profile')).status, 401);
      const crossSite = await page.post('/logout', {
        headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      });
      assert.equal(crossSite.status, 403);
      const fresh = (await page.get('/auth/csrf')).json?.token;
      const logout = await page.post('/logout', { headers: { ...samePage(base), 'x-csrf-token': fresh } });
      assert.deepEqual([logout.status, logout.json], [200, { ok: true }]);
      assert.equal((await page.get('/profile')).status, 401);
    });

    describe('in Chromium', { skip: chromiumSkipReason() }, () => {
      let browser: Browser | undefined;
      before(async () => {
        browser = await chromium.launch({
          executablePath: CHROMIUM_PATH,
          args: CHROMIUM_ARGS,
          headless: true,
        });
      });
      after(() => browser?.close());

      test('the README’s page code signs in and out with the CSRF route', async () => {
        const context = await (browser as Browser).newContext();
        // A page of the app's own origin (the app serves no HTML; the browser is handed a blank one).
        await context.route(`${base}/page`, (route) =>
          route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title>' }),
        );
        const page = await context.newPage();
        await page.goto(`${base}/page`);
        const code = (scenario.browser as { code: string }).code;
        const result = await page.evaluate(`(async () => {
${code}
const outcome = {};
try { await signIn(${JSON.stringify(user.username)}, 'not the password'); } catch (error) { outcome.wrong = error.message; }
outcome.user = (await signIn(${JSON.stringify(user.username)}, ${JSON.stringify(user.password)})).user.username;
outcome.profile = (await fetch('/profile')).status;
outcome.cookies = document.cookie;
await signOut();
outcome.afterLogout = (await fetch('/profile')).status;
return outcome;
})()`);
        await context.close();
        assert.deepEqual(result, {
          wrong: 'wrong username or password',
          user: user.username,
          profile: 200,
          cookies: '',
          afterLogout: 401,
        });
      });
    });
  });
}

function describeVerify(variant: Variant): void {
  const { scenario } = variant;
  describe(`README ${scenario.name}: a service that verifies keycard serve's tokens`, () => {
    let prepared: Prepared | undefined;
    let auth: StartedCommand | undefined;
    let service: StartedCommand | undefined;
    let serviceURL = '';
    let accessToken = '';

    before(
      async () => {
        prepared = await prepare(variant);
        const { app } = prepared;
        // The auth service: keycard serve from the same installed package, as the README's server part runs it.
        const password = 'correct horse battery staple';
        await runOK(
          app,
          'npx keycard user add alice --password-stdin --store sqlite:./auth.db',
          'user add',
          password,
        );
        const authPort = await freePort();
        const authURL = `http://localhost:${authPort}`;
        auth = app.start('npx', ['keycard', 'serve', '--preset', 'api', '--store', 'sqlite:./auth.db'], {
          env: { PORT: String(authPort) },
        });
        await serving(auth, authURL, 'keycard serve');
        const login = await request(authURL, 'POST', '/auth/login', {
          json: { username: 'alice', password },
        });
        assert.equal(login.status, 200, login.text);
        accessToken = login.json.access_token;
        const port = await freePort();
        serviceURL = `http://localhost:${port}`;
        service = app.start('sh', ['-c', prepared.serverLine], {
          env: { PORT: String(port), JWKS_URL: `${authURL}/.well-known/jwks.json` },
        });
        await serving(service, serviceURL, scenario.name);
      },
      { timeout: SETUP_TIMEOUT },
    );
    after(async () => {
      await service?.stop();
      await auth?.stop();
      prepared?.app.remove();
    });

    test('200 with the user for keycard serve’s access token; 401 with a Bearer challenge otherwise', async () => {
      const ok = await request(serviceURL, 'GET', '/orders', {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json.orders, []);
      assert.equal(ok.json.user.username, 'alice');
      const missing = await request(serviceURL, 'GET', '/orders');
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer');
      assert.equal(missing.json.error.code, 'unauthenticated');
      const forged = await request(serviceURL, 'GET', '/orders', {
        headers: { authorization: `Bearer ${accessToken.slice(0, -4)}AAAA` },
      });
      assert.equal(forged.status, 401);
      assert.equal(forged.json.error.code, 'token_invalid');
      assert.equal(ended(service), null);
    });
  });
}

for (const variant of variants(SCENARIOS)) {
  if (DRIVERS[variant.scenario.name] === 'verify') describeVerify(variant);
  else if (DRIVERS[variant.scenario.name] === 'app') describeApp(variant);
}
