/** Floor on Bun: Bun.serve answering the same JSON with no authentication. */
import { announce, BENCH_USER, type BunGlobal } from './bun-common.js';

declare const Bun: BunGlobal;

const body = JSON.stringify({ user: BENCH_USER });
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }),
});
announce(server.port, async () => {
  await server.stop(true);
});
