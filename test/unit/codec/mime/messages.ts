/** Helpers for the MIME tests: build raw messages from lines. Not a test file. */
import { parseMessage, sectionBytes, parseSection, type MimeInfo } from '../../../../src/codec/mime/index.js';

/** Joins lines with CRLF (each line terminated), as a Buffer (latin1, so test strings map 1:1 to bytes unless utf8 is asked). */
export function crlf(lines: string[], encoding: BufferEncoding = 'latin1'): Buffer {
  return Buffer.from(lines.map((l) => `${l}\r\n`).join(''), encoding);
}

/** The same with bare LF line endings. */
export function lf(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => `${l}\n`).join(''), 'latin1');
}

export function parse(raw: Buffer): MimeInfo {
  return parseMessage(raw);
}

/** BODY[spec] as a latin1 string. */
export function section(raw: Buffer, info: MimeInfo, spec: string): string {
  const s = parseSection(spec);
  if (s === null) throw new Error(`bad section ${spec}`);
  return Buffer.from(sectionBytes(raw, info, s)).toString('latin1');
}

/** RFC 3501 §7.4.2's example message (the header of its ENVELOPE example), with a short body. */
export const RFC3501_HEADER = [
  'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
  'From: Terry Gray <gray@cac.washington.edu>',
  'Subject: IMAP4rev1 WG mtg summary and minutes',
  'To: imap@cac.washington.edu',
  'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>',
  'Message-Id: <B27397-0100000@cac.washington.edu>',
  'MIME-Version: 1.0',
  'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
];
