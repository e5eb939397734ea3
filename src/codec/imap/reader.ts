/**
 * A cursor over one frame for the recursive-descent parser: the line pieces
 * read as one stream of bytes, with each literal appearing, as a token, at
 * the place of its `{N}` announcement.
 *
 * Errors travel as a thrown ParseFailure inside this codec only: the public
 * parse functions catch it and return a value, so callers never see a throw.
 * Nesting is capped (MAX_DEPTH) wherever the grammar recurses, so hostile
 * input cannot exhaust the stack.
 *
 * Leniencies, on purpose: trailing spaces at the end of a command are ignored
 * (nothing in the grammar ends in a space, and clients do send them); 8-bit
 * bytes inside quoted strings are read as UTF-8 (RFC 3501 wants 7-bit, but
 * clients send UTF-8 search strings that way and nothing becomes ambiguous).
 * Strings must be valid UTF-8 either way: the rest of postline works on text.
 */
import type { Frame, Literal } from './framer.js';
import { decodeMailboxName } from './mutf7.js';
import { parseSequenceSet, type SequenceSet } from './sequence.js';
import { findLiteralAnnouncement, isAstringChar, isAtomChar, isDigit, isListChar } from './syntax.js';

export type ParseErrorKind = 'syntax' | 'unknown-command' | 'bad-charset';

export class ParseFailure {
  constructor(
    readonly message: string,
    readonly kind: ParseErrorKind = 'syntax',
  ) {}
}

export function fail(message: string, kind: ParseErrorKind = 'syntax'): never {
  throw new ParseFailure(message, kind);
}

/** Parenthesised nesting beyond this is refused: no real command comes close, and it bounds recursion. */
export const MAX_DEPTH = 64;

/** peek() results that are not bytes. */
export const END = -1;
export const LITERAL = -2;

export const SP = 0x20;
export const DQUOTE = 0x22;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
const BACKSLASH = 0x5c;

export class Reader {
  private readonly lines: readonly Buffer[];
  private readonly literals: readonly Literal[];
  /** Where each piece's readable bytes end: at its literal announcement, or (last piece) before trailing spaces. */
  private readonly ends: number[];
  private p = 0;
  private i = 0;

  constructor(frame: Frame) {
    // Totality against callers outside the type system.
    const lines: unknown = frame?.lines;
    const literals: unknown = frame?.literals;
    if (!Array.isArray(lines) || !Array.isArray(literals) || lines.length !== literals.length + 1) fail('malformed frame');
    this.lines = lines.map((line: unknown) => {
      if (!(line instanceof Uint8Array)) fail('malformed frame');
      return Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
    });
    this.literals = literals as Literal[];
    this.ends = this.lines.map((line, p) => {
      if (line.includes(0)) fail('NUL byte in command');
      if (p === this.lines.length - 1) {
        let end = line.length;
        while (end > 0 && line[end - 1] === SP) end--;
        return end;
      }
      const ann = findLiteralAnnouncement(line);
      const lit: unknown = this.literals[p];
      const data: unknown = (lit as Literal | undefined)?.data;
      if (ann === null || !(data instanceof Uint8Array) || ann.size !== data.length) fail('malformed frame');
      return ann.start;
    });
  }

  /** The next byte, LITERAL when a literal comes next, END at the end of the command. */
  peek(): number {
    if (this.i < this.ends[this.p]!) return this.lines[this.p]![this.i]!;
    return this.p < this.lines.length - 1 ? LITERAL : END;
  }

  atEnd(): boolean {
    return this.peek() === END;
  }

  /** Consumes the next byte if it is b. */
  eat(b: number): boolean {
    if (this.peek() !== b) return false;
    this.i++;
    return true;
  }

  expect(b: number, what: string): void {
    if (!this.eat(b)) fail(`expected ${what}`);
  }

  sp(): void {
    this.expect(SP, 'a space');
  }

  /** The command must end here. */
  end(): void {
    if (!this.atEnd()) fail('unexpected characters after the command');
  }

  /** Consumes bytes while pred holds (within the current piece). */
  run(pred: (b: number) => boolean): Buffer {
    const line = this.lines[this.p]!;
    const end = this.ends[this.p]!;
    const start = this.i;
    while (this.i < end && pred(line[this.i]!)) this.i++;
    return line.subarray(start, this.i);
  }

  /** What the next atom would be, upper-cased, without consuming it. */
  peekWord(): string {
    const at = this.i;
    const word = this.run(isAtomChar).toString('latin1').toUpperCase();
    this.i = at;
    return word;
  }

  atom(what: string): string {
    const bytes = this.run(isAtomChar);
    if (bytes.length === 0) fail(`expected ${what}`);
    return bytes.toString('latin1');
  }

  /** An atom, upper-cased: keywords are case-insensitive. */
  word(what: string): string {
    return this.atom(what).toUpperCase();
  }

  /** number: an unsigned 32-bit integer (RFC 3501 §9). */
  number(what: string): number {
    const digits = this.run(isDigit);
    const n = digits.length === 0 || digits.length > 10 ? Number.NaN : Number(digits.toString('latin1'));
    if (!(n <= 0xffffffff)) fail(`expected ${what} (a 32-bit number)`);
    return n;
  }

  nzNumber(what: string): number {
    const n = this.number(what);
    if (n === 0) fail(`${what} must not be zero`);
    return n;
  }

  sequenceSet(): SequenceSet {
    const text = this.run((b) => isDigit(b) || b === 0x3a /* : */ || b === 0x2c /* , */ || b === 0x2a /* * */).toString('latin1');
    const set = parseSequenceSet(text);
    if (set === null) fail(text.length === 0 ? 'expected a sequence set' : 'invalid sequence set');
    return set;
  }

  /** A literal token; literal8 is refused because BINARY is not offered. */
  literal(): Literal {
    if (this.peek() !== LITERAL) fail('expected a literal');
    const lit = this.literals[this.p]!;
    if (lit.binary) fail('literal8 is not supported here');
    this.p++;
    this.i = 0;
    return lit;
  }

  /** string = quoted / literal, as raw bytes. */
  stringBytes(what: string): Buffer {
    const b = this.peek();
    if (b === LITERAL) {
      const data = this.literal().data;
      // CHAR8 excludes NUL (RFC 3501 §9); message bodies (APPEND) are read with literal(), not here.
      if (data.includes(0)) fail(`NUL byte in ${what}`);
      return data;
    }
    if (b === DQUOTE) return this.quoted();
    return fail(`expected ${what}`);
  }

  string(what: string): string {
    return utf8(this.stringBytes(what), what);
  }

  /** astring = 1*ASTRING-CHAR / string. */
  astring(what: string): string {
    const b = this.peek();
    if (b === LITERAL || b === DQUOTE) return this.string(what);
    const bytes = this.run(isAstringChar);
    if (bytes.length === 0) fail(`expected ${what}`);
    return bytes.toString('latin1');
  }

  /** nstring = string / NIL. */
  nstring(what: string): string | null {
    const b = this.peek();
    if (b === LITERAL || b === DQUOTE) return this.string(what);
    if (this.word(what) !== 'NIL') fail(`expected ${what} or NIL`);
    return null;
  }

  /**
   * mailbox = "INBOX" / astring, modified-UTF-7 decoded; INBOX in any case
   * is INBOX (RFC 3501 §5.1) unless `inbox` is false (LIST references).
   */
  mailbox(what = 'a mailbox name', inbox = true): string {
    const name = decodeWire(this.astring(what));
    return inbox ? normalizeInbox(name) : name;
  }

  /** list-mailbox = 1*list-char / string: a LIST pattern, decoded like a name but with INBOX left alone. */
  listMailbox(): string {
    const b = this.peek();
    if (b === LITERAL || b === DQUOTE) return decodeWire(this.string('a mailbox pattern'));
    const bytes = this.run(isListChar);
    if (bytes.length === 0) fail('expected a mailbox pattern');
    return decodeWire(bytes.toString('latin1'));
  }

  /** "(" item *(SP item) ")"; an empty list only when allowEmpty. */
  list<T>(what: string, item: () => T, allowEmpty = false): T[] {
    this.expect(LPAREN, `"(" to open ${what}`);
    const out: T[] = [];
    if (this.eat(RPAREN)) {
      if (!allowEmpty) fail(`empty ${what}`);
      return out;
    }
    out.push(item());
    while (this.eat(SP)) out.push(item());
    this.expect(RPAREN, `")" to close ${what}`);
    return out;
  }

  /**
   * A parenthesised list of anything (atoms, numbers, strings, nested lists),
   * read without recursion; returns its top-level atoms upper-cased. For
   * parameters we accept but ignore (SELECT (CONDSTORE), ...).
   */
  opaqueList(what: string): string[] {
    this.expect(LPAREN, `"(" to open ${what}`);
    const names: string[] = [];
    let depth = 1;
    while (depth > 0) {
      const b = this.peek();
      if (b === LPAREN || b === RPAREN || b === SP) {
        this.i++;
        if (b === LPAREN && ++depth > MAX_DEPTH) fail(`${what} nested too deeply`);
        if (b === RPAREN) depth--;
      } else if (b === LITERAL || b === DQUOTE) {
        this.stringBytes(what);
      } else if (b === END) {
        fail(`unbalanced parentheses in ${what}`);
      } else {
        const bytes = this.run((c) => c > SP && c < 0x7f && c !== LPAREN && c !== RPAREN && c !== DQUOTE);
        if (bytes.length === 0) fail(`unexpected character in ${what}`);
        if (depth === 1) names.push(bytes.toString('latin1').toUpperCase());
      }
    }
    return names;
  }

  /** quoted = DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\ the only escapes. */
  private quoted(): Buffer {
    this.expect(DQUOTE, 'a quoted string');
    const line = this.lines[this.p]!;
    const end = this.ends[this.p]!;
    const out: number[] = [];
    for (;;) {
      if (this.i >= end) fail('unterminated quoted string');
      const b = line[this.i++]!;
      if (b === DQUOTE) break;
      if (b === 0x0d || b === 0x0a) fail('CR or LF in a quoted string');
      if (b === BACKSLASH) {
        const next = this.i < end ? line[this.i++]! : -1;
        if (next !== DQUOTE && next !== BACKSLASH) fail('invalid escape in a quoted string');
        out.push(next);
      } else {
        out.push(b);
      }
    }
    return Buffer.from(out);
  }
}

/** Bytes → text; refuses what is not UTF-8 (invalid sequences would silently become U+FFFD). */
export function utf8(bytes: Buffer, what: string): string {
  const text = bytes.toString('utf8');
  let ascii = true;
  for (let k = 0; k < bytes.length && ascii; k++) ascii = bytes[k]! < 0x80;
  if (!ascii && !Buffer.from(text, 'utf8').equals(bytes)) fail(`${what} is not valid UTF-8`);
  return text;
}

function decodeWire(wire: string): string {
  const name = decodeMailboxName(wire);
  if (name === null) fail('mailbox name is not valid modified UTF-7');
  return name;
}

/** INBOX is case-insensitive (RFC 3501 §5.1); ASCII-only comparison, so no Unicode case folding sneaks in. */
export function normalizeInbox(name: string): string {
  return /^inbox$/i.test(name) ? 'INBOX' : name;
}
