/**
 * Serves the React app on PORT (default 8080), with keycard at KEYCARD_URL (default http://localhost:3000)
 * under the same origin — the spa example's server, with this app's page and bundle:
 *
 *   node --import tsx --conditions=source examples/react/server.ts
 */
import { readFileSync } from 'node:fs';
import { createFrontServer } from '../spa/front.js';
import { buildApp } from './build.js';

export async function createReactServer(keycardURL: string) {
  return createFrontServer({
    keycardURL,
    files: {
      '/': { type: 'text/html', body: readFileSync(new URL('index.html', import.meta.url)) },
      '/app.js': { type: 'text/javascript', body: await buildApp() },
    },
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 8080);
  const server = await createReactServer(process.env.KEYCARD_URL ?? 'http://localhost:3000');
  server.listen(port, 'localhost', () => console.log(`listening on http://localhost:${port}`));
}
