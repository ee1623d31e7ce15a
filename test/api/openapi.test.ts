/**
 * The OpenAPI document (issue 19): valid OpenAPI 3.1 by an independent validator, describing exactly the
 * routes each host answers — every route `keycard serve` registers and nothing else; what
 * `createFetchHandler` answers, and nothing else — and committed as docs/openapi.json, kept current.
 * The statuses and bodies are checked against real answers in test/server/openapi-walk.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { OPENAPI_DOC, renderOpenAPI } from '../../scripts/openapi-docs.js';
import { createFetchHandler } from '../../src/api/fetch.js';
import { KEYCARD_VERSION } from '../../src/api/version.js';
import { PRESET_NAMES, STRATEGY_NAMES } from '../../src/index.js';
import { buildServer, type KeycardServer, loadServerConfig } from '../../src/server/index.js';

const dir = mkdtempSync(join(tmpdir(), 'keycard-openapi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Document = Record<string, any>;

async function server(flags: Record<string, string>, name: string): Promise<KeycardServer> {
  const built = await buildServer(
    loadServerConfig({
      flags: { store: 'memory:', keys: join(dir, `keys-${name}.json`), 'log-level': 'silent', ...flags },
      env: {},
    }),
  );
  after(() => built.close());
  return built;
}

async function served(app: KeycardServer): Promise<Document> {
  const answer = await app.app.inject({ method: 'GET', url: '/auth/openapi.json' });
  assert.equal(answer.statusCode, 200);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  return answer.json();
}

/** `METHOD /path/:param` of every operation, as Fastify names routes. */
function operations(document: Document): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) =>
      Object.keys(item as object).map(
        (method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
      ),
    )
    .sort();
}

async function assertValid(document: Document): Promise<void> {
  const result = await new Validator().validate(document);
  assert.deepEqual(result, { valid: true });
}

describe('openapi: keycard serve', () => {
  for (const strategy of STRATEGY_NAMES) {
    test(`${strategy}: a valid OpenAPI 3.1 document of every registered route, and only those`, async () => {
      const app = await server({ strategy }, strategy);
      const document = await served(app);
      await assertValid(document);
      assert.equal(document.openapi, '3.1.0');
      // guards: a route registered without a schema, or a schema for a route that is not there
      const registered = app.routes.map((route) => `${route.method} ${route.url}`).sort();
      assert.deepEqual(operations(document), registered);
    });
  }

  for (const preset of PRESET_NAMES) {
    test(`${preset}: the security schemes are the preset's transport`, async () => {
      const document = await served(await server({ preset }, `preset-${preset}`));
      await assertValid(document);
      const { clientBasic, ...schemes } = document.components.securitySchemes;
      assert.deepEqual(document.paths['/auth/token'].post.security, [{ clientBasic: [] }, {}]);
      assert.equal(clientBasic.scheme, 'basic');
      const me = document.paths['/auth/me'].get;
      assert.deepEqual(me.security, [Object.fromEntries(Object.keys(schemes).map((name) => [name, []]))]);
      const scheme = Object.values(schemes)[0] as { type: string; in?: string; scheme?: string };
      const header = ['api', 'microservices', 'mobile'].includes(preset);
      assert.equal(scheme.type, header ? 'http' : 'apiKey');
      // The CSRF header is described where a cookie authenticates unsafe requests.
      const csrf = document.paths['/auth/logout-all'].post.parameters?.some(
        (parameter: { name: string; in: string }) =>
          parameter.name === 'X-CSRF-Token' && parameter.in === 'header',
      );
      assert.equal(csrf ?? false, !header);
    });
  }

  test('docs/openapi.json is the document of a default keycard serve', async () => {
    // guards: a route or an answer changed without `node --import tsx --conditions=source scripts/openapi-docs.ts`
    const current = readFileSync(OPENAPI_DOC, 'utf8') === (await renderOpenAPI());
    assert.ok(
      current,
      'docs/openapi.json is stale: run node --import tsx --conditions=source scripts/openapi-docs.ts',
    );
  });

  test("the document's version is the package's", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(KEYCARD_VERSION, pkg.version);
  });

  test('the schemas carry no TypeBox-only keyword, and the route schemas name their fields', () => {
    const text = readFileSync(OPENAPI_DOC, 'utf8');
    assert.equal(text.includes('errorMessage'), false);
    assert.equal(text.includes('"$id"'), false);
    const document = JSON.parse(text);
    const body = document.paths['/auth/admin/users'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['username', 'password']);
    assert.equal(body.properties.password.maxLength, 4096);
  });
});

describe('openapi: keycard/fetch', () => {
  for (const admin of [true, false]) {
    test(`admin ${admin}: a valid document of exactly what the handler answers`, async () => {
      const app = await server({ preset: 'spa' }, `fetch-${admin}`);
      const handler = createFetchHandler(app.keycard, { admin, onError: () => {} });
      const answer = await handler(new Request('http://127.0.0.1/auth/openapi.json'));
      assert.equal(answer.status, 200);
      const document = (await answer.json()) as Document;
      await assertValid(document);
      const described = operations(document);
      assert.equal(
        described.some((operation) => operation.includes('/auth/admin/')),
        admin,
      );
      // Every described operation is answered by a route (never "no route for …")…
      for (const operation of described) {
        const [method, path] = operation.split(' ') as [string, string];
        const url = `http://127.0.0.1${path.replace(/:[a-z]+/g, 'AAAAAAAAAAAAAAAAAAAAAA')}`;
        const reply = await handler(new Request(url, { method }));
        const text = await reply.text();
        assert.equal(text.includes('no route for'), false, `${operation}: ${text}`);
      }
      // …and every route keycard serve has beyond them is not.
      const serve = await served(app);
      for (const operation of operations(serve).filter((op) => !described.includes(op))) {
        const [method, path] = operation.split(' ') as [string, string];
        const url = `http://127.0.0.1${path.replace(/:[a-z]+/g, 'AAAAAAAAAAAAAAAAAAAAAA')}`;
        const reply = await handler(new Request(url, { method }));
        assert.equal(reply.status, 404, `${operation} is not described by the fetch handler's document`);
      }
    });
  }
});
