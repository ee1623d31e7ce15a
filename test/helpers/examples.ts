/**
 * An example app (examples/*) started as its README says, as a real process on a free port, with its
 * users in a SQLite file of its own made beforehand (as `keycard user add --store sqlite:…` would), and
 * paired with a `keycard serve` of the same preset and the same users, so that the two can be sent the
 * same conversation (test/helpers/api-conversation.ts).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeycard } from '../../src/index.js';
import { SQLiteStore } from '../../src/stores/sqlite/index.js';
import { createConversationUsers } from './api-conversation.js';
import { childEnvironment, ROOT } from './runtimes.js';
import { startTestServer, type TestServer } from './server.js';

export interface RunningExample {
  url: string;
  /** Everything the process printed so far, for failure messages. */
  output(): string;
  /** SIGTERM; resolves with how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running, and the example's directory removed. */
  kill(): void;
}

/** The first line of the form "… listening on http://…" is the example's address. */
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/**
 * Starts `command args` in the repository (so `keycard/...` resolves as the README says) with
 * KEYCARD_STORE pointing at a new SQLite file holding the conversation's users, and PORT=0.
 */
export async function startExample(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningExample> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-example-'));
  const path = join(dir, 'example.db');
  const store = new SQLiteStore({ path });
  try {
    await createConversationUsers(createKeycard({ store }));
  } finally {
    await store.close();
  }
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: childEnvironment({ ...env, KEYCARD_STORE: `sqlite:${path}`, PORT: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const listening = new Promise<string>((resolve) => {
    const read = (chunk: string) => {
      output += chunk;
      const found = LISTENING.exec(output);
      if (found) resolve(found[1] as string);
    };
    child.stdout?.setEncoding('utf8').on('data', read);
    child.stderr?.setEncoding('utf8').on('data', read);
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const url = await Promise.race([
    listening,
    exited.then(({ code, signal }) => {
      kill();
      throw new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before listening:\n${output}`);
    }),
  ]);
  return {
    url,
    output: () => output,
    kill,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A `keycard serve` with `preset` and the conversation's users, to compare an example with. */
export async function startReferenceServer(preset: string): Promise<TestServer> {
  const server = await startTestServer({ flags: { preset } });
  await createConversationUsers(server.keycard);
  return server;
}

/** SIGTERM must end the example by itself, with exit code 0 (its store closed). */
export async function assertStopsCleanly(example: RunningExample): Promise<void> {
  const ended = await example.stop();
  assert.deepEqual(ended, { code: 0, signal: null }, example.output());
}
