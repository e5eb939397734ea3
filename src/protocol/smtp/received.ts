/**
 * The Received: trace header (RFC 5321 §4.4) postline prepends, and the hop
 * count that stops mail loops.
 */
export interface ReceivedInfo {
  helo: string;
  ip: string;
  hostname: string;
  id: string;
  /** ESMTP, ESMTPS, ESMTPA, ESMTPSA, SMTP (RFC 3848) */
  protocol: string;
  /** Only named when there is exactly one recipient (it would leak Bcc otherwise). */
  recipient: string | null;
  date: Date;
}

export function protocolName(esmtp: boolean, tls: boolean, authenticated: boolean): string {
  if (!esmtp) return 'SMTP';
  return `ESMTP${tls ? 'S' : ''}${authenticated ? 'A' : ''}`;
}

export function receivedHeader(info: ReceivedInfo): Buffer {
  const ip = info.ip.startsWith('::ffff:') ? info.ip.slice(7) : info.ip;
  const literal = ip.includes(':') ? `[IPv6:${ip}]` : `[${ip}]`;
  const helo = info.helo.replace(/[^\x21-\x7e]/g, '?');
  const forClause = info.recipient ? `\r\n\tfor <${info.recipient}>` : '';
  return Buffer.from(`Received: from ${helo} (${literal})\r\n\tby ${info.hostname} (postline) with ${info.protocol} id ${info.id}${forClause};\r\n\t${rfc5322Date(info.date)}\r\n`);
}

let cachedSecond = -1;
let cachedDate = '';

/** e.g. "Sat, 28 Nov 2026 12:00:00 +0000"; formatted once per second (it was a visible per-message cost). */
function rfc5322Date(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = d.toUTCString().replace('GMT', '+0000');
  }
  return cachedDate;
}

export { countReceived } from '../../codec/smtp/trace.js';
