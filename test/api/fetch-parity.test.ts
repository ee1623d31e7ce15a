/**
 * keycard/fetch answers the auth API exactly as keycard serve does: the same requests, sent to a running
 * `keycard serve` and to `createFetchHandler` (over @hono/node-server, on a second server's keycard so
 * both start from the same state), get the same statuses, bodies (ids, tokens and times masked), security
 * headers and cookies. The route logic exists once (src/api/routes.ts); this proves the hosts add none.
 * The conversation is test/helpers/api-conversation.ts; the examples' tests (test/examples/hono.test.ts,
 * test/runtimes/fetch-runtimes.test.ts) send it to the Hono example on Node and to Bun and Deno.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { createFetchHandler } from '../../src/api/fetch.js';
import { assertDocumentedAnswers, converse, createConversationUsers } from '../helpers/api-conversation.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

for (const preset of ['web-app', 'api']) {
  describe(`keycard/fetch and keycard serve answer alike (${preset})`, () => {
    let served: TestServer;
    let behind: TestServer;
    let fetchServer: ReturnType<typeof serve>;
    let fetchURL: string;

    before(async () => {
      const flags = { preset };
      [served, behind] = await Promise.all([startTestServer({ flags }), startTestServer({ flags })]);
      await Promise.all([served, behind].map((server) => createConversationUsers(server.keycard)));
      const handler = createFetchHandler(behind.keycard);
      fetchServer = await new Promise((resolve) => {
        const started = serve(
          {
            fetch: (request, env: { incoming: { socket: { remoteAddress?: string } } }) =>
              handler(request, { ip: env.incoming.socket.remoteAddress ?? null }),
            port: 0,
            hostname: '127.0.0.1',
          },
          () => resolve(started),
        );
      });
      fetchURL = `http://127.0.0.1:${(fetchServer.address() as { port: number }).port}`;
    });
    after(async () => {
      await new Promise<void>((resolve) => fetchServer?.close(() => resolve()));
      await served?.close();
      await behind?.close();
    });

    test('the same conversation gets the same answers, and they are the documented ones', async () => {
      const fromServe = await converse(served.url, preset, { clients: true });
      const fromFetch = await converse(fetchURL, preset, { clients: true });
      // The URLs differ by port only; a Location never carries them.
      assert.deepEqual(fromFetch, fromServe);
      assertDocumentedAnswers(fromServe, preset);
    });
  });
}
