/**
 * The browser examples' test setting: a test keycard (spa preset, a ManualClock, user alice), the
 * example's web server in front of it on localhost, and Chromium.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../browser/harness.js';
import { ManualClock } from '../helpers/clock.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The spa preset's access tokens live 15 minutes; the verifier allows a little clock skew beyond. */
export const PAST_EXPIRY_SECONDS = 15 * 60 + 120;

export interface ExampleSetting {
  clock: ManualClock;
  keycard: TestServer;
  browser: Browser;
  /** The example's origin, on localhost. */
  base: string;
  close(): Promise<void>;
}

export async function startExample(
  front: (keycardURL: string) => Server | Promise<Server>,
): Promise<ExampleSetting> {
  const clock = new ManualClock(Date.now());
  const keycard = await startTestServer({ clock, flags: { preset: 'spa' } });
  await keycard.keycard.users.create({ username: 'alice', password: 'alice-password' });
  const server = await front(keycard.url);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://localhost:${(server.address() as AddressInfo).port}`;
  const browser = await launchChromium();
  return {
    clock,
    keycard,
    browser,
    base,
    async close() {
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await keycard.close();
    },
  };
}
