/**
 * Serves the single-page app on PORT (default 8080), with keycard at KEYCARD_URL (default
 * http://localhost:3000) under the same origin:
 *
 *   node --import tsx --conditions=source examples/spa/server.ts
 */
import { createFrontServer } from './front.js';

const port = Number(process.env.PORT ?? 8080);
const server = createFrontServer({ keycardURL: process.env.KEYCARD_URL ?? 'http://localhost:3000' });
server.listen(port, 'localhost', () => {
  console.log(`listening on http://localhost:${port}`);
});
