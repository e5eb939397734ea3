/** Helpers shared by the IMAP codec tests (not a test file itself). */
import assert from 'node:assert/strict';
import { ImapFramer, type Frame, type FramerEvent, type FramerOptions } from '../../../../src/codec/imap/framer.js';
import { parseCommand, type Command, type ParseError, type ParseResult } from '../../../../src/codec/imap/parser.js';
import type { ParseErrorKind } from '../../../../src/codec/imap/reader.js';

export const generous: FramerOptions = { maxLineBytes: 1024 * 1024, literalLimit: () => 1024 * 1024 };

const bytes = (c: string | Buffer): Buffer => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c);

/** Feeds the chunks one by one, draining after each: every event in order. */
export function run(chunks: readonly (string | Buffer)[], options: FramerOptions = generous): { events: FramerEvent[]; framer: ImapFramer } {
  const framer = new ImapFramer(options);
  const events: FramerEvent[] = [];
  for (const c of chunks) {
    framer.push(bytes(c));
    for (let e: FramerEvent | null; (e = framer.next()) !== null; ) events.push(e);
  }
  return { events, framer };
}

/** Events as plain, comparable values: frames become their pieces as latin1 text. */
export function describe(events: readonly FramerEvent[]): unknown[] {
  return events.map((e) =>
    e.kind === 'frame'
      ? { frame: e.frame.lines.map((l) => l.toString('latin1')), literals: e.frame.literals.map((l) => [l.data.toString('latin1'), l.sync, l.binary]) }
      : e,
  );
}

/** The one frame in `text` (a CRLF is added at the end). */
export function frameOf(text: string | Buffer): Frame {
  const input = Buffer.concat([bytes(text), Buffer.from('\r\n')]);
  const frames = run([input]).events.filter((e) => e.kind !== 'continue');
  assert.equal(frames.length, 1, `one frame expected from ${JSON.stringify(String(text))}`);
  const only = frames[0]!;
  assert.equal(only.kind, 'frame');
  return (only as Extract<FramerEvent, { kind: 'frame' }>).frame;
}

export function parse(text: string | Buffer): ParseResult {
  return parseCommand(frameOf(text));
}

export function good(text: string | Buffer): Command {
  const r = parse(text);
  assert.ok(r.ok, `${JSON.stringify(String(text))} should parse, got: ${r.ok ? '' : r.message}`);
  return r.command;
}

/** Parses and checks the command name, narrowing the type. */
export function goodAs<N extends Command['name']>(text: string | Buffer, name: N): Extract<Command, { name: N }> {
  const c = good(text);
  assert.equal(c.name, name);
  return c as Extract<Command, { name: N }>;
}

export function bad(text: string | Buffer, message?: RegExp, kind: ParseErrorKind = 'syntax'): ParseError {
  const r = parse(text);
  assert.ok(!r.ok, `${JSON.stringify(String(text).slice(0, 200))} should fail`);
  assert.equal(r.kind, kind, r.message);
  if (message) assert.match(r.message, message);
  return r;
}

/** Drops the tag, for terser expectations. */
export function untagged(c: Command): Omit<Command, 'tag'> {
  const { tag: _tag, ...rest } = c;
  return rest;
}

/** Cuts `buf` at the given positions (mod length+1, deduplicated): every byte once, in order; empty chunks on purpose. */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p));
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}
