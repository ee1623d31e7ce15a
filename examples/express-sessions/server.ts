/**
 * Runs the example on http://localhost:3001 (or PORT) with users and sessions in ./example.db, a SQLite
 * file that survives restarts and that the keycard CLI can open at the same time:
 *
 *   node --import tsx --conditions=source examples/express-sessions/server.ts
 */
import { SQLiteStore } from 'keycard/stores/sqlite';
import { createApp } from './app.js';

const path = './example.db';
const port = Number(process.env.PORT ?? 3001);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a whole number from 0 to 65535 (got '${process.env.PORT}')`);
  process.exit(2);
}

const store = new SQLiteStore({ path });
const { app, keycard } = await createApp({ store });

const server = app.listen(port, (error) => {
  if (error) {
    console.error(`cannot listen on port ${port}: ${error.message}`);
    process.exit(1);
  }
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(`express-sessions example listening on http://localhost:${actual} (store: ${path})`);
});

if ((await keycard.users.count()) === 0) {
  console.log(
    `no users yet; create one with: npx keycard user add alice --role admin --password-stdin --store sqlite:${path}`,
  );
}

function stop(): void {
  server.close(() => {
    store.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  // Keep-alive connections would hold close() open; the example has nothing in flight worth waiting for.
  server.closeIdleConnections();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
