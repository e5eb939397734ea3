import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock } from '../../helpers/fake-clock.js';
import { AUTH_FAILURE_WINDOW_MS, AuthFailureLimiter, ConnectionCounter } from '../../../src/policy/rate.js';


const MIN = 60_000;

test('the window is 10 minutes (SPEC §2)', () => {
  assert.equal(AUTH_FAILURE_WINDOW_MS, 10 * MIN);
});

test('N failures within the window block the IP; fewer do not; other IPs unaffected', () => {
  const clock = fakeClock();
  const lim = new AuthFailureLimiter({ maxFailures: 3, windowMs: 10 * MIN, clock });
  lim.recordFailure('192.0.2.1');
  lim.recordFailure('192.0.2.1');
  assert.equal(lim.blocked('192.0.2.1'), false);
  lim.recordFailure('192.0.2.1');
  assert.equal(lim.blocked('192.0.2.1'), true);
  assert.equal(lim.blocked('192.0.2.2'), false);
});

test('the window slides: the block ends when the oldest counted failure leaves it', () => {
  const clock = fakeClock();
  const lim = new AuthFailureLimiter({ maxFailures: 3, windowMs: 10 * MIN, clock });
  lim.recordFailure('192.0.2.1'); // t=0
  clock.advance(4 * MIN);
  lim.recordFailure('192.0.2.1'); // t=4
  clock.advance(4 * MIN);
  lim.recordFailure('192.0.2.1'); // t=8
  assert.equal(lim.blocked('192.0.2.1'), true);
  clock.advance(2 * MIN - 1); // t=10-ε: the t=0 failure still counts
  assert.equal(lim.blocked('192.0.2.1'), true);
  clock.advance(1); // t=10: it has left the window
  assert.equal(lim.blocked('192.0.2.1'), false);
  lim.recordFailure('192.0.2.1'); // t=10: failures at 4, 8, 10
  assert.equal(lim.blocked('192.0.2.1'), true);
  clock.advance(4 * MIN); // t=14: only 8, 10 left
  assert.equal(lim.blocked('192.0.2.1'), false);
});

test('failures spread wider than the window never block', () => {
  const clock = fakeClock();
  const lim = new AuthFailureLimiter({ maxFailures: 2, windowMs: 10 * MIN, clock });
  for (let i = 0; i < 5; i++) {
    lim.recordFailure('192.0.2.1');
    assert.equal(lim.blocked('192.0.2.1'), false, `attempt ${i}`);
    clock.advance(10 * MIN);
  }
});

test('IPv4-mapped and plain IPv4 count together (all protocols, all listeners)', () => {
  const lim = new AuthFailureLimiter({ maxFailures: 2, windowMs: 10 * MIN, clock: fakeClock() });
  lim.recordFailure('::ffff:192.0.2.1');
  lim.recordFailure('192.0.2.1');
  assert.equal(lim.blocked('192.0.2.1'), true);
  assert.equal(lim.blocked('::ffff:192.0.2.1'), true);
});

test('maxFailures 0 disables the limiter', () => {
  const lim = new AuthFailureLimiter({ maxFailures: 0, windowMs: 10 * MIN, clock: fakeClock() });
  assert.equal(lim.blocked('192.0.2.1'), false);
  for (let i = 0; i < 100; i++) lim.recordFailure('192.0.2.1');
  assert.equal(lim.blocked('192.0.2.1'), false);
  assert.equal(lim.size, 0);
});

test('memory: stale IPs are dropped lazily, and the IP cap forgets the least recent first', () => {
  const clock = fakeClock();
  const lim = new AuthFailureLimiter({ maxFailures: 1, windowMs: 10 * MIN, clock, maxIps: 2 });
  lim.recordFailure('10.0.0.1');
  clock.advance(10 * MIN);
  lim.recordFailure('10.0.0.2');
  assert.equal(lim.size, 1);
  lim.recordFailure('10.0.0.3');
  lim.recordFailure('10.0.0.4');
  assert.equal(lim.size, 2);
  assert.equal(lim.blocked('10.0.0.2'), false, 'forgotten by the cap');
  assert.equal(lim.blocked('10.0.0.4'), true);
});

test('connections: the per-IP cap refuses that IP only', () => {
  const c = new ConnectionCounter({ max: 100, maxPerIp: 2 });
  const a = c.tryOpen('192.0.2.1');
  const b = c.tryOpen('::ffff:192.0.2.1'); // same client through a dual-stack listener
  assert.equal(a.kind, 'accept');
  assert.equal(b.kind, 'accept');
  const third = c.tryOpen('192.0.2.1');
  assert.deepEqual(third.kind === 'disconnect' && third.reason, 'too-many-connections-from-ip');
  assert.equal(c.tryOpen('192.0.2.2').kind, 'accept');
  assert.equal(c.countFor('192.0.2.1'), 2);
  assert.equal(c.total, 3);
});

test('connections: the global cap refuses everyone', () => {
  const c = new ConnectionCounter({ max: 2, maxPerIp: 10 });
  assert.equal(c.tryOpen('10.0.0.1').kind, 'accept');
  assert.equal(c.tryOpen('10.0.0.2').kind, 'accept');
  const v = c.tryOpen('10.0.0.3');
  assert.equal(v.kind, 'disconnect');
  assert.equal(v.kind === 'disconnect' && v.reason, 'too-many-connections');
});

test('connections: release frees a slot, and releasing twice frees only one', () => {
  const c = new ConnectionCounter({ max: 2, maxPerIp: 2 });
  const a = c.tryOpen('10.0.0.1');
  const b = c.tryOpen('10.0.0.1');
  assert.ok(a.kind === 'accept' && b.kind === 'accept');
  a.value();
  a.value();
  a.value();
  assert.equal(c.total, 1);
  assert.equal(c.countFor('10.0.0.1'), 1);
  const again = c.tryOpen('10.0.0.1');
  assert.equal(again.kind, 'accept');
  assert.equal(c.tryOpen('10.0.0.1').kind, 'disconnect', 'double release did not open a second slot');
  b.value();
  if (again.kind === 'accept') again.value();
  assert.equal(c.total, 0);
  assert.equal(c.countFor('10.0.0.1'), 0);
});

test('connections: an explicit 0 refuses (STYLE: 0 stays 0)', () => {
  assert.equal(new ConnectionCounter({ max: 0, maxPerIp: 10 }).tryOpen('10.0.0.1').kind, 'disconnect');
  assert.equal(new ConnectionCounter({ max: 10, maxPerIp: 0 }).tryOpen('10.0.0.1').kind, 'disconnect');
});
