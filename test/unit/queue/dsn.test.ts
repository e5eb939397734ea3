/**
 * RFC 3464 DSNs, read back with the project's MIME parser: the report
 * structure, the delivery-status fields, the returned content, and the wire
 * rules (CRLF only, lines ≤ 998).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerValue, paramValue, parseMessage, type MimePart } from '../../../src/codec/mime/index.js';
import { renderDsn, type DsnInput } from '../../../src/queue/dsn.js';

const ORIGINAL = Buffer.from(
  'Received: from client.example (localhost [127.0.0.1])\r\n\tby mx.example.org (postline) with ESMTPS id Q1;\r\n\tThu, 1 Jan 2026 00:00:00 +0000\r\n' +
    'From: Alice <alice@example.org>\r\nTo: bob@example.com, carol@example.net\r\nSubject: Quarterly report\r\nMessage-ID: <orig@example.org>\r\n\r\n' +
    'The body text, which only RET=FULL returns.\r\n.leading dot line\r\n',
);

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mx.example.org',
    arrivalDate: T0,
    originalEnvelopeId: 'ENV-42',
    sender: 'alice@example.org',
    failed: [
      {
        recipient: 'bob@example.com',
        originalRecipient: 'rfc822;Bob@Example.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown',
        remoteMta: 'mx1.example.com',
        lastAttempt: T0 + 60_000,
      },
      {
        recipient: 'carol@example.net',
        action: 'failed',
        status: '5.4.4',
        diagnostic: 'X-Postline; Host or domain name not found. Name service error for name=example.net type=MX',
        lastAttempt: T0 + 61_000,
      },
    ],
    original: ORIGINAL,
    returnContent: 'headers',
    messageId: 'dsn-1@mx.example.org',
    now: T0 + 120_000,
    ...over,
  };
}

function bodyOf(raw: Buffer, part: MimePart): string {
  return raw.subarray(part.bodyStart, part.end).toString('utf8');
}

/** The groups of a message/delivery-status body: fields per group, names lower-cased, folds undone. */
function statusGroups(text: string): Array<Record<string, string>> {
  return text
    .split(/\r\n\r\n/)
    .filter((g) => g.trim().length > 0)
    .map((g) => {
      const fields: Record<string, string> = {};
      for (const line of g.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      return fields;
    });
}

function assertWireSafe(raw: Buffer): void {
  const text = raw.toString('latin1');
  assert.ok(!/\r(?!\n)/.test(text), 'no bare CR');
  assert.ok(!/(?<!\r)\n/.test(text), 'no bare LF');
  for (const line of text.split('\r\n')) assert.ok(Buffer.byteLength(line, 'latin1') <= 998, `line of ${line.length} octets`);
}

test('a multipart/report with the three parts; one DSN for several recipients', () => {
  const raw = renderDsn(input());
  assertWireSafe(raw);
  const info = parseMessage(raw);
  const root = info.root;
  assert.equal(`${root.type}/${root.subtype}`, 'multipart/report');
  assert.equal(paramValue(root.params, 'report-type'), 'delivery-status');
  assert.ok(paramValue(root.params, 'boundary'));
  assert.deepEqual(
    root.children.map((p) => `${p.type}/${p.subtype}`),
    ['text/plain', 'message/delivery-status', 'text/rfc822-headers'],
  );
  assert.equal(info.truncated, false);
});

test('the report header: from MAILER-DAEMON to the sender, auto-replied, dated, identified', () => {
  const raw = renderDsn(input());
  const info = parseMessage(raw);
  assert.deepEqual(headerValue(raw, info, 'From'), ['Mail Delivery System <MAILER-DAEMON@mx.example.org>']);
  assert.deepEqual(headerValue(raw, info, 'To'), ['<alice@example.org>']);
  assert.deepEqual(headerValue(raw, info, 'Subject'), ['Undelivered Mail Returned to Sender']);
  assert.deepEqual(headerValue(raw, info, 'Date'), ['Thu, 01 Jan 2026 00:02:00 +0000']);
  assert.deepEqual(headerValue(raw, info, 'Message-ID'), ['<dsn-1@mx.example.org>']);
  assert.deepEqual(headerValue(raw, info, 'Auto-Submitted'), ['auto-replied']);
  assert.deepEqual(headerValue(raw, info, 'MIME-Version'), ['1.0']);
  assert.equal(info.envelope.from?.[0]?.mailbox, 'MAILER-DAEMON');
});

test('message/delivery-status: per-message fields, then one group per recipient', () => {
  const raw = renderDsn(input());
  const part = parseMessage(raw).root.children[1]!;
  const [perMessage, bob, carol, ...rest] = statusGroups(bodyOf(raw, part));
  assert.deepEqual(rest, []);
  assert.deepEqual(perMessage, { 'reporting-mta': 'dns; mx.example.org', 'original-envelope-id': 'ENV-42', 'arrival-date': 'Thu, 01 Jan 2026 00:00:00 +0000' });
  assert.deepEqual(bob, {
    'final-recipient': 'rfc822; bob@example.com',
    'original-recipient': 'rfc822; Bob@Example.com',
    action: 'failed',
    status: '5.1.1',
    'remote-mta': 'dns; mx1.example.com',
    'diagnostic-code': 'smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown',
    'last-attempt-date': 'Thu, 01 Jan 2026 00:01:00 +0000',
  });
  assert.deepEqual(carol, {
    'final-recipient': 'rfc822; carol@example.net',
    action: 'failed',
    status: '5.4.4',
    'diagnostic-code': 'X-Postline; Host or domain name not found. Name service error for name=example.net type=MX',
    'last-attempt-date': 'Thu, 01 Jan 2026 00:01:01 +0000',
  });
});

test('the human-readable part names every recipient and why', () => {
  const raw = renderDsn(input());
  const text = bodyOf(raw, parseMessage(raw).root.children[0]!).replace(/\r\n/g, ' ');
  assert.match(text, /This is the mail system at host mx\.example\.org\./);
  assert.match(text, /<bob@example\.com>: host mx1\.example\.com said: 550 5\.1\.1 <bob@example\.com>: Recipient address rejected: User unknown/);
  assert.match(text, /<carol@example\.net>: Host or domain name not found/);
});

test('RET=HDRS (the default): the original header only, byte for byte', () => {
  const raw = renderDsn(input());
  const part = parseMessage(raw).root.children[2]!;
  const headers = raw.subarray(part.bodyStart, part.end);
  const originalHeader = ORIGINAL.subarray(0, ORIGINAL.indexOf('\r\n\r\n') + 2);
  assert.ok(headers.subarray(0, originalHeader.length).equals(originalHeader));
  assert.ok(!headers.toString().includes('The body text'));
});

test('RET=FULL: the whole original as message/rfc822, byte for byte', () => {
  const raw = renderDsn(input({ returnContent: 'full' }));
  assertWireSafe(raw);
  const part = parseMessage(raw).root.children[2]!;
  assert.equal(`${part.type}/${part.subtype}`, 'message/rfc822');
  assert.ok(raw.subarray(part.bodyStart, part.end).subarray(0, ORIGINAL.length).equals(ORIGINAL));
  assert.equal(part.message?.envelope.subject, 'Quarterly report');
});

test('RET=FULL falls back to headers when the original is too big or could not travel unchanged', () => {
  const big = renderDsn(input({ returnContent: 'full', maxFullBytes: 100 }));
  assert.equal(parseMessage(big).root.children[2]?.subtype, 'rfc822-headers');
  const longLine = Buffer.concat([ORIGINAL, Buffer.from('x'.repeat(2000) + '\r\n')]);
  const odd = renderDsn(input({ returnContent: 'full', original: longLine }));
  assertWireSafe(odd);
  assert.equal(parseMessage(odd).root.children[2]?.subtype, 'rfc822-headers');
});

test('lines stay ≤ 998 and CRLF-only with a huge diagnostic and an over-long original header line', () => {
  const original = Buffer.from(`Subject: ${'s'.repeat(3000)}\nX-Long: ${'w '.repeat(2000)}\n\nbody\n`);
  const raw = renderDsn(
    input({
      original,
      failed: [{ recipient: 'bob@example.com', action: 'failed', status: '5.0.0', diagnostic: `smtp; 550 ${'reason '.repeat(800)}${'z'.repeat(3000)}` }],
    }),
  );
  assertWireSafe(raw);
  const groups = statusGroups(bodyOf(raw, parseMessage(raw).root.children[1]!));
  assert.ok(groups[1]!['diagnostic-code']!.startsWith('smtp; 550 reason reason'));
});

test('a delayed-only report: the warning subject, Action: delayed, Will-Retry-Until', () => {
  const raw = renderDsn(
    input({
      failed: [{ recipient: 'bob@example.com', action: 'delayed', status: '4.4.1', diagnostic: 'X-Postline; connect to mx1.example.com[192.0.2.1]:25: Connection refused', willRetryUntil: T0 + 5 * 86_400_000 }],
    }),
  );
  const info = parseMessage(raw);
  assert.deepEqual(headerValue(raw, info, 'Subject'), ['Delayed Mail (still being retried)']);
  const [, bob] = statusGroups(bodyOf(raw, info.root.children[1]!));
  assert.equal(bob!.action, 'delayed');
  assert.equal(bob!.status, '4.4.1');
  assert.equal(bob!['will-retry-until'], 'Tue, 06 Jan 2026 00:00:00 +0000');
  assert.match(bodyOf(raw, info.root.children[0]!), /THIS IS A WARNING ONLY/);
});

test('a status whose class contradicts the action is repaired', () => {
  const raw = renderDsn(input({ failed: [{ recipient: 'a@x.example', action: 'failed', status: '4.2.2' }, { recipient: 'b@x.example', action: 'failed', status: 'bogus' }] }));
  const groups = statusGroups(bodyOf(raw, parseMessage(raw).root.children[1]!));
  assert.deepEqual(groups.slice(1).map((g) => g.status), ['5.2.2', '5.0.0']);
});

test('internationalised mail: global-delivery-status with utf-8 addresses, global-headers for a UTF-8 header', () => {
  const original = Buffer.from('Subject: Привет\r\nFrom: почта@пример.рф\r\n\r\nтекст\r\n');
  const raw = renderDsn(input({ original, sender: 'почта@пример.рф', failed: [{ recipient: 'δοκιμή@example.com', action: 'failed', status: '5.1.1' }] }));
  assertWireSafe(raw);
  const info = parseMessage(raw);
  assert.deepEqual(info.root.children.map((p) => `${p.type}/${p.subtype}`), ['text/plain', 'message/global-delivery-status', 'message/global-headers']);
  const [, r] = statusGroups(bodyOf(raw, info.root.children[1]!));
  assert.equal(r!['final-recipient'], 'utf-8; δοκιμή@example.com');
  assert.deepEqual(headerValue(raw, info, 'To'), ['<почта@пример.рф>']);
});

test('no header injection through diagnostics or addresses', () => {
  const raw = renderDsn(input({ failed: [{ recipient: 'bob@example.com\r\nBcc: victim@example.com', action: 'failed', status: '5.1.1', diagnostic: 'smtp; 550 no\r\nReporting-MTA: dns; evil' }] }));
  const info = parseMessage(raw);
  assert.deepEqual(headerValue(raw, info, 'Bcc'), []);
  const groups = statusGroups(bodyOf(raw, info.root.children[1]!));
  assert.equal(groups.length, 2);
  assert.equal(groups[0]!['reporting-mta'], 'dns; mx.example.org');
});

test('pure: the same input gives the same bytes; the boundary never occurs in the content', () => {
  const first = renderDsn(input({ returnContent: 'full' }));
  assert.ok(first.equals(renderDsn(input({ returnContent: 'full', messageId: () => 'dsn-1@mx.example.org' }))));
  const boundary = paramValue(parseMessage(first).root.params, 'boundary')!;
  // An original that contains exactly the boundary we would pick: another one must be chosen.
  const trap = Buffer.concat([ORIGINAL, Buffer.from(`--${boundary}\r\n`)]);
  const second = renderDsn(input({ returnContent: 'full', original: trap }));
  const info = parseMessage(second);
  assert.notEqual(paramValue(info.root.params, 'boundary'), boundary);
  assert.equal(info.root.children.length, 3);
  const returned = info.root.children[2]!;
  assert.ok(second.subarray(returned.bodyStart, returned.end).subarray(0, trap.length).equals(trap));
});
