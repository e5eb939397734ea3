import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ImapFramer, type FramerEvent, type FramerOptions } from '../../../../src/codec/imap/framer.js';
import { parseCommand, peekCommand } from '../../../../src/codec/imap/parser.js';
import { describe, generous, run, splitAt } from './support.js';

const frame = (lines: string[], literals: [string, boolean, boolean][] = []) => ({ frame: lines, literals });

test('lines end at CRLF or a bare LF; a bare CR stays in the line', () => {
  const { events, framer } = run(['a NOOP\r\nb NOOP\nc NO\rOP\r\n\r\nd']);
  assert.deepEqual(describe(events), [frame(['a NOOP']), frame(['b NOOP']), frame(['c NO\rOP']), frame([''])]);
  assert.equal(framer.buffered, 1);
});

test('a synchronizing literal asks for a continuation, then its bytes are taken raw', () => {
  const { events } = run(['a LOGIN {10}\r\n', 'x\r\n{3}\r\nyz {4}\r\n', 'p\nw\r', '\r\n']);
  assert.deepEqual(describe(events), [
    { kind: 'continue', size: 10 },
    { kind: 'continue', size: 4 },
    frame(['a LOGIN {10}', ' {4}', ''], [['x\r\n{3}\r\nyz', true, false], ['p\nw\r', true, false]]),
  ]);
});

test('LITERAL+ literals need no continuation; literal8 is framed and flagged', () => {
  const { events } = run(['A APPEND INBOX {3+}\r\nabc ~{2+}\r\n\0\n\r\n']);
  assert.deepEqual(describe(events), [frame(['A APPEND INBOX {3+}', ' ~{2+}', ''], [['abc', false, false], ['\0\n', false, true]])]);
});

test('an empty literal completes without more input', () => {
  const { events } = run(['a LOGIN {0}\r\n', ' {0+}\r\n', '\r\n']);
  assert.deepEqual(describe(events), [{ kind: 'continue', size: 0 }, frame(['a LOGIN {0}', ' {0+}', ''], [['', true, false], ['', false, false]])]);
});

test('byte-by-byte input gives the same events as one chunk', () => {
  const input = Buffer.from('a LOGIN {5}\r\nhello {3+}\r\nabc\r\nb NOOP\nc APPEND x {2}\r\n\r\n\r\nd FETCH 1 BODY[]\r\n');
  const whole = describe(run([input]).events);
  const bytewise = describe(run([...input].map((b) => Buffer.from([b]))).events);
  assert.deepEqual(bytewise, whole);
  assert.equal(whole.filter((e) => (e as { frame?: unknown }).frame !== undefined).length, 4);
});

test('a cut at every byte boundary gives the same events as one chunk', () => {
  const input = Buffer.from('a LOGIN {5}\r\nhe\r\nl {3+}\r\nabc\r\nb APPEND x ~{4+}\r\n\0\r\n\n\nc NOOP\n');
  const whole = describe(run([input]).events);
  assert.deepEqual(whole, [
    { kind: 'continue', size: 5 },
    frame(['a LOGIN {5}', ' {3+}', ''], [['he\r\nl', true, false], ['abc', false, false]]),
    frame(['b APPEND x ~{4+}', ''], [['\0\r\n\n', false, true]]),
    frame(['c NOOP']),
  ]);
  for (let i = 0; i <= input.length; i++) {
    assert.deepEqual(describe(run([input.subarray(0, i), input.subarray(i)]).events), whole, `cut at ${i}`);
  }
});

test('literalLimit sees the frame so far and the announcement, and can pick APPEND out', () => {
  const seen: unknown[] = [];
  const options: FramerOptions = {
    maxLineBytes: 1000,
    literalLimit: (soFar, ann) => {
      seen.push([soFar.lines.map(String), soFar.literals.map((l) => String(l.data)), ann]);
      return peekCommand(soFar).name === 'APPEND' ? 100 : 3;
    },
  };
  const { events } = run(['a LOGIN {2}\r\nab {3}\r\nxyz\r\nb APPEND INBOX {10+}\r\n0123456789\r\nc LOGIN {4}\r\n'], options);
  assert.deepEqual(seen, [
    [['a LOGIN {2}'], [], { size: 2, sync: true, binary: false }],
    [['a LOGIN {2}', ' {3}'], ['ab'], { size: 3, sync: true, binary: false }],
    [['b APPEND INBOX {10+}'], [], { size: 10, sync: false, binary: false }],
    [['c LOGIN {4}'], [], { size: 4, sync: true, binary: false }],
  ]);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['continue', 'continue', 'frame', 'frame', 'literal-refused'],
  );
});

test('an oversized synchronizing literal is refused before any byte is read, and the next command follows', () => {
  const { events, framer } = run(['a1 LOGIN {4096}\r\n', 'a2 NOOP\r\n'], { maxLineBytes: 100, literalLimit: () => 1024 });
  assert.deepEqual(describe(events), [
    { kind: 'literal-refused', tag: 'a1', size: 4096, limit: 1024, sync: true, fatal: false },
    frame(['a2 NOOP']),
  ]);
  assert.equal(framer.buffered, 0);
});

test('a negative limit refuses every literal, even an empty one', () => {
  const { events } = run(['a LOGIN {0}\r\n'], { maxLineBytes: 100, literalLimit: () => -1 });
  assert.deepEqual(describe(events), [{ kind: 'literal-refused', tag: 'a', size: 0, limit: -1, sync: true, fatal: false }]);
});

test('an oversized non-synchronizing literal is refused, its bytes and the rest of the command skipped', () => {
  const literal = 'b LOGOUT\r\n'.repeat(10); // looks like commands: must never be framed
  const { events, framer } = run([`a APPEND INBOX {${literal.length}+}\r\n`, literal.slice(0, 7), literal.slice(7), ' {2+}\r\nxy\r\nc NOOP\r\n'], {
    maxLineBytes: 100,
    literalLimit: () => 50,
  });
  assert.deepEqual(describe(events), [
    { kind: 'literal-refused', tag: 'a', size: 100, limit: 50, sync: false, fatal: false },
    frame(['c NOOP']),
  ]);
  assert.equal(framer.closed, false);
});

test('a refused command that announces a synchronizing literal later ends there (no "+" is ever sent)', () => {
  const { events } = run(['a X {9+}\r\n123456789 {5}\r\nb NOOP\r\n'], { maxLineBytes: 100, literalLimit: () => 1 });
  assert.deepEqual(describe(events), [
    { kind: 'literal-refused', tag: 'a', size: 9, limit: 1, sync: false, fatal: false },
    frame(['b NOOP']),
  ]);
});

test('a 4 GB literal announcement is never buffered', () => {
  const options = { maxLineBytes: 100, literalLimit: () => 1024 };
  // Synchronizing: refused, nothing follows, the connection goes on.
  const sync = run(['a APPEND INBOX {4294967296}\r\n', 'b NOOP\r\n'], options);
  assert.deepEqual(describe(sync.events), [
    { kind: 'literal-refused', tag: 'a', size: 4294967296, limit: 1024, sync: true, fatal: false },
    frame(['b NOOP']),
  ]);
  // Non-synchronizing: too much to skip; fatal, and the framer ignores everything after.
  const nonSync = run(['a APPEND INBOX {4294967296+}\r\n', Buffer.alloc(65536, 0x41), 'b NOOP\r\n'], options);
  assert.deepEqual(describe(nonSync.events), [{ kind: 'literal-refused', tag: 'a', size: 4294967296, limit: 1024, sync: false, fatal: true }]);
  assert.equal(nonSync.framer.closed, true);
  assert.equal(nonSync.framer.buffered, 0);
  assert.equal(nonSync.framer.next(), null);
  // Absurdly many digits: Infinity, still refused without drama.
  const digits = run([`a LOGIN {${'9'.repeat(40)}}\r\n`], options);
  assert.equal((digits.events[0] as { size: number }).size, Number.POSITIVE_INFINITY);
});

test('maxDiscardBytes bounds what one command may make us skip, across its literals', () => {
  const options = { maxLineBytes: 100, literalLimit: () => 0, maxDiscardBytes: 10 };
  const fits = run(['a X {6+}\r\n123456 {4+}\r\nabcd\r\nb NOOP\r\n'], options);
  assert.deepEqual(describe(fits.events), [{ kind: 'literal-refused', tag: 'a', size: 6, limit: 0, sync: false, fatal: false }, frame(['b NOOP'])]);
  const over = run(['a X {6+}\r\n123456 {5+}\r\nabcde\r\nb NOOP\r\n'], options);
  assert.deepEqual(describe(over.events), [
    { kind: 'literal-refused', tag: 'a', size: 6, limit: 0, sync: false, fatal: false },
    { kind: 'literal-refused', tag: 'a', size: 5, limit: 4, sync: false, fatal: true },
  ]);
  // The budget is per command: the next command starts afresh.
  const two = run(['a X {6+}\r\n123456\r\nb X {6+}\r\n123456\r\nc NOOP\r\n'], options);
  assert.deepEqual(two.events.map((e) => e.kind), ['literal-refused', 'literal-refused', 'frame']);
});

test('the line cap counts every piece of a command but no literal byte', () => {
  const options = { maxLineBytes: 20, literalLimit: () => 1000 };
  // 12 + 5 + 3 = 20 line bytes: fits, with 100 literal bytes in between.
  const ok = run([`a LOGIN {50}\r\n${'x'.repeat(50)} {50}\r\n${'y'.repeat(50)} ab\r\n`], options);
  assert.equal(ok.events.at(-1)!.kind, 'frame');
  const over = run([`a LOGIN {50}\r\n${'x'.repeat(50)} {50}\r\n${'y'.repeat(50)} abc\r\nb NOOP\r\n`], options);
  assert.deepEqual(describe(over.events.filter((e) => e.kind !== 'continue')), [{ kind: 'line-too-long', tag: 'a', fatal: false }, frame(['b NOOP'])]);
  // The CR of the CRLF does not count, even when it arrives alone at the cap.
  assert.deepEqual(describe(run(['a NOOP 4567890123456', '\r', '\n'], options).events), [frame(['a NOOP 4567890123456'])]);
});

test('a too-long line is dropped as it streams in, reported once with its tag', () => {
  const f = new ImapFramer({ maxLineBytes: 512, literalLimit: () => 0 });
  f.push(Buffer.from('tag1 SEARCH '));
  for (let i = 0; i < 1000; i++) {
    f.push(Buffer.alloc(1000, 0x41));
    assert.equal(f.next(), null);
    assert.ok(f.buffered <= 512 + 256 + 64 + 1, `buffered ${f.buffered} stays bounded`);
  }
  f.push(Buffer.from('\r\nb NOOP\r\n'));
  assert.deepEqual(describe([f.next()!, f.next()!]), [{ kind: 'line-too-long', tag: 'tag1', fatal: false }, frame(['b NOOP'])]);
  assert.equal(f.buffered, 0);
});

test('a too-long line that announces a non-synchronizing literal has the literal skipped too', () => {
  const options = { maxLineBytes: 10, literalLimit: () => 1000 };
  const { events } = run([`a APPEND ${'x'.repeat(100)} {12+}\r\nb NOOP\r\nc NO\r\nd NOOP\r\n`], options);
  assert.deepEqual(describe(events), [{ kind: 'line-too-long', tag: 'a', fatal: false }, frame(['d NOOP'])]);
  const endless = run([`a APPEND ${'x'.repeat(100)} {99999999+}\r\nb NOOP\r\n`], options);
  assert.deepEqual(describe(endless.events), [{ kind: 'line-too-long', tag: 'a', fatal: true }]);
  // A line with no space in the first bytes has no readable tag.
  assert.deepEqual(describe(run(['x'.repeat(100) + '\r\n'], options).events), [{ kind: 'line-too-long', tag: null, fatal: false }]);
});

test('garbage bytes are framed, never thrown on, and the parser refuses them', () => {
  const junk = Buffer.from([0xff, 0x00, 0x7b, 0x7d, 0x0d, 0x80, 0x20, 0x0a, 0x01, 0x02, 0x7b, 0x31, 0x7d, 0x0a, 0x41, 0x0a]);
  const { events } = run([junk]);
  const frames = events.filter((e): e is Extract<FramerEvent, { kind: 'frame' }> => e.kind === 'frame');
  assert.equal(frames.length, 2);
  for (const f of frames) assert.equal(parseCommand(f.frame).ok, false);
  assert.deepEqual(describe(events)[1], { kind: 'continue', size: 1 });
});

test('clear() drops and counts what was pipelined (STARTTLS command injection)', () => {
  const f = new ImapFramer(generous);
  f.push(Buffer.from('a STARTTLS\r\nb LOGIN user pass\r\n'));
  assert.equal(f.next()?.kind, 'frame');
  assert.equal(f.buffered, 19);
  assert.equal(f.clear(), 19);
  assert.equal(f.next(), null);
  f.push(Buffer.from('c NOOP\r\n'));
  assert.deepEqual(describe([f.next()!]), [frame(['c NOOP'])]);
});

test('many small pushes before draining are all scanned (the queue compacts)', () => {
  const f = new ImapFramer(generous);
  for (let i = 0; i < 300; i++) f.push(Buffer.from(i % 2 === 0 ? `t${i} NOOP` : '\r\n'));
  let n = 0;
  for (let e: FramerEvent | null; (e = f.next()) !== null; ) n += e.kind === 'frame' ? 1 : 0;
  assert.equal(n, 150);
});

test('nonsensical caps do not throw', () => {
  for (const max of [-1, Number.NaN, 0.5]) {
    const { events } = run(['\r\na\r\n'], { maxLineBytes: max, literalLimit: () => Number.NaN, maxDiscardBytes: max });
    assert.deepEqual(describe(events), [frame(['']), { kind: 'line-too-long', tag: null, fatal: false }]);
  }
});

/** IMAP-ish bytes: announcements, line ends and junk, so every path of the framer is hit. */
const imapish = fc
  .array(
    fc.oneof(
      fc.constantFrom('a ', 'LOGIN ', 'x', ' ', '{', '}', '+', '~', '\r', '\n', '\r\n', '\0', '9', '"', '(', ')'),
      fc.tuple(fc.nat({ max: 12 }), fc.boolean(), fc.boolean()).map(([n, plus, tilde]) => `${tilde ? '~' : ''}{${n}${plus ? '+' : ''}}\r\n`),
    ),
    { maxLength: 60 },
  )
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));

test('property: any split of the input gives the same events as the whole', () => {
  fc.assert(
    fc.property(
      imapish,
      fc.array(fc.nat({ max: 1000 }), { maxLength: 15 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: -1, max: 8 }),
      fc.integer({ min: 0, max: 20 }),
      (input, cuts, maxLineBytes, limit, maxDiscardBytes) => {
        const options = { maxLineBytes, literalLimit: () => limit, maxDiscardBytes };
        const whole = run([input], options);
        const split = run(splitAt(input, cuts), options);
        assert.deepEqual(describe(split.events), describe(whole.events));
        assert.equal(split.framer.buffered, whole.framer.buffered);
        assert.equal(split.framer.closed, whole.framer.closed);
        // Memory stays within the caps (line + tail + allowed literal bytes), whatever the input.
        assert.ok(whole.framer.buffered <= maxLineBytes + 1 + 256 + 64 + 30 * Math.max(limit, 0));
      },
    ),
    { numRuns: 1000 },
  );
});

/** Well-formed commands: pieces (no "{", CR or LF), literals of any bytes, CRLF or LF line ends. */
const commands = fc.array(
  fc.record({
    pieces: fc.array(fc.array(fc.constantFrom('a', ' ', 'B', '(', ')', '"', '1', '}', '+', '~', '\0', '\u00e9'), { maxLength: 8 }).map((c) => c.join('')), {
      minLength: 1,
      maxLength: 4,
    }),
    literals: fc.array(fc.tuple(fc.uint8Array({ maxLength: 20 }), fc.boolean()), { maxLength: 3 }),
    lf: fc.boolean(),
  }),
  { maxLength: 6 },
);

test('property: well-formed commands come back exactly as sent (a model of the framing)', () => {
  fc.assert(
    fc.property(commands, fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }), (cmds, cuts) => {
      const wire: Buffer[] = [];
      const expected: unknown[] = [];
      for (const { pieces, literals, lf } of cmds) {
        const n = Math.min(pieces.length - 1, literals.length);
        const lines = pieces.slice(0, n + 1).map((p, i) => (i < n ? `${p}{${literals[i]![0].length}${literals[i]![1] ? '' : '+'}}` : p));
        lines.forEach((line, i) => {
          wire.push(Buffer.from(line + (lf ? '\n' : '\r\n'), 'latin1'));
          if (i < n) wire.push(Buffer.from(literals[i]![0]));
          if (i < n && literals[i]![1]) expected.push({ kind: 'continue', size: literals[i]![0].length });
        });
        expected.push(frame(lines, literals.slice(0, n).map(([data, sync], i) => [Buffer.from(data).toString('latin1'), sync, pieces[i]!.endsWith('~')])));
      }
      const { events, framer } = run(splitAt(Buffer.concat(wire), cuts));
      assert.deepEqual(describe(events), expected);
      assert.equal(framer.buffered, 0);
    }),
    { numRuns: 500 },
  );
});
