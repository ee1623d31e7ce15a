/**
 * Change tracking for session data. The data a request sees is a plain object (like express-session's
 * `req.session`); what the request changed is found by comparing each top-level key's JSON with a snapshot
 * taken when the session was loaded, and saved as a per-key patch — only when something changed.
 */
import type { DataPatch, SessionData } from '../store.js';

/** JSON of each top-level key, as loaded. */
export type DataSnapshot = Map<string, string>;

export function snapshotData(data: SessionData): DataSnapshot {
  const snapshot: DataSnapshot = new Map();
  for (const key of Object.keys(data)) {
    const json = JSON.stringify(data[key]);
    if (json !== undefined) snapshot.set(key, json);
  }
  return snapshot;
}

/** The patch that turns `snapshot` into `current`, or null when nothing changed. */
export function diffData(snapshot: DataSnapshot, current: SessionData): DataPatch | null {
  const set: SessionData = {};
  const unset: string[] = [];
  let changed = false;
  const seen = new Set<string>();
  for (const key of Object.keys(current)) {
    const json = JSON.stringify(current[key]);
    if (json === undefined) continue; // undefined and functions are not data: treated as absent
    seen.add(key);
    if (snapshot.get(key) !== json) {
      Object.defineProperty(set, key, {
        value: JSON.parse(json),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      changed = true;
    }
  }
  for (const key of snapshot.keys()) {
    if (!seen.has(key)) {
      unset.push(key);
      changed = true;
    }
  }
  return changed ? { set, unset } : null;
}

/** Applies a patch to a copy of `data`; keys are defined, never assigned, so `__proto__` is just a key. */
export function applyPatch(data: SessionData, patch: DataPatch): SessionData {
  const result: SessionData = {};
  for (const key of Object.keys(data)) defineKey(result, key, data[key]);
  for (const key of Object.keys(patch.set)) defineKey(result, key, patch.set[key]);
  for (const key of patch.unset) delete result[key];
  return result;
}

export function defineKey(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Size of data as stored (UTF-8 JSON), for the size limit. */
export function dataBytes(data: SessionData): number {
  return Buffer.byteLength(JSON.stringify(data));
}
