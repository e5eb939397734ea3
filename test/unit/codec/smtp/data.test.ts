import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataDecoder, dotStuff, type DataChunk } from '../../../../src/codec/smtp/data.js';
import { cutsArb, smtpishBytes, splitAt } from './chunks.js';

type Decoded = { body: Buffer; done: boolean; rest: Buffer; size: number; tooBig: boolean; bare: boolean; doneAt: number };

/** Feeds the chunks until done (the remaining chunks become rest, as a session would do). */
function decode(chunks: (Buffer | string)[], maxBytes = 1 << 30): Decoded {
  const d = new DataDecoder(maxBytes);
  const body: Buffer[] = [];
  let last: DataChunk | null = null;
  let doneAt = -1;
  const tail: Buffer[] = [];
  for (const [i, c] of chunks.entries()) {
    const buf = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    if (last?.done) {
      tail.push(buf);
      continue;
    }
    last = d.push(buf);
    body.push(...last.body);
    if (last.done) {
      doneAt = i;
      tail.push(last.rest);
    } else {
      assert.equal(last.rest.length, 0, 'rest is empty until done');
    }
  }
  const r = last ?? d.push(Buffer.alloc(0));
  return { body: Buffer.concat(body), done: r.done, rest: Buffer.concat(tail), size: r.size, tooBig: r.tooBig, bare: r.bareLineEnding, doneAt };
}

const s = (b: Buffer) => b.toString('latin1');

test('a simple body ends at CRLF.CRLF; the CRLF before the dot is body', () => {
  const r = decode(['Subject: hi\r\n\r\nHello\r\n.\r\n']);
  assert.equal(s(r.body), 'Subject: hi\r\n\r\nHello\r\n');
  assert.equal(r.done, true);
  assert.equal(r.rest.length, 0);
  assert.equal(r.size, r.body.length);
  assert.equal(r.bare, false);
  assert.equal(r.tooBig, false);
});

test('an empty message is ".\\r\\n" right after DATA; "\\r\\n.\\r\\n" is a body of one empty line', () => {
  const empty = decode(['.\r\n']);
  assert.equal(empty.done, true);
  assert.equal(empty.body.length, 0);
  assert.equal(s(decode(['\r\n.\r\n']).body), '\r\n');
});

test('dot-stuffing is removed at every line start, including the first', () => {
  assert.equal(s(decode(['..hidden\r\na..b\r\n...\r\n.\r\n']).body), '.hidden\r\na..b\r\n..\r\n');
  assert.equal(s(decode(['.\r', '\n']).body), '');
});

test('bytes after the end marker are returned as rest (pipelined commands)', () => {
  const r = decode(['hi\r\n.\r\nMAIL FROM:<a@b>\r\nQUIT\r\n']);
  assert.equal(s(r.body), 'hi\r\n');
  assert.equal(s(r.rest), 'MAIL FROM:<a@b>\r\nQUIT\r\n');
});

test('pushing after done returns everything as rest and no body', () => {
  const d = new DataDecoder(100);
  assert.equal(d.push(Buffer.from('x\r\n.\r\n')).done, true);
  const again = d.push(Buffer.from('QUIT\r\n'));
  assert.deepEqual(again.body, []);
  assert.equal(s(again.rest), 'QUIT\r\n');
  assert.equal(again.done, true);
  assert.equal(again.size, 3);
});

test('the end marker split at every position still ends the data at the same place', () => {
  const input = Buffer.from('ab\r\n.x\r\n.\r\nNOOP\r\n');
  for (let i = 0; i <= input.length; i++) {
    for (let j = i; j <= input.length; j++) {
      const r = decode([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
      assert.equal(s(r.body), 'ab\r\nx\r\n', `split at ${i},${j}`);
      assert.equal(s(r.rest), 'NOOP\r\n');
    }
  }
});

test('one byte at a time', () => {
  const input = Buffer.from('..a\r\n\r\n.\r.\n\r\n.\r\nQUIT');
  const r = decode([...input].map((b) => Buffer.from([b])));
  assert.equal(s(r.body), '.a\r\n\r\n\r.\n\r\n');
  assert.equal(r.bare, true);
  assert.equal(s(r.rest), 'QUIT');
});

test('a bare LF or bare CR is passed through, flagged, and sticky', () => {
  const lf = decode(['a\nb\r\n', 'clean\r\n.\r\n']);
  assert.equal(s(lf.body), 'a\nb\r\nclean\r\n');
  assert.equal(lf.bare, true);
  const cr = decode(['a\rb\r\n.\r\n']);
  assert.equal(s(cr.body), 'a\rb\r\n');
  assert.equal(cr.bare, true);
  // A CR at a chunk end followed by a non-LF in the next chunk is bare too.
  assert.equal(decode(['a\r', 'b\r\n.\r\n']).bare, true);
  assert.equal(decode(['a\r', '\nb\r\n.\r\n']).bare, false);
  // "." CR not followed by LF: the dot is stuffing, the CR is a bare CR kept as body.
  const dotCr = decode(['x\r\n.\r', 'y\r\n.\r\n']);
  assert.equal(s(dotCr.body), 'x\r\n\ry\r\n');
  assert.equal(dotCr.bare, true);
});

test('beyond maxBytes the bytes are dropped but the end is still found', () => {
  const d = new DataDecoder(5);
  const a = d.push(Buffer.from('1234'));
  assert.equal(a.tooBig, false);
  assert.equal(Buffer.concat(a.body).toString(), '1234');
  const b = d.push(Buffer.from('5678\r\n'));
  assert.equal(b.tooBig, true);
  assert.deepEqual(b.body, []);
  assert.equal(b.size, 10);
  const c = d.push(Buffer.from('more\r\n.\r\nQUIT\r\n'));
  assert.deepEqual(c.body, []);
  assert.equal(c.done, true);
  assert.equal(c.tooBig, true);
  assert.equal(c.size, 16);
  assert.equal(c.rest.toString(), 'QUIT\r\n');
  // exactly maxBytes is not too big; 0 lets only the empty message through
  assert.equal(decode(['12\r\n.\r\n'], 4).tooBig, false);
  assert.equal(decode(['.\r\n'], 0).tooBig, false);
  assert.equal(decode(['a\r\n.\r\n'], 0).tooBig, true);
});

const SMUGGLED = 'MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\nsmuggled\r\n';

for (const fake of ['\n.\n', '\n.\r\n', '\r.\r', '\r\n.\r', '\r.\r\n']) {
  test(`SMTP smuggling: ${JSON.stringify(fake)} never ends the data, under any split`, () => {
    const stream = Buffer.from(`Subject: x\r\n\r\nhello${fake}${SMUGGLED}.\r\nQUIT\r\n`, 'latin1');
    fc.assert(
      fc.property(cutsArb, (cuts) => {
        const r = decode(splitAt(stream, cuts));
        assert.equal(r.done, true);
        assert.equal(s(r.rest), 'QUIT\r\n', 'ended only at the real CRLF.CRLF');
        assert.ok(s(r.body).endsWith(SMUGGLED), 'the smuggled commands stay inside the body');
        assert.equal(r.bare, true);
      }),
      { numRuns: 200 },
    );
  });
}

/**
 * A whole-buffer reference decoder: the data is preceded by the DATA line's
 * CRLF, so the end is the first CRLF.CRLF in "\r\n" + input. Lines (split on
 * CRLF only) lose one leading dot; the bare flag is any CR not followed by LF
 * or LF not preceded by CR in the raw body.
 */
function reference(input: Buffer): { body: string; rest: string; bare: boolean } | null {
  const p = `\r\n${input.toString('latin1')}`;
  const end = p.indexOf('\r\n.\r\n');
  if (end === -1) return null;
  const raw = p.slice(2, end + 2);
  const body = raw
    .split('\r\n')
    .map((line) => (line.startsWith('.') ? line.slice(1) : line))
    .join('\r\n');
  return { body, rest: p.slice(end + 5), bare: /\r(?!\n)|(?<!\r)\n/.test(raw) };
}

test('property: the decoder agrees with a whole-buffer reference under any split', () => {
  fc.assert(
    fc.property(smtpishBytes, smtpishBytes, cutsArb, (head, tail, cuts) => {
      const input = Buffer.concat([head, Buffer.from('\r\n.\r\n'), tail]);
      const want = reference(input)!;
      const r = decode(splitAt(input, cuts));
      assert.equal(r.done, true);
      assert.equal(s(r.body), want.body);
      assert.equal(s(r.rest), want.rest);
      assert.equal(r.bare, want.bare);
      assert.equal(r.size, r.body.length);
    }),
    { numRuns: 500 },
  );
});

test('property: without an end marker nothing ends, and the result does not depend on the split', () => {
  fc.assert(
    fc.property(smtpishBytes, cutsArb, (input, cuts) => {
      fc.pre(reference(input) === null);
      const whole = decode([input]);
      const split = decode(splitAt(input, cuts));
      assert.equal(whole.done, false);
      assert.deepEqual(split, { ...whole, doneAt: -1 });
    }),
    { numRuns: 300 },
  );
});

test('dotStuff doubles leading dots and appends the end marker', () => {
  assert.equal(s(dotStuff(Buffer.from('.a\r\nb\r\n..c\r\n'))), '..a\r\nb\r\n...c\r\n.\r\n');
  assert.equal(s(dotStuff(Buffer.from('no newline'))), 'no newline\r\n.\r\n');
  assert.equal(s(dotStuff(Buffer.from('.'))), '..\r\n.\r\n');
  assert.equal(s(dotStuff(Buffer.alloc(0))), '.\r\n');
  assert.equal(s(dotStuff(Buffer.from('\r\n'))), '\r\n.\r\n');
  assert.equal(s(dotStuff(Buffer.from('\r\n.\r\n'))), '\r\n..\r\n.\r\n');
});

/** Bodies whose only line ending is CRLF: what dotStuff is specified for. */
const crlfBody = fc
  .array(fc.array(fc.constantFrom('.', 'a', ' ', '\u00ff', '\t', '..', 'From '), { maxLength: 8 }).map((p) => p.join('')), { maxLength: 10 })
  .chain((lines) => fc.boolean().map((endsWithCrlf) => lines.join('\r\n') + (endsWithCrlf && lines.length > 0 ? '\r\n' : '')))
  .map((text) => Buffer.from(text, 'latin1'));

test('property: dotStuff then DataDecoder over any split gives back the body, and rest the following bytes', () => {
  fc.assert(
    fc.property(crlfBody, smtpishBytes, cutsArb, (body, following, cuts) => {
      const wire = Buffer.concat([dotStuff(body), following]);
      const r = decode(splitAt(wire, cuts));
      const crlfEnded = body.length === 0 || s(body).endsWith('\r\n');
      assert.equal(r.done, true);
      assert.equal(s(r.body), crlfEnded ? s(body) : `${s(body)}\r\n`);
      assert.equal(s(r.rest), s(following));
      assert.equal(r.bare, false);
    }),
    { numRuns: 500 },
  );
});
