import type { Clock } from '../../src/core/clock.js';

/** A clock tests move by hand: no test waits for a real timeout. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }
}
