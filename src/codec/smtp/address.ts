/**
 * RFC 5321 path parsing (§4.1.2 grammar, §4.5.3.1 limits), with the UTF-8
 * extensions of RFC 6531 §3.3 when SMTPUTF8 is in effect. Pure: strings in,
 * values out, never throws.
 *
 *   Path          = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l         = At-domain *( "," At-domain )      ; source route, obsolete
 *   Mailbox       = Local-part "@" ( Domain / address-literal )
 *   Local-part    = Dot-string / Quoted-string
 *
 * Tolerated deviations, each on purpose:
 * - A path without angle brackets (`MAIL FROM:a@b`) is accepted, as Postfix
 *   does by default (strict_rfc821_envelopes = no), because real clients send
 *   it. It is accepted only when it has no spaces, so there is never any
 *   doubt about where the path ends and the parameters begin.
 * - Source routes are parsed and kept in `route` so policy can see (and
 *   refuse) them, but RFC 5321 §3.6.1 / appendix C lets us ignore them, and we
 *   never route by them: the mailbox is the destination.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Path =
  | { kind: 'null' }
  | {
      kind: 'address';
      /** Local part, unquoted (quoted-pairs resolved). Case is kept: only the receiving host may interpret it (RFC 5321 §2.4). */
      local: string;
      /** Lower-cased domain or address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`); '' only for `<postmaster>`. */
      domain: string;
      /** local@domain, the local part quoted only if it needs quotes; 'postmaster' for `<postmaster>`. */
      address: string;
      /** Source route hops (lower-cased), kept only so policy can see them; never used for routing. */
      route: string[];
      /** The local part was written as a quoted-string. */
      quotedLocal: boolean;
      /** The local part or the domain contains non-ASCII characters (RFC 6531). */
      utf8: boolean;
    };

/** A path that names a mailbox (every path but `<>`): what RCPT requires. */
export type AddressPath = Extract<Path, { kind: 'address' }>;

export type ParsePathResult = { ok: true; path: Path } | { ok: false; problem: string };

/** The problem reported for a UTF-8 address without SMTPUTF8; command.ts maps it to its own error kind (553 5.6.7, RFC 6531 §3.7.4.1). */
export const NON_ASCII_PROBLEM = 'non-ASCII address requires SMTPUTF8';

// RFC 5321 §4.5.3.1.1–3 (octets, so UTF-8 is counted in bytes).
export const MAX_LOCAL_PART_OCTETS = 64;
export const MAX_DOMAIN_OCTETS = 255;
export const MAX_PATH_OCTETS = 256;
/** RFC 1035 §2.3.4: a DNS label is at most 63 octets. */
const MAX_LABEL_OCTETS = 63;

// RFC 5322 §3.2.3 atext, as used by RFC 5321's Atom.
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/;
const ASCII_DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
// A-label / LDH label: letters, digits, hyphens; no hyphen at either end (RFC 5321 §4.1.2 sub-domain).
const LDH_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// Control characters are never allowed anywhere in a path (qtextSMTP and atext exclude them).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function hasNonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

function fail(problem: string): ParsePathResult {
  return { ok: false, problem };
}

/**
 * Parses the path that follows `MAIL FROM:` / `RCPT TO:` (parameters already
 * split off, see splitPathAndParams). `<>` gives the null path and
 * `<postmaster>` (any case) a mailbox with domain ''; which of the two a
 * command accepts is the command parser's business (RFC 5321 §4.1.1.2–3).
 */
export function parsePath(text: string, opts: { smtputf8: boolean }): ParsePathResult {
  return parseSimplePath(text) ?? parsePathFully(text, opts);
}

/**
 * The shape almost every real path has — `<dot-atom@ldh.domain>`, ASCII, no
 * route, no quotes, no literal — matched by one regular expression. The
 * full parser below costs about 10 µs a path, a noticeable share of the
 * time a 1 KB message spends on the main thread. Anything else, including
 * every limit violation, goes to the full parser, so the answers are the
 * same (a property test compares the two).
 */
const SIMPLE_PATH = /^<([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>$/;

export function parseSimplePath(text: string): ParsePathResult | null {
  if (text.length > MAX_PATH_OCTETS) return null;
  const m = SIMPLE_PATH.exec(text);
  if (!m) return null;
  const local = m[1]!;
  const domainText = m[2]!;
  if (local.length > MAX_LOCAL_PART_OCTETS) return null;
  const labels = domainText.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL_OCTETS || label.startsWith('-') || label.endsWith('-')) return null;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  const domain = domainText.toLowerCase();
  return { ok: true, path: { kind: 'address', local, domain, address: `${local}@${domain}`, route: [], quotedLocal: false, utf8: false } };
}

/** The whole RFC 5321 grammar (exported for the test that checks parseSimplePath against it). */
export function parsePathFully(text: string, opts: { smtputf8: boolean }): ParsePathResult {
  if (typeof text !== 'string') return fail('missing path');
  if (text.length === 0) return fail('missing path');
  if (CONTROL.test(text)) return fail('control character in path');
  if (hasNonAscii(text) && opts?.smtputf8 !== true) return fail(NON_ASCII_PROBLEM);
  // The limit counts the angle brackets, so a bare path is measured as if it had them.
  if (octets(text) + (text.startsWith('<') ? 0 : 2) > MAX_PATH_OCTETS) return fail('path too long');

  let inner: string;
  if (text.startsWith('<')) {
    if (!text.endsWith('>') || text.length < 2) return fail('missing closing angle bracket');
    inner = text.slice(1, -1);
  } else {
    // Tolerated bare form (see the module comment): never with spaces, never half-bracketed.
    if (text.includes(' ')) return fail('path must be enclosed in angle brackets');
    if (text.endsWith('>')) return fail('missing opening angle bracket');
    inner = text;
    if (inner.length === 0) return fail('missing path');
  }
  if (inner.length === 0) return { ok: true, path: { kind: 'null' } };

  if (inner.toLowerCase() === 'postmaster') {
    return {
      ok: true,
      // The special name is case-insensitive (§4.1.1.3), so the canonical address is lower case.
      path: { kind: 'address', local: inner, domain: '', address: 'postmaster', route: [], quotedLocal: false, utf8: false },
    };
  }

  // Source route: "@a,@b:" before the mailbox. A quoted local part may contain
  // ':' so only a leading '@' marks a route.
  const route: string[] = [];
  let mailbox = inner;
  if (inner.startsWith('@')) {
    const colon = inner.indexOf(':');
    if (colon === -1) return fail('source route without ":"');
    const hops = inner.slice(0, colon).split(',');
    for (const hop of hops) {
      if (!hop.startsWith('@')) return fail('malformed source route');
      const d = parseDomain(hop.slice(1));
      if (!d.ok) return fail(`source route: ${d.problem}`);
      route.push(d.domain);
    }
    mailbox = inner.slice(colon + 1);
  }

  const local = parseLocalPart(mailbox);
  if (!local.ok) return fail(local.problem);
  const afterLocal = mailbox.slice(local.consumed);
  if (!afterLocal.startsWith('@')) return fail(afterLocal.length === 0 ? 'missing domain' : 'unexpected character after local part');
  const domainText = afterLocal.slice(1);
  const domain = domainText.startsWith('[') ? parseAddressLiteral(domainText) : parseDomain(domainText);
  if (!domain.ok) return fail(domain.problem);

  if (octets(local.raw) > MAX_LOCAL_PART_OCTETS) return fail('local part too long');
  const value = local.value;
  const canonicalLocal = isDotAtom(value) ? value : quote(value);
  return {
    ok: true,
    path: {
      kind: 'address',
      local: value,
      domain: domain.domain,
      address: `${canonicalLocal}@${domain.domain}`,
      route,
      quotedLocal: local.quoted,
      utf8: hasNonAscii(value) || hasNonAscii(domain.domain),
    },
  };
}

type LocalPart = { ok: true; value: string; raw: string; quoted: boolean; consumed: number } | { ok: false; problem: string };

/** Reads the local part at the start of `s`: a dot-string up to '@', or a quoted-string. */
function parseLocalPart(s: string): LocalPart {
  if (s.startsWith('"')) {
    let value = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i]!;
      if (c === '"') {
        if (value.length === 0) return { ok: false, problem: 'empty local part' };
        return { ok: true, value, raw: s.slice(0, i + 1), quoted: true, consumed: i + 1 };
      }
      if (c === '\\') {
        // quoted-pairSMTP = "\" %d32-126 (RFC 6531 adds UTF-8 characters)
        const next = s[i + 1];
        if (next === undefined) break;
        value += next;
        i++;
        continue;
      }
      value += c;
    }
    return { ok: false, problem: 'unterminated quoted local part' };
  }
  // Dot-string: the last '@' cannot be used as the separator because '@' is
  // not in atext; the first '@' ends an unquoted local part.
  const at = s.indexOf('@');
  const raw = at === -1 ? s : s.slice(0, at);
  if (raw.length === 0) return { ok: false, problem: 'empty local part' };
  if (raw.startsWith('.') || raw.endsWith('.')) return { ok: false, problem: 'local part starts or ends with a dot' };
  if (raw.includes('..')) return { ok: false, problem: 'consecutive dots in local part' };
  for (const ch of raw) {
    if (ch === '.') continue;
    if (ATEXT.test(ch) || ch.charCodeAt(0) > 0x7f) continue;
    return { ok: false, problem: `invalid character ${JSON.stringify(ch)} in local part` };
  }
  return { ok: true, value: raw, raw, quoted: false, consumed: raw.length };
}

/** A dot-atom, where UTF-8 characters count as atext (RFC 6531 §3.3 extends atext; they only get here under SMTPUTF8). */
function isDotAtom(value: string): boolean {
  if (ASCII_DOT_ATOM.test(value)) return true;
  if (value.length === 0 || value.startsWith('.') || value.endsWith('.') || value.includes('..')) return false;
  for (const ch of value) if (ch !== '.' && !ATEXT.test(ch) && ch.charCodeAt(0) <= 0x7f) return false;
  return true;
}

/** Quotes a local part that is not a dot-atom; only '"' and '\' need a backslash. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

type DomainResult = { ok: true; domain: string } | { ok: false; problem: string };

/** Domain = sub-domain *("." sub-domain); U-labels are allowed only when the caller already let non-ASCII through. */
function parseDomain(text: string): DomainResult {
  if (text.length === 0) return { ok: false, problem: 'missing domain' };
  if (octets(text) > MAX_DOMAIN_OCTETS) return { ok: false, problem: 'domain too long' };
  const labels = text.split('.');
  for (const label of labels) {
    if (label.length === 0) return { ok: false, problem: 'empty label in domain' };
    if (hasNonAscii(label)) {
      // U-label (RFC 6531 §3.3 / RFC 5890): we check the shape, not IDNA validity —
      // DNS lookup of a bad U-label simply fails later.
      if (label.startsWith('-') || label.endsWith('-')) return { ok: false, problem: 'label starts or ends with a hyphen' };
      for (const ch of label) {
        if (ch.charCodeAt(0) > 0x7f) continue;
        if (!/[A-Za-z0-9-]/.test(ch)) return { ok: false, problem: `invalid character ${JSON.stringify(ch)} in domain` };
      }
      continue;
    }
    if (label.length > MAX_LABEL_OCTETS) return { ok: false, problem: 'domain label too long' };
    if (!LDH_LABEL.test(label)) return { ok: false, problem: `invalid domain label ${JSON.stringify(label)}` };
  }
  // RFC 3696 §2: a top-level label is never all-numeric, so `a@192.0.2.1` is
  // a mistyped address literal, not a domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return { ok: false, problem: 'all-numeric top-level domain (use an address literal)' };
  return { ok: true, domain: text.toLowerCase() };
}

/**
 * address-literal (RFC 5321 §4.1.3): `[IPv4]` or `[IPv6:...]`. General
 * address literals (`[tag:...]`) need an IANA-registered tag and none
 * exists, so they are refused.
 */
export function parseAddressLiteral(text: string): DomainResult {
  if (!text.startsWith('[') || !text.endsWith(']') || text.length < 3) return { ok: false, problem: 'malformed address literal' };
  const body = text.slice(1, -1);
  if (isIPv4(body)) return { ok: true, domain: `[${body}]` };
  if (body.slice(0, 5).toLowerCase() === 'ipv6:') {
    const ip = body.slice(5);
    if (isIPv6(ip) && !ip.includes('%')) return { ok: true, domain: `[IPv6:${ip.toLowerCase()}]` };
    return { ok: false, problem: 'invalid IPv6 address literal' };
  }
  return { ok: false, problem: 'invalid address literal' };
}

/**
 * Separates the path from the ESMTP parameters in what follows `MAIL FROM:` /
 * `RCPT TO:`. A bracketed path ends at the first '>' outside a quoted local
 * part (which may hold spaces and '>'); a bare path ends at the first space.
 */
export function splitPathAndParams(rest: string): { ok: true; path: string; params: string } | { ok: false; problem: string } {
  if (typeof rest !== 'string' || rest.length === 0) return { ok: false, problem: 'missing path' };
  if (!rest.startsWith('<')) {
    const sp = rest.indexOf(' ');
    return sp === -1 ? { ok: true, path: rest, params: '' } : { ok: true, path: rest.slice(0, sp), params: rest.slice(sp + 1) };
  }
  let quoted = false;
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '>') {
      const after = rest.slice(i + 1);
      if (after.length > 0 && !after.startsWith(' ')) return { ok: false, problem: 'unexpected text after path' };
      return { ok: true, path: rest.slice(0, i + 1), params: after.slice(1) };
    }
  }
  return { ok: false, problem: 'missing closing angle bracket' };
}

/**
 * True when a local part carries one of the classic relay tricks: the percent
 * hack (`a%b@local`), a bang path (`b!a@local`), or an '@' (possible only
 * quoted: `"a@b"@local`). A downstream MTA might route on them (RFC 5321
 * §3.6.1 warns about exactly this), so policy refuses them explicitly instead
 * of hoping nobody interprets them (SPEC §4.1).
 */
export function isLocalPartSuspicious(local: string): boolean {
  return typeof local === 'string' && /[%!@]/.test(local);
}
