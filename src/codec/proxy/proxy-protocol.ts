/**
 * The PROXY protocol header (HAProxy, versions 1 and 2) that a load balancer
 * puts in front of a forwarded TCP stream to say who the real client is.
 * Pure and total: bytes in → `need-more | header | error`, never a throw, no
 * I/O, no timers. The caller keeps the bytes received so far (from the very
 * first byte of the connection) and calls `decodeProxyHeader` again when
 * more arrive; `consumed` says where the header ends, so whatever follows
 * (an SMTP command, a TLS ClientHello) goes back to the stream. Every
 * prefix that can no longer become a valid header is refused at once, so a
 * header-less client is turned away on its first bytes, not at the timeout.
 *
 * Version 1, one text line, at most 107 bytes including CRLF:
 *
 *     PROXY TCP4 192.0.2.1 198.51.100.7 51234 25\r\n
 *     PROXY TCP6 2001:db8::1 2001:db8::7 51234 25\r\n
 *     PROXY UNKNOWN[ anything]\r\n          (use the socket's own addresses)
 *
 * Version 2, binary, all integers big-endian:
 *
 *     0                   1                   2                   3
 *     +-------------------------------------------------------------+
 *     | signature: 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A  (12 bytes)  |
 *     +---------------+---------------+-----------------------------+
 *     | ver 2 | cmd   | family| proto |  len: bytes that follow     |
 *     +---------------+---------------+-----------------------------+
 *     | addresses: INET 4+4+2+2, INET6 16+16+2+2, UNIX 108+108      |
 *     | then TLVs (type, 2-byte length, value) up to len: skipped   |
 *     +-------------------------------------------------------------+
 *
 *   cmd: 0 LOCAL (the proxy's own connection, e.g. a health check: use
 *   the socket's addresses), 1 PROXY. family×proto: the spec's seven
 *   combinations only (UNSPEC, TCP4, UDP4, TCP6, UDP6, UNIX stream, UNIX
 *   dgram); anything else must be refused.
 */
import ipaddr from 'ipaddr.js';

export interface ProxyEndpoint {
  address: string; // IPv4 dotted quad or RFC 5952 IPv6 text (IPv4-mapped as "::ffff:a.b.c.d")
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  command: 'proxy' | 'local';
  family: 'inet' | 'inet6' | 'unix' | 'unspec';
  transport: 'stream' | 'dgram' | 'unspec';
  /** null for LOCAL, v1 UNKNOWN, v2 UNSPEC and AF_UNIX (a path is no client address): use the socket's own. */
  source: ProxyEndpoint | null;
  destination: ProxyEndpoint | null;
}

export type ProxyDecodeResult = { kind: 'need-more' } | { kind: 'header'; header: ProxyHeader; consumed: number } | { kind: 'error'; problem: string };

/** The spec's own bound for a v1 line, CRLF included ("PROXY UNKNOWN" + two full IPv6 addresses + two ports). */
export const PROXY_V1_MAX_LENGTH = 107;

/**
 * Our cap on the v2 `len` field (addresses + TLVs; the format allows 65535).
 * The largest address block is 216 bytes (AF_UNIX), and the TLVs real proxies
 * send (ALPN, authority ≤ 255, unique id ≤ 128, SSL version/CN/cipher, CRC32C,
 * AWS VPC endpoint id, Azure link id) add well under 1 KB. These bytes are
 * buffered before the connection is admitted, so before any connection limit
 * applies: 4 KB keeps that memory to one page per pending connection instead
 * of 64 KB, and still leaves room for unusually chatty proxies.
 */
export const PROXY_V2_MAX_LENGTH = 4096;

export const PROXY_V2_SIGNATURE: Uint8Array = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V2_FIXED = 16; // signature, ver/cmd, fam/proto, len
const V1_PREFIX = Uint8Array.from('PROXY ', (c) => c.charCodeAt(0));
const CR = 0x0d;
const LF = 0x0a;

const NEED_MORE: ProxyDecodeResult = Object.freeze({ kind: 'need-more' });

/** `bytes`: everything received on the connection so far, from its first byte. */
export function decodeProxyHeader(bytes: Uint8Array): ProxyDecodeResult {
  if (bytes.length === 0) return NEED_MORE;
  // The two signatures differ in their first byte ('P' vs CR), so the first byte picks the version.
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) return decodeV2(bytes);
  if (bytes[0] === V1_PREFIX[0]) return decodeV1(bytes);
  return error('not a PROXY protocol header');
}

function decodeV1(bytes: Uint8Array): ProxyDecodeResult {
  if (!startsWith(bytes, V1_PREFIX)) return error('not a PROXY protocol header');
  // Find the LF; until then every byte must be printable ASCII, and a CR may only come right before the LF.
  const limit = Math.min(bytes.length, PROXY_V1_MAX_LENGTH);
  let end = -1;
  for (let i = 0; i < limit; i++) {
    const b = bytes[i]!;
    if (b === LF) {
      if (i === 0 || bytes[i - 1] !== CR) return error('v1 header must end with CRLF');
      end = i - 1;
      break;
    }
    if (b === CR) {
      if (i + 1 < bytes.length && bytes[i + 1] !== LF) return error('bare CR in v1 header');
    } else if (b < 0x20 || b > 0x7e) {
      return error('control or non-ASCII byte in v1 header');
    }
  }
  if (end < 0) return bytes.length >= PROXY_V1_MAX_LENGTH ? error(`v1 header longer than ${PROXY_V1_MAX_LENGTH} bytes`) : NEED_MORE;
  const consumed = end + 2;
  const fields = ascii(bytes, end).split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN') {
    // The spec: the receiver must ignore anything after UNKNOWN up to the CRLF.
    return { kind: 'header', consumed, header: { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', source: null, destination: null } };
  }
  if (proto !== 'TCP4' && proto !== 'TCP6') return error(`v1 protocol must be TCP4, TCP6 or UNKNOWN (got ${JSON.stringify(proto ?? '')})`);
  if (fields.length !== 6) return error(`v1 header must be "PROXY ${proto} source destination sport dport", single spaces`);
  const family = proto === 'TCP4' ? 'inet' : 'inet6';
  const src = textAddress(fields[2]!, family);
  const dst = textAddress(fields[3]!, family);
  const sport = textPort(fields[4]!);
  const dport = textPort(fields[5]!);
  if (src === null) return error(`v1 source address is not ${proto === 'TCP4' ? 'an IPv4' : 'an IPv6'} address`);
  if (dst === null) return error(`v1 destination address is not ${proto === 'TCP4' ? 'an IPv4' : 'an IPv6'} address`);
  if (sport === null) return error('v1 source port must be a decimal number 0-65535');
  if (dport === null) return error('v1 destination port must be a decimal number 0-65535');
  return {
    kind: 'header',
    consumed,
    header: { version: 1, command: 'proxy', family, transport: 'stream', source: { address: src, port: sport }, destination: { address: dst, port: dport } },
  };
}

/** family/proto byte → what it names, and how many address bytes PROXY needs. The spec's seven values only. */
const V2_FAMILIES: ReadonlyMap<number, { family: ProxyHeader['family']; transport: ProxyHeader['transport']; addressBytes: number }> = new Map([
  [0x00, { family: 'unspec', transport: 'unspec', addressBytes: 0 }],
  [0x11, { family: 'inet', transport: 'stream', addressBytes: 12 }],
  [0x12, { family: 'inet', transport: 'dgram', addressBytes: 12 }],
  [0x21, { family: 'inet6', transport: 'stream', addressBytes: 36 }],
  [0x22, { family: 'inet6', transport: 'dgram', addressBytes: 36 }],
  [0x31, { family: 'unix', transport: 'stream', addressBytes: 216 }],
  [0x32, { family: 'unix', transport: 'dgram', addressBytes: 216 }],
]);

function decodeV2(bytes: Uint8Array): ProxyDecodeResult {
  const sig = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < sig; i++) if (bytes[i] !== PROXY_V2_SIGNATURE[i]) return error('not a PROXY protocol header');
  if (bytes.length <= 12) return NEED_MORE;
  const verCmd = bytes[12]!;
  if (verCmd >> 4 !== 2) return error(`unsupported PROXY protocol version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return error(`unknown v2 command 0x${cmd.toString(16)}`);
  const command = cmd === 0 ? 'local' : 'proxy';
  if (bytes.length <= 13) return NEED_MORE;
  const fam = V2_FAMILIES.get(bytes[13]!);
  if (fam === undefined) return error(`unknown v2 address family/protocol 0x${bytes[13]!.toString(16).padStart(2, '0')}`);
  if (bytes.length < V2_FIXED) return NEED_MORE;
  const length = (bytes[14]! << 8) | bytes[15]!;
  if (length > PROXY_V2_MAX_LENGTH) return error(`v2 header length ${length} is over our limit of ${PROXY_V2_MAX_LENGTH}`);
  // LOCAL: the spec says to ignore the address block whatever the family says, so only PROXY needs room for it.
  if (command === 'proxy' && length < fam.addressBytes) return error(`v2 header length ${length} is too short for its ${fam.family} addresses (${fam.addressBytes})`);
  const consumed = V2_FIXED + length;
  if (bytes.length < consumed) return NEED_MORE;
  const header: ProxyHeader = { version: 2, command, family: fam.family, transport: fam.transport, source: null, destination: null };
  if (command === 'proxy' && (fam.family === 'inet' || fam.family === 'inet6')) {
    const size = fam.family === 'inet' ? 4 : 16;
    const at = V2_FIXED;
    const ports = at + 2 * size;
    header.source = { address: binaryAddress(bytes.subarray(at, at + size)), port: (bytes[ports]! << 8) | bytes[ports + 1]! };
    header.destination = { address: binaryAddress(bytes.subarray(at + size, ports)), port: (bytes[ports + 2]! << 8) | bytes[ports + 3]! };
  }
  // TLVs (bytes after the address block) are skipped: nothing here needs them.
  return { kind: 'header', header, consumed };
}

const PORT = /^[0-9]{1,5}$/;

function textPort(text: string): number | null {
  if (!PORT.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

/** TCP4: strict dotted quad (no `010.1.1.1`, no `10.1`); TCP6: RFC 4291 §2.2 text, no zone. Canonical text out. */
function textAddress(text: string, family: 'inet' | 'inet6'): string | null {
  if (family === 'inet') return ipaddr.IPv4.isValidFourPartDecimal(text) ? text : null;
  const bytes = parseIPv6(text);
  return bytes === null ? null : binaryAddress(bytes);
}

/** Address text as the v1 line carries it → 4 or 16 bytes, or null. Shared with the serializer. */
export function addressBytes(text: string): Uint8Array | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return Uint8Array.from(text.split('.').map(Number));
  return parseIPv6(text);
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Strict RFC 4291 §2.2 text → 16 bytes, or null. Our own because ipaddr.js
 * is lenient where it matters here: it reads the embedded IPv4 of `::a.b.c.d`
 * as `::ffff:a.b.c.d` (a different address) and accepts hex and octal
 * octets in it.
 */
function parseIPv6(text: string): Uint8Array | null {
  if (text.length > 45) return null; // the longest form, 6 groups + dotted quad
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups: number[][] = [];
  for (let h = 0; h < halves.length; h++) {
    const out: number[] = [];
    const parts = halves[h] === '' ? [] : halves[h]!.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (HEX_GROUP.test(part)) {
        const v = parseInt(part, 16);
        out.push(v >> 8, v & 0xff);
      } else if (h === halves.length - 1 && i === parts.length - 1 && ipaddr.IPv4.isValidFourPartDecimal(part)) {
        out.push(...part.split('.').map(Number)); // dotted quad: only as the last 32 bits
      } else {
        return null;
      }
    }
    groups.push(out);
  }
  const [head = [], tail = []] = groups;
  if (halves.length === 1) return head.length === 16 ? Uint8Array.from(head) : null;
  // "::" stands for at least one group of zeros.
  if (head.length + tail.length > 14) return null;
  const bytes = new Uint8Array(16);
  bytes.set(head, 0);
  bytes.set(tail, 16 - tail.length);
  return bytes;
}

function binaryAddress(bytes: Uint8Array): string {
  const parsed = ipaddr.fromByteArray(Array.from(bytes));
  return parsed.kind() === 'ipv4' ? parsed.toString() : formatIPv6(parsed as ipaddr.IPv6);
}

/** RFC 5952 text; an IPv4-mapped address keeps its dotted tail (§5), as sockets report it. */
function formatIPv6(ip: ipaddr.IPv6): string {
  return ip.isIPv4MappedAddress() ? `::ffff:${ip.toIPv4Address().toString()}` : ip.toString();
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, end: number): string {
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function error(problem: string): ProxyDecodeResult {
  return { kind: 'error', problem };
}
