// docs/openapi.json: the OpenAPI document `keycard serve` serves at GET /auth/openapi.json with its default
// settings (memory store, the web-app preset), generated from the route schemas (src/api/openapi.ts), so
// that a route or an answer changed without regenerating fails test/api/openapi.test.ts.
//
// Usage: node --import tsx --conditions=source scripts/openapi-docs.ts          rewrite docs/openapi.json
//        node --import tsx --conditions=source scripts/openapi-docs.ts --check  exit 1 if it is stale
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServer, loadServerConfig } from '../src/server/index.js';

export const OPENAPI_DOC = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** The document a default `keycard serve` answers, as docs/openapi.json holds it. */
export async function renderOpenAPI(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-openapi-'));
  const server = await buildServer(
    loadServerConfig({
      flags: { store: 'memory:', keys: join(dir, 'keys.json'), 'log-level': 'silent' },
      env: {},
    }),
  );
  try {
    const answer = await server.app.inject({ method: 'GET', url: '/auth/openapi.json' });
    return `${JSON.stringify(answer.json(), null, 2)}\n`;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const wanted = await renderOpenAPI();
  let current = '';
  try {
    current = readFileSync(OPENAPI_DOC, 'utf8');
  } catch {}
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      console.error('docs/openapi.json is stale; run scripts/openapi-docs.ts');
      process.exit(1);
    }
  } else if (current !== wanted) {
    writeFileSync(OPENAPI_DOC, wanted);
    console.log('docs/openapi.json updated');
  }
}
