/**
 * The two scripts of the pages' passkey fragments (src/api/pages/passkey-views.ts), served from the
 * server's own origin because the pages' CSP allows scripts from there only: @simplewebauthn/browser's
 * UMD bundle (a dependency of keycard, read from its package once) and keycard's ceremony script. Neither
 * holds anything secret or per-user.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DescribedRoute } from '../../api/openapi.js';
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_PATH, WEBAUTHN_SCRIPT_PATH } from '../../api/pages/passkey-views.js';

const JAVASCRIPT = 'text/javascript; charset=utf-8';

export const PASSKEY_ASSET_ROUTES: readonly DescribedRoute[] = [
  {
    method: 'GET',
    path: WEBAUTHN_SCRIPT_PATH,
    schema: {
      summary: 'The WebAuthn browser library',
      description: "@simplewebauthn/browser's bundle, for the pages' passkey buttons. Cached for a day.",
      tags: ['pages'],
      answers: { 200: { description: 'JavaScript.', media: 'text/javascript' } },
    },
  },
  {
    method: 'GET',
    path: PASSKEY_SCRIPT_PATH,
    schema: {
      summary: "The pages' passkey script",
      description: 'Runs the passkey ceremonies of the sign-in and account pages.',
      tags: ['pages'],
      answers: { 200: { description: 'JavaScript.', media: 'text/javascript' } },
    },
  },
];

/** The bundle's text: the package's `require` entry is script/index.js, the bundle is beside it in dist. */
async function loadWebAuthnBundle(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const text = await readFile(join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');
  // Its source map is not served: leave the browser no dead link.
  return text.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
}

export function registerPasskeyAssets(app: FastifyInstance): void {
  let bundle: Promise<string> | undefined;
  app.get(WEBAUTHN_SCRIPT_PATH, async (_request, reply) => {
    bundle ??= loadWebAuthnBundle();
    // A day, as the favicon: the library changes only with a keycard upgrade.
    return reply
      .type(JAVASCRIPT)
      .header('cache-control', 'public, max-age=86400')
      .send(await bundle);
  });
  app.get(PASSKEY_SCRIPT_PATH, async (_request, reply) =>
    reply.type(JAVASCRIPT).header('cache-control', 'no-cache').send(PASSKEY_SCRIPT),
  );
}
