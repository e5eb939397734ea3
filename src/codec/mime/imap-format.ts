/**
 * IMAP renderings of a parsed message (RFC 3501 §7.4.2 grammar): ENVELOPE,
 * BODY and BODYSTRUCTURE. Pure serializers over MimeInfo.
 *
 *   body            = "(" (body-type-1part / body-type-mpart) ")"
 *   body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
 *   body-type-basic = media-basic SP body-fields
 *   body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
 *   body-type-text  = media-text SP body-fields SP body-fld-lines
 *   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
 *   body-ext-1part  = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
 *   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
 *   body-ext-mpart  = body-fld-param SP body-fld-dsp SP body-fld-lang SP body-fld-loc
 *
 * Conventions: type, subtype, encoding, disposition type and parameter names
 * are upper-cased (`"TEXT" "PLAIN" ("CHARSET" "utf-8")`, as in RFC 3501's own
 * examples); parameter values and everything else are sent as the message
 * has them. Extension data is always given in full (all four fields), and
 * Content-Language always as a list.
 *
 * Strings are quoted when they are 7-bit without CR/LF, otherwise sent as a
 * literal `{n}\r\n...` whose n counts UTF-8 octets: the returned string is
 * meant to be written to the connection as UTF-8. NUL, which IMAP forbids
 * everywhere, is dropped.
 */
import type { Address } from './address.js';
import type { Disposition, Param } from './header.js';
import type { Envelope, MimeInfo, MimePart } from './structure.js';

/** An IMAP nstring: NIL, a quoted string, or a literal. */
export function imapString(s: string | null): string {
  if (s === null) return 'NIL';
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f || c === 0x0d || c === 0x0a) {
      plain = false;
      break;
    }
  }
  if (plain) return `"${s.includes('"') || s.includes('\\') ? s.replace(/["\\]/g, (c) => `\\${c}`) : s}"`;
  const text = s.includes('\0') ? s.replace(/\0/g, '') : s;
  return `{${Buffer.byteLength(text, 'utf8')}}\r\n${text}`;
}

function addressList(list: Address[] | null): string {
  if (list === null || list.length === 0) return 'NIL';
  let s = '(';
  for (const a of list) s += `(${imapString(a.name)} ${imapString(a.adl)} ${imapString(a.mailbox)} ${imapString(a.host)})`;
  return `${s})`;
}

/** RFC 3501 envelope: (date subject from sender reply-to to cc bcc in-reply-to message-id). */
export function formatEnvelope(env: Envelope): string {
  return (
    `(${imapString(env.date)} ${imapString(env.subject)} ${addressList(env.from)} ${addressList(env.sender)} ` +
    `${addressList(env.replyTo)} ${addressList(env.to)} ${addressList(env.cc)} ${addressList(env.bcc)} ` +
    `${imapString(env.inReplyTo)} ${imapString(env.messageId)})`
  );
}

/** FETCH ENVELOPE of the message. */
export function envelopeString(info: MimeInfo): string {
  return formatEnvelope(info.envelope);
}

function paramList(params: Param[]): string {
  if (params.length === 0) return 'NIL';
  let s = '(';
  for (let i = 0; i < params.length; i++) {
    const [name, value] = params[i]!;
    s += `${i > 0 ? ' ' : ''}${imapString(name.toUpperCase())} ${imapString(value)}`;
  }
  return `${s})`;
}

function dispositionField(d: Disposition | null): string {
  return d === null ? 'NIL' : `(${imapString(d.type.toUpperCase())} ${paramList(d.params)})`;
}

function languageField(tags: string[] | null): string {
  return tags === null || tags.length === 0 ? 'NIL' : `(${tags.map(imapString).join(' ')})`;
}

function formatBody(p: MimePart, extended: boolean): string {
  if (p.children.length > 0) {
    let s = '(';
    for (const child of p.children) s += formatBody(child, extended);
    s += ` ${imapString(p.subtype.toUpperCase())}`;
    if (extended) s += ` ${paramList(p.params)} ${dispositionField(p.disposition)} ${languageField(p.language)} ${imapString(p.location)}`;
    return `${s})`;
  }
  let s =
    `(${imapString(p.type.toUpperCase())} ${imapString(p.subtype.toUpperCase())} ${paramList(p.params)} ` +
    `${imapString(p.id)} ${imapString(p.description)} ${imapString(p.encoding.toUpperCase())} ${p.size}`;
  if (p.type === 'text') s += ` ${p.lines}`;
  else if (p.message !== null) s += ` ${formatEnvelope(p.message.envelope)} ${formatBody(p.message.root, extended)} ${p.lines}`;
  if (extended) s += ` ${imapString(p.md5)} ${dispositionField(p.disposition)} ${languageField(p.language)} ${imapString(p.location)}`;
  return `${s})`;
}

/** FETCH BODYSTRUCTURE (extended = true) or BODY (extended = false) of the message. */
export function bodyStructureString(info: MimeInfo, extended: boolean): string {
  return formatBody(info.root, extended);
}
