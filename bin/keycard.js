#!/usr/bin/env node
// The keycard command. Runs the compiled CLI from dist/ (built by `npm ci`/`npm install` via `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('keycard: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
