/**
 * Abuse suite: user enumeration by status, body and headers against a real `keycard serve`, in every
 * cookie strategy. An unknown user, a known user with the wrong password, a username that cannot exist
 * and a blocked user with the wrong password must be answered byte for byte alike (headers apart from
 * Date and Content-Length) — as JSON, to a browser with its CSRF token, and as the HTML a form post gets;
 * only the right password of a blocked account is told apart (403 `account_blocked`, documented). Through
 * throttling, the 401/429 sequence and Retry-After are the same whether or not the account exists.
 *
 * Enumeration by timing is measured, not asserted: bench/enumeration.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../helpers/clock.js';
import { Client, type Response, request } from '../helpers/http.js';
import {
  COOKIE_STRATEGIES,
  credentialSetCookies,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StrategyServer,
  startStrategyServer,
} from './helpers.js';

const PASSWORDS = { alice: 'thistle-Puffin-3318-quarry', bob: 'amber-Stoat-6604-lagoon' } as const;
const WRONG = 'wrong-Password-0000-guess';

/** What each probe sends: the username typed, and the password. */
const PROBES = {
  'known user, wrong password': ['alice', WRONG],
  'unknown user': ['mallory', WRONG],
  'unknown user, one letter off a known one': ['alicf', WRONG],
  'a username that cannot exist (space, symbol)': ['no such user!', WRONG],
  'blocked user, wrong password': ['bob', WRONG],
} as const;
type Probe = keyof typeof PROBES;
const REFERENCE: Probe = 'known user, wrong password';

/**
 * The headers, without the two that legitimately differ between two answers, and Set-Cookie, which is
 * compared on its own (absent, or masked: a fresh pre-login cookie has a random value).
 */
function comparableHeaders(response: Response): Record<string, unknown> {
  const { date: _date, 'content-length': _length, 'set-cookie': _cookies, ...rest } = response.headers;
  return rest;
}

/** An HTML answer with the echoed username and the per-request CSRF token and cookie values masked. */
function maskPage(response: Response, username: string): { text: string; setCookies: string[] } {
  return {
    text: response.text
      .replaceAll(username, '«username»')
      .replace(/[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}/g, '«token»'),
    setCookies: response.setCookies.map((header) => header.replace(/=[^;]*/, '=«value»')),
  };
}

function assertIdentical(responses: Map<Probe, Response>, label: string): void {
  const reference = responses.get(REFERENCE) as Response;
  assert.equal(reference.status, 401, `${label}: ${reference.text}`);
  assert.equal(reference.json.error.code, 'invalid_credentials');
  for (const [probe, response] of responses) {
    assert.equal(response.status, reference.status, `${label}, ${probe}: status`);
    assert.equal(response.text, reference.text, `${label}, ${probe}: body`);
    assert.deepEqual(
      comparableHeaders(response),
      comparableHeaders(reference),
      `${label}, ${probe}: headers`,
    );
    assert.deepEqual(response.setCookies, [], `${label}, ${probe}: no cookie`);
  }
}

for (const strategy of COOKIE_STRATEGIES) {
  describe(`enumeration: ${strategy} strategy`, () => {
    let server: StrategyServer;
    const ids: Record<string, string> = {};

    before(async () => {
      server = await startStrategyServer(strategy);
      for (const [username, password] of Object.entries(PASSWORDS)) {
        ids[username] = (await server.keycard.users.create({ username, password })).id;
      }
      await server.keycard.users.block(ids.bob as string);
    });
    after(async () => {
      await server?.close();
    });

    const noLogins = async () => {
      for (const name of Object.keys(PASSWORDS)) {
        assert.deepEqual(await server.keycard.logins.listForUser(ids[name] as string), [], name);
      }
    };

    test('from a script (JSON): every failing probe gets the same status, body and headers', async () => {
      const responses = new Map<Probe, Response>();
      for (const [probe, [username, password]] of Object.entries(PROBES) as [
        Probe,
        readonly [string, string],
      ][]) {
        responses.set(
          probe,
          await request(server.url, 'POST', '/auth/login', { json: { username, password } }),
        );
      }
      assertIdentical(responses, 'script');
      await noLogins();
    });

    test('from a browser page (with its CSRF token): the same, byte for byte', async () => {
      const responses = new Map<Probe, Response>();
      for (const [probe, [username, password]] of Object.entries(PROBES) as [
        Probe,
        readonly [string, string],
      ][]) {
        const browser = new Client(server.url);
        const token = await fetchCSRFToken(browser);
        const response = await browser.post('/auth/login', {
          json: { username, password },
          headers: { ...SAME_ORIGIN, 'x-csrf-token': token },
        });
        responses.set(probe, response);
      }
      assertIdentical(responses, 'browser');
      await noLogins();
    });

    test('a form post: the same redirect, apart from the echoed username, and the same page after it', async () => {
      const probes: Probe[] = ['known user, wrong password', 'unknown user', 'blocked user, wrong password'];
      const answers = new Map<Probe, Response>();
      for (const probe of probes) {
        const [username, password] = PROBES[probe];
        answers.set(
          probe,
          await request(server.url, 'POST', '/auth/login', { form: { username, password } }),
        );
      }
      const reference = answers.get(REFERENCE) as Response;
      assert.equal(reference.status, 303, 'POST-redirect-GET');
      const masked = (response: Response, username: string) => ({
        location: String(response.headers.location).replace(encodeURIComponent(username), '«username»'),
        text: response.text,
        setCookies: response.setCookies.map((header) => header.replace(/=[^;]*/, '=«value»')),
      });
      const expected = masked(reference, PROBES[REFERENCE][0]);
      assert.equal(expected.location, '/login?error=invalid_credentials&username=«username»');
      for (const [probe, response] of answers) {
        assert.equal(response.status, reference.status, probe);
        assert.deepEqual(masked(response, PROBES[probe][0]), expected, probe);
        assert.deepEqual(
          comparableHeaders(response),
          { ...comparableHeaders(reference), location: response.headers.location },
          probe,
        );
        assert.deepEqual(credentialSetCookies(response), [], probe);
        // The page it leads to: the same, apart from the username and the fresh token.
        const page = await request(server.url, 'GET', String(response.headers.location), {
          headers: { accept: 'text/html' },
        });
        assert.equal(page.status, 200);
        assert.match(page.text, /Wrong username or password\./);
        const reference_page = await request(server.url, 'GET', String(reference.headers.location), {
          headers: { accept: 'text/html' },
        });
        assert.deepEqual(
          maskPage(page, PROBES[probe][0]),
          maskPage(reference_page, PROBES[REFERENCE][0]),
          probe,
        );
      }
      await noLogins();
    });

    test('only the right password of a blocked account is told apart: 403 account_blocked, no login', async () => {
      const eventsBefore = server.events.length;
      const response = await request(server.url, 'POST', '/auth/login', {
        json: { username: 'bob', password: PASSWORDS.bob },
      });
      assert.equal(response.status, 403, response.text);
      assert.equal(response.json.error.code, 'account_blocked');
      assert.deepEqual(response.setCookies, []);
      await noLogins();
      const events = server.events.slice(eventsBefore);
      assert.deepEqual(
        events.map((event) => [event.type, (event as { reason?: string }).reason]),
        [['login_failed', 'account_blocked']],
      );
    });
  });

  describe(`enumeration through throttling: ${strategy} strategy`, () => {
    // A frozen clock, so no wait ends while the test runs, however slow the machine.
    const clock = new ManualClock(Date.now());
    let server: StrategyServer;

    before(async () => {
      server = await startStrategyServer(strategy, { clock });
      await server.keycard.users.create({ username: 'alice', password: PASSWORDS.alice });
    });
    after(async () => {
      await server?.close();
    });

    test('a known and an unknown account get the same 401/429 sequence, bodies and Retry-After', async () => {
      const login = (username: string, password: string) =>
        request(server.url, 'POST', '/auth/login', { json: { username, password } });
      const sequence = { known: [] as Response[], unknown: [] as Response[] };
      for (let attempt = 1; attempt <= 6; attempt++) {
        sequence.known.push(await login('alice', `${WRONG}-${attempt}`));
        sequence.unknown.push(await login('mallory', `${WRONG}-${attempt}`));
      }
      // Refused before any check, so the right password gets the very same answer.
      sequence.known.push(await login('alice', PASSWORDS.alice));
      sequence.unknown.push(await login('mallory', PASSWORDS.alice));
      const statuses = sequence.known.map((response) => response.status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429], 'five free failures, then a wait');
      for (const [i, known] of sequence.known.entries()) {
        const unknown = sequence.unknown[i] as Response;
        assert.equal(unknown.status, known.status, `attempt ${i + 1}: status`);
        assert.equal(unknown.text, known.text, `attempt ${i + 1}: body`);
        assert.equal(
          unknown.headers['retry-after'],
          known.headers['retry-after'],
          `attempt ${i + 1}: Retry-After`,
        );
        assert.deepEqual(comparableHeaders(unknown), comparableHeaders(known), `attempt ${i + 1}: headers`);
        assert.deepEqual(credentialSetCookies(known), [], `attempt ${i + 1}: no login`);
      }
      assert.equal(sequence.known[5]?.headers['retry-after'], '1');
      assert.equal(sequence.known[5]?.json.error.code, 'too_many_requests');
    });
  });
}
