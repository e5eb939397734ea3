import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDate, parseDateTime } from '../../../../src/codec/imap/datetime.js';
import { formatDateTime } from '../../../../src/codec/imap/serialize.js';

test('date: d-MMM-yyyy, month names in any case, impossible days refused', () => {
  assert.deepEqual(parseDate('1-Feb-1994'), { year: 1994, month: 2, day: 1 });
  assert.deepEqual(parseDate('01-fEB-1994'), { year: 1994, month: 2, day: 1 });
  assert.deepEqual(parseDate('29-Feb-2024'), { year: 2024, month: 2, day: 29 });
  assert.deepEqual(parseDate('29-Feb-2000'), { year: 2000, month: 2, day: 29 });
  assert.deepEqual(parseDate('31-Dec-0001'), { year: 1, month: 12, day: 31 });
  for (const text of ['29-Feb-2023', '29-Feb-1900', '31-Apr-2024', '32-Jan-2000', '0-Jan-2000', '1-Foo-2000', '1-Feb-94', '001-Feb-1994', '1 Feb 1994', '1-Feb-1994 ', '']) {
    assert.equal(parseDate(text), null, text);
  }
});

test('date-time: "dd-MMM-yyyy hh:mm:ss +zzzz" gives the instant and its zone', () => {
  assert.deepEqual(parseDateTime('17-Jul-1996 02:44:25 -0700'), { epochMs: Date.UTC(1996, 6, 17, 9, 44, 25), zoneMinutes: -420 });
  assert.deepEqual(parseDateTime(' 7-Jul-1996 02:44:25 +0530'), { epochMs: Date.UTC(1996, 6, 6, 21, 14, 25), zoneMinutes: 330 });
  assert.deepEqual(parseDateTime('7-jul-1996 00:00:00 +0000'), { epochMs: Date.UTC(1996, 6, 7), zoneMinutes: 0 }, 'one-digit day tolerated');
  assert.equal(parseDateTime('01-Jan-0050 00:00:00 +0000')?.epochMs, new Date('0050-01-01T00:00:00Z').getTime(), 'no two-digit-year rule');
  assert.equal(parseDateTime('31-Dec-1998 23:59:60 +0000')?.epochMs, Date.UTC(1999, 0, 1), 'a leap second rolls over');
  for (const text of [
    '17-Jul-1996 24:00:00 -0700', '17-Jul-1996 02:60:25 -0700', '17-Jul-1996 02:44:61 -0700', '17-Jul-1996 02:44:25 -0760', '17-Jul-1996 02:44:25 +2400',
    '17-Jul-1996 02:44:25', '17-Jul-1996 2:44:25 -0700', '30-Feb-1996 02:44:25 -0700', '17-Jul-96 02:44:25 -0700', '17-Jul-1996T02:44:25 -0700', '',
  ]) {
    assert.equal(parseDateTime(text), null, text);
  }
});

test('formatDateTime: INTERNALDATE text, day padded with a space, in the given zone', () => {
  assert.equal(formatDateTime(Date.UTC(1996, 6, 17, 9, 44, 25), -420), '17-Jul-1996 02:44:25 -0700');
  assert.equal(formatDateTime(Date.UTC(2024, 0, 5, 0, 0, 0)), ' 5-Jan-2024 00:00:00 +0000');
  assert.equal(formatDateTime(Date.UTC(2024, 0, 5, 0, 0, 0), 330), ' 5-Jan-2024 05:30:00 +0530');
  assert.equal(formatDateTime(Number.NaN, 99999), ' 1-Jan-1970 00:00:00 +0000', 'nonsense in, something well-formed out');
});

test('property: formatDateTime → parseDateTime round trip (whole seconds)', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_000_000_000, max: 253_000_000_000 }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (seconds, zone) => {
      const epochMs = seconds * 1000;
      assert.deepEqual(parseDateTime(formatDateTime(epochMs, zone)), { epochMs, zoneMinutes: zone });
    }),
    { numRuns: 1000 },
  );
});
