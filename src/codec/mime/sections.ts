/**
 * IMAP FETCH BODY[section] (RFC 3501 §6.4.5): the bytes of a section of a
 * parsed message, as slices of the raw message wherever possible. Pure.
 *
 * Part numbers: the parts of a multipart are numbered from 1; a message that
 * is not multipart has exactly one part, 1, its body; a message/rfc822 part N
 * numbers the parts of the encapsulated message under N (N.1, N.2 for a
 * multipart, N.1 for its single body otherwise).
 *
 *   section     meaning                                    of
 *   ''          the whole entity                           the message / part N's body
 *   HEADER      header incl. the blank line                the message / N's encapsulated message
 *   TEXT        body                                       the message / N's encapsulated message
 *   HEADER.FIELDS (A B)      fields named, then CRLF        idem
 *   HEADER.FIELDS.NOT (A B)  the other fields, then CRLF    idem
 *   MIME        the MIME header of part N incl. blank line part N only
 *
 * HEADER, TEXT and HEADER.FIELDS[.NOT] after a part number need a
 * message/rfc822 part; otherwise, and for parts that do not exist, the result
 * is empty. Bytes are returned as stored (line endings included).
 */
import { scanHeader } from './header.js';
import type { MimeInfo, MimePart } from './structure.js';

export type SectionKind = 'all' | 'header' | 'text' | 'mime' | 'fields' | 'fields-not';

export type Section = {
  /** Part number path ([] = the message itself; [1, 2] = "1.2"). */
  part: number[];
  kind: SectionKind;
  /** Field names for 'fields' / 'fields-not'. */
  fields?: string[];
};

const EMPTY = new Uint8Array(0);
const CRLF = Buffer.from('\r\n', 'latin1');

function asBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** The part at a (non-empty) part number path, or null when there is none. The root itself is part 1 of a non-multipart message. */
export function findPart(info: MimeInfo, path: readonly number[]): MimePart | null {
  if (path.length === 0) return null;
  let part: MimePart | null = null;
  for (const n of path) {
    let kids: MimePart[];
    if (part === null) {
      kids = info.root.children.length > 0 ? info.root.children : [info.root];
    } else if (part.children.length > 0) {
      kids = part.children;
    } else if (part.message !== null) {
      const m = part.message.root;
      kids = m.children.length > 0 ? m.children : [m];
    } else {
      return null;
    }
    if (!Number.isInteger(n) || n < 1 || n > kids.length) return null;
    part = kids[n - 1]!;
  }
  return part;
}

/** The bytes of BODY[section]. Never throws; empty for sections that do not exist. */
export function sectionBytes(raw: Uint8Array, info: MimeInfo, section: Section): Uint8Array {
  const buf = asBuffer(raw);
  let entity: MimePart;
  if (section.part.length === 0) {
    if (section.kind === 'mime') return EMPTY;
    if (section.kind === 'all') return buf.subarray(0, info.root.end);
    entity = info.root;
  } else {
    const part = findPart(info, section.part);
    if (part === null) return EMPTY;
    if (section.kind === 'all') return buf.subarray(part.bodyStart, part.end);
    if (section.kind === 'mime') return buf.subarray(part.headerStart, part.bodyStart);
    if (part.message === null) return EMPTY;
    entity = part.message.root;
  }
  switch (section.kind) {
    case 'header':
      return buf.subarray(entity.headerStart, entity.bodyStart);
    case 'text':
      return buf.subarray(entity.bodyStart, entity.end);
    case 'fields':
    case 'fields-not':
      return headerFields(buf, entity, section.fields ?? [], section.kind === 'fields-not');
  }
}

/** The fields of `entity`'s header whose names are (or, with `not`, are not) in `names`, in message order, then a blank line. */
function headerFields(buf: Buffer, entity: MimePart, names: string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const chunks: Buffer[] = [];
  scanHeader(buf, entity.headerStart, entity.bodyStart, (ns, ne, _vs, _ve, fieldEnd) => {
    const name = buf.toString('latin1', ns, ne).toLowerCase();
    if (wanted.has(name) === not) return;
    chunks.push(buf.subarray(ns, fieldEnd));
    // A last field cut off by the end of the message still ends its line.
    if (buf[fieldEnd - 1] !== 0x0a) chunks.push(CRLF);
  });
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

/** BODY[...]<origin.count>: the slice of a section's bytes (empty when origin is past the end). */
export function partialBytes(bytes: Uint8Array, origin: number, count?: number): Uint8Array {
  const start = Math.min(Math.max(0, origin), bytes.length);
  const end = count === undefined ? bytes.length : Math.min(bytes.length, start + Math.max(0, count));
  return bytes.subarray(start, end);
}

/**
 * Parses a section-spec as it appears between the brackets of BODY[...]
 * (RFC 3501 §9: section-spec), case-insensitively: '', 'HEADER', 'TEXT',
 * 'HEADER.FIELDS (A B)', 'HEADER.FIELDS.NOT (A B)', '1', '1.2', '1.2.HEADER',
 * '1.MIME', ... Returns null for anything else.
 */
export function parseSection(spec: string): Section | null {
  const s = spec.trim();
  const part: number[] = [];
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x31 && s.charCodeAt(i) <= 0x39) {
    let j = i;
    while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) j++;
    if (j - i > 9) return null;
    part.push(Number(s.slice(i, j)));
    i = j;
    if (i === s.length) return { part, kind: 'all' };
    if (s[i] !== '.') return null;
    i++;
  }
  const rest = s.slice(i);
  const upper = rest.toUpperCase();
  if (part.length === 0 && rest.length === 0) return { part, kind: 'all' };
  if (upper === 'HEADER') return { part, kind: 'header' };
  if (upper === 'TEXT') return { part, kind: 'text' };
  if (upper === 'MIME') return part.length > 0 ? { part, kind: 'mime' } : null;
  for (const [prefix, kind] of [['HEADER.FIELDS.NOT', 'fields-not'], ['HEADER.FIELDS', 'fields']] as const) {
    if (!upper.startsWith(prefix)) continue;
    const list = rest.slice(prefix.length).trim();
    if (!list.startsWith('(') || !list.endsWith(')')) return null;
    const fields = headerList(list.slice(1, -1));
    return fields === null ? null : { part, kind, fields };
  }
  return null;
}

/** header-list contents: astrings separated by spaces (quoted strings unquoted); null when empty or malformed. */
function headerList(text: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ') {
      i++;
      continue;
    }
    if (text[i] === '"') {
      let v = '';
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') j++;
        v += text[j] ?? '';
        j++;
      }
      if (j >= text.length) return null;
      fields.push(v);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && text[j] !== ' ' && text[j] !== '"' && text[j] !== '(' && text[j] !== ')') j++;
      if (j === i) return null;
      fields.push(text.slice(i, j));
      i = j;
    }
  }
  return fields.length > 0 ? fields : null;
}
