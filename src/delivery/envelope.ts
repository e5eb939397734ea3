/**
 * MAIL FROM / RCPT TO command lines for one transaction (RFC 5321 §4.1.1.2–3)
 * with the parameters the server announced: SIZE (RFC 1870), BODY=8BITMIME
 * (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461). Pure.
 *
 * Addresses come from our own queue, parsed once at intake, but they are
 * still checked here before they go on the wire: a CR or LF in an address
 * would let one queued message inject commands into a session that carries
 * other people's mail.
 */
import type { Capabilities } from './capabilities.js';
import type { OutboundMessage } from './types.js';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f]/;
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, brackets included. */
const MAX_PATH_OCTETS = 256;

export function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/** An address we may put between angle brackets: non-empty, no control characters, not too long, an '@' (or postmaster). */
export function isSendableAddress(address: string): boolean {
  if (typeof address !== 'string' || address.length === 0 || UNSAFE.test(address)) return false;
  if (Buffer.byteLength(address, 'utf8') + 2 > MAX_PATH_OCTETS) return false;
  return address.includes('@') || address.toLowerCase() === 'postmaster';
}

/**
 * xtext (RFC 3461 §4): "+", "=", and anything outside printable ASCII as
 * "+HH". Non-ASCII is encoded byte by byte as UTF-8, which is what RFC 6533
 * utf-8-addr-xtext amounts to for the values we send.
 */
export function encodeXtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 0x21 || byte > 0x7e || byte === 0x2b || byte === 0x3d ? `+${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

export function mailCommand(message: OutboundMessage, caps: Capabilities, size: number, useSmtputf8: boolean): string {
  const params: string[] = [];
  if (caps.size !== null) params.push(`SIZE=${size}`);
  // Without 8BITMIME the body goes as it is and unlabelled (see connection.ts).
  if (message.body8bit && caps.eightBitMime) params.push('BODY=8BITMIME');
  if (useSmtputf8) params.push('SMTPUTF8');
  if (caps.dsn && message.dsn) {
    if (message.dsn.ret) params.push(`RET=${message.dsn.ret}`);
    // RFC 3461 §4.4: at most 100 characters; an overlong one is dropped rather than rejected by the server.
    if (message.dsn.envid) {
      const envid = encodeXtext(message.dsn.envid);
      if (envid.length <= 100) params.push(`ENVID=${envid}`);
    }
  }
  return `MAIL FROM:<${message.sender ?? ''}>${params.map((p) => ` ${p}`).join('')}`;
}

export function rcptCommand(recipient: string, message: OutboundMessage, caps: Capabilities): string {
  const params: string[] = [];
  if (caps.dsn && message.dsn) {
    const notify = message.dsn.notify?.[recipient];
    if (notify && notify.length > 0 && notify.every((n) => /^(NEVER|SUCCESS|FAILURE|DELAY)$/i.test(n))) params.push(`NOTIFY=${notify.join(',').toUpperCase()}`);
    const orcpt = message.dsn.orcpt?.[recipient];
    const semi = orcpt?.indexOf(';') ?? -1;
    if (orcpt && semi > 0) {
      const value = `${orcpt.slice(0, semi)};${encodeXtext(orcpt.slice(semi + 1))}`;
      // RFC 3461 §4.2: at most 500 characters.
      if (value.length <= 500 && /^[A-Za-z0-9-]+$/.test(orcpt.slice(0, semi))) params.push(`ORCPT=${value}`);
    }
  }
  return `RCPT TO:<${recipient}>${params.map((p) => ` ${p}`).join('')}`;
}

/**
 * SMTPUTF8 is needed downstream only when the message was received with it
 * AND something in the envelope or the header really is non-ASCII: like
 * Postfix (SMTPUTF8_README), an all-ASCII message is delivered to a server
 * without SMTPUTF8 even if its sender's client asked for the extension.
 */
export function needsSmtputf8(message: OutboundMessage, headerNonAscii: boolean): boolean {
  if (!message.smtputf8) return false;
  if (message.sender !== null && hasNonAscii(message.sender)) return true;
  if (message.recipients.some(hasNonAscii)) return true;
  return headerNonAscii;
}
