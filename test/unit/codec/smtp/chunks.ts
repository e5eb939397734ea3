/** Test helpers shared by the SMTP codec tests (not a test file itself). */
import fc from 'fast-check';

/** Cuts `buf` at the given positions (taken modulo its length, deduplicated): every byte exactly once, in order. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  if (buf.length === 0) return [buf];
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(buf.subarray(from, p)); // empty chunks on purpose: they must be harmless
    from = p;
  }
  out.push(buf.subarray(from));
  return out;
}

/** Cut points for splitAt. */
export const cutsArb = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 });

/** Byte strings rich in the characters that matter to SMTP framing. */
export const smtpishBytes = fc
  .array(fc.constantFrom('a', 'Z', ' ', '.', '..', '\r', '\n', '\r\n', '\r\n.', '.\r\n', '\r\n.\r\n', '\u00e9', '\0', 'xyz'), { maxLength: 40 })
  .map((parts) => Buffer.from(parts.join(''), 'utf8'));

export const concat = (bufs: Buffer[]): Buffer => Buffer.concat(bufs);
