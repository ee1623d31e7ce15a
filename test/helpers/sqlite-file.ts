/** A SQLite file path in a fresh temporary directory, and the cleanup that removes it (with -wal, -shm). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempSQLiteFile(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'keycard-sqlite-'));
  return { path: join(dir, 'keycard.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
