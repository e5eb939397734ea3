/**
 * Trace fields (RFC 5321 §4.4): counting Received: headers is how SMTP
 * intake and the outbound queue both detect mail loops (§6.3).
 */
/** Counts Received: headers in the header block (stops at the first empty line). */
export function countReceived(message: Buffer): number {
  // Byte scan, no string: this runs for every message.
  let n = 0;
  let line = 0;
  while (line < message.length) {
    const c = message[line];
    if (c === 0x0d || c === 0x0a) break; // the empty line ends the header block
    if (startsWithReceived(message, line)) n++;
    const nl = message.indexOf(0x0a, line);
    if (nl < 0) break;
    line = nl + 1;
  }
  return n;
}

const RECEIVED = Buffer.from('received:');

function startsWithReceived(buf: Buffer, at: number): boolean {
  if (at + RECEIVED.length > buf.length) return false;
  for (let i = 0; i < RECEIVED.length; i++) {
    // ASCII letters: OR 0x20 lower-cases them and leaves ':' alone.
    if ((buf[at + i]! | 0x20) !== RECEIVED[i]!) return false;
  }
  return true;
}
