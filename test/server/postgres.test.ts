/**
 * `keycard serve --store postgres://…` is a complete server — users, sessions, token logins and admin all in
 * PostgreSQL — and it fails closed and recovers: with PostgreSQL down (a private server, never the shared one) protected
 * routes and /readyz answer 503 while /healthz and the process stay up; once it is back, service returns by
 * itself and a session from before the outage still works, because PostgreSQL kept it on disk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../helpers/clock.js';
import { Client, request } from '../helpers/http.js';
import { postgresSkipReason, postgresURL, until } from '../helpers/postgres-schemas.js';
import {
  createPrivatePostgres,
  type PrivatePostgres,
  privatePostgresSkipReason,
} from '../helpers/postgres-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { POSTGRES_URL, uniqueName } from '../helpers/services.js';

async function login(server: TestServer, username: string, password: string): Promise<Client> {
  const client = new Client(server.url);
  const response = await client.post('/auth/login', { json: { username, password } });
  assert.equal(response.status, 200, response.text);
  return client;
}

describe('server on PostgreSQL: fail closed and recover (private server)', {
  skip: privatePostgresSkipReason(),
}, () => {
  let postgres: PrivatePostgres;
  let server: TestServer;
  const stray: unknown[] = [];
  const record = (error: unknown) => stray.push(error);

  before(async () => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    postgres = await createPrivatePostgres();
    await postgres.start();
    server = await startTestServer({ storeURL: postgres.url });
    await server.keycard.users.create({ username: 'alice', password: 'alice-password' });
  });
  after(async () => {
    await server?.close();
    await postgres?.destroy();
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });

  test('PostgreSQL stopped → 503 store_unavailable and /readyz 503, /healthz 200; started → service returns', {
    timeout: 60_000,
  }, async () => {
    const alice = await login(server, 'alice', 'alice-password');
    assert.equal((await alice.get('/auth/me')).status, 200);
    assert.equal((await request(server.url, 'GET', '/readyz')).status, 200);

    await postgres.stop();

    const me = await alice.get('/auth/me');
    assert.equal(me.status, 503, 'fail closed: never 200 without the store');
    assert.equal(me.json.error.code, 'store_unavailable');
    const ready = await request(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.json.error.code, 'store_unavailable');
    const refused = await new Client(server.url).post('/auth/login', {
      json: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.setCookies.length, 0);
    assert.equal((await request(server.url, 'GET', '/healthz')).status, 200, 'the process is up');

    await postgres.start();
    await until(
      async () => (await request(server.url, 'GET', '/readyz')).status === 200,
      '/readyz to recover',
    );
    const back = await alice.get('/auth/me');
    assert.equal(back.status, 200, 'the session from before the outage still works');
    assert.equal(back.json.user.username, 'alice');
    assert.deepEqual(stray, [], 'no unhandled rejection or uncaught exception');
  });
});

const skip = await postgresSkipReason();

describe('server on PostgreSQL: a complete server', { skip }, () => {
  const schema = uniqueName('kc_server');
  const storeURL = postgresURL({ schema });
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ storeURL });
    await server.keycard.users.create({ username: 'root', password: 'root-password', role: 'admin' });
  });
  after(async () => {
    await server?.close();
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  test('users, logins, my sessions and blocking all live in PostgreSQL, and are shared by a second instance', async () => {
    assert.equal((await request(server.url, 'GET', '/readyz')).json.store, 'postgres');
    const admin = await login(server, 'root', 'root-password');
    const created = await admin.post('/auth/admin/users', {
      json: { username: 'Dave', password: 'dave-password' },
    });
    assert.equal(created.status, 201, created.text);
    const taken = await admin.post('/auth/admin/users', {
      json: { username: 'DAVE', password: 'dave-password' },
    });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.error.code, 'username_taken');

    const laptop = await login(server, 'dave', 'dave-password');
    const phone = await login(server, 'dave', 'dave-password');
    const sessions = await laptop.get('/auth/sessions');
    assert.equal(sessions.status, 200);
    assert.equal(sessions.json.sessions.length, 2);
    const phoneId = (await phone.get('/auth/me')).json.session.id;
    assert.equal((await laptop.delete(`/auth/sessions/${phoneId}`)).status, 200);
    assert.equal((await phone.get('/auth/me')).status, 401);

    // A second instance on the same database sees everything the first wrote.
    const second = await startTestServer({ storeURL });
    try {
      assert.equal((await laptop.get('/auth/me')).status, 200);
      const elsewhere = await login(second, 'dave', 'dave-password');
      assert.equal((await elsewhere.get('/auth/sessions')).json.sessions.length, 2);
      const blocked = await admin.post(`/auth/admin/users/${created.json.user.id}/block`);
      assert.equal(blocked.status, 200);
      assert.equal(
        (await elsewhere.get('/auth/me')).status,
        401,
        'a block on one instance holds on every one',
      );
      assert.equal((await laptop.get('/auth/me')).status, 401);
      const users = await (await login(second, 'root', 'root-password')).get('/auth/admin/users');
      assert.deepEqual(
        users.json.users.map((user: { username: string }) => user.username),
        ['dave', 'root'],
      );
    } finally {
      await second.close();
    }
  });
});

describe('server on PostgreSQL: refresh tokens (api preset)', { skip }, () => {
  const schema = uniqueName('kc_server_jwt');
  const clock = new ManualClock(Date.now());
  let server: TestServer;
  let admin: pg.Client;

  before(async () => {
    server = await startTestServer({ clock, storeURL: postgresURL({ schema }), flags: { preset: 'api' } });
    await server.keycard.users.create({ username: 'erin', password: 'erin-password' });
    admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
  });
  after(async () => {
    await server?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  const refresh = (token: string) =>
    request(server.url, 'POST', '/auth/refresh', { json: { refresh_token: token } });
  /** Rows of every table in the schema: a record per refresh anywhere would show. */
  const rows = async () => {
    const tables = await admin.query('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]);
    const counts = tables.rows.map((row) => `(SELECT count(*) FROM "${schema}"."${row.tablename}")`);
    return Number((await admin.query(`SELECT ${counts.join(' + ')} AS n`)).rows[0].n);
  };

  // guards: a row per refresh on PostgreSQL (issue 12, point 5), and the two-tab race through the real store
  test('a login holds one record however often it refreshes; two tabs get one successor; a replay ends it', async () => {
    const login = await request(server.url, 'POST', '/auth/login', {
      json: { username: 'erin', password: 'erin-password' },
    });
    assert.equal(login.status, 200, login.text);
    const before = await rows();
    let token = login.json.refresh_token as string;
    for (let i = 0; i < 30; i++) {
      clock.advanceSeconds(60);
      const next = await refresh(token);
      assert.equal(next.status, 200, next.text);
      token = next.json.refresh_token;
    }
    assert.equal(await rows(), before, 'no record per refresh, in any table');

    clock.advanceSeconds(60);
    const [a, b] = await Promise.all([refresh(token), refresh(token)]);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.equal(a.json.refresh_token, b.json.refresh_token, 'the same successor');

    clock.advanceSeconds(60);
    const replay = await refresh(token);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error.code, 'refresh_token_reused');
    assert.equal((await refresh(a.json.refresh_token)).status, 401, 'the successor died with the login');
    assert.equal(await server.store.getLogin(login.json.session.id), null);
  });
});
