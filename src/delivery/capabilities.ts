/**
 * The service extensions a server announces in its EHLO reply (RFC 5321
 * §4.1.1.1): the first line is the greeting, each later line a keyword and
 * optional parameters. Keywords are case-insensitive. Pure.
 */
import type { Reply } from './reply-reader.js';

export type Capabilities = {
  /** EHLO was accepted; false after the HELO fallback (then nothing below is offered). */
  esmtp: boolean;
  pipelining: boolean; // RFC 2920
  /** SIZE (RFC 1870): null = not offered; 0 = offered without a fixed limit; else the limit in octets. */
  size: number | null;
  eightBitMime: boolean; // RFC 6152
  smtputf8: boolean; // RFC 6531
  starttls: boolean; // RFC 3207
  dsn: boolean; // RFC 3461
  enhancedStatusCodes: boolean; // RFC 2034
  /** Parsed for the record; we send with DATA, which every server has (BDAT would save nothing: we dot-stuff in one pass anyway). */
  chunking: boolean; // RFC 3030
};

export const NO_CAPABILITIES: Readonly<Capabilities> = Object.freeze({
  esmtp: false,
  pipelining: false,
  size: null,
  eightBitMime: false,
  smtputf8: false,
  starttls: false,
  dsn: false,
  enhancedStatusCodes: false,
  chunking: false,
});

export function parseEhloReply(reply: Reply): Capabilities {
  const caps: Capabilities = { ...NO_CAPABILITIES, esmtp: true };
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'PIPELINING':
        caps.pipelining = true;
        break;
      case 'SIZE': {
        // A malformed value is read as "no fixed limit": refusing to send
        // because of a typo in their announcement would help nobody.
        const n = params[0] !== undefined && /^\d{1,15}$/.test(params[0]) ? Number(params[0]) : 0;
        caps.size = n;
        break;
      }
      case '8BITMIME':
        caps.eightBitMime = true;
        break;
      case 'SMTPUTF8':
        caps.smtputf8 = true;
        break;
      case 'STARTTLS':
        caps.starttls = true;
        break;
      case 'DSN':
        caps.dsn = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        caps.enhancedStatusCodes = true;
        break;
      case 'CHUNKING':
        caps.chunking = true;
        break;
      default:
        break; // AUTH, BINARYMIME, VRFY, ...: nothing we use
    }
  }
  return caps;
}
