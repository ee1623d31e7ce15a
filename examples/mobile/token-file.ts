/**
 * A `TokenStorage` for keycard/client in a file, as a Node program (or a desktop app) keeps its login
 * between runs. The file holds a refresh token — a credential good for weeks — so it is created readable
 * and writable by its owner only (0600), and deleted at sign-out. On a phone, use the platform's secure
 * storage (Keychain, Keystore) instead, with the same two methods.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import type { StoredTokens, TokenStorage } from 'keycard/client';

export function fileTokenStorage(path: string): TokenStorage {
  return {
    async get(): Promise<StoredTokens | null> {
      try {
        return JSON.parse(await readFile(path, 'utf8')) as StoredTokens;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // never signed in
        throw error;
      }
    },
    async set(tokens: StoredTokens | null): Promise<void> {
      if (tokens === null) {
        await rm(path, { force: true }); // signed out: no token left on disk
        return;
      }
      await writeFile(path, JSON.stringify(tokens), { mode: 0o600 });
      await chmod(path, 0o600); // `mode` applies only when the file is created
    },
  };
}
