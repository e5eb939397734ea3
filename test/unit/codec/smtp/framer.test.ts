import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineFramer, type FramerEvent } from '../../../../src/codec/smtp/framer.js';
import { cutsArb, smtpishBytes, splitAt } from './chunks.js';

/** Drains the framer: lines as latin1 strings, too-long as null. */
function drain(f: LineFramer): (string | null)[] {
  const out: (string | null)[] = [];
  for (let e: FramerEvent | null; (e = f.next()) !== null; ) out.push(e.kind === 'line' ? e.line.toString('latin1') : null);
  return out;
}

function feed(max: number, chunks: (string | Buffer)[]): { events: (string | null)[]; framer: LineFramer } {
  const f = new LineFramer(max);
  const events: (string | null)[] = [];
  for (const c of chunks) {
    f.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
    events.push(...drain(f));
  }
  return { events, framer: f };
}

test('splits on CRLF and returns lines without it', () => {
  const { events, framer } = feed(512, ['EHLO a\r\nMAIL FROM:<a@b>\r\n\r\nNO']);
  assert.deepEqual(events, ['EHLO a', 'MAIL FROM:<a@b>', '']);
  assert.equal(framer.buffered, 2);
  assert.equal(framer.takeRest().toString(), 'NO');
});

test('a CRLF split across chunks still ends the line', () => {
  assert.deepEqual(feed(512, ['NOOP\r', '\nQUIT\r', '', '\n']).events, ['NOOP', 'QUIT']);
  assert.deepEqual(feed(512, ['N', 'O', 'O', 'P', '\r', '\n']).events, ['NOOP']);
});

test('bare LF and bare CR stay inside the line', () => {
  assert.deepEqual(feed(512, ['NOOP\nQUIT\r\n']).events, ['NOOP\nQUIT']);
  assert.deepEqual(feed(512, ['NOOP\rQUIT\r\n']).events, ['NOOP\rQUIT']);
  assert.deepEqual(feed(512, ['A\r', '\rB\r\n']).events, ['A\r\rB']);
  assert.deepEqual(feed(512, ['\n\r\n']).events, ['\n']);
});

test('the limit excludes the CRLF: exactly max bytes pass, max + 1 is too long', () => {
  assert.deepEqual(feed(4, ['abcd\r\n']).events, ['abcd']);
  assert.deepEqual(feed(4, ['abcde\r\n']).events, [null]);
  // The CR of the ending CRLF arriving alone at the limit must not count.
  assert.deepEqual(feed(4, ['abcd', '\r', '\n']).events, ['abcd']);
  assert.deepEqual(feed(4, ['abcd\r', 'x\r\n']).events, [null]);
  assert.deepEqual(feed(0, ['\r\n', 'a\r\n']).events, ['', null]);
});

test('a too-long line is discarded as it arrives and reported once, at its CRLF', () => {
  const f = new LineFramer(512);
  for (let i = 0; i < 1000; i++) {
    f.push(Buffer.alloc(1000, 0x41));
    assert.equal(f.next(), null);
    assert.ok(f.buffered <= 513, `buffered ${f.buffered} stays bounded`);
  }
  f.push(Buffer.from('\r\nQUIT\r\n'));
  assert.deepEqual(drain(f), [null, 'QUIT']);
  assert.equal(f.buffered, 0);
});

test('a long line inside a single chunk is reported without being copied whole', () => {
  assert.deepEqual(feed(10, [`${'x'.repeat(100)}\r\nRSET\r\n`]).events, [null, 'RSET']);
});

test('takeRest returns the bytes after the DATA line untouched, and the framer starts afresh', () => {
  const f = new LineFramer(8);
  // The body holds a bare LF and a line far over the command limit: neither may be touched.
  f.push(Buffer.from(`DATA\r\nline\nX${'y'.repeat(50)}\r\n.\r\n`));
  assert.deepEqual(f.next(), { kind: 'line', line: Buffer.from('DATA') });
  assert.equal(f.takeRest().toString(), `line\nX${'y'.repeat(50)}\r\n.\r\n`);
  assert.equal(f.buffered, 0);
  assert.equal(f.next(), null);
  f.push(Buffer.from('QUIT\r\n'));
  assert.deepEqual(drain(f), ['QUIT']);
});

test('takeRest includes an unfinished line already scanned, across chunks', () => {
  const f = new LineFramer(512);
  f.push(Buffer.from('BDAT 5 LAST\r\nab'));
  f.push(Buffer.from('c'));
  assert.deepEqual(drain(f), ['BDAT 5 LAST']);
  f.push(Buffer.from('de'));
  assert.equal(f.buffered, 5);
  assert.equal(f.takeRest().toString(), 'abcde');
});

test('many pushes before draining are all scanned (the queue compacts)', () => {
  const f = new LineFramer(512);
  for (let i = 0; i < 300; i++) f.push(Buffer.from(i % 2 === 0 ? `L${i}` : '\r\n'));
  const lines = drain(f);
  assert.equal(lines.length, 150);
  assert.equal(lines[149], 'L298');
});

test('nonsensical limits do not throw', () => {
  for (const max of [-1, Number.NaN, 0.5]) {
    const f = new LineFramer(max);
    f.push(Buffer.from('\r\nx\r\n'));
    assert.deepEqual(drain(f), ['', null]);
  }
});

/** What the framer must produce: split the whole input on CRLF. */
function reference(input: Buffer, max: number): { events: (string | null)[]; rest: string } {
  const parts = input.toString('latin1').split('\r\n');
  const rest = parts.pop()!;
  return { events: parts.map((p) => (p.length > max ? null : p)), rest };
}

test('property: any split of the input yields the same lines as splitting the whole', () => {
  fc.assert(
    fc.property(smtpishBytes, cutsArb, fc.integer({ min: 0, max: 12 }), (input, cuts, max) => {
      const { events, framer } = feed(max, splitAt(input, cuts));
      const want = reference(input, max);
      assert.deepEqual(events, want.events);
      // The unfinished line is kept while it can still fit (max + a possible CR).
      if (want.rest.length <= max + 1) assert.equal(framer.takeRest().toString('latin1'), want.rest);
    }),
    { numRuns: 500 },
  );
});
