/**
 * A deterministic generator of realistic mail for benchmarks and tests.
 *
 * Why not random bytes or one fixed sample: the store snappy-compresses bodies
 * and the workers parse MIME, so both the compression ratio and the structure
 * of the corpus decide what a benchmark measures. Prose is drawn from a word
 * list with Zipf-like frequencies (compresses like English), attachments are
 * random bytes (compress like the JPEGs and ZIPs people really send), and the
 * MIME shapes are the three that dominate real mailboxes.
 *
 * Every message is a complete RFC 5322 message: header block, blank line,
 * body; CRLF line endings only; lines mostly under 78 columns and never near
 * the 998 limit (the longest are Received hops and tracking URLs). The same
 * seed always gives the same bytes, on Node and on Bun: only the seeded PRNG
 * (mulberry32, shared with src/loadgen) is used, never Math.random or the clock.
 */
import { mulberry32 } from '../src/loadgen/message.js';

export { mulberry32 };

/** A PRNG returning floats in [0, 1). */
export type Rng = () => number;

export type MessageKind = 'plain' | 'html' | 'attachment';
export const MESSAGE_KINDS: readonly MessageKind[] = ['plain', 'html', 'attachment'];

/** Relative weights per kind (they need not sum to 1). */
export type Mix = Partial<Record<MessageKind, number>>;

/** Most mail is text; attachments are rarer but carry most of the bytes. */
export const TEXT_HEAVY_MIX: Readonly<Record<MessageKind, number>> = { plain: 0.6, html: 0.3, attachment: 0.1 };

/** The sizes the benchmarks talk about (1 KB = 1024 bytes, as in SPEC §2). */
export const SIZES = { '1k': 1024, '4k': 4096, '64k': 65536 } as const;

export interface CorpusOptions {
  count: number;
  seed: number;
  /** Default TEXT_HEAVY_MIX. Counts are allocated exactly (largest remainder), then shuffled. */
  mix?: Mix;
  /** Target bytes for every message, or a list to pick from per message; absent = natural sizes. */
  size?: number | readonly number[];
}

export function generateCorpus(opts: CorpusOptions): Buffer[] {
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`count must be a non-negative integer, got ${opts.count}`);
  const rng = mulberry32(opts.seed);
  const kinds = allocateKinds(rng, opts.count, opts.mix ?? TEXT_HEAVY_MIX);
  return kinds.map((kind) => {
    const size = typeof opts.size === 'number' ? opts.size : opts.size ? pick(rng, opts.size) : undefined;
    // Each message gets its own stream, so changing one generator's appetite
    // for random numbers doesn't reshuffle every message after it.
    return generateMessage(mulberry32(u32(rng)), kind, size);
  });
}

/**
 * One message of the given kind. With targetSize, the body is padded or
 * trimmed so the whole message is within a few bytes of it (never more than
 * a few % off for targets of 1 KB and up); without, sizes vary naturally.
 */
export function generateMessage(rng: Rng, kind: MessageKind, targetSize?: number): Buffer {
  switch (kind) {
    case 'plain':
      return plainMessage(rng, targetSize);
    case 'html':
      return htmlMessage(rng, targetSize);
    case 'attachment':
      return attachmentMessage(rng, targetSize);
  }
}

// ---------------------------------------------------------------- kinds

/** Below this the optional parts (quoted reply, signature, extra hops, CSS) no longer fit. */
const LEAN_BELOW = 2048;

function plainMessage(rng: Rng, target: number | undefined): Buffer {
  const lean = target !== undefined && target < LEAN_BELOW;
  const from = person(rng);
  const to = person(rng);
  const reply = !lean && rng() < 0.5;
  const date = randomDate(rng);
  const head = headerBlock(rng, {
    from: from.mailbox, to: to.mailbox, date, lean, fromDomain: from.domain, rcpt: to.address,
    subject: (reply ? 'Re: ' : '') + subjectLine(rng),
    extra: reply ? [`In-Reply-To: ${messageId(rng, to.domain)}`] : [],
    contentType: ['text/plain; charset=utf-8', '7bit'],
  });
  const greeting = `${pick(rng, GREETINGS)} ${to.first},\r\n\r\n`;
  const signoff = `\r\n${pick(rng, CLOSINGS)},\r\n${from.first}\r\n`;
  const signature = lean ? '' : `\r\n-- \r\n${from.name}\r\n${pick(rng, TITLES)}, ${from.company}\r\n+1 555 01${int(rng, 10, 99)}\r\n`;
  let quoted = '';
  if (reply) {
    const size = target !== undefined ? Math.floor(target * (0.15 + 0.2 * rng())) : logUniform(rng, 200, 3000);
    quoted = `\r\nOn ${formatDate(date.ms - int(rng, 1, 72) * 3_600_000, date.zone)}, ${to.name} <${to.address}> wrote:\r\n` + quote(prose(rng, size));
  }
  const fixed = bytes(head, greeting, signoff, signature, quoted);
  const own = target !== undefined ? target - fixed : logUniform(rng, 150, 4000);
  return concat(head, greeting, prose(rng, own), signoff, signature, quoted);
}

function htmlMessage(rng: Rng, target: number | undefined): Buffer {
  const lean = target !== undefined && target < LEAN_BELOW;
  // Mailers split roughly this way; 8bit parts carry raw UTF-8.
  const qp = rng() < 0.7;
  const encode = qp ? qpEncode : (s: string) => s;
  const cte = qp ? 'quoted-printable' : '8bit';
  const brand = pick(rng, BRANDS);
  const domain = pick(rng, NEWSLETTER_DOMAINS);
  const to = person(rng);
  const boundary = mimeBoundary(rng, lean);
  const subject = lean ? `${brand}: ${capitalize(words(rng, int(rng, 2, 4)))}` : `${brand} ${pick(rng, NEWSLETTER_KINDS)}: ${subjectLine(rng)}`;
  const head = headerBlock(rng, {
    from: `${brand} <newsletter@${domain}>`, to: to.mailbox, date: randomDate(rng), lean, fromDomain: domain, rcpt: to.address,
    subject,
    extra: lean ? [] : [`List-Id: ${brand} <newsletter.${domain}>`, `List-Unsubscribe: <https://${domain}/u/${hex(rng, 16)}>`],
    contentType: [`multipart/alternative;\r\n\tboundary="${boundary}"`, null],
  });
  const part = (type: string) => `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`;
  const preamble = lean ? '' : 'This is a multi-part message in MIME format.\r\n\r\n';
  const top = newsletterTop(rng, brand, subject, domain, lean);
  const bottom = newsletterBottom(rng, brand, domain, lean);
  const filler = lean ? ['<p>\r\n', '</p>\r\n'] : ['<tr>\r\n<td style="padding:0 32px 24px;font-size:15px;line-height:24px;color:#374151;">\r\n', '</td>\r\n</tr>\r\n'];
  // Parts are kept encoded block by block, which is exact: every block ends
  // with CRLF, and quoted-printable starts afresh at each hard line break.
  const text: string[] = [encode(top.text)];
  const html: string[] = [encode(top.html)];
  const tail = [encode(bottom.text), encode(bottom.html), encode(filler[0]! + filler[1]!)];
  let fixed = bytes(head, preamble, part('text/plain'), part('text/html'), `--${boundary}--\r\n`, ...text, ...html, ...tail);
  const sections = target === undefined ? int(rng, 2, 6) : Infinity;
  for (let i = 0; i < sections; i++) {
    const s = newsSection(rng, domain);
    const encoded = [encode(s.text), encode(s.html)] as const;
    const size = bytes(...encoded);
    if (target !== undefined && fixed + size > target - 200) break;
    text.push(encoded[0]);
    html.push(encoded[1]);
    fixed += size;
  }
  // The filler prose goes into both parts, and it is pure ASCII in lines under
  // 76 columns without '=', so quoted-printable leaves it as it is.
  const filled = prose(rng, target !== undefined ? Math.floor((target - fixed) / 2) : logUniform(rng, 100, 800));
  text.push(filled, tail[0]!);
  html.push(encode(filler[0]!) + filled + encode(filler[1]!), tail[1]!);
  return concat(head, preamble, part('text/plain'), ...text, part('text/html'), ...html, `--${boundary}--\r\n`);
}

function attachmentMessage(rng: Rng, target: number | undefined): Buffer {
  const lean = target !== undefined && target < LEAN_BELOW;
  const from = person(rng);
  const to = person(rng);
  const file = pick(rng, FILE_TYPES);
  const name = `${pick(rng, FILE_STEMS)}-${int(rng, 1, 12)}.${file.ext}`;
  const boundary = mimeBoundary(rng, lean);
  const head = headerBlock(rng, {
    from: from.mailbox, to: to.mailbox, date: randomDate(rng), lean, fromDomain: from.domain, rcpt: to.address,
    subject: `${pick(rng, ATTACHMENT_SUBJECTS)} ${name}`,
    extra: [],
    contentType: [`multipart/mixed;\r\n\tboundary="${boundary}"`, null],
  });
  const note = lean ? 0 : target !== undefined ? Math.min(600, Math.floor(target * 0.05)) : logUniform(rng, 80, 1200);
  const textPart = `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n`
    + `${pick(rng, GREETINGS)} ${to.first},\r\n\r\nPlease find ${name} attached.\r\n\r\n${prose(rng, note)}${note > 0 ? '\r\n' : ''}`
    + `${pick(rng, CLOSINGS)},\r\n${from.first}\r\n`;
  const attHead = `--${boundary}\r\nContent-Type: ${file.type};\r\n\tname="${name}"\r\n`
    + `Content-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`;
  const end = `--${boundary}--\r\n`;
  const raw = target !== undefined ? rawBytesForBase64(target - bytes(head, textPart, attHead, end)) : logUniform(rng, 8 << 10, 192 << 10);
  return concat(head, textPart, attHead, base64Lines(randomFile(rng, file.magic, raw)), end);
}

// ---------------------------------------------------------------- headers

interface Person { first: string; name: string; address: string; mailbox: string; domain: string; company: string }

function person(rng: Rng): Person {
  const first = pick(rng, FIRST_NAMES);
  const last = pick(rng, LAST_NAMES);
  const domain = pick(rng, DOMAINS);
  const address = `${first.toLowerCase()}.${last.toLowerCase()}@${domain}`;
  const company = `${capitalize(domain.split('.')[0]!)} ${pick(rng, ['Ltd', 'Inc', 'GmbH', 'Group', 'Labs'])}`;
  return { first, name: `${first} ${last}`, address, mailbox: `${first} ${last} <${address}>`, domain, company };
}

interface HeaderInput {
  from: string;
  to: string;
  rcpt: string;
  fromDomain: string;
  subject: string;
  date: MailDate;
  lean: boolean;
  extra: string[];
  /** [Content-Type value, Content-Transfer-Encoding or null]. */
  contentType: [string, string | null];
}

function headerBlock(rng: Rng, h: HeaderInput): string {
  const hops = h.lean ? 1 : int(rng, 2, 4);
  const lines: string[] = [];
  // Each hop prepends its Received header, so the newest (latest) is on top.
  let ms = h.date.ms;
  for (let i = 0; i < hops; i++) lines.unshift(received(rng, h.rcpt, (ms += int(rng, 1, 30) * 1000), h.date.zone, h.lean));
  lines.push(`Date: ${h.date.text}`, `From: ${h.from}`, `To: ${h.to}`, `Subject: ${h.subject}`, `Message-ID: ${messageId(rng, h.fromDomain)}`);
  lines.push(...h.extra, 'MIME-Version: 1.0', `Content-Type: ${h.contentType[0]}`);
  if (h.contentType[1] !== null) lines.push(`Content-Transfer-Encoding: ${h.contentType[1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

function received(rng: Rng, rcpt: string, ms: number, zone: number, lean: boolean): string {
  const host = `mail-${pick(rng, ['ed1', 'wr1', 'lf1', 'pj1', 'qt1'])}-f${int(rng, 10, 99)}.${pick(rng, DOMAINS)}`;
  const ip = `${pick(rng, ['192.0.2', '198.51.100', '203.0.113'])}.${int(rng, 1, 254)}`;
  const by = `by mx${int(rng, 1, 4)}.${rcpt.split('@')[1]} with ESMTPS id ${hex(rng, 12).toUpperCase()}`;
  // The lean form (no reverse name, no `for`) is still valid and saves ~70 bytes for 1 KB targets.
  return lean
    ? `Received: from ${host} ([${ip}])\r\n\t${by}; ${formatDate(ms, zone)}`
    : `Received: from ${host} (${host} [${ip}])\r\n\t${by}\r\n\tfor <${rcpt}>; ${formatDate(ms, zone)}`;
}

function messageId(rng: Rng, domain: string): string {
  return `<${u32(rng).toString(36)}${u32(rng).toString(36)}.${hex(rng, 8)}@${domain}>`;
}

function mimeBoundary(rng: Rng, lean: boolean): string {
  return lean ? `=_${hex(rng, 12)}` : `----=_Part_${int(rng, 1000, 99999)}_${hex(rng, 8)}.${hex(rng, 8)}`;
}

interface MailDate { ms: number; zone: number; text: string }

/** A moment in 2024, in one of the zones mail commonly comes from. */
function randomDate(rng: Rng): MailDate {
  const ms = Date.UTC(2024, 0, 1) + Math.floor(rng() * 366 * 86400) * 1000;
  const zone = pick(rng, [0, 0, 60, 120, 180, -300, -480, 330, 540]);
  return { ms, zone, text: formatDate(ms, zone) };
}

function formatDate(ms: number, zoneMinutes: number): string {
  const d = new Date(ms + zoneMinutes * 60_000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const z = Math.abs(zoneMinutes);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} `
    + `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${zoneMinutes < 0 ? '-' : '+'}${p2(Math.floor(z / 60))}${p2(z % 60)}`;
}

// ---------------------------------------------------------------- newsletter HTML

interface Block { text: string; html: string }

function newsletterTop(rng: Rng, brand: string, subject: string, domain: string, lean: boolean): Block {
  if (lean) return { text: '', html: '<html><body style="font-family:Arial,sans-serif;">\r\n' };
  const html = [
    '<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">', `<title>${subject}</title>`, '<style>',
    'body { margin: 0; padding: 0; background: #f3f4f6; }',
    'a { color: #2563eb; }',
    '.wrapper { width: 100%; table-layout: fixed; }',
    '@media only screen and (max-width: 620px) { .container { width: 100% !important; } }',
    '</style>', '</head>',
    '<body style="margin:0;padding:0;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;">',
    '<table role="presentation" class="wrapper" width="100%" cellpadding="0" cellspacing="0">',
    '<tr><td align="center">',
    '<table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;">',
    `<tr><td style="padding:24px 32px;"><img src="https://cdn.${domain}/logo-${hex(rng, 6)}.png" width="140" height="40" alt="${brand}" style="display:block;border:0;"></td></tr>`,
  ];
  return { text: `${brand} \u2014 ${subject}\r\nView in browser: https://${domain}/view/${hex(rng, 16)}\r\n\r\n`, html: html.join('\r\n') + '\r\n' };
}

function newsSection(rng: Rng, domain: string): Block {
  const title = capitalize(words(rng, int(rng, 3, 7)));
  const body = paragraphLines(rng, int(rng, 2, 4)).join('\r\n') + '\r\n';
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const query = `utm_source=newsletter&utm_medium=email&utm_campaign=${hex(rng, 6)}`;
  const url = `https://${domain}/articles/${slug}`;
  const image = rng() < 0.4
    ? `<img src="https://cdn.${domain}/img/${hex(rng, 10)}.jpg" width="536" height="240" alt="${title}"\r\n style="display:block;border:0;width:100%;height:auto;margin:0 0 16px;">\r\n`
    : '';
  const html = '<tr>\r\n<td style="padding:24px 32px;border-bottom:1px solid #e5e7eb;">\r\n'
    + `<h2 style="margin:0 0 12px;font-size:20px;line-height:28px;color:#111827;">${title}</h2>\r\n${image}`
    + `<p style="margin:0 0 16px;font-size:15px;line-height:24px;color:#374151;">\r\n${body}</p>\r\n`
    + `<a href="${url}?${query.replace(/&/g, '&amp;')}"\r\n style="color:#2563eb;text-decoration:underline;">Read more &rarr;</a>\r\n</td>\r\n</tr>\r\n`;
  return { text: `${title}\r\n${'-'.repeat(title.length)}\r\n${body}Read more: ${url}?${query}\r\n\r\n`, html };
}

function newsletterBottom(rng: Rng, brand: string, domain: string, lean: boolean): Block {
  const unsubscribe = `https://${domain}/unsubscribe?u=${hex(rng, 16)}`;
  if (lean) return { text: `\r\nUnsubscribe: ${unsubscribe}\r\n`, html: `<a href="${unsubscribe}">Unsubscribe</a>\r\n</body></html>\r\n` };
  const html = [
    '<tr><td style="padding:24px 32px;font-size:12px;line-height:18px;color:#6b7280;">',
    `You are receiving this email because you subscribed to ${brand}.<br>`,
    `<a href="${unsubscribe}" style="color:#6b7280;">Unsubscribe</a> &middot;`,
    `<a href="https://${domain}/preferences" style="color:#6b7280;">Preferences</a><br>`,
    `${brand} \u2014 ${int(rng, 1, 200)} Example Street, Springfield \u00b7 \u00a9 2024`,
    '</td></tr>', '</table>', '</td></tr>', '</table>', '</body>', '</html>',
  ];
  return {
    text: `--\r\nYou are receiving this email because you subscribed to ${brand}.\r\nUnsubscribe: ${unsubscribe}\r\n`,
    html: html.join('\r\n') + '\r\n',
  };
}

// ---------------------------------------------------------------- prose

/**
 * Paragraphs of prose wrapped at 72 columns, exactly n bytes long when n >= 4
 * (else empty): whole lines up to the budget, then one line built to the
 * exact remaining length. Always ASCII, ends with CRLF.
 */
function prose(rng: Rng, n: number): string {
  if (n < 4) return '';
  const lines: string[] = [];
  let size = 0;
  while (size < n) {
    if (lines.length > 0) { lines.push(''); size += 2; }
    for (const line of paragraphLines(rng, int(rng, 2, 5))) { lines.push(line); size += line.length + 2; }
  }
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + lines[kept]!.length + 2 <= n) used += lines[kept++]!.length + 2;
  const out = lines.slice(0, kept);
  if (n - used >= 4) {
    const line = exactLine(rng, n - used - 2);
    // Continuing a cut-off sentence: no capital letter.
    const prev = out[out.length - 1];
    out.push(prev && !/[.?!]$/.test(prev) && !/^I\b/.test(line) ? line.charAt(0).toLowerCase() + line.slice(1) : line);
  } else if (out[out.length - 1] === '') out.pop(); // never end on a blank line
  return out.length > 0 ? out.join('\r\n') + '\r\n' : '';
}

/** A sentence-like line of exactly k >= 2 characters. */
function exactLine(rng: Rng, k: number): string {
  let line = '';
  for (;;) {
    const sep = line ? 1 : 0;
    const want = k - line.length - sep - 1; // letters of a last word that ends with '.'
    if (want >= 1 && want <= MAX_FILL) { line += (sep ? ' ' : '') + pick(rng, BY_LENGTH[want]!) + '.'; break; }
    if (want < 1) { line += '.'.repeat(k - line.length); break; }
    const w = word(rng);
    if (w.length <= want - 2) line += (sep ? ' ' : '') + w; // leaves room for ' x.'
  }
  return capitalize(line);
}

/** A paragraph of sentences, wrapped at 72 columns as it is written (no join-then-split). */
function paragraphLines(rng: Rng, sentences: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let s = 0; s < sentences; s++) {
    const n = 4 + int(rng, 0, 7) + int(rng, 0, 7); // 4..18 words, mostly around 11
    for (let i = 0; i < n; i++) {
      let w = word(rng);
      if (i === 0) w = capitalize(w);
      if (i < n - 1) {
        if (rng() < 0.07) w += ',';
      } else {
        const r = rng();
        w += r < 0.86 ? '.' : r < 0.96 ? '?' : '!';
      }
      if (line.length === 0) line = w;
      else if (line.length + 1 + w.length > 72) { lines.push(line); line = w; }
      else line += ' ' + w;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function words(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(word(rng));
  return out.join(' ');
}

/** Zipf-Mandelbrot sample from WORDS (rank r has weight 1 / (r + 2.7)) via a lookup table: one multiply per word. */
function word(rng: Rng): string {
  return WORDS[ZIPF_TABLE[Math.floor(rng() * ZIPF_TABLE.length)]!]!;
}

function quote(text: string): string {
  return text.split('\r\n').slice(0, -1).map((l) => (l ? `> ${l}` : '>')).join('\r\n') + (text ? '\r\n' : '');
}

// ---------------------------------------------------------------- encodings

const QP_SAFE = /^(?:[\x21-\x3c\x3e-\x7e \t]*[\x21-\x3c\x3e-\x7e])?$/;

/** Quoted-printable (RFC 2045 §6.7) over UTF-8, soft breaks keep lines <= 76. */
function qpEncode(text: string): string {
  return text.split('\r\n').map((line) => {
    // Most lines (all prose) are short printable ASCII without '=': they encode to themselves.
    if (line.length <= 76 && QP_SAFE.test(line)) return line;
    // Byte-wise into a buffer: string-building per character was the generator's hot spot.
    const b = Buffer.from(line, 'utf8');
    const out = Buffer.allocUnsafe(b.length * 3 + Math.ceil(b.length / 25) * 3);
    let o = 0;
    let col = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      const literal = (c >= 33 && c <= 126 && c !== 61) || ((c === 32 || c === 9) && i < b.length - 1);
      const width = literal ? 1 : 3;
      if (col + width > 75) { out[o++] = 61; out[o++] = 13; out[o++] = 10; col = 0; } // soft break "=\r\n"
      if (literal) out[o++] = c;
      else { out[o++] = 61; out[o++] = HEX.charCodeAt(c >> 4); out[o++] = HEX.charCodeAt(c & 15); }
      col += width;
    }
    return out.toString('latin1', 0, o);
  }).join('\r\n');
}

const HEX = '0123456789ABCDEF';

function base64Lines(data: Buffer): string {
  const s = data.toString('base64');
  let out = '';
  for (let i = 0; i < s.length; i += 76) out += s.slice(i, i + 76) + '\r\n';
  return out;
}

/** How many raw bytes encode to at most `budget` bytes of 76-column base64 lines. */
function rawBytesForBase64(budget: number): number {
  const full = Math.floor(budget / 78); // 57 raw bytes = 76 chars + CRLF
  const rest = budget - full * 78;
  const tail = rest >= 6 ? Math.floor((rest - 2) / 4) * 3 : 0;
  return Math.max(16, full * 57 + tail);
}

/** A real file's magic number, then noise: it compresses as little as JPEG or ZIP data. */
function randomFile(rng: Rng, magic: readonly number[], n: number): Buffer {
  const data = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const v = u32(rng);
    for (let j = 0; j < 4 && i + j < n; j++) data[i + j] = (v >>> (8 * j)) & 0xff;
  }
  for (let i = 0; i < magic.length && i < n; i++) data[i] = magic[i]!;
  return data;
}

// ---------------------------------------------------------------- small helpers

function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.round(lo * Math.pow(hi / lo, rng()));
}

function u32(rng: Rng): number {
  return Math.floor(rng() * 4294967296) >>> 0;
}

function hex(rng: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += u32(rng).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function bytes(...parts: string[]): number {
  let n = 0;
  for (const p of parts) n += Buffer.byteLength(p, 'utf8');
  return n;
}

function concat(...parts: string[]): Buffer {
  return Buffer.from(parts.join(''), 'utf8');
}

function allocateKinds(rng: Rng, count: number, mix: Mix): MessageKind[] {
  const weights = MESSAGE_KINDS.map((k) => mix[k] ?? 0);
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.some((w) => !(w >= 0)) || !(total > 0)) throw new RangeError('mix needs non-negative weights with a positive sum');
  const exact = weights.map((w) => (w / total) * count);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let left = count - counts.reduce((a, b) => a + b, 0), j = 0; left > 0; left--, j++) counts[order[j]![1]] += 1;
  const kinds = MESSAGE_KINDS.flatMap((k, i) => Array<MessageKind>(counts[i]!).fill(k));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds;
}

// ---------------------------------------------------------------- vocabularies

// Roughly in order of frequency in everyday business mail.
const WORDS = (
  'the to and of a I you in for is that it we on this be with have are will as at your our not can if me my please ' +
  'from or all do an by so would was know let about but just more like any also there what get need they time one up ' +
  'out new us thanks were been has which when here next some should could them see make week work team send had today ' +
  'their other following take now only into help first ahead than these back update through well after meeting project ' +
  'report review call thank then good over how day sure question still going look may changes attached working issue ' +
  'best again data before last find way because who very those customer email plan end two information number used ' +
  'client office set three check note within each while same both many since where around access order document ' +
  'people service account system available provide discuss able further support due process already confirm around ' +
  'release schedule budget deadline tomorrow morning afternoon contract invoice version server feedback proposal ' +
  'quarter results agenda draft approval details request changes testing deployment customers product design ' +
  'numbers figures estimate forward regarding attached everyone meanwhile however actually probably quickly ' +
  'important department discussion understand especially requirements documentation implementation communication ' +
  'responsible possible finance marketing sales legal weekly monthly priority progress status timeline resources ' +
  'analysis summary'
).split(' ');

/** 64 Ki slots, each word getting a share proportional to its weight (the rarest still get ~30 slots). */
const ZIPF_TABLE = ((): Uint16Array => {
  const weights = WORDS.map((_, r) => 1 / (r + 2.7));
  const total = weights.reduce((a, b) => a + b, 0);
  const table = new Uint16Array(65536);
  let slot = 0;
  let acc = 0;
  weights.forEach((w, r) => {
    acc += w;
    const end = r === weights.length - 1 ? table.length : Math.round((acc / total) * table.length);
    table.fill(r, slot, end);
    slot = end;
  });
  return table;
})();

/** Words by length, to finish a line at an exact column. */
const MAX_FILL = 10;
const BY_LENGTH: string[][] = Array.from({ length: MAX_FILL + 1 }, (_, n) => WORDS.filter((w) => w.length === n));

const GREETINGS = ['Hi', 'Hello', 'Dear', 'Hey', 'Good morning'];
const CLOSINGS = ['Best regards', 'Thanks', 'Kind regards', 'Cheers', 'Best', 'Regards'];
const TITLES = ['Project Manager', 'Senior Engineer', 'Account Director', 'Operations Lead', 'Financial Analyst', 'Head of Sales'];
const FIRST_NAMES = ['Anna', 'Oleg', 'Maria', 'James', 'Elena', 'Peter', 'Olga', 'David', 'Sofia', 'Ivan', 'Laura', 'Mark', 'Nina', 'Tom', 'Irina', 'Paul'];
const LAST_NAMES = ['Ivanov', 'Petrov', 'Kozlov', 'Smith', 'Johnson', 'Garcia', 'Mueller', 'Rossi', 'Novak', 'Brown', 'Sokolova', 'Martin', 'Lee', 'Dubois'];
const DOMAINS = ['example.org', 'example.com', 'example.net', 'corp.example.com', 'mail.example.org', 'example.co.uk'];
const NEWSLETTER_DOMAINS = ['news.example.com', 'mailer.example.net', 'info.example.org', 'lists.example.com'];
const BRANDS = ['Acme', 'Northwind', 'Contoso', 'Fabrikam', 'Tailspin Travel', 'Globex'];
const NEWSLETTER_KINDS = ['Weekly', 'Digest', 'Update', 'Newsletter'];
const ATTACHMENT_SUBJECTS = ['Attached:', 'Please review', 'FYI -', 'Updated', 'Signed copy of'];
const FILE_STEMS = ['report', 'invoice', 'contract', 'photo', 'slides', 'budget', 'scan', 'archive'];
const FILE_TYPES: readonly { ext: string; type: string; magic: readonly number[] }[] = [
  { ext: 'pdf', type: 'application/pdf', magic: [0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x0a] },
  { ext: 'jpg', type: 'image/jpeg', magic: [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00] },
  { ext: 'png', type: 'image/png', magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { ext: 'zip', type: 'application/zip', magic: [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00] },
  { ext: 'xlsx', type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', magic: [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00] },
];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function subjectLine(rng: Rng): string {
  return capitalize(words(rng, int(rng, 3, 8)));
}
