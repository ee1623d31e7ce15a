/**
 * The interactive password prompt (src/cli/prompt.ts), on a stdin that says it is a terminal: the CLI
 * runs in-process, and the test types each answer when the prompt asks for it, as a person would.
 *
 * guards: issue 13 — the password policy was checked only after the password had been typed twice, and
 * `user add` of a taken name asked for a password it then could not use.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { run } from '../../src/cli/main.js';
import { workspace } from './helpers.js';

const PASSWORD = 'correct horse battery';

interface Terminal {
  /** Everything written to stderr: the prompts, then any failure line. */
  stderr(): string;
  stdout(): string;
  /** Types a line once the prompt `question` has been shown. */
  answer(question: string, line: string): Promise<void>;
  /** The CLI's exit code. */
  code: Promise<number | null>;
}

/** Runs the CLI in-process with a stdin that says it is a terminal. */
function terminal(t: TestContext, args: string[]): Terminal {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let out = '';
  let err = '';
  let waiting: (() => void) | null = null;
  const stdout = new PassThrough().on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const stderr = new PassThrough().on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    waiting?.();
  });
  const code = run(args, { stdin, stdout, stderr, env: {} });
  t.after(() => stdin.destroy());
  return {
    stderr: () => err,
    stdout: () => out,
    code,
    async answer(question, line) {
      // Typed only once asked (the CLI may still be opening the store); after an answer the prompt ends
      // its line, so the same question shows again only when it is asked again.
      await new Promise<void>((resolve) => {
        const check = () => {
          if (err.endsWith(question)) {
            waiting = null;
            resolve();
          }
        };
        waiting = check;
        check();
      });
      stdin.write(`${line}\r`);
    },
  };
}

test('user add asks twice in a terminal and creates the user with that password', async (t) => {
  const space = workspace(t);
  const session = terminal(t, ['user', 'add', 'alice', ...space.storeFlag]);
  await session.answer('Password: ', PASSWORD);
  await session.answer('Repeat password: ', PASSWORD);
  assert.equal(await session.code, 0, session.stderr());
  assert.match(session.stdout(), /^created user alice \(role user, id /);
  assert.equal(session.stderr().includes(PASSWORD), false, 'the password is never echoed');
  assert.equal((await space.open().keycard.users.verifyCredentials('alice', PASSWORD)).ok, true);
});

test('a password the policy refuses fails at the first prompt, before being asked to repeat it', async (t) => {
  const space = workspace(t);
  const cases: [string[], string, RegExp][] = [
    [['user', 'add', 'carol'], 'short', /password must be at least 8 characters; nothing was changed$/],
    [['user', 'add', 'carol'], 'password1', /password is too common/],
    [['user', 'add', 'carol'], 'carol-carol', /too close to your username/],
  ];
  for (const [args, password, message] of cases) {
    const session = terminal(t, [...args, ...space.storeFlag]);
    await session.answer('Password: ', password);
    assert.equal(await session.code, 1, password);
    assert.equal(session.stderr().includes('Repeat password'), false, `${password}: not asked again`);
    const failure = session.stderr().trimEnd().split('\n').at(-1) ?? '';
    assert.match(failure, /^keycard: /);
    assert.match(failure, message);
    assert.equal(session.stdout(), '');
  }
  assert.equal(await space.open().keycard.users.findByUsername('carol'), null);

  // The same for a new password of an existing user: refused at once, the old one kept.
  await space.open().keycard.users.create({ username: 'bob', password: PASSWORD });
  const passwd = terminal(t, ['user', 'passwd', 'bob', ...space.storeFlag]);
  await passwd.answer('Password: ', 'bob-bob-bob');
  assert.equal(await passwd.code, 1);
  assert.equal(passwd.stderr().includes('Repeat password'), false);
  assert.match(passwd.stderr(), /too close to your username/);
  assert.equal((await space.open().keycard.users.verifyCredentials('bob', PASSWORD)).ok, true);
});

test('two different answers change nothing', async (t) => {
  const space = workspace(t);
  const session = terminal(t, ['user', 'add', 'dave', ...space.storeFlag]);
  await session.answer('Password: ', PASSWORD);
  await session.answer('Repeat password: ', `${PASSWORD}!`);
  assert.equal(await session.code, 2);
  assert.match(session.stderr(), /the two passwords differ; nothing was changed/);
  assert.equal(await space.open().keycard.users.findByUsername('dave'), null);
});

test('user add of a taken name says so without asking for a password', async (t) => {
  const space = workspace(t);
  await space.open().keycard.users.create({ username: 'alice', password: PASSWORD });
  const session = terminal(t, ['user', 'add', 'Alice', ...space.storeFlag]);
  assert.equal(await session.code, 1);
  assert.equal(session.stderr(), "keycard: the username 'alice' is taken\n", 'no prompt, one line');
});

test('user delete asks in a terminal: only yes deletes', async (t) => {
  const space = workspace(t);
  const bob = await space.open().keycard.users.create({ username: 'bob', password: PASSWORD });
  const question = 'This cannot be undone. [y/N] ';
  const kept = terminal(t, ['user', 'delete', 'bob', ...space.storeFlag]);
  await kept.answer(question, 'n');
  assert.equal(await kept.code, 0, kept.stderr());
  assert.match(kept.stderr(), /Delete bob \(role user\) and end every login\?/);
  assert.match(kept.stdout(), /kept bob; nothing was changed/);
  assert.equal((await space.open().keycard.users.get(bob.id))?.username, 'bob');

  const deleted = terminal(t, ['user', 'delete', 'bob', ...space.storeFlag]);
  await deleted.answer(question, 'yes');
  assert.equal(await deleted.code, 0, deleted.stderr());
  assert.match(deleted.stdout(), /^deleted bob/);
  assert.equal(await space.open().keycard.users.get(bob.id), null);
});
