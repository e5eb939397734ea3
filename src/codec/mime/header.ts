/**
 * RFC 5322 §2.2 header scanning over bytes, and the RFC 2045 §5.1 / RFC 2183
 * structured MIME field values (Content-Type, Content-Disposition,
 * Content-Language). Pure; never throws.
 *
 * The scanner walks the header one line at a time with Buffer#indexOf (native)
 * and only looks at the bytes of a field name, so a 4 KB header costs a few
 * dozen native calls and no string allocation until a caller asks for a
 * field's value. Lenient on purpose, as mail readers are:
 * - a bare LF ends a line as well as CRLF;
 * - a line that is neither a field nor a continuation (no colon, a space in
 *   the name) is skipped, and so are the continuation lines that follow it;
 * - a header with no blank line runs to the end of the entity (empty body);
 * - "Name :" (RFC 5322 §4.5 obs-optional, space before the colon) is a field.
 */

export const CR = 0x0d;
export const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/**
 * Called once per field: [nameStart, nameEnd) is the name, [valueStart,
 * valueEnd) the value after the colon up to (not including) the line break of
 * its last line, folds included; fieldEnd is past that line break.
 */
export type FieldVisitor = (nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, fieldEnd: number) => void;

/** Where the header of an entity [start, end) ends. */
export type HeaderBounds = {
  /** Where the blank line starts (or `end` when there is none): fields live in [start, fieldsEnd). */
  fieldsEnd: number;
  /** First byte of the body, past the blank line; `end` when there is no blank line. */
  bodyStart: number;
  /** LF bytes in [start, bodyStart): counted on the way, for line counts of enclosing parts. */
  lines: number;
};

/** Scans the header of the entity [start, end), reporting each field to `visit` (if given). */
export function scanHeader(buf: Buffer, start: number, end: number, visit: FieldVisitor | null): HeaderBounds {
  let pos = start;
  let lines = 0;
  // The field being collected (its continuation lines extend it); -1 = none.
  let nameStart = -1;
  let nameEnd = 0;
  let valueStart = 0;
  let valueEnd = 0;
  let fieldEnd = 0;
  // Set after a junk line, so that its continuation lines are dropped with it.
  let skipping = false;
  while (pos < end) {
    const c = buf[pos]!;
    if (c === LF || (c === CR && pos + 1 < end && buf[pos + 1] === LF)) {
      if (nameStart >= 0 && visit !== null) visit(nameStart, nameEnd, valueStart, valueEnd, fieldEnd);
      return { fieldsEnd: pos, bodyStart: c === LF ? pos + 1 : pos + 2, lines: lines + 1 };
    }
    let eol = buf.indexOf(LF, pos);
    if (eol === -1 || eol >= end) eol = end;
    let lineEnd = eol;
    if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
    const next = eol < end ? eol + 1 : end;
    if (eol < end) lines++;
    if (c === SP || c === HT) {
      // Continuation (RFC 5322 §2.2.3 folding).
      if (nameStart >= 0 && !skipping) {
        valueEnd = lineEnd;
        fieldEnd = next;
      }
    } else {
      if (nameStart >= 0 && visit !== null) visit(nameStart, nameEnd, valueStart, valueEnd, fieldEnd);
      nameStart = -1;
      // ftext (RFC 5322 §3.6.8) is %d33-57 / %d59-126; we also let 8-bit through.
      let i = pos;
      while (i < lineEnd) {
        const b = buf[i]!;
        if (b <= SP || b === COLON || b === 0x7f) break;
        i++;
      }
      let j = i;
      while (j < lineEnd && (buf[j] === SP || buf[j] === HT)) j++;
      if (i > pos && j < lineEnd && buf[j] === COLON) {
        nameStart = pos;
        nameEnd = i;
        valueStart = j + 1;
        valueEnd = lineEnd;
        fieldEnd = next;
        skipping = false;
      } else {
        skipping = true;
      }
    }
    pos = next;
  }
  if (nameStart >= 0 && visit !== null) visit(nameStart, nameEnd, valueStart, valueEnd, fieldEnd);
  return { fieldsEnd: end, bodyStart: end, lines };
}

/** Does the field name [s, e) equal `lower` (given in lower case), ignoring ASCII case? No string is made. */
export function nameIs(buf: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let b = buf[s + i]!;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes [s, e) as a string: ASCII as is; 8-bit bytes as UTF-8 when they
 * are valid UTF-8 (RFC 6532 headers), otherwise as Latin-1, so no byte is ever
 * lost to U+FFFD.
 */
export function bytesToString(buf: Buffer, s: number, e: number): string {
  for (let i = s; i < e; i++) {
    if (buf[i]! >= 0x80) {
      try {
        return utf8Fatal.decode(buf.subarray(s, e));
      } catch {
        return buf.toString('latin1', s, e);
      }
    }
  }
  return buf.toString('latin1', s, e);
}

/** A field value as a string: unfolded (line breaks removed, RFC 5322 §2.2.3) and trimmed of SP/HT. Encoded-words stay encoded. */
export function fieldText(buf: Buffer, s: number, e: number): string {
  while (s < e && (buf[s] === SP || buf[s] === HT)) s++;
  while (e > s && (buf[e - 1] === SP || buf[e - 1] === HT || buf[e - 1] === CR || buf[e - 1] === LF)) e--;
  const text = bytesToString(buf, s, e);
  // Only folded values contain line breaks; the regex is a linear scan.
  return text.includes('\n') || text.includes('\r') ? text.replace(/\r\n|\r|\n/g, '') : text;
}

// --- RFC 2045 structured values --------------------------------------------

export type Param = [name: string, value: string];

/** Most parameters we keep per field; a hostile header can carry thousands. */
export const MAX_PARAMS = 100;

/** RFC 2045 tspecials plus SP and CTLs end a token; 8-bit bytes are allowed (lenient). */
function isTokenChar(c: number): boolean {
  if (c <= 0x20 || c === 0x7f) return false;
  switch (c) {
    case 0x28: case 0x29: case 0x3c: case 0x3e: case 0x40: // ( ) < > @
    case 0x2c: case 0x3b: case 0x3a: case 0x5c: case 0x22: // , ; : \ "
    case 0x2f: case 0x5b: case 0x5d: case 0x3f: case 0x3d: // / [ ] ? =
      return false;
    default:
      return true;
  }
}

/** Skips whitespace and (nested, escaped) RFC 5322 comments from i; returns the next index. */
export function skipCfws(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === SP || c === HT || c === CR || c === LF) {
      i++;
    } else if (c === 0x28) {
      let depth = 1;
      i++;
      while (i < n && depth > 0) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x28) depth++;
        else if (d === 0x29) depth--;
        i++;
      }
    } else {
      break;
    }
  }
  return i;
}

function tokenEnd(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/** Reads a quoted-string starting at the '"' at i: [unescaped content, index past the closing quote]. Unterminated runs to the end. */
export function readQuoted(s: string, i: number): [string, number] {
  let out = '';
  let run = i + 1;
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return [out + s.slice(run, j), j + 1];
    if (c === 0x5c && j + 1 < s.length) {
      out += s.slice(run, j);
      run = j + 1;
      j += 2;
      continue;
    }
    j++;
  }
  return [out + s.slice(run), s.length];
}

/**
 * `*(";" attribute "=" value)` from i. Attribute names are lower-cased; the
 * first occurrence of a name wins. Lenient: an unquoted value that runs into
 * non-token characters (`name=my file.pdf`) is taken up to the next ';', and
 * malformed parameters are skipped rather than failing the field.
 */
export function parseParams(s: string, i: number): Param[] {
  const params: Param[] = [];
  const n = s.length;
  while (i < n && params.length < MAX_PARAMS) {
    i = skipCfws(s, i);
    if (i >= n) break;
    if (s.charCodeAt(i) === 0x3b) {
      i++;
      continue;
    }
    const nameEnd = tokenEnd(s, i);
    const name = s.slice(i, nameEnd).toLowerCase();
    i = skipCfws(s, nameEnd);
    if (name.length === 0 || s.charCodeAt(i) !== 0x3d) {
      i = skipTo(s, Math.max(i, nameEnd + (name.length === 0 ? 1 : 0)), 0x3b);
      continue;
    }
    i = skipCfws(s, i + 1);
    let value: string;
    if (s.charCodeAt(i) === 0x22) {
      [value, i] = readQuoted(s, i);
    } else {
      const start = i;
      i = tokenEnd(s, i);
      value = s.slice(start, i);
      const after = skipCfws(s, i);
      if (after < n && s.charCodeAt(after) !== 0x3b) {
        i = skipTo(s, after, 0x3b);
        value = s.slice(start, i).trim();
      } else {
        i = after;
      }
    }
    if (!hasParam(params, name)) params.push([name, value]);
  }
  return params;
}

function hasParam(params: Param[], name: string): boolean {
  for (let k = 0; k < params.length; k++) if (params[k]![0] === name) return true;
  return false;
}

/** Index of the next `ch` at or after i outside quoted strings and comments, or s.length. */
function skipTo(s: string, i: number, ch: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === ch) return i;
    if (c === 0x22) i = readQuoted(s, i)[1];
    else if (c === 0x28) i = skipCfws(s, i);
    else i++;
  }
  return n;
}

export type ContentType = { type: string; subtype: string; params: Param[] };

/** `type "/" subtype *(";" parameter)` (RFC 2045 §5.1); null when type or subtype is missing (the caller then applies the defaults, §5.2). */
export function parseContentType(value: string): ContentType | null {
  let i = skipCfws(value, 0);
  const typeEnd = tokenEnd(value, i);
  if (typeEnd === i) return null;
  const type = value.slice(i, typeEnd).toLowerCase();
  i = skipCfws(value, typeEnd);
  if (value.charCodeAt(i) !== 0x2f) return null;
  i = skipCfws(value, i + 1);
  const subEnd = tokenEnd(value, i);
  if (subEnd === i) return null;
  const subtype = value.slice(i, subEnd).toLowerCase();
  return { type, subtype, params: parseParams(value, subEnd) };
}

export type Disposition = { type: string; params: Param[] };

/** `disposition-type *(";" parameter)` (RFC 2183 §2); null when there is no type token. */
export function parseDisposition(value: string): Disposition | null {
  const i = skipCfws(value, 0);
  const end = tokenEnd(value, i);
  if (end === i) return null;
  return { type: value.slice(i, end).toLowerCase(), params: parseParams(value, end) };
}

/** The first token of a value, lower-cased (Content-Transfer-Encoding); '' when none. */
export function firstToken(value: string): string {
  const i = skipCfws(value, 0);
  return value.slice(i, tokenEnd(value, i)).toLowerCase();
}

/** Content-Language (RFC 3282): a comma-separated list of language tags; null when empty. */
export function parseLanguage(value: string): string[] | null {
  const tags: string[] = [];
  let i = 0;
  while (i < value.length && tags.length < MAX_PARAMS) {
    i = skipCfws(value, i);
    if (i >= value.length) break;
    const end = tokenEnd(value, i);
    if (end === i) {
      i++;
      continue;
    }
    tags.push(value.slice(i, end));
    i = end;
  }
  return tags.length > 0 ? tags : null;
}
