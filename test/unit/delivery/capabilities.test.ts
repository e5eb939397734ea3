import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_CAPABILITIES, parseEhloReply } from '../../../src/delivery/capabilities.js';

const ehlo = (...lines: string[]) => parseEhloReply({ code: 250, enhanced: null, lines: ['mx.example.com greets you', ...lines] });

test('every keyword we use is recognised, in any case', () => {
  assert.deepEqual(ehlo('PIPELINING', 'size 10240000', '8BITMIME', 'SmtpUtf8', 'STARTTLS', 'DSN', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'AUTH PLAIN LOGIN'), {
    esmtp: true,
    pipelining: true,
    size: 10240000,
    eightBitMime: true,
    smtputf8: true,
    starttls: true,
    dsn: true,
    enhancedStatusCodes: true,
    chunking: true,
  });
});

test('the greeting line is not a keyword; an empty EHLO reply offers nothing', () => {
  assert.deepEqual(parseEhloReply({ code: 250, enhanced: null, lines: ['PIPELINING'] }), { ...NO_CAPABILITIES, esmtp: true });
});

test('SIZE without a number, or a malformed one, means offered without a fixed limit', () => {
  assert.equal(ehlo('SIZE').size, 0);
  assert.equal(ehlo('SIZE lots').size, 0);
  assert.equal(ehlo('SIZE 0').size, 0);
  assert.equal(ehlo('PIPELINING').size, null);
});
