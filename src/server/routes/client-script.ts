/**
 * `GET /auth/client.js`: keycard/client (src/client/index.ts) as an ES module, for pages without a bundler:
 * `import { createClient } from 'https://auth.example.com/auth/client.js'`. The file has no imports, so
 * the package's own build is served as it is. It holds no secret and carries no credential, so any origin
 * may load it (`Access-Control-Allow-Origin: *`, which module scripts from other origins need); browsers
 * revalidate it (`no-cache` with an ETag), so an upgrade of keycard reaches them at once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { KeycardError } from 'keycard';
import type { DescribedRoute } from '../../api/openapi.js';
import { error } from '../../api/shapes.js';

/** `GET /auth/client.js`, described for the OpenAPI document (src/api/openapi.ts). */
export const CLIENT_SCRIPT_ROUTE: DescribedRoute = {
  method: 'GET',
  path: '/auth/client.js',
  schema: {
    summary: 'The browser client',
    description:
      'keycard/client as an ES module for pages without a bundler; any origin may load it. Revalidated by ETag.',
    tags: ['meta'],
    answers: {
      200: { description: 'The module.', media: 'text/javascript', headers: { etag: 'The version served.' } },
      304: { description: 'Not modified (If-None-Match matched the ETag).' },
      404: error('keycard was not built (not_found).'),
    },
  },
};

interface Script {
  text: string;
  etag: string;
}

/**
 * The built module next to this one (dist/client/index.js). Run from source (a checkout under tsx, as
 * the tests do), there is only the TypeScript file: it is compiled once with TypeScript, a development
 * dependency there. Neither: null.
 */
async function loadScript(): Promise<Script | null> {
  let text: string | null = null;
  try {
    text = await readFile(new URL('../../client/index.js', import.meta.url), 'utf8');
  } catch {
    try {
      const source = await readFile(new URL('../../client/index.ts', import.meta.url), 'utf8');
      const ts = (await import('typescript')).default;
      text = ts.transpileModule(source, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
      }).outputText;
    } catch {
      return null;
    }
  }
  // The source map sits beside the file in the package, not at /auth/: leave the browser no dead link.
  text = text.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  return { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
}

export function registerClientScript(app: FastifyInstance): void {
  let script: Promise<Script | null> | undefined;
  app.get('/auth/client.js', async (request, reply) => {
    script ??= loadScript();
    const loaded = await script;
    if (!loaded) {
      throw new KeycardError('not_found', 'the browser client is not built: run npm run build in keycard');
    }
    reply
      .header('cache-control', 'no-cache')
      .header('etag', loaded.etag)
      .header('access-control-allow-origin', '*');
    if (request.headers['if-none-match'] === loaded.etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(loaded.text);
  });
}
