import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as imap from '../../../../src/codec/imap/index.js';

test('the index re-exports the public API, and it works end to end', () => {
  const framer = new imap.ImapFramer({
    maxLineBytes: 8192,
    literalLimit: (soFar) => (imap.peekCommand(soFar).name === 'APPEND' ? 1 << 20 : 64 * 1024),
  });
  framer.push(Buffer.from(`t1 APPEND ${imap.mailboxName('Entw\u00fcrfe')} (\\Draft) "${imap.formatDateTime(0)}" {5+}\r\nHello\r\n`));
  const event = framer.next();
  assert.ok(event?.kind === 'frame');
  const parsed = imap.parseCommand(event.frame);
  assert.ok(parsed.ok && parsed.command.name === 'APPEND');
  assert.equal(parsed.command.mailbox, 'Entw\u00fcrfe');
  assert.deepEqual(parsed.command.date, { epochMs: 0, zoneMinutes: 0 });
  assert.equal(imap.compressUids(imap.selectUids(imap.parseSequenceSet('2:*')!, [1, 2, 3, 9])), '2:3,9');
});
