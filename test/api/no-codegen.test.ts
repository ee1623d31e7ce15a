/**
 * The route schemas are checked by TypeBox's interpreter, never its compiler: keycard/fetch also runs where
 * code generation is refused (Cloudflare's workerd). Node refuses it too with
 * --disallow-code-generation-from-strings; test/api/fixtures/no-codegen.ts runs keycard/fetch so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/no-codegen.ts', import.meta.url));

test('keycard/fetch validates input and describes itself with code generation refused', () => {
  const output = execFileSync(
    process.execPath,
    ['--disallow-code-generation-from-strings', '--import', 'tsx', '--conditions=source', FIXTURE],
    { encoding: 'utf8' },
  );
  const seen = JSON.parse(output.trim().split('\n').at(-1) as string);
  assert.equal(seen.codegen, false, 'the flag refuses new Function');
  assert.deepEqual(seen.wrongType, [
    400,
    { error: { code: 'invalid_request', message: 'username must be a string', field: 'username' } },
  ]);
  // A form post gets the error page, saying why.
  assert.deepEqual(seen.proto, [400, true]);
  assert.equal(seen.valid, 401);
  assert.deepEqual(seen.document, [200, true]);
});
