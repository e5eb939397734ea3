import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock } from '../../helpers/fake-clock.js';
import { PopBeforeSmtp } from '../../../src/policy/pop-before-smtp.js';


test('an IP is allowed for ttl after its login, then not', () => {
  const clock = fakeClock();
  const p = new PopBeforeSmtp(60_000, clock);
  assert.equal(p.allows('192.0.2.1'), false);
  p.record('192.0.2.1');
  assert.equal(p.allows('192.0.2.1'), true);
  assert.equal(p.allows('192.0.2.2'), false);
  clock.advance(59_999);
  assert.equal(p.allows('192.0.2.1'), true);
  clock.advance(1);
  assert.equal(p.allows('192.0.2.1'), false);
});

test('a new login extends the grace period', () => {
  const clock = fakeClock();
  const p = new PopBeforeSmtp(10_000, clock);
  p.record('192.0.2.1');
  clock.advance(8_000);
  p.record('192.0.2.1');
  clock.advance(8_000);
  assert.equal(p.allows('192.0.2.1'), true);
  clock.advance(2_000);
  assert.equal(p.allows('192.0.2.1'), false);
});

test('IPv4-mapped and plain IPv4 are the same client (POP3 on dual-stack, SMTP on IPv4)', () => {
  const clock = fakeClock();
  const p = new PopBeforeSmtp(10_000, clock);
  p.record('::ffff:192.0.2.1');
  assert.equal(p.allows('192.0.2.1'), true);
  p.record('2001:db8::1');
  assert.equal(p.allows('2001:DB8:0::1'), true);
});

test('ttl 0 never allows and remembers nothing', () => {
  const p = new PopBeforeSmtp(0, fakeClock());
  p.record('192.0.2.1');
  assert.equal(p.allows('192.0.2.1'), false);
  assert.equal(p.size, 0);
});

test('expired entries are dropped lazily; the cap drops the oldest logins', () => {
  const clock = fakeClock();
  const p = new PopBeforeSmtp(1_000, clock, { maxEntries: 3 });
  p.record('10.0.0.1');
  p.record('10.0.0.2');
  clock.advance(1_000);
  p.record('10.0.0.3');
  assert.equal(p.size, 1, 'the two expired entries went on record()');
  p.record('10.0.0.4');
  p.record('10.0.0.5');
  p.record('10.0.0.6');
  assert.equal(p.size, 3);
  assert.equal(p.allows('10.0.0.3'), false, 'oldest dropped by the cap');
  assert.equal(p.allows('10.0.0.4'), true);
  assert.equal(p.allows('10.0.0.6'), true);
  // A repeated login moves an IP to the newest position, so the cap spares it.
  p.record('10.0.0.4');
  p.record('10.0.0.7');
  assert.equal(p.allows('10.0.0.4'), true);
  assert.equal(p.allows('10.0.0.5'), false);
});
