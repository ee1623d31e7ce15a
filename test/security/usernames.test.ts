/**
 * Abuse suite: a twin of an existing user that differs only by an invisible character (issue 12, point 8).
 * `ali\u034Fce` prints exactly as `alice` in a user list, an audit log or an admin page, so an attacker who
 * can register it (or talk an admin into creating it) impersonates alice. Every one of these characters is
 * a letter or mark to Unicode, so a letters-and-marks rule let them through; RFC 8265 / RFC 8264 refuse
 * them as default-ignorable. Checked at every entry point that creates a user: the library, the CLI and
 * the admin API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createKeycard, KeycardError } from '../../src/index.js';
import { MemoryStore } from '../../src/stores/memory/index.js';
import { assertOneLineFailure, assertSuccess, workspace } from '../cli/helpers.js';
import { FAST_ARGON2 } from '../core/support.js';
import { Client } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PASSWORD = 'thistle-Puffin-3318-quarry';

/** The invisible characters found to pass before (issue 12), each put inside `alice`. */
const INVISIBLE = [0x034f, 0xfe00, 0xfe0f, 0xe0100, 0x3164, 0x115f, 0x17b4, 0x17b5, 0x180b];

const label = (codePoint: number): string => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
const twinOfAlice = (codePoint: number): string => `ali${String.fromCodePoint(codePoint)}ce`;

describe('usernames: invisible twins of an existing user are refused', () => {
  // guards: ali\u034Fce created beside alice (issue 12, point 8)
  test('by the library (keycard.users.create)', async () => {
    const keycard = createKeycard({ store: new MemoryStore(), passwords: { argon2: FAST_ARGON2 } });
    await keycard.users.create({ username: 'alice', password: PASSWORD });
    for (const codePoint of INVISIBLE) {
      await assert.rejects(
        keycard.users.create({ username: twinOfAlice(codePoint), password: PASSWORD }),
        (error: unknown) => {
          assert.ok(error instanceof KeycardError, String(error));
          assert.equal(error.code, 'invalid_request');
          assert.ok(error.message.includes(label(codePoint)), error.message);
          assert.match(error.message, /invisible/);
          return true;
        },
        label(codePoint),
      );
    }
    assert.deepEqual(
      (await keycard.users.list()).map((user) => user.username),
      ['alice'],
    );
  });

  test('by `keycard user add`, with one line naming the character as typed', async (t) => {
    const space = workspace(t);
    assertSuccess(await space.run(['user', 'add', 'alice', '--password-stdin'], { stdin: PASSWORD }));
    for (const codePoint of [0x034f, 0x3164]) {
      const result = await space.run(['user', 'add', twinOfAlice(codePoint), '--password-stdin'], {
        stdin: PASSWORD,
      });
      const line = assertOneLineFailure(result, 2);
      assert.ok(line.includes(label(codePoint)), line);
      assert.ok(!line.includes(String.fromCodePoint(codePoint)), 'never the invisible character itself');
    }
    assert.deepEqual(
      (await space.open().keycard.users.list()).map((user) => user.username),
      ['alice'],
    );
  });

  describe('by the admin API (POST /auth/admin/users)', () => {
    let server: TestServer;
    let admin: Client;

    before(async () => {
      server = await startTestServer();
      await server.keycard.users.create({ username: 'root', password: PASSWORD, role: 'admin' });
      await server.keycard.users.create({ username: 'alice', password: PASSWORD });
      admin = new Client(server.url);
      const login = await admin.post('/auth/login', { json: { username: 'root', password: PASSWORD } });
      assert.equal(login.status, 200, login.text);
    });
    after(async () => {
      await server?.close();
    });

    for (const codePoint of INVISIBLE) {
      test(`refuses alice with ${label(codePoint)} inside: 400, field username, the character named`, async () => {
        const response = await admin.post('/auth/admin/users', {
          json: { username: twinOfAlice(codePoint), password: PASSWORD, role: 'admin' },
        });
        assert.equal(response.status, 400, response.text);
        assert.equal(response.json.error.code, 'invalid_request');
        assert.equal(response.json.error.field, 'username');
        assert.ok(response.json.error.message.includes(label(codePoint)), response.json.error.message);
        assert.ok(!response.text.includes(String.fromCodePoint(codePoint)), 'never the character itself');
      });
    }

    test('after all of them, alice is still the only alice', async () => {
      const names = (await server.keycard.users.list()).map((user) => user.username).sort();
      assert.deepEqual(names, ['alice', 'root']);
    });
  });
});
