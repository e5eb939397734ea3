/**
 * The message as it goes out after DATA (RFC 5321 §4.5.2): CRLF line endings
 * only, dot-stuffed, ended by CRLF "." CRLF. Pure.
 *
 * The intake already normalises line endings, but the queue may hold mail
 * from other paths; a bare LF sent on is exactly what SMTP smuggling needs
 * (a receiver that ends DATA at LF "." LF would see a second message), so
 * every bare LF and bare CR becomes CRLF here, whatever the caller promised.
 */
import { dotStuff } from '../codec/smtp/data.js';

const CR = 0x0d;
const LF = 0x0a;

/** The body with every bare LF and bare CR turned into CRLF; the same Buffer when there is none (the usual case). */
export function toCrlf(body: Buffer): Buffer {
  if (!hasBareLineEnding(body)) return body;
  const parts: Buffer[] = [];
  const crlf = Buffer.from('\r\n', 'latin1');
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i];
    if (b !== CR && b !== LF) continue;
    parts.push(body.subarray(from, i), crlf);
    // A CRLF stays one line break; a lone CR or LF becomes one.
    if (b === CR && body[i + 1] === LF) i++;
    from = i + 1;
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}

function hasBareLineEnding(body: Buffer): boolean {
  for (let i = body.indexOf(LF); i !== -1; i = body.indexOf(LF, i + 1)) if (i === 0 || body[i - 1] !== CR) return true;
  for (let i = body.indexOf(CR); i !== -1; i = body.indexOf(CR, i + 1)) if (body[i + 1] !== LF) return true;
  return false;
}

/** The bytes to send after the 354: normalised, dot-stuffed, with the end marker. */
export function encodeDataBody(body: Buffer): Buffer {
  return dotStuff(toCrlf(body));
}

/** The header section (up to the first empty line) contains bytes above 0x7f: then SMTPUTF8 may be needed (RFC 6532). */
export function headerHasNonAscii(body: Buffer): boolean {
  let end = body.indexOf('\r\n\r\n');
  if (end === -1) end = body.indexOf('\n\n');
  if (end === -1) end = body.length;
  for (let i = 0; i < end; i++) if (body[i]! > 0x7f) return true;
  return false;
}
