/**
 * Runs the Hono example on Node (@hono/node-server) at http://127.0.0.1:3002 (or PORT), with users and
 * sessions in ./example.db (or the store URL in KEYCARD_STORE):
 *
 *   node --import tsx --conditions=source examples/hono/server.ts
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { openStore, redactURL } from 'keycard/stores';
import { createApp } from './app.js';

const storeURL = process.env.KEYCARD_STORE ?? 'sqlite:./example.db';
const port = Number(process.env.PORT ?? 3002);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a whole number from 0 to 65535 (got '${process.env.PORT}')`);
  process.exit(2);
}

const store = await openStore(storeURL);
// A Redis or PostgreSQL URL may hold a password: it is shown redacted.
const shownStore = redactURL(storeURL);
const { app, keycard } = createApp({ store, clientAddress: (c) => getConnInfo(c).remote.address });

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`hono example listening on http://127.0.0.1:${info.port} (store: ${shownStore})`);
});

if ((await keycard.users.count()) === 0) {
  console.log(
    `no users yet; create one with: npx keycard user add alice --role admin --password-stdin --store ${shownStore}`,
  );
}

function stop(): void {
  server.close(() => {
    keycard
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
