/**
 * For the credentials abuse tests (credentials-*.test.ts): a store URL's password never leaves the
 * process — not on the public sign-in page (whose first-run notice shows how to create the first admin),
 * not in the log, not in any CLI message. The first run is what an operator does: `keycard serve` as a
 * process, the page fetched over HTTP, the printed command pasted into a shell. The other CLI commands run
 * in this process through the CLI's own `run` (the same code, with its streams captured), which keeps the
 * file fast on a busy machine. Not a test file: the runner only picks up `*.test.ts`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';
import { loadServerConfig, startServer } from '../../src/server/index.js';
import { type CLIResult, spawnCLI } from '../cli/helpers.js';
import { eventually } from '../helpers/eventually.js';
import { request } from '../helpers/http.js';

/** A password no other output could contain by chance. */
export const uniquePassword = (prefix: string): string =>
  `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

const ADMIN_PASSWORD = 'correct-Horse-7731-battery';

/** A loopback port nothing listens on (bound, then released). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Asserts that none of the texts contains any of the secrets; names the text that does. */
export function assertNoSecret(texts: Record<string, string>, secrets: string[]): void {
  for (const [name, text] of Object.entries(texts)) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `${name} contains the store password:\n${text}`);
    }
  }
}

const cliOutput = (result: CLIResult): string => `${result.stdout}\n${result.stderr}`;

/** The CLI run in this process, its output captured; `env` is all the environment it sees. */
async function runHere(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<CLIResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await run(args, {
    stdin: Readable.from([options.stdin ?? '']),
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
    env: { ...options.env },
  });
  return { code, signal: null, stdout, stderr };
}

/** `keycard serve` as a child process, with everything it writes kept. */
interface ServeProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

function serve(storeURL: string, dir: string, env: NodeJS.ProcessEnv = {}): ServeProcess {
  const args = ['serve', '--port', '0', '--host', '127.0.0.1', '--keys', join(dir, 'keys.json')];
  // The URL comes from --store, or from KEYCARD_STORE when the caller passes it in env.
  if (env.KEYCARD_STORE === undefined) args.push('--store', storeURL);
  const child = spawnCLI([...args, '--log-level', 'info'], { cwd: dir, env });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The log entries (JSON lines) written so far. */
const logEntries = (output: string): { msg?: string }[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string });

/**
 * Runs a command line through `sh -c` the way an operator pastes it, with `npx keycard` resolving to this
 * checkout's CLI (a two-line `npx` on PATH that runs src/cli/run.ts under tsx).
 */
async function runInShell(
  commandLine: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  stdin: string,
): Promise<CLIResult> {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const entry = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
  const npx = join(bin, 'npx');
  writeFileSync(
    npx,
    `#!/bin/sh\n[ "$1" = keycard ] || exit 97\nshift\nexec '${process.execPath}' --import '${import.meta.resolve('tsx')}' --conditions=source '${entry}' "$@"\n`,
  );
  chmodSync(npx, 0o755);
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(KEYCARD_|NODE_ENV$|NODE_OPTIONS$|NODE_TEST)/.test(name)) clean[name] = value;
  }
  const child = spawn('sh', ['-c', commandLine], {
    cwd: dir,
    env: { ...clean, ...env, PATH: `${bin}:${process.env.PATH}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * The whole first run with a password-carrying store URL: start the server, read the first-run notice on
 * the public sign-in page and in the log, run that command as printed, then the CLI commands an operator
 * runs next. The password must appear in none of it, and the printed command must work.
 */
export async function firstRunShowsNoPassword(
  storeURL: string,
  dir: string,
  how: 'flag' | 'env',
  secrets: string[],
): Promise<void> {
  const server = serve(storeURL, dir, how === 'env' ? { KEYCARD_STORE: storeURL } : {});
  const outputs: Record<string, string> = {};
  try {
    await eventually(async () => /no users yet/.test(server.output()), 'the no-users-yet log line', {
      timeoutMs: 30_000,
      intervalMs: 50,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; output:\n${server.output()}`);
    });
    const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())?.[1];
    assert.ok(listening, server.output());

    const page = await request(listening, 'GET', '/login');
    assert.equal(page.status, 200);
    outputs['the sign-in page'] = page.text;
    // The notice is there, without the password: the URL is shown with *** in its place.
    assert.match(page.text, /id="first-admin"/);
    assertNoSecret({ 'the sign-in page': page.text, 'the server log': server.output() }, secrets);
    assert.match(page.text, /KEYCARD_STORE/);
    assert.ok(/:\*\*\*@|password=\*\*\*/.test(page.text), page.text);

    const hint = logEntries(server.output()).find((entry) => /no users yet/.test(entry.msg ?? ''));
    const command = /Create the first admin with:\s+(.+)$/.exec(hint?.msg ?? '')?.[1];
    assert.ok(command, hint?.msg);
    assert.match(
      command,
      /^npx keycard user add admin --role admin --password-stdin --store "\$KEYCARD_STORE"/,
    );

    // The printed command, pasted into a shell where KEYCARD_STORE holds the server's URL, creates the
    // admin in the server's store: the page then no longer offers the notice.
    const created = await runInShell(command, dir, { KEYCARD_STORE: storeURL }, ADMIN_PASSWORD);
    outputs['the first-run command'] = cliOutput(created);
    assert.equal(created.code, 0, cliOutput(created));
    assert.match(created.stdout, /created user admin \(role admin/);
    const after = await request(listening, 'GET', '/login');
    assert.doesNotMatch(after.text, /id="first-admin"/);
    // The same command with KEYCARD_STORE unset (the shell passes --store ''): it fails, rather than
    // creating the admin in the default SQLite file.
    const unset = await runHere(
      ['user', 'add', 'admin', '--role', 'admin', '--password-stdin', '--store', ''],
      {
        stdin: ADMIN_PASSWORD,
      },
    );
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /--store needs a value/);
    // The CLI commands an operator runs next, with the URL as a flag or in KEYCARD_STORE.
    const results = {
      'keycard user list': await runHere(['user', 'list', '--store', storeURL]),
      'keycard user list (KEYCARD_STORE)': await runHere(['user', 'list'], {
        env: { KEYCARD_STORE: storeURL },
      }),
      'keycard migrate': await runHere(['migrate', '--store', storeURL]),
      'keycard serve --help': await runHere(['serve', '--help'], { env: { KEYCARD_STORE: storeURL } }),
    };
    for (const [name, result] of Object.entries(results)) {
      assert.equal(result.code, 0, cliOutput(result));
      outputs[name] = cliOutput(result);
    }
    assert.match(results['keycard user list'].stdout, /^admin\b/m);
  } finally {
    await server.stop();
    outputs['the server log'] = server.output();
  }
  assertNoSecret(outputs, secrets);
}

/**
 * Start-up and CLI commands against a store that cannot be used (unreachable, or refusing the password):
 * each fails, and neither the error nor the log says anything secret.
 */
export async function failuresShowNoPassword(
  storeURL: string,
  dir: string,
  secrets: string[],
): Promise<void> {
  const log: string[] = [];
  const config = loadServerConfig({
    flags: {
      port: '0',
      host: '127.0.0.1',
      store: storeURL,
      keys: join(dir, 'keys.json'),
      'log-level': 'trace',
    },
    env: {},
  });
  const failure = await startServer(config, { logStream: { write: (line) => log.push(line) } }).then(
    async (server) => {
      await server.close();
      assert.fail('the server started on a store it cannot use');
    },
    (error: Error) => error,
  );
  // Which server and why (issue 13), and still no password (store-errors.test.ts has every cause).
  assert.match(
    failure.message,
    /^the (redis|postgres) store at 127\.0\.0\.1:\d+ .*cannot be used: (connection refused|authentication failed)/,
  );
  const serveArgs = ['serve', '--port', '0', '--keys', join(dir, 'keys.json'), '--log-level', 'silent'];
  const results = {
    'keycard serve': await runHere([...serveArgs, '--store', storeURL]),
    'keycard serve (KEYCARD_STORE)': await runHere(serveArgs, { env: { KEYCARD_STORE: storeURL } }),
    'keycard user list': await runHere(['user', 'list', '--store', storeURL]),
    'keycard user add': await runHere(['user', 'add', 'root', '--password-stdin', '--store', storeURL], {
      stdin: ADMIN_PASSWORD,
    }),
    'keycard migrate': await runHere(['migrate', '--store', storeURL]),
    // KEYCARD_DEBUG adds the whole error, with the driver's error as its cause.
    'keycard user list (KEYCARD_DEBUG)': await runHere(['user', 'list', `--store=${storeURL}`], {
      env: { KEYCARD_DEBUG: '1' },
    }),
  };
  // guards: a URL typed without --store, echoed by the usage line ("unexpected argument '…'")
  const stray = await runHere(['user', 'list', storeURL]);
  assertNoSecret({ 'keycard user list <URL>': cliOutput(stray) }, secrets);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /^keycard: user list: unexpected argument '.*\*\*\*.*'/);
  const outputs: Record<string, string> = {
    'keycard user list <URL>': cliOutput(stray),
    'the start-up error': `${failure.message} ${String(failure.cause)}`,
    'the server log': log.join(''),
  };
  for (const [name, result] of Object.entries(results)) {
    assert.equal(result.code, 1, `${name}: ${cliOutput(result)}`);
    assert.match(result.stderr, /^keycard: /);
    outputs[name] = cliOutput(result);
  }
  assertNoSecret(outputs, secrets);
}
