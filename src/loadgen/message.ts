/**
 * The message `postline bench smtp` sends: a plain-text RFC 5322 message of
 * exactly the asked size (headers included), CRLF line endings, made of
 * words (so it compresses like prose, not like a run of one letter) and
 * never a line that starts with "." (nothing to dot-stuff). Deterministic
 * apart from the Date header, which the caller passes.
 *
 * Body lines are full: the word stream is cut every 78 columns (RFC 5322's
 * limit), like a base64 part. A receiver's cost grows with the number of
 * lines, so word-wrapped short lines would make every message costlier to
 * receive than smtp-source's 80-column ones, and a comparison unfair.
 */

const WORDS = (
  'the of and to in is that it was for on are as with his they be at one have this from or had by word but what some we can out ' +
  'other were all there when up use your how said an each she which do their time if will way about many then them write would ' +
  'like so these her long make thing see him two has look more day could go come did number sound no most people my over know ' +
  'water than call first who may down side been now find mail server queue message deliver mailbox folder segment'
).split(' ');

/** mulberry32: a tiny PRNG, fast, good enough statistically, and the same on every engine (the bench corpus uses it too). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LINE = 78;

export interface MessageOptions {
  from: string;
  to: string;
  /** Bytes of the whole message; raised to the headers' size plus one short line when smaller. */
  size: number;
  date: Date;
}

export function headerBlock(o: Pick<MessageOptions, 'from' | 'to' | 'date'>): string {
  return [
    `From: <${o.from}>`,
    `To: <${o.to}>`,
    'Subject: postline bench',
    `Date: ${o.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <bench.${o.date.getTime().toString(36)}@postline.invalid>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join('\r\n');
}

/** The smallest message makeMessage builds for these addresses (headers and one 1-character line). */
export function minimumSize(o: Pick<MessageOptions, 'from' | 'to' | 'date'>): number {
  return headerBlock(o).length + 3;
}

export function makeMessage(o: MessageOptions): Buffer {
  const head = headerBlock(o);
  const bodySize = Math.max(3, o.size - head.length); // at least "x\r\n"
  const next = mulberry32(0x5eed);
  const words: string[] = [];
  let chars = 0;
  const needed = Math.ceil((bodySize * LINE) / (LINE + 2)) + LINE;
  while (chars < needed) {
    const word = WORDS[Math.floor(next() * WORDS.length)]!;
    words.push(word);
    chars += word.length + 1;
  }
  const stream = words.join(' ');
  const lines: string[] = [];
  for (let at = 0; at < stream.length; at += LINE) lines.push(stream.slice(at, at + LINE));
  // Cut to the exact size, then end with CRLF. A cut between CR and LF would
  // leave a bare CR, which servers refuse: then that line loses its last
  // character to a CRLF, and the message ends with an empty line (same size).
  let text = lines.join('\r\n').slice(0, bodySize - 2);
  if (text.endsWith('\r')) text = text.slice(0, -2) + '\r\n';
  return Buffer.from(head + text + '\r\n', 'latin1');
}
