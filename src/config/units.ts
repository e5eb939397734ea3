/**
 * Strict parsers for the value syntaxes used in postline.yaml (SPEC §2):
 * durations, sizes, host:port, CIDR networks, addresses, domain names.
 *
 * Each parser takes the raw YAML (or environment) value and returns either the
 * parsed value or a one-line problem text that ends with what it got, e.g.
 * `expected a duration such as 30s, 5m, 1h (got "5 minutes")`. They never
 * throw, so the schema can collect every problem in a file at once.
 */
import ipaddr from 'ipaddr.js';
import type { HostPort } from './types.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(expected: string, got: unknown): Parsed<T> => ({ ok: false, problem: `${expected} (got ${describe(got)})` });

/** How a raw value is shown after "got": strings quoted (and cut short), other kinds named. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  return String(value);
}

const DURATION_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `30s`, `5m`, `1h`, `5d` → milliseconds. A unit is required: a bare `300` could mean s or ms. */
export function parseDuration(input: unknown): Parsed<number> {
  const expected = 'expected a duration such as 30s, 5m, 1h';
  const m = typeof input === 'string' ? /^(\d+)(ms|s|m|h|d)$/.exec(input) : null;
  if (!m) return fail(expected, input);
  const ms = Number(m[1]) * DURATION_MS[m[2] as keyof typeof DURATION_MS];
  return Number.isSafeInteger(ms) ? ok(ms) : fail('duration too large', input);
}

const SIZE_BYTES = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 } as const;

/** `64KB`, `25MB`, `1GB`, `512B`, or a plain integer (bytes) → bytes. Binary units: 1 KB = 1024 bytes (SPEC §2). */
export function parseSize(input: unknown): Parsed<number> {
  const expected = 'expected a size such as 64KB, 25MB, 1GB';
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? ok(input) : fail(expected, input);
  const m = typeof input === 'string' ? /^(\d+)(B|KB|MB|GB)?$/.exec(input) : null;
  if (!m) return fail(expected, input);
  const bytes = Number(m[1]) * SIZE_BYTES[(m[2] ?? 'B') as keyof typeof SIZE_BYTES];
  return Number.isSafeInteger(bytes) ? ok(bytes) : fail('size too large', input);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Letters-digits-hyphen host names, already lower-cased. One label is fine
 * (`localhost`). An all-digit last label is refused because `1.2.3.4` and
 * `999.1.1.1` are (bad) IP addresses, not names. IDNs must be written as xn--.
 */
function isHostName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/** A mail domain such as `example.org` → lower-cased. */
export function parseDomain(input: unknown): Parsed<string> {
  const name = typeof input === 'string' ? input.toLowerCase() : '';
  return isHostName(name) ? ok(name) : fail('expected a domain name such as example.org', input);
}

/** The server's own name (`hostname` key) → lower-cased. Same rules as a domain; different wording. */
export function parseHostName(input: unknown): Parsed<string> {
  const name = typeof input === 'string' ? input.toLowerCase() : '';
  return isHostName(name) ? ok(name) : fail('expected a host name such as mx.example.org', input);
}

/** Bare IP text as used by sockets: dotted-quad IPv4 only (ipaddr.js alone accepts `10.1` and hex), IPv6 without a zone. */
function isIp(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || (ipaddr.IPv6.isValid(text) && !text.includes('%'));
}

/**
 * `host:port` with host an IPv4 address, a host name or `[ipv6]`. The port is
 * 1-65535; listeners pass allowPortZero because tests bind port 0 and read
 * the real port back.
 */
export function parseHostPort(input: unknown, opts: { allowPortZero?: boolean } = {}): Parsed<HostPort> {
  const min = opts.allowPortZero ? 0 : 1;
  const expected = `expected host:port such as 127.0.0.1:2525 or [::1]:2525, port ${min}-65535`;
  if (typeof input !== 'string') return fail(expected, input);
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(input) ?? /^([^:[\]]+):(\d{1,5})$/.exec(input);
  if (!m) return fail(expected, input);
  const bracketed = input.startsWith('[');
  const host = bracketed ? m[1]! : m[1]!.toLowerCase();
  const port = Number(m[2]);
  const hostOk = bracketed ? ipaddr.IPv6.isValid(host) && !host.includes('%') : isIp(host) || isHostName(host);
  if (!hostOk || port < min || port > 65535) return fail(expected, input);
  return ok({ host: bracketed ? ipaddr.parse(host).toString() : host, port });
}

/** A network `192.168.0.0/16`, `2001:db8::/32`; a bare address means /32 or /128. → canonical `addr/bits`. */
export function parseCidr(input: unknown): Parsed<string> {
  const expected = 'expected an IP network such as 192.168.0.0/16, or an IP address';
  if (typeof input !== 'string') return fail(expected, input);
  const [addr = '', bits, extra] = input.split('/');
  if (extra !== undefined || !isIp(addr)) return fail(expected, input);
  const ip = ipaddr.parse(addr);
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max)) return fail(expected, input);
  // parseCIDR is only called on text checked above, so it cannot throw.
  const [net, len] = ipaddr.parseCIDR(`${addr}/${bits ?? max}`);
  return ok(`${net.toString()}/${len}`);
}

/** RFC 5322 dot-atom local part: no quoted strings, no empty or doubled dots. */
const ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+$/;

/**
 * An address written in the config (`users`, `aliases`, `catchAll`):
 * `local@domain`, lower-cased. Quoted local parts and address literals are
 * refused; they have no business in a config file.
 */
export function parseEmail(input: unknown): Parsed<string> {
  const expected = 'expected an email address such as user@example.org';
  if (typeof input !== 'string' || input.length > 254) return fail(expected, input);
  const text = input.toLowerCase();
  const at = text.indexOf('@');
  if (at < 0 || at !== text.lastIndexOf('@')) return fail(expected, input);
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  const localOk = local.length <= 64 && local.split('.').every((part) => ATOM.test(part));
  return localOk && isHostName(domain) ? ok(text) : fail(expected, input);
}

/** A DNS server: `ip` or `ip:port` (`[ipv6]:port`); the port defaults to 53. */
export function parseDnsServer(input: unknown): Parsed<HostPort> {
  const expected = 'expected an IP address with optional :port, such as 1.1.1.1 or 1.1.1.1:53';
  if (typeof input !== 'string') return fail(expected, input);
  if (isIp(input)) return ok({ host: ipaddr.parse(input).toString(), port: 53 });
  const hp = parseHostPort(input);
  return hp.ok && isIp(hp.value.host) ? hp : fail(expected, input);
}

/** An absolute http:// or https:// URL (delivery routes to an HTTP endpoint, DNS-over-HTTPS). */
export function parseHttpUrl(input: unknown, opts: { httpsOnly?: boolean } = {}): Parsed<string> {
  const expected = opts.httpsOnly ? 'expected an https:// URL' : 'expected an http:// or https:// URL';
  if (typeof input !== 'string') return fail(expected, input);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail(expected, input);
  }
  const schemes = opts.httpsOnly ? ['https:'] : ['http:', 'https:'];
  return schemes.includes(url.protocol) && url.hostname !== '' ? ok(input) : fail(expected, input);
}

/** An integer in [min, max]; YAML numbers only (environment strings are converted before parsing). */
export function parseInteger(input: unknown, min: number, max: number): Parsed<number> {
  if (typeof input === 'number' && Number.isSafeInteger(input) && input >= min && input <= max) return ok(input);
  const expected = max === Number.MAX_SAFE_INTEGER && min === 0 ? 'expected a non-negative integer' : `expected an integer from ${min} to ${max}`;
  return fail(expected, input);
}

/**
 * One of a fixed set of words. YAML 1.1 documents (`%YAML 1.1`) read `off` as
 * boolean false, so when `off` is allowed, false means `off` too.
 */
export function parseOneOf<const T extends string>(input: unknown, values: readonly T[]): Parsed<T> {
  const word = input === false && values.includes('off' as T) ? 'off' : input;
  if (typeof word === 'string' && values.includes(word as T)) return ok(word as T);
  return fail(`expected one of ${values.join(', ')}`, input);
}

export function parseBoolean(input: unknown): Parsed<boolean> {
  return typeof input === 'boolean' ? ok(input) : fail('expected true or false', input);
}

/** Text that may be empty (`admin.token`). */
export function parseString(input: unknown): Parsed<string> {
  return typeof input === 'string' ? ok(input) : fail('expected a string', input);
}
