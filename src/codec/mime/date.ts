/**
 * RFC 5322 §3.3 date-time parsing, tolerant of the obsolete forms of §4.3
 * and of what real mailers write. Pure; never throws.
 *
 *   date-time = [ day-of-week "," ] day month year hour ":" minute [ ":" second ] zone
 *
 * Tolerated: a missing or misspelt day of week; comments (`(PDT)`); two- and
 * three-digit years (§4.3: 00-49 → 20xx, 50-99 → 19xx, 3 digits + 1900);
 * alphabetic zones (UT, GMT, EST...; military letters and unknown names mean
 * +0000 as §4.3 says); a missing zone (taken as +0000); full month names;
 * the asctime order ("Mon Jan  2 15:04:05 2006"); dots or dashes between
 * day, month and year ("2-Jan-2006").
 */

export type ParsedDate = {
  /** The instant, in milliseconds since the epoch (UTC). */
  time: number;
  /** The zone offset as written, in minutes east of UTC (+0200 → 120). */
  offsetMinutes: number;
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** RFC 5322 §4.3 obs-zone, in minutes east of UTC. */
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  est: -300, edt: -240, cst: -360, cdt: -300,
  mst: -420, mdt: -360, pst: -480, pdt: -420,
};

/** Longest Date value we look at; a real one is ~40 characters. */
const MAX_DATE_CHARS = 256;

export function parseRfc5322Date(value: string): ParsedDate | null {
  const text = stripComments(value.slice(0, MAX_DATE_CHARS));
  const tokens = text.split(/[\s,]+/).filter((t) => t.length > 0);
  let day = -1;
  let month = -1;
  let year = -1;
  let hour = -1;
  let minute = -1;
  let second = 0;
  let offset: number | null = null;
  for (const raw of tokens) {
    // "2-Jan-2006" / "2.Jan.2006": split further, but keep a leading sign (a zone).
    const parts = /^[+-]/.test(raw) ? [raw] : raw.split(/[-.]/).filter((t) => t.length > 0);
    for (const tok of parts) {
      if (tok.includes(':')) {
        if (hour !== -1) continue;
        const hms = tok.split(':');
        if (hms.length < 2 || hms.length > 3 || !hms.every((p) => /^\d{1,2}$/.test(p))) continue;
        hour = Number(hms[0]);
        minute = Number(hms[1]);
        second = hms.length === 3 ? Number(hms[2]) : 0;
      } else if (/^[+-]\d{4}$/.test(tok)) {
        if (offset !== null) continue;
        const sign = tok[0] === '-' ? -1 : 1;
        const hh = Number(tok.slice(1, 3));
        const mm = Number(tok.slice(3, 5));
        if (mm > 59) continue;
        offset = sign * (hh * 60 + mm);
      } else if (/^\d+$/.test(tok)) {
        const v = Number(tok);
        if (day === -1 && tok.length <= 2 && v >= 1 && v <= 31) day = v;
        else if (year === -1 && tok.length <= 4) year = tok.length === 4 ? v : tok.length === 3 ? v + 1900 : v < 50 ? 2000 + v : 1900 + v;
      } else if (/^[A-Za-z]+$/.test(tok)) {
        const lower = tok.toLowerCase();
        const m = lower.length >= 3 ? MONTHS.indexOf(lower.slice(0, 3)) : -1;
        if (month === -1 && m !== -1) {
          month = m;
        } else if (offset === null && hour !== -1) {
          // A zone name after the time; unknown names (military letters included) are +0000 (§4.3).
          offset = ZONES[lower] ?? 0;
        }
      }
    }
  }
  if (day === -1 || month === -1 || year === -1) return null;
  if (hour === -1) {
    hour = 0;
    minute = 0;
  }
  if (hour > 23 || minute > 59 || second > 60) return null;
  if (day > daysIn(year, month)) return null;
  // A leap second is folded into the next-lower second, as Date cannot hold it.
  const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  const off = offset ?? 0;
  const time = utc - off * 60_000;
  if (!Number.isFinite(time)) return null;
  return { time, offsetMinutes: off };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

function stripComments(s: string): string {
  if (!s.includes('(')) return s;
  let out = '';
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && depth > 0) {
      i++;
    } else if (c === '(') {
      depth++;
      out += ' ';
    } else if (c === ')' && depth > 0) {
      depth--;
    } else if (depth === 0) {
      out += c;
    }
  }
  return out;
}
