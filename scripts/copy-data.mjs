#!/usr/bin/env node
// The build's second step, after `tsc`: copies the data files of src/ (every `*.txt`: tables read at run
// time beside the module that reads them, and their licences) to the same place under dist/, since `tsc`
// emits only what it compiles. A module finds its data with `new URL('./name.txt', import.meta.url)`,
// which is then right both in src/ (tests, tsx) and in dist/ (the published package).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.txt')) continue;
  const from = join(entry.parentPath ?? entry.path, entry.name);
  const to = join(dist, relative(src, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied++;
}
console.log(`copied ${copied} data files from src/ to dist/`);
