/**
 * Several real `keycard serve` processes sharing one store and one key file, as behind a load balancer.
 * Each runs from source (tsx, `source` condition) on a free loopback port; the helper reads the port from
 * the server's JSON log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyFile, serializeKeyFile } from '../../src/server/keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'src/cli/run.ts');
const TSX = import.meta.resolve('tsx');

export interface Instance {
  url: string;
  process: ChildProcess;
  log: string[];
}

export interface Cluster {
  instances: Instance[];
  dir: string;
  keysFile: string;
  stop(): Promise<void>;
}

function startInstance(args: string[], env: NodeJS.ProcessEnv): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', TSX, '--conditions=source', ENTRY, 'serve', ...args], {
    cwd: ROOT,
    env: { ...env, KEYCARD_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`no listening line in 30 s:\n${log.join('\n')}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        log.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve({ url: match[1] as string, process: child, log });
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keycard serve exited with ${code}:\n${log.join('\n')}`));
    });
  });
}

/** Starts `count` servers on `storeURL` with one shared key file. */
export async function startCluster(count: number, storeURL: string, flags: string[] = []): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-cluster-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(keysFile, serializeKeyFile(generateKeyFile('EdDSA')), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(KEYCARD_|NODE_ENV$|PORT$|HOST$|NODE_OPTIONS$|NODE_TEST)/.test(name)) env[name] = value;
  }
  const args = [
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--store',
    storeURL,
    '--keys',
    keysFile,
    '--log-level',
    'info',
    ...flags,
  ];
  const instances = await Promise.all(Array.from({ length: count }, () => startInstance(args, env)));
  return {
    instances,
    dir,
    keysFile,
    async stop() {
      await Promise.all(
        instances.map(
          (instance) =>
            new Promise<void>((resolve) => {
              if (instance.process.exitCode !== null) return resolve();
              instance.process.once('exit', () => resolve());
              instance.process.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
