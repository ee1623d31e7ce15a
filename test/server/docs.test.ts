/**
 * docs/server.md against the code (issue 13): its settings table is generated from the settings table the
 * server loads its configuration with, and its endpoint table lists exactly the routes the server
 * registers — so a setting or a route added without docs fails here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { renderServerDoc, SERVER_DOC } from '../../scripts/server-docs.js';
import { STRATEGY_NAMES } from '../../src/index.js';
import { buildServer, loadServerConfig, SERVER_SETTINGS } from '../../src/server/index.js';

const doc = readFileSync(SERVER_DOC, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'keycard-docs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The Markdown table whose header row starts with `first`: its rows as cells, header and rule left out. */
function tableRows(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  assert.notEqual(start, -1, `docs/server.md has a table headed "${first}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

describe('docs/server.md: settings', () => {
  test('the settings table is the one generated from src/server/settings.ts', () => {
    // guards: transport, issuer, audience and keyAlgorithm missing from a hand-written table
    assert.equal(
      doc,
      renderServerDoc(doc),
      'docs/server.md is stale: run node --import tsx --conditions=source scripts/server-docs.ts',
    );
  });

  test('every setting the server loads has its row: config key, flag and environment variable', () => {
    const rows = tableRows(doc, 'setting \\(config key\\)');
    assert.equal(rows.length, Object.keys(SERVER_SETTINGS).length);
    for (const [key, spec] of Object.entries(SERVER_SETTINGS)) {
      const row = rows.find((cells) => cells[0] === `\`${key}\``);
      assert.ok(row, `${key} has a row`);
      assert.match(row[1] as string, new RegExp(`^\`--${spec.flag}\\b`));
      assert.equal(row[2], `\`${spec.env}\``);
    }
  });

  test('the defaults shown are the ones the loader uses', () => {
    const config = loadServerConfig({ env: {} }) as unknown as Record<string, unknown>;
    for (const [key, spec] of Object.entries(SERVER_SETTINGS)) {
      if (spec.default === undefined) continue;
      assert.equal(config[key], spec.default, `${key}: the table says ${spec.default}`);
    }
  });
});

describe('docs/server.md: endpoints', () => {
  /** `METHOD /path` of every code span in the endpoint table's first column (query strings dropped). */
  const documented = new Set(
    tableRows(doc, 'method and path').flatMap((cells) =>
      [...(cells[0] as string).matchAll(/`([A-Z]+) (\/[^`?]*)(?:\?[^`]*)?`/g)].map(
        (match) => `${match[1]} ${match[2]}`,
      ),
    ),
  );

  for (const strategy of STRATEGY_NAMES) {
    test(`${strategy}: the table lists every registered route, and only those`, async () => {
      const server = await buildServer(
        loadServerConfig({
          flags: {
            store: 'memory:',
            strategy,
            keys: join(dir, `keys-${strategy}.json`),
            'log-level': 'silent',
          },
          env: {},
        }),
      );
      after(() => server.close());
      const registered = new Set(server.routes.map((route) => `${route.method} ${route.url}`));
      // guards: /auth/csrf, /auth/refresh, /auth/token, /.well-known/jwks.json, /auth/admin/clients and
      // /auth/verify registered but not documented
      const undocumented = [...registered].filter((route) => !documented.has(route));
      assert.deepEqual(undocumented, [], 'routes missing from docs/server.md');
      const missing = [...documented].filter((route) => !registered.has(route));
      assert.deepEqual(missing, [], 'routes docs/server.md lists that do not exist');
      // "every GET also answers HEAD", as the doc says
      const head = await server.app.inject({ method: 'HEAD', url: '/healthz' });
      assert.equal(head.statusCode, 200);
    });
  }
});
