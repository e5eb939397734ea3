/**
 * RFC 5322 §3.4 address lists, shaped for the IMAP ENVELOPE (RFC 3501
 * §7.4.2): each address is (name adl mailbox host); a group is a start
 * marker (NIL NIL "group name" NIL), its members, and an end marker
 * (NIL NIL NIL NIL). Pure; never throws; linear in the input.
 *
 *   address-list = address *("," address)
 *   address      = mailbox / group
 *   group        = display-name ":" [mailbox-list] ";"
 *   mailbox      = name-addr / addr-spec
 *   name-addr    = [display-name] "<" [obs-route] addr-spec ">"
 *
 * Lenient the way Dovecot is (src/lib-mail/message-address.c), because IMAP
 * clients are used to it:
 * - a missing local part or domain becomes "MISSING_MAILBOX" /
 *   "MISSING_DOMAIN" (host NIL would mean "group" to the client);
 * - an addr-spec with no display name takes its last comment as the name
 *   (`joe@example.com (Joe Bloggs)`);
 * - anything before a '<' is the display name, even an unquoted '@'.
 * The display name is unquoted and its words joined by single spaces; RFC
 * 2047 encoded-words stay encoded (IMAP returns them undecoded). The local
 * part is kept in canonical form: quoted only if it is not a dot-atom.
 */

export type Address = {
  /** Display name (phrase), unquoted; null when absent. Group markers: null. */
  name: string | null;
  /** Obsolete source route ("@a,@b"), null when absent. */
  adl: string | null;
  /** Local part; the group name for a group start marker; null for a group end marker. */
  mailbox: string | null;
  /** Domain; null only for group markers (that is how IMAP signals a group). */
  host: string | null;
};

export const MISSING_MAILBOX = 'MISSING_MAILBOX';
export const MISSING_DOMAIN = 'MISSING_DOMAIN';

const enum K {
  Atom,
  Quoted,
  DomainLiteral,
  Special,
  Comment,
}

type Tok = {
  k: K;
  /** Atom text, unescaped quoted/comment content, "[literal]", or the special character. */
  v: string;
  /** Whitespace or a comment came before this token (used to rebuild phrases). */
  sp: boolean;
};

function tokenize(s: string, maxTokens: number): Tok[] {
  const toks: Tok[] = [];
  const n = s.length;
  let i = 0;
  let sp = false;
  while (i < n && toks.length < maxTokens) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
      sp = true;
      i++;
      continue;
    }
    if (c === 0x22) {
      // quoted-string
      let out = '';
      let run = i + 1;
      let j = i + 1;
      while (j < n && s.charCodeAt(j) !== 0x22) {
        if (s.charCodeAt(j) === 0x5c && j + 1 < n) {
          out += s.slice(run, j);
          run = j + 1;
          j += 2;
        } else {
          j++;
        }
      }
      out += s.slice(run, Math.min(j, n));
      toks.push({ k: K.Quoted, v: out, sp });
      i = j + 1;
    } else if (c === 0x28) {
      // comment, possibly nested
      let depth = 1;
      let out = '';
      let j = i + 1;
      let run = j;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (d === 0x5c && j + 1 < n) {
          out += s.slice(run, j);
          run = j + 1;
          j += 2;
          continue;
        }
        if (d === 0x28) depth++;
        else if (d === 0x29 && --depth === 0) break;
        j++;
      }
      out += s.slice(run, Math.min(j, n));
      toks.push({ k: K.Comment, v: out, sp });
      i = j + 1;
      sp = true;
      continue;
    } else if (c === 0x5b) {
      // domain-literal, kept with its brackets
      let j = i + 1;
      while (j < n && s.charCodeAt(j) !== 0x5d) j++;
      toks.push({ k: K.DomainLiteral, v: s.slice(i, Math.min(j + 1, n)) + (j >= n ? ']' : ''), sp });
      i = j + 1;
    } else if (c === 0x3c || c === 0x3e || c === 0x3a || c === 0x3b || c === 0x40 || c === 0x2c || c === 0x2e || c === 0x5c || c === 0x29 || c === 0x5d) {
      // specials: < > : ; @ , . \ ) ]
      toks.push({ k: K.Special, v: s[i]!, sp });
      i++;
    } else {
      let j = i + 1;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (d <= 0x20 || d === 0x22 || d === 0x28 || d === 0x29 || d === 0x3c || d === 0x3e || d === 0x3a || d === 0x3b || d === 0x40 || d === 0x2c || d === 0x2e || d === 0x5b || d === 0x5d || d === 0x5c) break;
        j++;
      }
      toks.push({ k: K.Atom, v: s.slice(i, j), sp });
      i = j;
    }
    sp = false;
  }
  return toks;
}

function isSpecial(t: Tok | undefined, ch: string): boolean {
  return t !== undefined && t.k === K.Special && t.v === ch;
}

/** Display-name words [from, to): unquoted, joined by one space where the source had whitespace or a comment. */
function phrase(toks: Tok[], from: number, to: number): string | null {
  let out = '';
  for (let i = from; i < to; i++) {
    const t = toks[i]!;
    if (t.k === K.Comment) continue;
    if (out.length > 0 && t.sp) out += ' ';
    out += t.v;
  }
  return out.length > 0 ? out : null;
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;

/** Local part from tokens [from, to): words and dots concatenated, quoted again only if it is not a dot-atom. */
function localPart(toks: Tok[], from: number, to: number): string | null {
  let out = '';
  let quoted = false;
  for (let i = from; i < to; i++) {
    const t = toks[i]!;
    if (t.k === K.Comment) continue;
    if (t.k === K.Quoted) quoted = true;
    out += t.v;
  }
  if (out.length === 0) return quoted ? '""' : null;
  if (!quoted || DOT_ATOM.test(out)) return out;
  return `"${out.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Domain from tokens [from, to): atoms, dots and literals concatenated, comments dropped. */
function domain(toks: Tok[], from: number, to: number): string | null {
  let out = '';
  for (let i = from; i < to; i++) {
    const t = toks[i]!;
    if (t.k !== K.Comment) out += t.v;
  }
  return out.length > 0 ? out : null;
}

function lastComment(toks: Tok[], from: number, to: number): string | null {
  for (let i = to - 1; i >= from; i--) {
    const t = toks[i]!;
    if (t.k === K.Comment) {
      const v = t.v.trim();
      if (v.length > 0) return v;
    }
  }
  return null;
}

/**
 * Parses an unfolded address-list header value. Returns null when it holds
 * no address at all (IMAP NIL). At most `maxAddresses` entries (group markers
 * included) are returned.
 */
export function parseAddressList(value: string, maxAddresses: number): Address[] | null {
  // Every address needs at least one token, so this bounds the work too.
  const toks = tokenize(value, maxAddresses * 8 + 16);
  const out: Address[] = [];
  const n = toks.length;
  let i = 0;
  let inGroup = false;
  while (i < n && out.length < maxAddresses) {
    const t = toks[i]!;
    if (t.k === K.Comment || isSpecial(t, ',')) {
      i++;
      continue;
    }
    if (isSpecial(t, ';')) {
      if (inGroup) {
        out.push({ name: null, adl: null, mailbox: null, host: null });
        inGroup = false;
      }
      i++;
      continue;
    }
    // The first structural special decides what this address is. Inside
    // <...>, ',' and ':' belong to a route, so only '>' ends the angle-addr.
    let j = i;
    let lt = -1;
    let at = -1;
    while (j < n) {
      const u = toks[j]!;
      if (u.k === K.Special) {
        if ((u.v === ',' || u.v === ';') && lt === -1) break;
        if (u.v === ':' && lt === -1 && at === -1 && !inGroup) break;
        if (u.v === '<' && lt === -1) lt = j;
        if (u.v === '>' && lt !== -1) {
          j++;
          // Skip to the end of this address (comments, stray junk).
          while (j < n && !isSpecial(toks[j], ',') && !isSpecial(toks[j], ';')) j++;
          break;
        }
        if (u.v === '@' && at === -1 && lt === -1) at = j;
      }
      j++;
    }
    if (j < n && isSpecial(toks[j], ':') && lt === -1 && at === -1 && !inGroup) {
      out.push({ name: null, adl: null, mailbox: phrase(toks, i, j) ?? '', host: null });
      inGroup = true;
      i = j + 1;
      continue;
    }
    const addr = lt !== -1 ? nameAddr(toks, i, lt, j) : addrSpec(toks, i, at, j);
    if (addr !== null) out.push(addr);
    i = j;
  }
  // An unterminated group still gets its end marker, so the client's parse stays balanced.
  if (inGroup) {
    if (out.length >= maxAddresses) out.length = maxAddresses - 1;
    out.push({ name: null, adl: null, mailbox: null, host: null });
  }
  return out.length > 0 ? out : null;
}

/** name-addr: display name in [from, lt), angle-addr from lt to before `end`. */
function nameAddr(toks: Tok[], from: number, lt: number, end: number): Address {
  let k = lt + 1;
  let adl: string | null = null;
  if (isSpecial(toks[k], '@')) {
    // obs-route: "@" domain *("," "@" domain) ":"
    const routeStart = k;
    while (k < end && !isSpecial(toks[k], ':') && !isSpecial(toks[k], '>')) k++;
    if (isSpecial(toks[k], ':')) {
      adl = '';
      for (let r = routeStart; r < k; r++) if (toks[r]!.k !== K.Comment) adl += toks[r]!.v;
      k++;
    } else {
      k = routeStart;
    }
  }
  const localStart = k;
  while (k < end && !isSpecial(toks[k], '@') && !isSpecial(toks[k], '>')) k++;
  const local = localPart(toks, localStart, k);
  let host: string | null = null;
  if (isSpecial(toks[k], '@')) {
    const domStart = ++k;
    while (k < end && !isSpecial(toks[k], '>')) k++;
    host = domain(toks, domStart, k);
  }
  return { name: phrase(toks, from, lt), adl, mailbox: local ?? MISSING_MAILBOX, host: host ?? MISSING_DOMAIN };
}

/** addr-spec (or a bare word): local part in [from, at), domain in (at, end); at = -1 when there is no '@'. */
function addrSpec(toks: Tok[], from: number, at: number, end: number): Address | null {
  const local = localPart(toks, from, at === -1 ? end : at);
  const host = at === -1 ? null : domain(toks, at + 1, end);
  if (local === null && host === null) return null; // only comments or stray specials
  return { name: lastComment(toks, from, end), adl: null, mailbox: local ?? MISSING_MAILBOX, host: host ?? MISSING_DOMAIN };
}
