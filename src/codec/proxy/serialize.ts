/**
 * Writes PROXY protocol headers (see proxy-protocol.ts for the layout): what
 * a load balancer sends. Used by the tests and by anything of ours that
 * forwards connections to a PROXY-aware server. Pure; throws only on input
 * that cannot be expressed (a programming error, not peer input).
 */
import ipaddr from 'ipaddr.js';
import { addressBytes, PROXY_V2_SIGNATURE, type ProxyEndpoint } from './proxy-protocol.js';

export type ProxyHeaderSpec =
  | { command: 'proxy'; source: ProxyEndpoint; destination: ProxyEndpoint }
  /** v1: "PROXY UNKNOWN"; v2: PROXY with AF_UNSPEC. */
  | { command: 'unknown' }
  /** v2 only: the proxy's own connection (health checks). */
  | { command: 'local' };

/** "PROXY TCP4 …\r\n" / "PROXY TCP6 …\r\n" / "PROXY UNKNOWN\r\n". Both addresses must be of one family. */
export function encodeProxyHeaderV1(spec: ProxyHeaderSpec): Buffer {
  if (spec.command === 'local') throw new Error('PROXY v1 has no LOCAL command');
  if (spec.command === 'unknown') return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(spec.source.address);
  if (v4 !== ipaddr.IPv4.isValidFourPartDecimal(spec.destination.address)) throw new Error('PROXY v1: source and destination must be of one family');
  const { source: s, destination: d } = spec;
  return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${s.address} ${d.address} ${s.port} ${d.port}\r\n`, 'latin1');
}

/** A v2 header for a stream (TCP) connection; `tlvs` are appended as given (type, value). */
export function encodeProxyHeaderV2(spec: ProxyHeaderSpec, options: { tlvs?: ReadonlyArray<{ type: number; value: Uint8Array }> } = {}): Buffer {
  let famProto = 0x00;
  let addresses = Buffer.alloc(0);
  if (spec.command === 'proxy') {
    const src = addressBytes(spec.source.address);
    const dst = addressBytes(spec.destination.address);
    if (src === null || dst === null) throw new Error('PROXY v2: not an IP address');
    if (src.length !== dst.length) throw new Error('PROXY v2: source and destination must be of one family');
    famProto = src.length === 4 ? 0x11 : 0x21;
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(spec.source.port, 0);
    ports.writeUInt16BE(spec.destination.port, 2);
    addresses = Buffer.concat([src, dst, ports]);
  }
  const tlvs = (options.tlvs ?? []).map(({ type, value }) => {
    const head = Buffer.alloc(3);
    head.writeUInt8(type, 0);
    head.writeUInt16BE(value.length, 1);
    return Buffer.concat([head, value]);
  });
  const body = Buffer.concat([addresses, ...tlvs]);
  const fixed = Buffer.alloc(4);
  fixed.writeUInt8(spec.command === 'local' ? 0x20 : 0x21, 0);
  fixed.writeUInt8(famProto, 1);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, fixed, body]);
}
