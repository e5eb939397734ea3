/** The message body the crash child writes for an id; the checker recomputes it. */
export const CRASH_USER = 'crash@example.org';

export function crashBody(id: string): Buffer {
  const n = id.split('.').reduce((a, p) => a * 31 + Number(p), 7) % 97;
  return Buffer.from(`From: a@example.org\r\nSubject: ${id}\r\n\r\n${`body of ${id} `.repeat(20 + n)}\r\n`);
}

/** Flags that encode a version 0..15 in four keyword bits (a folder has room for only 27 keywords). */
export function versionFlags(k: number): string[] {
  return ['\\Seen', ...[0, 1, 2, 3].filter((b) => k & (1 << b)).map((b) => `b${b}`)];
}

export function versionOf(flags: string[]): number {
  return [0, 1, 2, 3].reduce((v, b) => (flags.includes(`b${b}`) ? v | (1 << b) : v), 0);
}
