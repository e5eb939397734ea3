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

/** A fake clock whose timers fire when `advance` moves time past them (in due order). */
export function timerClock(start = 1_000_000): Clock & { advance(ms: number): void; pending(): number } {
  let now = start;
  let seq = 0;
  const timers = new Map<object, { at: number; seq: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const handle = {};
      timers.set(handle, { at: now + Math.max(0, ms), seq: seq++, fn });
      return handle;
    },
    clearTimeout(handle) {
      timers.delete(handle);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const next = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq)[0];
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}
