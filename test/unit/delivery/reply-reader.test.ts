import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyReader, replyText, type Reply, type ReplyEvent } from '../../../src/delivery/reply-reader.js';
import { cutsArb, splitAt } from '../codec/smtp/chunks.js';

function readAll(input: string | Buffer, reader = new ReplyReader()): ReplyEvent[] {
  reader.push(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  const out: ReplyEvent[] = [];
  for (let e = reader.next(); e !== null; e = reader.next()) out.push(e);
  return out;
}

test('single-line replies, with and without an enhanced code', () => {
  assert.deepEqual(readAll('220 mx.example.com ESMTP\r\n250 2.1.0 Ok\r\n'), [
    { kind: 'reply', reply: { code: 220, enhanced: null, lines: ['mx.example.com ESMTP'] } },
    { kind: 'reply', reply: { code: 250, enhanced: '2.1.0', lines: ['Ok'] } },
  ]);
});

test('a multiline reply is one reply; the enhanced code is taken off every line', () => {
  const [e] = readAll('550-5.1.1 The email account that you tried to reach does not exist.\r\n550-5.1.1 Please try\r\n550 5.1.1 https://support.example/answer\r\n');
  assert.deepEqual(e, {
    kind: 'reply',
    reply: { code: 550, enhanced: '5.1.1', lines: ['The email account that you tried to reach does not exist.', 'Please try', 'https://support.example/answer'] },
  });
  assert.equal(replyText((e as { reply: Reply }).reply), 'The email account that you tried to reach does not exist. Please try https://support.example/answer');
});

test('the code alone, "250-" continuation with empty text, bare LF endings', () => {
  assert.deepEqual(readAll('250\r\n'), [{ kind: 'reply', reply: { code: 250, enhanced: null, lines: [''] } }]);
  assert.deepEqual(readAll('250-\n250 ok\n'), [{ kind: 'reply', reply: { code: 250, enhanced: null, lines: ['', 'ok'] } }]);
});

test('an enhanced code of another class than the reply is not trusted', () => {
  assert.deepEqual(readAll('250 5.1.1 odd\r\n'), [{ kind: 'reply', reply: { code: 250, enhanced: null, lines: ['5.1.1 odd'] } }]);
  assert.deepEqual(readAll('451 4.07.001 leading zeros\r\n'), [{ kind: 'reply', reply: { code: 451, enhanced: '4.7.1', lines: ['leading zeros'] } }]);
});

test('garbage, a first digit outside 2-5, or a code change inside a reply are errors; the reader stays failed', () => {
  for (const bad of ['hello\r\n', '199 x\r\n', '650 x\r\n', '25 x\r\n', '250x\r\n', '250-a\r\n251 b\r\n']) {
    const events = readAll(bad);
    assert.equal(events.length, 1, bad);
    assert.equal(events[0]!.kind, 'error', bad);
  }
  const reader = new ReplyReader();
  const events = readAll('250 ok\r\ngarbage\r\n250 later\r\n', reader);
  assert.deepEqual(events.map((e) => e.kind), ['reply', 'error'], 'replies before the garbage are kept, nothing after');
  assert.match(reader.problem ?? '', /malformed/);
  assert.deepEqual(readAll('250 more\r\n', reader), []);
});

test('a 1 MB line is refused after maxLineBytes, without buffering it', () => {
  const reader = new ReplyReader({ maxLineBytes: 1000, maxLines: 10, maxQueuedBytes: 1 << 20 });
  reader.push(Buffer.from('250-'));
  const block = Buffer.alloc(64 * 1024, 'x');
  for (let i = 0; i < 16; i++) reader.push(block);
  const e = reader.next();
  assert.equal(e?.kind, 'error');
  assert.match(reader.problem!, /longer than 1000/);
  // An exactly-max line (CR split off into the next chunk) is fine.
  const ok = new ReplyReader({ maxLineBytes: 10, maxLines: 10, maxQueuedBytes: 1 << 20 });
  ok.push(Buffer.from('250 abcdef\r'));
  ok.push(Buffer.from('\n'));
  assert.equal(ok.next()?.kind, 'reply');
});

test('too many lines in one reply, or too many unrequested replies, are errors', () => {
  const lines = new ReplyReader({ maxLineBytes: 100, maxLines: 3, maxQueuedBytes: 1 << 20 });
  assert.equal(readAll('250-a\r\n250-b\r\n250-c\r\n250 d\r\n', lines).at(-1)?.kind, 'error');
  const flood = new ReplyReader({ maxLineBytes: 100, maxLines: 3, maxQueuedBytes: 200 });
  const events = readAll('250 ok\r\n'.repeat(100), flood);
  assert.equal(events.at(-1)?.kind, 'error');
  assert.ok(events.length < 30);
  // Taking replies frees room.
  const paced = new ReplyReader({ maxLineBytes: 100, maxLines: 3, maxQueuedBytes: 200 });
  for (let i = 0; i < 100; i++) assert.equal(readAll('250 ok\r\n', paced)[0]?.kind, 'reply');
});

test('control characters in texts become spaces; UTF-8 texts survive', () => {
  assert.deepEqual(readAll('250 a\tb\u0000c\r\n'), [{ kind: 'reply', reply: { code: 250, enhanced: null, lines: ['a b c'] } }]);
  assert.deepEqual(readAll('250 2.0.0 принято\r\n'), [{ kind: 'reply', reply: { code: 250, enhanced: '2.0.0', lines: ['принято'] } }]);
});

test('property: the result does not depend on how the bytes are chunked', () => {
  const input = Buffer.from('220 hi\r\n250-x.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n550 5.1.1 no\r\nbad\r\n', 'utf8');
  const whole = readAll(input);
  fc.assert(
    fc.property(cutsArb, (cuts) => {
      const reader = new ReplyReader();
      for (const c of splitAt(input, cuts)) reader.push(c);
      const out: ReplyEvent[] = [];
      for (let e = reader.next(); e !== null; e = reader.next()) out.push(e);
      assert.deepEqual(out, whole);
    }),
  );
});
