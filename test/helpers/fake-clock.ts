/** A clock for tests that only moves when told to (timers are not used by the code under test). */
import type { Clock } from '../../src/core/clock.js';

export function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => ({}),
    clearTimeout: () => {},
    advance(ms) {
      now += ms;
    },
  };
}
