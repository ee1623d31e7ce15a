#!/usr/bin/env node
// The keycard command. Runs the compiled CLI from dist/ (built by `npm ci`/`npm install` via `prepare`).
// A CLI that cannot even load prints one line saying why, never a stack trace.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('keycard: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
let main;
try {
  ({ main } = await import(entry.href));
} catch (error) {
  const message = String(error?.message);
  const missing = /Cannot find package '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(message);
  // Deno refuses what its flags do not allow (NotCapable): a missing flag, not a broken install.
  const denied = error?.name === 'NotCapable' || /run again with the --allow-\w+ flag/.test(message);
  console.error(
    missing
      ? `keycard: the package '${missing[1]}' is not installed; reinstall keycard (npm install keycard)`
      : denied
        ? `keycard: Deno refused a permission the CLI needs (${message.split('\n')[0]}); add the flag it names (docs/runtimes.md lists them)`
        : `keycard: the CLI could not load (${message.split('\n')[0]}); reinstall keycard`,
  );
  process.exit(1);
}
await main(process.argv.slice(2));
