/**
 * Hostile and arbitrary input: caps hold, nothing throws, offsets stay sane,
 * and the result is plain data a worker can send back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import {
  bodyStructureString,
  bodyText,
  envelopeString,
  headerValue,
  MIME_LIMITS,
  parseMessage,
  sectionBytes,
  type MimeInfo,
  type MimePart,
} from '../../../../src/codec/mime/index.js';
import { crlf } from './messages.js';

function* walk(p: MimePart, depth = 0): Generator<[MimePart, number]> {
  yield [p, depth];
  for (const c of p.children) yield* walk(c, depth + 1);
  if (p.message !== null) yield* walk(p.message.root, depth + 1);
}

/** Offsets lie within the input and are ordered; children lie inside their parent's body, in order; a message's root is its parent's body. */
function assertSane(info: MimeInfo, length: number): void {
  const check = (p: MimePart): void => {
    assert.ok(0 <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.end && p.end <= length, JSON.stringify([p.headerStart, p.bodyStart, p.end, length]));
    assert.equal(p.size, p.end - p.bodyStart);
    let prev = p.bodyStart;
    for (const c of p.children) {
      assert.ok(c.headerStart >= prev && c.end <= p.end);
      prev = c.end;
      check(c);
    }
    if (p.message !== null) {
      assert.equal(p.message.root.headerStart, p.bodyStart);
      assert.equal(p.message.root.end, p.end);
      check(p.message.root);
    }
  };
  assert.equal(info.root.headerStart, 0);
  assert.equal(info.root.end, length);
  check(info.root);
}

/** Every line count equals a direct count of the part's body (message/rfc822 counts are summed bottom-up). */
function assertLineCounts(raw: Buffer, info: MimeInfo): void {
  for (const [p] of walk(info.root)) {
    if (p.type !== 'text' && !(p.type === 'message' && p.subtype === 'rfc822')) continue;
    let n = 0;
    for (let i = p.bodyStart; i < p.end; i++) if (raw[i] === 0x0a) n++;
    if (p.end > p.bodyStart && raw[p.end - 1] !== 0x0a) n++;
    assert.equal(p.lines, n);
  }
}

/** Only plain objects, arrays, strings, numbers, booleans and null, and a msgpackr round trip gives the same value. */
function assertPlainData(info: MimeInfo): void {
  const visit = (v: unknown): void => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return;
    assert.ok(Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype, `not plain data: ${String(v)}`);
    for (const x of Object.values(v as object)) visit(x);
  };
  visit(info);
  assert.deepEqual(unpack(pack(info)), info);
}

test('10,000 nested multiparts: depth capped, no stack overflow, still a sane structure', () => {
  const n = 10_000;
  const parts: string[] = ['Subject: deep', 'Content-Type: multipart/mixed; boundary="b0"', ''];
  for (let i = 1; i < n; i++) parts.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
  parts.push(`--b${n - 1}`, '', 'innermost');
  for (let i = n - 1; i >= 0; i--) parts.push(`--b${i}--`);
  const raw = crlf(parts);
  const info = parseMessage(raw);
  assert.equal(info.truncated, true);
  let maxDepth = 0;
  for (const [, d] of walk(info.root)) maxDepth = Math.max(maxDepth, d);
  assert.ok(maxDepth <= MIME_LIMITS.maxDepth + 1, `depth ${maxDepth}`);
  assertSane(info, raw.length);
  assertPlainData(info);
  assert.ok(bodyStructureString(info, true).length > 0);
  // The deepest parsed level is kept as text so its content stays reachable.
  const deepest = [...walk(info.root)].at(-1)![0];
  assert.equal(`${deepest.type}/${deepest.subtype}`, 'text/plain');
});

test('deeply nested message/rfc822: depth capped, line counts stay exact', () => {
  const n = 500;
  let msg = 'Subject: level 0\r\n\r\nbottom\r\n';
  for (let i = 1; i < n; i++) msg = `Subject: level ${i}\r\nContent-Type: message/rfc822\r\n\r\n${msg}`;
  const raw = Buffer.from(msg);
  const info = parseMessage(raw);
  assert.equal(info.truncated, true);
  assertSane(info, raw.length);
  assertLineCounts(raw, info);
  assert.ok(envelopeString(info).includes(`level ${n - 1}`));
});

test('100,000 boundaries: part count capped', () => {
  const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(100_000)}--b--\r\n`);
  const info = parseMessage(raw);
  assert.equal(info.truncated, true);
  assert.ok(info.partCount <= MIME_LIMITS.maxParts);
  assert.equal(info.root.children.length, MIME_LIMITS.maxParts - 1);
  assertSane(info, raw.length);
});

test('a 1 MB header line and a 1 MB address list', () => {
  const subject = 'x'.repeat(1 << 20);
  const to = Array.from({ length: 100_000 }, (_, i) => `u${i}@e.x`).join(',');
  const raw = Buffer.from(`Subject: ${subject}\r\nTo: ${to}\r\nX-Junk${'y'.repeat(1 << 20)}\r\nContent-Type: text/plain; ${'p=1; '.repeat(50_000)}\r\n\r\nbody\r\n`);
  const info = parseMessage(raw);
  assert.equal(info.envelope.subject, subject);
  assert.equal(info.envelope.to!.length, MIME_LIMITS.maxAddresses);
  assert.ok(info.root.params.length <= 100);
  assert.equal(Buffer.from(sectionBytes(raw, info, { part: [], kind: 'text' })).toString(), 'body\r\n');
  assert.deepEqual(headerValue(raw, info, 'subject'), [subject]);
});

test('hostile encoded-words and comments do not go quadratic', () => {
  const words = '=?a?b?'.repeat(200_000);
  const comments = '('.repeat(100_000);
  const raw = Buffer.from(`Subject: ${words}\r\nFrom: ${comments}a@b\r\nDate: ${comments}\r\n\r\n`);
  const info = parseMessage(raw);
  assert.equal(headerValue(raw, info, 'subject')[0], words);
  assert.equal(info.envelope.from, null);
});

test('a huge text body: bodyText stays within its cap', () => {
  const raw = Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\n'), Buffer.alloc(8 << 20, 'a\n')]);
  const info = parseMessage(raw);
  assert.equal(info.root.lines, 4 << 20);
  assert.equal(bodyText(raw, info).length, 1 << 20);
});

test('a small caps object is honoured', () => {
  const raw = crlf(['Content-Type: multipart/mixed; boundary=a', '', '--a', 'Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'x', '--b--', '--a--']);
  const info = parseMessage(raw, { maxDepth: 1, maxParts: 100, maxAddresses: 10 });
  assert.equal(info.truncated, true);
  assert.equal(info.root.children[0]!.type, 'text');
});

// --- properties -------------------------------------------------------------

/** Lines that look like MIME, so random messages often nest. */
const mimeishLine = fc.oneof(
  fc.constantFrom(
    '', '--a', '--a--', '--b', '--b--', '--a ', ' folded', '\tfolded',
    'Content-Type: multipart/mixed; boundary=a', 'Content-Type: multipart/alternative; boundary="b"',
    'Content-Type: multipart/digest; boundary=b', 'Content-Type: message/rfc822', 'Content-Type: text/plain; charset=koi8-r',
    'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', 'Content-Disposition: attachment; filename="x"',
    'From: "A \\"B\\"" <a@b>, g: c@d;', 'To: undisclosed-recipients:;', 'Subject: =?utf-8?B?w6k=?=', 'Date: 1 Jan 2020 00:00 +0000',
    'Sender:', 'Content-Language: en', 'x=C3=A9=\r', '8NLJ18XU', '=?koi8-r?B?8NLJ18XU?=',
  ),
  fc.string({ maxLength: 20 }),
);
const eol = fc.constantFrom('\r\n', '\n', '\r');
const mimeish = fc.array(fc.tuple(mimeishLine, eol), { maxLength: 40 }).map((ls) => Buffer.from(ls.map(([l, e]) => l + e).join(''), 'utf8'));

const inputs = fc.oneof(fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)), mimeish);

test('property: parseMessage never throws; offsets lie within the input and are ordered; line counts are exact', () => {
  fc.assert(
    fc.property(inputs, (raw) => {
      const info = parseMessage(raw);
      assertSane(info, raw.length);
      assertLineCounts(raw, info);
    }),
    { numRuns: 3000 },
  );
});

test('property: the renderers, sections and search helpers never throw, and the result is plain data', () => {
  const sections = fc.record({
    part: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
    kind: fc.constantFrom('all', 'header', 'text', 'mime', 'fields', 'fields-not' as const),
    fields: fc.array(fc.constantFrom('From', 'subject', 'X'), { maxLength: 2 }),
  });
  fc.assert(
    fc.property(inputs, sections, (raw, section) => {
      const info = parseMessage(raw);
      assertPlainData(info);
      envelopeString(info);
      for (const ext of [true, false]) {
        const s = bodyStructureString(info, ext);
        assert.ok(s.startsWith('(') && s.endsWith(')'));
      }
      const bytes = sectionBytes(raw, info, section);
      assert.ok(bytes.length <= raw.length + 4);
      bodyText(raw, info);
      headerValue(raw, info, 'subject');
    }),
    { numRuns: 1500 },
  );
});
