/**
 * keycard on Bun: Bun.serve with keycard/fetch's handler answering keycard's own routes (POST /auth/login,
 * GET /auth/verify, as keycard serve is measured), session strategy on keycard's MemoryStore.
 */
import { createKeycard } from 'keycard';
import { createFetchHandler } from 'keycard/fetch';
import { MemoryStore } from 'keycard/stores/memory';
import { announce, BENCH_PASSWORD, type BunGlobal } from './bun-common.js';

declare const Bun: BunGlobal;

const store = new MemoryStore();
const keycard = createKeycard({ store, preset: 'web-app' });
await keycard.users.create({ username: 'alice', password: BENCH_PASSWORD, role: 'user' });
const handler = createFetchHandler(keycard);
const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: (request, bun) => handler(request, { ip: bun.requestIP(request)?.address ?? null }),
});
announce(server.port, async () => {
  await server.stop(true);
  await store.close();
});
