/**
 * keycard/react against a real keycard serve: a component using useSession() under a <SessionProvider>
 * renders signed out, then the user after a login, and signed out again after a logout — rendered by
 * react-dom into a DOM (happy-dom), the updates driven by the client's onChange.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Window } from 'happy-dom';
import { act, createElement, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { createClient, type StoredTokens, type TokenStorage } from '../../src/client/index.js';
import { SessionProvider, useSession } from '../../src/react/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const window = new Window();
Object.assign(globalThis, { window, document: window.document, IS_REACT_ACT_ENVIRONMENT: true });

function Who(): ReactNode {
  const { user } = useSession();
  return createElement('p', null, user ? `signed in as ${user.username}` : 'signed out');
}

describe('keycard/react', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ storeURL: 'memory:', flags: { preset: 'api' } });
    await server.keycard.users.create({ username: 'bob', password: 'bob-password' });
  });
  after(async () => {
    await server?.close();
  });

  test('useSession follows the client: signed out, login, logout', async () => {
    const client = createClient({ baseUrl: server.url, transport: 'header' });
    const container = window.document.createElement('div');
    const root = createRoot(container as unknown as Element);
    await act(async () => {
      root.render(createElement(SessionProvider, { client }, createElement(Who)));
    });
    assert.equal(container.textContent, 'signed out');
    await act(async () => {
      await client.login({ username: 'bob', password: 'bob-password' });
    });
    assert.equal(container.textContent, 'signed in as bob');
    await act(async () => {
      await client.logout();
    });
    assert.equal(container.textContent, 'signed out');
    await act(async () => root.unmount());
    client.close();
  });

  test('a provider that loads on mount shows who is already signed in (tokens from storage)', async () => {
    let stored: StoredTokens | null = null;
    const storage: TokenStorage = {
      get: () => stored,
      set: (tokens) => {
        stored = tokens;
      },
    };
    const first = createClient({ baseUrl: server.url, transport: 'header', storage });
    await first.login({ username: 'bob', password: 'bob-password' });
    first.close();
    const client = createClient({ baseUrl: server.url, transport: 'header', storage });
    const container = window.document.createElement('div');
    const root = createRoot(container as unknown as Element);
    await act(async () => {
      root.render(createElement(SessionProvider, { client }, createElement(Who)));
    });
    // me() resolves after the first render; act waits for it.
    await act(async () => {
      await client.me();
    });
    assert.equal(container.textContent, 'signed in as bob');
    await act(async () => root.unmount());
    client.close();
  });

  test('useSession outside a provider says what is missing; server rendering shows the current state', () => {
    assert.throws(() => renderToString(createElement(Who)), /needs a <SessionProvider/);
    const client = createClient({ baseUrl: server.url, transport: 'header' });
    const html = renderToString(
      createElement(SessionProvider, { client, loadOnMount: false }, createElement(Who)),
    );
    assert.equal(html, '<p>signed out</p>');
    client.close();
  });
});
