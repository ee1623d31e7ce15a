/**
 * The admin's account lifecycle (issue 17) on keycard serve, for every strategy on every store: change a
 * role, delete a user, set a password, list and end one user's logins, search users by prefix — and the
 * refusals: no login (401), not an admin (403), another site (403), an unknown id (404), a bad role (400),
 * the admin's own account (400). A deleted user's still-unexpired access token is refused where the
 * strategy checks (hybrid: everywhere; jwt: routes that need a live login, and at refresh), and two
 * deletes of one user at once answer one 200 and one 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { Client, type RequestOptions } from '../helpers/http.js';
import {
  browserSignIn,
  fetchCSRFToken,
  SAME_ORIGIN,
  type StrategyServer,
  startStrategyServer,
  storeSkipReasons,
} from '../security/helpers.js';

const PASSWORD = 'correct horse battery staple';
const TEMPORARY = 'a temporary passphrase';
/** A well-formed id that names nobody. */
const NO_SUCH_ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const SKIPS = await storeSkipReasons();

/** A browser page's request: same-origin, with the login's CSRF token on unsafe methods. */
async function send(
  client: Client,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Awaited<ReturnType<Client['request']>>> {
  if (method === 'GET') return client.get(path, { headers: SAME_ORIGIN });
  const token = await fetchCSRFToken(client, SAME_ORIGIN);
  return client.request(method, path, {
    ...options,
    headers: { ...SAME_ORIGIN, 'x-csrf-token': token, ...options.headers },
  });
}

const STRATEGIES = ['session', 'hybrid', 'jwt'] as const;
for (const storeKind of ['memory', 'sqlite', 'redis', 'postgres'] as const) {
  for (const strategy of STRATEGIES) {
    describe(`admin lifecycle: ${strategy} on ${storeKind}`, { skip: SKIPS[storeKind] }, () => {
      let server: StrategyServer;
      let admin: Client;
      let adminId: string;
      let n = 0;
      /** A fresh user per test. */
      const newUser = async (prefix = 'user') => {
        const user = await server.keycard.users.create({ username: `${prefix}${++n}`, password: PASSWORD });
        return user;
      };
      /** A signed-in browser of the user, and the login's answer. */
      const signedIn = async (username: string, password = PASSWORD) => {
        const client = new Client(server.url);
        const login = await browserSignIn(client, username, password, SAME_ORIGIN);
        return { client, login: login.json };
      };
      /** Whether the login is refused where this strategy checks: the store-read routes for jwt. */
      const assertRefused = async (client: Client, why: string) => {
        // A route that needs a live login: refused under every strategy.
        const live = await send(client, 'POST', '/auth/logout-all', { json: { keepCurrent: true } });
        assert.equal(live.status, 401, `${why}: POST /auth/logout-all ${live.status} ${live.text}`);
        // jwt verifies access tokens without the store elsewhere (its documented trade-off).
        if (strategy !== 'jwt') assert.equal((await client.get('/auth/me')).status, 401, `${why}: /auth/me`);
        if (strategy !== 'session') {
          const refreshed = await send(client, 'POST', '/auth/refresh');
          assert.equal(refreshed.status, 401, `${why}: refresh ${refreshed.text}`);
        }
      };

      before(async () => {
        server = await startStrategyServer(strategy, { store: storeKind });
        const root = await server.keycard.users.create({
          username: 'root',
          password: PASSWORD,
          role: 'admin',
        });
        adminId = root.id;
        admin = (await signedIn('root')).client;
      });
      after(async () => {
        await server?.close();
      });

      test('no login is 401, a non-admin is 403, another site is 403, and nothing changes', async () => {
        const target = await newUser();
        const plain = await newUser();
        const { client: user } = await signedIn(plain.username);
        const anonymous = new Client(server.url);
        const routes: [string, string, RequestOptions?][] = [
          ['PATCH', `/auth/admin/users/${target.id}`, { json: { role: 'admin' } }],
          ['POST', `/auth/admin/users/${target.id}/role`, { json: { role: 'admin' } }],
          ['DELETE', `/auth/admin/users/${target.id}`],
          ['POST', `/auth/admin/users/${target.id}/delete`],
          ['POST', `/auth/admin/users/${target.id}/password`, { json: { password: TEMPORARY } }],
          ['GET', `/auth/admin/users/${target.id}/sessions`],
          ['DELETE', `/auth/admin/users/${target.id}/sessions`],
          ['GET', '/auth/admin/users?q=user'],
          ['GET', '/auth/admin/audit'],
        ];
        for (const [method, path, options] of routes) {
          assert.equal((await send(anonymous, method, path, options)).status, 401, `${method} ${path}`);
          const forbidden = await send(user, method, path, options);
          assert.equal(forbidden.status, 403, `${method} ${path}: ${forbidden.text}`);
          assert.equal(forbidden.json.error.code, 'forbidden');
          if (method === 'GET') continue;
          const token = await fetchCSRFToken(admin, SAME_ORIGIN);
          const crossSite = await admin.request(method, path, {
            ...options,
            headers: {
              origin: 'https://evil.example',
              'sec-fetch-site': 'cross-site',
              'x-csrf-token': token,
            },
          });
          assert.equal(crossSite.status, 403, `cross-site ${method} ${path}: ${crossSite.text}`);
          const noToken = await admin.request(method, path, { ...options, headers: SAME_ORIGIN });
          assert.equal(noToken.status, 403, `no CSRF token ${method} ${path}: ${noToken.text}`);
        }
        const after = await server.keycard.users.get(target.id);
        assert.equal(after?.role, 'user');
        assert.ok((await server.keycard.users.verifyCredentials(target.username, PASSWORD)).ok);
      });

      test('an unknown id is 404 and a malformed one 400, on every route', async () => {
        for (const [method, path, options] of [
          ['PATCH', '', { json: { role: 'admin' } }],
          ['POST', '/role', { json: { role: 'admin' } }],
          ['DELETE', ''],
          ['POST', '/delete'],
          ['POST', '/password', { json: { password: TEMPORARY } }],
          ['GET', '/sessions'],
          ['DELETE', '/sessions'],
        ] as [string, string, RequestOptions?][]) {
          const missing = await send(admin, method, `/auth/admin/users/${NO_SUCH_ID}${path}`, options);
          assert.equal(missing.status, 404, `${method} …${path}: ${missing.text}`);
          assert.equal(missing.json.error.code, 'not_found');
          const malformed = await send(admin, method, `/auth/admin/users/not-an-id${path}`, options);
          assert.equal(malformed.status, 400, `${method} …${path}: ${malformed.text}`);
        }
      });

      test('a role change ends the user’s logins, and the next sign-in carries the new role', async () => {
        const target = await newUser();
        const { client: before } = await signedIn(target.username);
        const bad = await send(admin, 'PATCH', `/auth/admin/users/${target.id}`, { json: { role: 'root' } });
        assert.equal(bad.status, 400);
        assert.equal(bad.json.error.code, 'invalid_request');
        assert.equal(bad.json.error.field, 'role');
        const missing = await send(admin, 'PATCH', `/auth/admin/users/${target.id}`, { json: {} });
        assert.equal(missing.status, 400);
        assert.equal(missing.json.error.field, 'role');
        // The role the user already has changes nothing, and ends nothing.
        const same = await send(admin, 'PATCH', `/auth/admin/users/${target.id}`, { json: { role: 'user' } });
        assert.equal(same.status, 200, same.text);
        assert.equal((await before.get('/auth/me')).status, 200);

        const changed = await send(admin, 'PATCH', `/auth/admin/users/${target.id}`, {
          json: { role: 'admin' },
        });
        assert.equal(changed.status, 200, changed.text);
        assert.equal(changed.json.user.role, 'admin');
        assert.equal(changed.json.user.id, target.id);
        await assertRefused(before, 'the login from before the change');
        assert.deepEqual(await server.keycard.logins.listForUser(target.id), []);
        if (strategy === 'hybrid') {
          // A user-wide cut-off compares with `iat`, in whole seconds: a token issued in the cut-off's
          // second counts as revoked (docs/hybrid.md). Sign in again from the next second on.
          const cutoff = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 1000 - (cutoff % 1000) + 20));
        }
        const { client: after, login } = await signedIn(target.username);
        assert.equal(login.user.role, 'admin');
        assert.equal((await after.get('/auth/me')).json.user.role, 'admin');
        assert.equal(
          (await send(after, 'GET', '/auth/admin/users')).status,
          200,
          'the new admin may list users',
        );

        // The form route: back to user, then a redirect to the admin page.
        const token = await fetchCSRFToken(admin, SAME_ORIGIN);
        const form = await admin.post(`/auth/admin/users/${target.id}/role`, {
          form: { role: 'user', _csrf: token },
          headers: SAME_ORIGIN,
        });
        assert.equal(form.status, 303, form.text);
        assert.equal(form.headers.location, '/admin');
        assert.equal((await server.keycard.users.get(target.id))?.role, 'user');
        await assertRefused(after, 'the admin login after demotion');
        await eventually(async () => {
          const records = await server.keycard.audit?.list({
            limit: 10,
            userId: target.id,
            types: ['role_changed'],
          });
          return records?.length === 2 && records[0]?.data.previousRole === 'admin';
        }, 'both role changes in the audit log');
      });

      test('an admin cannot change their own role, delete themself or reset their own password here', async () => {
        const demote = await send(admin, 'PATCH', `/auth/admin/users/${adminId}`, { json: { role: 'user' } });
        assert.equal(demote.status, 400, demote.text);
        assert.equal(demote.json.error.field, 'id');
        const remove = await send(admin, 'DELETE', `/auth/admin/users/${adminId}`);
        assert.equal(remove.status, 400);
        const form = await send(admin, 'POST', `/auth/admin/users/${adminId}/delete`);
        assert.equal(form.status, 400);
        const reset = await send(admin, 'POST', `/auth/admin/users/${adminId}/password`, {
          json: { password: TEMPORARY },
        });
        assert.equal(reset.status, 400);
        const me = await server.keycard.users.get(adminId);
        assert.equal(me?.role, 'admin');
        assert.equal((await admin.get('/auth/me')).status, 200, 'still signed in');
      });

      test('deleting a user ends every login (tokens refused), frees the name, and is audited', async () => {
        const target = await newUser('gone');
        const first = await signedIn(target.username);
        const second = await signedIn(target.username);
        const issuedAt = Date.now() - 1000;
        const deleted = await send(admin, 'DELETE', `/auth/admin/users/${target.id}`);
        assert.equal(deleted.status, 200, deleted.text);
        assert.equal(deleted.json.user.id, target.id);
        assert.equal(deleted.json.user.username, target.username);
        assert.equal(await server.keycard.users.get(target.id), null);
        assert.deepEqual(await server.keycard.logins.listForUser(target.id), []);
        await assertRefused(first.client, 'the first login of the deleted user');
        await assertRefused(second.client, 'the second login of the deleted user');
        if (strategy !== 'session') {
          // The revocation is in the store, for every instance and for resource servers on the feed.
          const loginId = first.login.session.id as string;
          assert.equal(
            await server.keycard.store.isRevoked({ loginId, userId: target.id, issuedAt }, Date.now()),
            true,
          );
        }
        const refused = await new Client(server.url).post('/auth/login', {
          json: { username: target.username, password: PASSWORD },
        });
        assert.equal(refused.status, 401);
        assert.equal(refused.json.error.code, 'invalid_credentials');
        // The name is free: a new account, with a new id, which the old logins do not reach.
        const again = await send(admin, 'POST', '/auth/admin/users', {
          json: { username: target.username, password: PASSWORD },
        });
        assert.equal(again.status, 201, again.text);
        assert.notEqual(again.json.user.id, target.id);
        if (strategy !== 'jwt') assert.equal((await first.client.get('/auth/me')).status, 401);
        await eventually(async () => {
          const records = await server.keycard.audit?.list({
            limit: 10,
            userId: target.id,
            types: ['user_deleted'],
          });
          return records?.length === 1 && records[0]?.data.role === 'user';
        }, 'user_deleted in the audit log');
      });

      test('the delete form redirects to the admin page; the page asks before deleting', async () => {
        const target = await newUser();
        const page = await admin.get('/admin', { headers: { accept: 'text/html' } });
        assert.equal(page.status, 200);
        // A confirmation step that works without script: a disclosure holding the form that deletes.
        assert.match(
          page.text,
          new RegExp(
            `<details class="confirm"><summary>Delete…</summary>\\s*<form method="post" action="/auth/admin/users/${target.id}/delete">`,
          ),
        );
        const token = await fetchCSRFToken(admin, SAME_ORIGIN);
        const form = await admin.post(`/auth/admin/users/${target.id}/delete`, {
          form: { _csrf: token },
          headers: SAME_ORIGIN,
        });
        assert.equal(form.status, 303, form.text);
        assert.equal(form.headers.location, '/admin');
        assert.equal(await server.keycard.users.get(target.id), null);
      });

      test('two deletes of one user at once: one 200, one 404', async () => {
        // guards: a delete that reads the user, then deletes, reporting success to both racers
        const target = await newUser();
        await signedIn(target.username);
        const answers = await Promise.all([
          send(admin, 'DELETE', `/auth/admin/users/${target.id}`),
          send(admin, 'DELETE', `/auth/admin/users/${target.id}`),
        ]);
        assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 404]);
        assert.equal(await server.keycard.users.get(target.id), null);
        assert.deepEqual(await server.keycard.logins.listForUser(target.id), []);
      });

      test('one user’s logins: listed a page at a time, then all ended', async () => {
        const target = await newUser();
        const devices = [await signedIn(target.username), await signedIn(target.username)];
        const other = await newUser();
        const { client: bystander } = await signedIn(other.username);
        const page = await send(admin, 'GET', `/auth/admin/users/${target.id}/sessions?limit=1`);
        assert.equal(page.status, 200, page.text);
        assert.equal(page.json.sessions.length, 1);
        assert.equal(page.json.sessions[0].current, false);
        assert.ok(page.json.next);
        const rest = await send(
          admin,
          'GET',
          `/auth/admin/users/${target.id}/sessions?limit=5&cursor=${page.json.next}`,
        );
        assert.equal(rest.json.sessions.length, 1);
        assert.equal(rest.json.next, null);
        const ids = [page.json.sessions[0].id, rest.json.sessions[0].id].sort();
        assert.deepEqual(ids, devices.map((device) => device.login.session.id as string).sort());

        const ended = await send(admin, 'DELETE', `/auth/admin/users/${target.id}/sessions`);
        assert.equal(ended.status, 200, ended.text);
        assert.deepEqual(ended.json, { ok: true, revoked: 2 });
        for (const device of devices) await assertRefused(device.client, 'a login the admin ended');
        assert.equal(
          (await send(admin, 'GET', `/auth/admin/users/${target.id}/sessions`)).json.sessions.length,
          0,
        );
        assert.equal((await bystander.get('/auth/me')).status, 200, "another user's login stays");
        await signedIn(target.username);
      });

      test('setting a password: the policy applies, every login ends, only the new password signs in', async () => {
        const target = await newUser();
        const { client: device } = await signedIn(target.username);
        const path = `/auth/admin/users/${target.id}/password`;
        const short = await send(admin, 'POST', path, { json: { password: 'short' } });
        assert.equal(short.status, 400);
        assert.equal(short.json.error.field, 'password');
        assert.equal((await device.get('/auth/me')).status, 200, 'a refused password ends nothing');
        const set = await send(admin, 'POST', path, { json: { password: TEMPORARY } });
        assert.equal(set.status, 200, set.text);
        assert.equal(set.json.user.id, target.id);
        assert.equal(JSON.stringify(set.json).includes(TEMPORARY), false);
        await assertRefused(device, 'a login from before the reset');
        const old = await new Client(server.url).post('/auth/login', {
          json: { username: target.username, password: PASSWORD },
        });
        assert.equal(old.status, 401);
        await signedIn(target.username, TEMPORARY);
      });

      test('search: a username prefix, normalized, paged with after; pattern characters are literal', async () => {
        for (const name of ['pat.a', 'pat.b', 'pat.c', 'pat_x', 'patxy', 'patty']) {
          await server.keycard.users.create({ username: name, password: PASSWORD });
        }
        const names = async (query: string) => {
          const answer = await send(admin, 'GET', `/auth/admin/users?${query}`);
          assert.equal(answer.status, 200, answer.text);
          return {
            names: answer.json.users.map((user: { username: string }) => user.username),
            next: answer.json.next,
          };
        };
        assert.deepEqual((await names('q=PAT.')).names, ['pat.a', 'pat.b', 'pat.c'], 'case folded');
        assert.deepEqual(
          (await names(`q=${encodeURIComponent('ｐａｔ.')}`)).names,
          ['pat.a', 'pat.b', 'pat.c'],
          'width folded',
        );
        const first = await names('q=pat.&limit=2');
        assert.deepEqual(first, { names: ['pat.a', 'pat.b'], next: 'pat.b' });
        assert.deepEqual(await names(`q=pat.&limit=2&after=${first.next}`), { names: ['pat.c'], next: null });
        assert.deepEqual((await names('q=pat_')).names, ['pat_x'], '_ is no wildcard');
        assert.deepEqual((await names('q=nobody')).names, []);
        for (const bad of ['%25', 'a%20b', '*']) {
          const refused = await send(admin, 'GET', `/auth/admin/users?q=${bad}`);
          assert.equal(refused.status, 400, `${bad}: ${refused.text}`);
          assert.equal(refused.json.error.field, 'q');
        }
        const long = await send(admin, 'GET', `/auth/admin/users?q=${'a'.repeat(300)}`);
        assert.equal(long.status, 400);
        assert.equal(long.json.error.field, 'q');
        // The admin page searches the same way and keeps the query in its next-page link.
        const page = await admin.get('/admin?q=pat.&limit=2', { headers: { accept: 'text/html' } });
        assert.equal(page.status, 200);
        assert.match(page.text, /data-user="pat\.a"/);
        assert.doesNotMatch(page.text, /data-user="patty"/);
        assert.match(page.text, /href="\/admin\?after=pat\.b&amp;q=pat\."/);
        // A search no username can match is said on the page, with the query kept in the box.
        const refusedPage = await admin.get('/admin?q=a%20b', { headers: { accept: 'text/html' } });
        assert.equal(refusedPage.status, 200);
        assert.match(refusedPage.text, /role="alert">q is not the beginning of a username</);
        assert.match(refusedPage.text, /id="user-search"[^>]*value="a b"/);
      });

      test('the audit log: filtered by type, user and time, paged newest first; no password in it; bad queries 400', async () => {
        const target = await newUser('audited');
        await send(admin, 'POST', `/auth/admin/users/${target.id}/password`, {
          json: { password: TEMPORARY },
        });
        await send(admin, 'PATCH', `/auth/admin/users/${target.id}`, { json: { role: 'admin' } });
        await send(admin, 'DELETE', `/auth/admin/users/${target.id}`);
        const query = `user=${target.id}&type=user_deleted,role_changed,password_changed`;
        let records: {
          id: string;
          type: string;
          at: string;
          ip: string | null;
          data: Record<string, unknown>;
        }[] = [];
        await eventually(async () => {
          const answer = await send(admin, 'GET', `/auth/admin/audit?${query}`);
          records = answer.json.records;
          return answer.status === 200 && records.length === 3;
        }, 'three records about the user');
        assert.deepEqual(
          records.map((record) => record.type),
          ['user_deleted', 'role_changed', 'password_changed'],
          'newest first',
        );
        assert.equal(records[0]?.data.role, 'admin');
        assert.ok(records[0]?.ip, "the admin's address");
        assert.ok(Date.parse(records[0]?.at ?? '') > 0);
        const first = await send(admin, 'GET', `/auth/admin/audit?${query}&limit=2`);
        assert.equal(first.json.records.length, 2);
        assert.equal(first.json.next, records[1]?.id);
        const second = await send(
          admin,
          'GET',
          `/auth/admin/audit?${query}&limit=2&before=${first.json.next}`,
        );
        assert.deepEqual(second.json, { records: [records[2]], next: null });
        const later = new Date(Date.now() + 60_000).toISOString();
        assert.deepEqual(
          (await send(admin, 'GET', `/auth/admin/audit?${query}&since=${later}`)).json.records,
          [],
        );
        const all = await send(admin, 'GET', '/auth/admin/audit?limit=1000');
        for (const secret of [PASSWORD, TEMPORARY]) assert.equal(all.text.includes(secret), false);
        for (const [bad, field] of [
          ['type=Login', 'type'],
          [`type=${Array.from({ length: 51 }, (_, i) => `t${i}`).join(',')}`, 'type'],
          ['since=2026-13-01T00:00:00Z', 'since'],
          ['until=yesterday', 'until'],
          ['before=xyz', 'before'],
          ['limit=0', 'limit'],
        ]) {
          const refused = await send(admin, 'GET', `/auth/admin/audit?${bad}`);
          assert.equal(refused.status, 400, `${bad}: ${refused.text}`);
          assert.equal(refused.json.error.field, field, bad);
        }
      });

      test('the audit page: admins only; records filtered as the API does; sign-ins and failures per hour', async () => {
        const target = await newUser('paged');
        await signedIn(target.username);
        const wrong = await new Client(server.url).post('/auth/login', {
          json: { username: target.username, password: 'not the password at all' },
        });
        assert.equal(wrong.status, 401);
        const html = { accept: 'text/html' };
        const { client: plain } = await signedIn((await newUser()).username);
        assert.equal((await plain.get('/admin/audit', { headers: html })).status, 403);
        const counts = async () => {
          const page = await admin.get('/admin/audit', { headers: html });
          assert.equal(page.status, 200);
          const caption = /(\d+) sign-ins<\/span>, <span class="key bad">(\d+) failed sign-ins/.exec(
            page.text,
          );
          assert.ok(caption, 'the chart says its totals in text');
          assert.equal((page.text.match(/<rect class="ok"/g) ?? []).length, 24, 'an hour a bar');
          return { ok: Number(caption[1]), failed: Number(caption[2]) };
        };
        await eventually(async () => (await counts()).failed >= 1, 'the failed sign-in in the chart');
        const before = await counts();
        await new Client(server.url).post('/auth/login', {
          json: { username: target.username, password: 'still not the password' },
        });
        await signedIn(target.username);
        await eventually(async () => {
          const after = await counts();
          return after.failed === before.failed + 1 && after.ok === before.ok + 1;
        }, 'one more of each in the chart');
        await send(admin, 'DELETE', `/auth/admin/users/${target.id}`);
        await eventually(async () => {
          const page = await admin.get(`/admin/audit?type=user_deleted&user=${target.id}`, { headers: html });
          return (
            (page.text.match(/<tr data-audit=/g) ?? []).length === 1 && page.text.includes('user_deleted')
          );
        }, 'the deletion, filtered');
        const refused = await admin.get('/admin/audit?since=2026-13-01T00:00:00Z', { headers: html });
        assert.equal(refused.status, 200);
        assert.match(refused.text, /role="alert">since is not a time the calendar has</);
      });
    });
  }
}
