/**
 * IMAP dates (RFC 3501 §9):
 *   date      = d-MMM-yyyy, e.g. 1-Feb-1994 (SEARCH BEFORE/ON/SINCE...): a calendar day, no zone
 *   date-time = "dd-MMM-yyyy hh:mm:ss +zzzz" (APPEND, INTERNALDATE): an instant plus the zone it was written in
 * Month names are case-insensitive (ABNF strings are). Impossible days
 * (30-Feb) are refused rather than rolled over into March.
 */

export type ImapDate = { year: number; month: number /* 1-12 */; day: number };
export type DateTime = { epochMs: number; zoneMinutes: number /* east of UTC, e.g. -420 for -0700 */ };

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function monthNumber(name: string): number | null {
  const i = MONTHS.findIndex((m) => m.toLowerCase() === name.toLowerCase());
  return i === -1 ? null : i + 1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Date.UTC without its two-digit-year rule (years 0-99 would become 1900-1999). Fields must be in range. */
function utc(year: number, month: number, day: number, h: number, m: number, s: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, m, s, 0);
  return d.getTime();
}

/** `date-text` (the quotes, if any, already removed); null when malformed. */
export function parseDate(text: string): ImapDate | null {
  const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
  if (m === null) return null;
  const day = Number(m[1]);
  const month = monthNumber(m[2]!);
  const year = Number(m[3]);
  if (month === null || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** `date-time` without its quotes; null when malformed. A one-digit day without the padding space is tolerated. */
export function parseDateTime(text: string): DateTime | null {
  const m = /^( ?[0-9]|[0-9]{2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/.exec(text);
  if (m === null) return null;
  const day = Number(m[1]!.trim());
  const month = monthNumber(m[2]!);
  const year = Number(m[3]);
  const [h, min, s, zh, zm] = [m[4], m[5], m[6], m[8], m[9]].map(Number) as [number, number, number, number, number];
  if (month === null || day < 1 || day > daysInMonth(year, month)) return null;
  if (h > 23 || min > 59 || s > 60 || zh > 23 || zm > 59) return null; // s = 60: a leap second
  const zoneMinutes = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  return { epochMs: utc(year, month, day, h, min, s) - zoneMinutes * 60_000, zoneMinutes };
}
