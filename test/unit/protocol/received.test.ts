import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countReceived } from '../../../src/protocol/smtp/received.js';

test('countReceived counts Received: fields of the header block only, any case', () => {
  const msg = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));
  assert.equal(countReceived(msg('Received: a\nRECEIVED: b\n\tcontinued\nreceived:c\nSubject: x\n\nReceived: in the body\n')), 3);
  assert.equal(countReceived(msg('Subject: x\nX-Received: no\nReceivedx: no\n\n')), 0);
  assert.equal(countReceived(msg('\nReceived: body only\n')), 0);
  assert.equal(countReceived(Buffer.from('Received: lf only\nReceived: two\n\nReceived: body')), 2);
  assert.equal(countReceived(Buffer.from('Received: no end of line')), 1);
  assert.equal(countReceived(Buffer.alloc(0)), 0);
});
