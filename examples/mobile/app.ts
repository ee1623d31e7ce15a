/**
 * A mobile app's side of keycard, as a Node program: header transport (the tokens travel in the
 * `Authorization` header, not in cookies), rotating refresh tokens, and the login kept in a file between
 * runs. Each run is a cold start of the "app":
 *
 *   PASSWORD=… node --import tsx --conditions=source examples/mobile/app.ts login alice
 *   node --import tsx --conditions=source examples/mobile/app.ts me
 *   node --import tsx --conditions=source examples/mobile/app.ts logout
 *
 * KEYCARD_URL (default http://localhost:3000) and TOKENS_FILE (default ./mobile-tokens.json) are optional.
 * Exit 0 when done; 1 when keycard refuses (its error code on stderr); 2 on a usage error.
 */
import { createClient, KeycardClientError } from 'keycard/client';
import { fileTokenStorage } from './token-file.js';

const auth = createClient({
  baseUrl: process.env.KEYCARD_URL ?? 'http://localhost:3000',
  transport: 'header',
  storage: fileTokenStorage(process.env.TOKENS_FILE ?? 'mobile-tokens.json'),
});

async function main(command: string | undefined, username: string | undefined): Promise<number> {
  if (command === 'login' && username && process.env.PASSWORD) {
    const { user } = await auth.login({ username, password: process.env.PASSWORD });
    console.log(`signed in as ${user?.username}`);
    return 0;
  }
  if (command === 'me') {
    // The stored access token is sent as it is; if keycard says it expired, the client refreshes
    // (rotating the stored refresh token) and sends the call again.
    const response = await auth.fetch('/auth/me');
    if (response.status === 401) {
      console.error('not signed in: run login first');
      return 1;
    }
    const { user } = (await response.json()) as { user: { username: string; role: string } };
    console.log(`signed in as ${user.username} (${user.role})`);
    return 0;
  }
  if (command === 'logout') {
    await auth.logout(); // ends the login on the server, and deletes the tokens file
    console.log('signed out');
    return 0;
  }
  console.error('usage: PASSWORD=… app.ts login <username> | app.ts me | app.ts logout');
  return 2;
}

main(process.argv[2], process.argv[3])
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof KeycardClientError ? `${error.code}: ${error.message}` : error);
      process.exitCode = 1;
    },
  )
  // With a storage, the client opens a BroadcastChannel (to tell other clients sharing it), which keeps
  // Node running until it is closed.
  .finally(() => auth.close());
