import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock, type Clock } from '../../../src/core/clock.js';
import { IdleTimer } from '../../../src/core/idle.js';

/** A clock whose time moves only when the test says so; timers fire in due order. */
class FakeClock implements Clock {
  private time = 0;
  private readonly timers = new Map<object, { at: number; fn: () => void }>();
  scheduled: number[] = [];

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): object {
    const handle = {};
    this.timers.set(handle, { at: this.time + ms, fn });
    this.scheduled.push(ms);
    return handle;
  }
  /** Re-arms an existing timer, as a runtime timer's refresh() does. */
  protected restart(handle: object, ms: number): void {
    const entry = this.timers.get(handle);
    if (entry) entry.at = this.time + ms;
  }
  clearTimeout(handle: object): void {
    this.timers.delete(handle);
  }
  get pending(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [object, { at: number; fn: () => void }] | null = null;
      for (const entry of this.timers) if (entry[1].at <= end && (next === null || entry[1].at < next[1].at)) next = entry;
      if (next === null) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}

/** The same fake clock with timers that refresh(), as Node's and Bun's do. */
class RefreshingClock extends FakeClock {
  refreshes = 0;
  override setTimeout(fn: () => void, ms: number): object {
    const handle = super.setTimeout(fn, ms) as { refresh?: () => void };
    handle.refresh = () => {
      this.refreshes++;
      this.restart(handle, ms);
    };
    return handle;
  }
}

test('fires once after ms without activity', () => {
  const clock = new FakeClock();
  let fired = 0;
  new IdleTimer(1000, clock, () => fired++);
  clock.advance(999);
  assert.equal(fired, 0);
  clock.advance(1);
  assert.equal(fired, 1);
  clock.advance(10_000);
  assert.equal(fired, 1);
  assert.equal(clock.pending, 0);
});

/** A 1 s idle timer touched at 800 and 1,600 ms fires at 2,600 ms, not a millisecond before. */
function touchTwiceThenIdle(clock: FakeClock): IdleTimer {
  let firedAt = -1;
  const timer = new IdleTimer(1000, clock, () => (firedAt = clock.now()));
  clock.advance(800);
  timer.touch();
  clock.advance(800);
  timer.touch();
  clock.advance(999);
  assert.equal(firedAt, -1);
  clock.advance(1);
  assert.equal(firedAt, 2600);
  return timer;
}

test('touch starts the idle period over', () => {
  const clock = new FakeClock();
  touchTwiceThenIdle(clock);
  assert.equal(clock.pending, 0, 'touch replaces its timer, never adds one');
});

test('touch restarts a refreshable timer instead of making a new one', () => {
  const clock = new RefreshingClock();
  const timer = touchTwiceThenIdle(clock);
  assert.deepEqual(clock.scheduled, [1000], 'one timer for the whole session');
  assert.equal(clock.refreshes, 2);
  timer.touch(); // after firing: nothing
  clock.advance(5000);
  assert.equal(clock.refreshes, 2);
});

test('with the system clock, touches keep the timer from firing', async () => {
  let fired = 0;
  const timer = new IdleTimer(500, systemClock, () => fired++);
  for (let i = 0; i < 14; i++) {
    await new Promise((r) => setTimeout(r, 50));
    timer.touch();
  }
  assert.equal(fired, 0, 'touched every 50 ms for 700 ms, a 500 ms idle timer never fires');
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(fired, 1);
});

test('stop is final: no firing, touch does not re-arm', () => {
  const clock = new FakeClock();
  let fired = 0;
  const timer = new IdleTimer(1000, clock, () => fired++);
  clock.advance(500);
  timer.stop();
  timer.touch();
  assert.equal(clock.pending, 0);
  clock.advance(5000);
  assert.equal(fired, 0);
  timer.stop(); // twice is fine
});

test('touch after firing does not fire again', () => {
  const clock = new FakeClock();
  let fired = 0;
  const timer = new IdleTimer(100, clock, () => fired++);
  clock.advance(100);
  timer.touch();
  clock.advance(1000);
  assert.equal(fired, 1);
});

test('0 disables the timer', () => {
  const clock = new FakeClock();
  let fired = 0;
  const timer = new IdleTimer(0, clock, () => fired++);
  timer.touch();
  clock.advance(1e12);
  timer.stop();
  assert.equal(fired, 0);
  assert.deepEqual(clock.scheduled, []);
});

test('rejects negative and non-finite values; clamps beyond the runtime timer range', () => {
  const clock = new FakeClock();
  assert.throws(() => new IdleTimer(-1, clock, () => {}), RangeError);
  assert.throws(() => new IdleTimer(Number.NaN, clock, () => {}), RangeError);
  assert.throws(() => new IdleTimer(Infinity, clock, () => {}), RangeError);
  // 30 days would overflow setTimeout (and fire after 1 ms); it is clamped to ~24.8 days instead.
  new IdleTimer(30 * 24 * 3600 * 1000, clock, () => {}).stop();
  assert.deepEqual(clock.scheduled, [2 ** 31 - 1]);
});

test('a cleared timer that the clock still runs (same tick) is ignored', () => {
  // Some clocks cannot cancel a callback already picked for this tick; the timer must not fire for a stale handle.
  const callbacks: Array<() => void> = [];
  const leaky: Clock = {
    now: () => 0,
    setTimeout: (fn) => {
      callbacks.push(fn);
      return {};
    },
    clearTimeout: () => {},
  };
  let fired = 0;
  const timer = new IdleTimer(1000, leaky, () => fired++);
  timer.touch();
  callbacks[0]!(); // the first, superseded timer
  assert.equal(fired, 0);
  callbacks[1]!();
  assert.equal(fired, 1);
});
