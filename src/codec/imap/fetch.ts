/**
 * FETCH data items (RFC 3501 §6.4.5, §9 fetch-att). The macros ALL, FAST and
 * FULL are expanded here, so the session only ever sees items. Items come
 * back in the client's order, duplicates kept (a response may repeat them).
 *
 *   section      = "[" [section-spec] "]"
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-part = nz-number *("." nz-number)
 *   section-text = section-msgtext / "MIME"        -- MIME only after a part number
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   partial      = "<" number "." nz-number ">"
 */
import { fail, LPAREN, type Reader } from './reader.js';
import { isDigit } from './syntax.js';

const SIMPLE_ITEMS = [
  'FLAGS', 'INTERNALDATE', 'RFC822', 'RFC822.HEADER', 'RFC822.SIZE', 'RFC822.TEXT', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'UID',
] as const;
export type SimpleFetchItem = (typeof SIMPLE_ITEMS)[number];

export type SectionText =
  | { kind: 'HEADER' | 'TEXT' | 'MIME' }
  /** Field names as the client wrote them (compare case-insensitively); not: HEADER.FIELDS.NOT. */
  | { kind: 'HEADER.FIELDS'; not: boolean; fields: string[] };

/** part: the MIME part path ([] = the whole message); text: null for the part's full content. */
export type Section = { part: number[]; text: SectionText | null };

export type FetchItem =
  | { item: SimpleFetchItem }
  /** BODY[section]<offset.length> and BODY.PEEK[...]: peek does not set \Seen. */
  | { item: 'BODY[]'; peek: boolean; section: Section; partial: { offset: number; length: number } | null };

const MACROS: Record<string, readonly SimpleFetchItem[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** Letters, digits and dots: the spelling of an item name (stops at "[" and "<"). */
const isNameChar = (b: number): boolean => isDigit(b) || b === 0x2e || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a);

/** `"ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"`. */
export function parseFetchItems(r: Reader): FetchItem[] {
  if (r.peek() === LPAREN) return r.list('a FETCH item list', () => fetchAtt(r));
  const word = r.peekWord();
  const macro = Object.hasOwn(MACROS, word) ? MACROS[word] : undefined;
  if (macro !== undefined) {
    r.word('a FETCH macro');
    return macro.map((item) => ({ item }));
  }
  return [fetchAtt(r)];
}

function fetchAtt(r: Reader): FetchItem {
  const name = r.run(isNameChar).toString('latin1').toUpperCase();
  if (name.length === 0) fail('expected a FETCH item');
  if ((name === 'BODY' || name === 'BODY.PEEK') && r.eat(0x5b /* [ */)) {
    const section = parseSection(r);
    return { item: 'BODY[]', peek: name === 'BODY.PEEK', section, partial: partial(r) };
  }
  if (!(SIMPLE_ITEMS as readonly string[]).includes(name)) fail(`unknown FETCH item ${name.slice(0, 40)}`);
  return { item: name as SimpleFetchItem };
}

/** After "[": section-spec and "]". */
function parseSection(r: Reader): Section {
  const part: number[] = [];
  let textFollows = false; // after "1.2." a section-text must come
  if (isDigit(r.peek())) {
    for (;;) {
      part.push(r.nzNumber('a section part number'));
      if (!r.eat(0x2e /* . */)) break;
      if (!isDigit(r.peek())) {
        textFollows = true;
        break;
      }
    }
  }
  let text: SectionText | null = null;
  if (part.length === 0 ? r.peek() !== 0x5d /* ] */ : textFollows) {
    const word = r.run((b) => isNameChar(b) && !isDigit(b)).toString('latin1').toUpperCase();
    switch (word) {
      case 'HEADER':
      case 'TEXT':
        text = { kind: word };
        break;
      case 'MIME':
        if (part.length === 0) fail('MIME needs a part number, as in BODY[1.MIME]');
        text = { kind: 'MIME' };
        break;
      case 'HEADER.FIELDS':
      case 'HEADER.FIELDS.NOT':
        r.sp();
        text = { kind: 'HEADER.FIELDS', not: word.endsWith('.NOT'), fields: r.list('a header field list', () => r.astring('a header field name')) };
        break;
      default:
        fail(word.length === 0 ? 'malformed section' : `unknown section ${word.slice(0, 40)}`);
    }
  }
  r.expect(0x5d, '"]" to close the section');
  return { part, text };
}

/** ["<" number "." nz-number ">"] */
function partial(r: Reader): { offset: number; length: number } | null {
  if (!r.eat(0x3c /* < */)) return null;
  const offset = r.number('a partial offset');
  r.expect(0x2e, '"." in a partial range');
  const length = r.nzNumber('a partial length');
  r.expect(0x3e /* > */, '">" to close a partial range');
  return { offset, length };
}
