/**
 * Sequence sets (RFC 3501 §9 sequence-set), e.g. `1,3:5,7:*`.
 *
 * A set is kept as the client wrote it: ranges whose ends are numbers or `*`
 * ("the largest number in use"), in any order. What `*` means is known only
 * against a mailbox, so the helpers take it as an argument and work on
 * intervals: `1:*` on a mailbox of four billion UIDs costs one interval, never
 * an array of four billion numbers.
 */

export type SeqNumber = number | '*';
/** A single number n is { from: n, to: n }. `from` may be larger than `to` (`*:4` is `4:*`). */
export type SeqRange = { from: SeqNumber; to: SeqNumber };
export type SequenceSet = readonly SeqRange[];
/** Inclusive [lo, hi], lo <= hi. */
export type Interval = readonly [lo: number, hi: number];

/** nz-number is a non-zero unsigned 32-bit integer. */
export const MAX_SEQ_NUMBER = 0xffffffff;

/** Parses sequence-set text; null when malformed (empty item, 0, leading zero, over 2^32-1). */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text.length === 0) return null;
  const out: SeqRange[] = [];
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    const from = parseSeqNumber(colon === -1 ? item : item.slice(0, colon));
    const to = colon === -1 ? from : parseSeqNumber(item.slice(colon + 1));
    if (from === null || to === null) return null;
    out.push({ from, to });
  }
  return out;
}

function parseSeqNumber(text: string): SeqNumber | null {
  if (text === '*') return '*';
  // digit-nz *DIGIT; ten digits already exceed 2^32-1 when the first is > 4.
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_SEQ_NUMBER ? n : null;
}

/** Sorted, merged intervals of the set, with `*` standing for `star`. No clamping. */
export function resolveSequenceSet(set: SequenceSet, star: number): Interval[] {
  const spans = set.map(({ from, to }): [number, number] => {
    const a = from === '*' ? star : from;
    const b = to === '*' ? star : to;
    return a <= b ? [a, b] : [b, a];
  });
  spans.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const span of spans) {
    const last = out[out.length - 1];
    if (last !== undefined && span[0] <= last[1] + 1) last[1] = Math.max(last[1], span[1]);
    else out.push([span[0], span[1]]);
  }
  return out;
}

/** Whether n is in the set, `*` standing for `star`. */
export function sequenceSetHas(set: SequenceSet, n: number, star: number): boolean {
  for (const { from, to } of set) {
    const a = from === '*' ? star : from;
    const b = to === '*' ? star : to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

/**
 * Message sequence numbers of a mailbox holding `count` messages: the
 * intervals, or null when the set names a number past the end, including `*`
 * in an empty mailbox. RFC 3501 §9 (seq-number) wants a tagged BAD then.
 */
export function messageNumbers(set: SequenceSet, count: number): Interval[] | null {
  for (const { from, to } of set) {
    for (const end of [from, to]) {
      if (end === '*' ? count === 0 : end > count) return null;
    }
  }
  return resolveSequenceSet(set, count);
}

/**
 * The UIDs of `uids` (ascending, as a mailbox keeps them) that the set names,
 * `*` being the largest UID present. UIDs the set names but the mailbox lacks
 * are simply absent (RFC 3501 §6.4.8: no error for UID sets). `559:*` always
 * includes the last message even when it is below 559, as §6.4.8 requires.
 * Cost: a binary search per interval plus the size of the answer.
 */
export function selectUids(set: SequenceSet, uids: readonly number[]): number[] {
  if (uids.length === 0) return [];
  const out: number[] = [];
  for (const [lo, hi] of resolveSequenceSet(set, uids[uids.length - 1]!)) {
    for (let i = lowerBound(uids, lo); i < uids.length && uids[i]! <= hi; i++) out.push(uids[i]!);
  }
  return out;
}

/** First index whose value is >= x. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
