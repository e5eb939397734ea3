/**
 * Serialises an SMTP reply (RFC 5321 §4.2; enhanced codes RFC 2034 / 3463):
 *
 *   250-2.0.0 first line\r\n
 *   250 2.0.0 last line\r\n
 *
 * Pure and total. The wire format must never be broken by what a handler
 * puts in the text, so CR, LF and other control characters are replaced by a
 * space: a CRLF inside a text would end the reply early and let the rest be
 * read as another reply (reply injection).
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;
/** class.subject.detail (RFC 3463 §2): class 2, 4 or 5; subject and detail 1–3 digits. */
const ENHANCED = /^([245])\.\d{1,3}\.\d{1,3}$/;
/**
 * Used when a caller passes a code that is not a valid reply code: a bug, but
 * a malformed reply on the wire would confuse the client worse than a plain
 * temporary failure (RFC 5321 §4.2.1: 451 local error in processing).
 */
const FALLBACK_CODE = 451;

export function formatReply(code: number, enhanced: string | null, lines: string[]): Buffer {
  const c = Number.isInteger(code) && code >= 200 && code <= 599 ? code : FALLBACK_CODE;
  // An enhanced code must agree with the reply's class (RFC 3463 §2), else it is dropped.
  const e = typeof enhanced === 'string' && ENHANCED.test(enhanced) && enhanced[0] === String(c)[0] ? enhanced : null;
  const texts = Array.isArray(lines) && lines.length > 0 ? lines : [''];
  let out = '';
  for (let i = 0; i < texts.length; i++) {
    const raw = texts[i];
    const text = typeof raw === 'string' ? raw.replace(CONTROL, ' ') : '';
    const sep = i === texts.length - 1 ? ' ' : '-';
    const body = e === null ? text : text.length > 0 ? `${e} ${text}` : e;
    // "250" alone is a valid last line; a continuation line keeps its "-".
    out += body.length > 0 || sep === '-' ? `${c}${sep}${body}\r\n` : `${c}\r\n`;
  }
  return Buffer.from(out, 'utf8');
}
