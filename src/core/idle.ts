/**
 * The idle timeout of a session (SPEC §2 limits.idleTimeout): `onIdle` runs
 * once when `ms` pass without a `touch()`. Timers go through the injected
 * Clock so tests drive them with a fake clock instead of patching globals.
 */
import type { Clock } from './clock.js';

// setTimeout overflows above 2^31-1 ms (~24.8 days) and then fires after 1 ms;
// an idle limit that long is "never" in practice, so clamp instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class IdleTimer {
  private readonly ms: number;
  private readonly clock: Clock;
  private readonly onIdle: () => void;
  private handle: ReturnType<Clock['setTimeout']> | null = null;
  private stopped = false;

  /** Armed at once. `ms` = 0 disables the timer (touch and stop do nothing). */
  constructor(ms: number, clock: Clock, onIdle: () => void) {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`idle timeout must be a finite number >= 0, got ${ms}`);
    this.ms = Math.min(ms, MAX_TIMER_MS);
    this.clock = clock;
    this.onIdle = onIdle;
    this.arm();
  }

  /** Activity: the idle period starts over. After stop() this is a no-op, so late socket events cannot revive a closed session's timer. */
  touch(): void {
    if (this.stopped) return;
    // refresh() restarts the same timer (Node, Bun): a session touches it on every read and write,
    // and a new timer per touch was a measurable part of a one-command-at-a-time POP3 download.
    if (this.handle?.refresh) return void this.handle.refresh();
    this.clear();
    this.arm();
  }

  /** Final: the timer never fires after this. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  // Restart the timer on every touch rather than "check the last activity
  // when the timer fires": the latter reads clock.now(), a wall clock that
  // can jump, while timers are monotonic. Clocks whose timers cannot
  // refresh (the tests' fake clock) get a new timer per touch.
  private arm(): void {
    if (this.ms === 0) return;
    const handle = this.clock.setTimeout(() => this.fire(handle), this.ms);
    // An idle timer alone must not keep the process alive; the socket does.
    handle.unref?.();
    this.handle = handle;
  }

  private fire(handle: object): void {
    // A fake or coarse clock may run a callback already cleared in the same tick; only the current timer counts.
    if (this.handle !== handle || this.stopped) return;
    this.handle = null;
    this.stopped = true;
    this.onIdle();
  }

  private clear(): void {
    if (this.handle === null) return;
    this.clock.clearTimeout(this.handle);
    this.handle = null;
  }
}
