/**
 * The refresh rotation rule, decided once, here, for every store: stores only perform the atomic
 * compare-and-set it asks for (`advanceRefresh`). Given a login's refresh state and the generation of a
 * genuine token of that login (its MAC already checked):
 *
 * - the current generation → **rotate**: the next generation becomes current (unless the login has used
 *   up its rotations for this window → **throttled**);
 * - the previous generation, presented within the grace window after the last rotation → **grace**: two
 *   tabs (or a retried request) raced, and the loser is handed the current token — the same successor —
 *   so an honest client is never logged out by a race;
 * - any older generation, or the previous one after the grace window → **reuse**: a spent token came back,
 *   so it was copied; the caller revokes the whole login (RFC 9700 §4.14.2, refresh token rotation);
 * - a generation ahead of the current one cannot have been issued → **invalid**.
 */
import type { RefreshState } from '../store.js';

export interface RotationPolicy {
  /** A previous-generation token is honoured this long after the rotation that spent it (ms). */
  graceMs: number;
  /** Rotations allowed per login per window; Infinity when throttling is off. */
  maxRotations: number;
  windowMs: number;
}

export type RotationDecision =
  | { action: 'rotate'; next: RefreshState }
  | { action: 'grace' }
  | { action: 'reuse' }
  | { action: 'throttled'; retryAfterMs: number }
  | { action: 'invalid' };

export function decideRotation(
  state: RefreshState,
  presentedGeneration: number,
  now: number,
  policy: RotationPolicy,
): RotationDecision {
  if (presentedGeneration > state.generation) return { action: 'invalid' };
  if (presentedGeneration < state.generation) {
    const previous = presentedGeneration === state.generation - 1;
    return previous && now - state.rotatedAt <= policy.graceMs ? { action: 'grace' } : { action: 'reuse' };
  }
  const windowEnds = state.windowStartedAt + policy.windowMs;
  const fresh = now >= windowEnds;
  const used = fresh ? 0 : state.rotationsInWindow;
  if (used >= policy.maxRotations) return { action: 'throttled', retryAfterMs: windowEnds - now };
  return {
    action: 'rotate',
    next: {
      ...state,
      generation: state.generation + 1,
      rotatedAt: now,
      windowStartedAt: fresh ? now : state.windowStartedAt,
      rotationsInWindow: used + 1,
    },
  };
}
