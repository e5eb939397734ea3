import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { generateCorpus, generateMessage, mulberry32, MESSAGE_KINDS, SIZES, type MessageKind } from '../../../bench/corpus.js';

const TARGETS = [SIZES['1k'], SIZES['4k'], SIZES['64k']];

/** Every message shape the generator can produce: each kind, natural and at each target size. */
function sample(): { label: string; msg: Buffer }[] {
  const out: { label: string; msg: Buffer }[] = [];
  for (const kind of MESSAGE_KINDS) {
    for (let seed = 0; seed < 8; seed++) {
      out.push({ label: `${kind} seed ${seed} natural`, msg: generateMessage(mulberry32(seed), kind) });
      for (const t of TARGETS) out.push({ label: `${kind} seed ${seed} ${t}`, msg: generateMessage(mulberry32(seed), kind, t) });
    }
  }
  return out;
}

function split(msg: Buffer): { headers: string; body: string } {
  const s = msg.toString('latin1');
  const end = s.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'no blank line after the header block');
  return { headers: s.slice(0, end + 2), body: s.slice(end + 4) };
}

function header(headers: string, name: string): string | undefined {
  const unfolded = headers.replace(/\r\n[ \t]/g, ' ');
  const m = new RegExp(`^${name}: (.*)$`, 'im').exec(unfolded);
  return m?.[1];
}

function kindOf(msg: Buffer): MessageKind {
  const ct = header(split(msg).headers, 'Content-Type') ?? '';
  if (ct.startsWith('text/plain')) return 'plain';
  if (ct.startsWith('multipart/alternative')) return 'html';
  if (ct.startsWith('multipart/mixed')) return 'attachment';
  throw new Error(`unexpected Content-Type ${ct}`);
}

test('the same seed gives the same corpus, another seed a different one', () => {
  const a = generateCorpus({ count: 30, seed: 42 });
  const b = generateCorpus({ count: 30, seed: 42 });
  const c = generateCorpus({ count: 30, seed: 43 });
  assert.equal(a.length, 30);
  assert.ok(a.every((m, i) => m.equals(b[i]!)));
  assert.ok(!a.every((m, i) => m.equals(c[i]!)));
  assert.ok(generateMessage(mulberry32(7), 'html', 4096).equals(generateMessage(mulberry32(7), 'html', 4096)));
});

test('only CRLF ends a line; no line exceeds 998 octets; the message ends with CRLF', () => {
  for (const { label, msg } of sample()) {
    const s = msg.toString('latin1');
    assert.doesNotMatch(s, /\r(?!\n)|(?<!\r)\n/, `${label}: bare CR or LF`);
    const lines = s.split('\r\n');
    assert.equal(lines.pop(), '', `${label}: does not end with CRLF`);
    const longest = Math.max(...lines.map((l) => l.length));
    assert.ok(longest <= 998, `${label}: line of ${longest} octets`);
  }
});

test('header block is well formed and carries the usual fields', () => {
  for (const { label, msg } of sample()) {
    const { headers } = split(msg);
    for (const line of headers.split('\r\n').slice(0, -1)) {
      assert.match(line, /^([!-9;-~]+: .*|[ \t].*\S.*)$/, `${label}: bad header line ${JSON.stringify(line)}`);
    }
    for (const name of ['Received', 'Date', 'From', 'To', 'Subject', 'Message-ID', 'MIME-Version', 'Content-Type']) {
      assert.ok(header(headers, name) !== undefined, `${label}: no ${name}`);
    }
    assert.match(header(headers, 'Date')!, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
    assert.match(header(headers, 'Message-ID')!, /^<[^<>@\s]+@[^<>@\s]+>$/);
    assert.ok(/^[\x20-\x7e\r\n\t]*$/.test(headers), `${label}: non-ASCII header`);
  }
});

test('sizes land within 3% of 1 KB, 4 KB and 64 KB targets for every kind', () => {
  for (const kind of MESSAGE_KINDS) {
    for (const target of TARGETS) {
      for (let seed = 0; seed < 25; seed++) {
        const size = generateMessage(mulberry32(seed), kind, target).length;
        assert.ok(Math.abs(size - target) <= target * 0.03, `${kind} seed ${seed}: ${size} bytes for a ${target}-byte target`);
      }
    }
  }
});

test('the default mix is text-heavy and has every kind; mix and size options are honoured', () => {
  const counts = { plain: 0, html: 0, attachment: 0 };
  for (const m of generateCorpus({ count: 100, seed: 1 })) counts[kindOf(m)]++;
  assert.deepEqual(counts, { plain: 60, html: 30, attachment: 10 });

  const plainOnly = generateCorpus({ count: 10, seed: 2, mix: { plain: 1 }, size: 4096 });
  assert.ok(plainOnly.every((m) => kindOf(m) === 'plain' && Math.abs(m.length - 4096) < 123));

  const sized = generateCorpus({ count: 40, seed: 3, size: [1024, 65536] });
  const buckets = new Set(sized.map((m) => (m.length < 2048 ? 1024 : 65536)));
  assert.deepEqual([...buckets].sort((a, b) => a - b), [1024, 65536]);
  assert.throws(() => generateCorpus({ count: 1, seed: 1, mix: { plain: 0 } }), RangeError);
});

test('multipart messages are well formed: delimiters, part headers, encodings', () => {
  for (const { label, msg } of sample()) {
    const kind = kindOf(msg);
    if (kind === 'plain') continue;
    const { headers, body } = split(msg);
    const boundary = /boundary="([^"]+)"/.exec(header(headers, 'Content-Type')!)![1]!;
    assert.ok(body.endsWith(`\r\n--${boundary}--\r\n`), `${label}: no close delimiter`);
    const parts = body.split(`--${boundary}`).slice(1, -1);
    assert.equal(parts.length, 2, `${label}: expected 2 parts`);
    for (const part of parts) {
      assert.ok(part.startsWith('\r\nContent-Type: '), `${label}: part without Content-Type`);
      assert.ok(part.includes('\r\n\r\n'), `${label}: part without blank line`);
    }
    const encoded = parts.filter((p) => /Content-Transfer-Encoding: quoted-printable/.test(p));
    for (const p of encoded) {
      for (const line of p.split('\r\n')) assert.ok(line.length <= 76, `${label}: QP line of ${line.length}`);
    }
    if (kind === 'html') assert.match(parts[1]!, /Content-Type: text\/html/);
  }
});

test('attachments are 76-column base64 of data that barely compresses', () => {
  // Headers and the covering note take a fixed ~1.5 KB; the rest is the file.
  for (const [target, share] of [[4096, 0.3], [65536, 0.7]] as const) {
    const msg = generateMessage(mulberry32(9), 'attachment', target);
    const { body } = split(msg);
    const b64 = body.split('Content-Transfer-Encoding: base64\r\n\r\n')[1]!.split('\r\n--')[0]!;
    const lines = b64.split('\r\n').filter(Boolean);
    assert.ok(lines.slice(0, -1).every((l) => l.length === 76));
    assert.ok(lines.every((l) => /^[A-Za-z0-9+/]+=*$/.test(l)));
    const data = Buffer.from(lines.join(''), 'base64');
    assert.ok(data.length > target * share, `only ${data.length} bytes of data`);
    assert.ok(deflateSync(data).length > data.length * 0.97, 'attachment data compresses too well');
  }
});

test('prose reads like English: frequent small words, and it compresses like text', () => {
  const bodies = generateCorpus({ count: 30, seed: 5, mix: { plain: 1 }, size: 4096 }).map((m) => split(m).body).join('\r\n');
  const freq = new Map<string, number>();
  for (const w of bodies.toLowerCase().match(/[a-z]+/g) ?? []) freq.set(w, (freq.get(w) ?? 0) + 1);
  const top = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([w]) => w);
  assert.ok(top.includes('the') && top.includes('to'), `top words: ${top.join(' ')}`);
  const ratio = deflateSync(Buffer.from(bodies)).length / bodies.length;
  assert.ok(ratio > 0.2 && ratio < 0.5, `deflate ratio ${ratio.toFixed(2)}`);
});
