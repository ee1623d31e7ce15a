/**
 * Bundles app.tsx (React, keycard/client, keycard/react) into one ES module, as an app's build step
 * would. Returns the bundle; `node --import tsx examples/react/build.ts` prints its size.
 */
import { build } from 'esbuild';

export async function buildApp(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('app.tsx', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    jsx: 'automatic',
    minify: true,
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    // In this repository, keycard is the checkout itself: bundle it from source.
    conditions: ['source'],
  });
  return (result.outputFiles[0] as { text: string }).text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`${(await buildApp()).length} bytes`);
}
