import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostlineError } from '../../../src/core/errors.js';
import { failureFromError, failureFromReply, outcomeFromReply } from '../../../src/delivery/outcome.js';

const dest = { host: 'mx.example.com', port: 25, ip: '192.0.2.1' };

test('2xx delivered, 4xx temporary, 5xx permanent; enhanced code from the server or x.0.0', () => {
  const ok = outcomeFromReply('a@x', 'message', { code: 250, enhanced: '2.0.0', lines: ['queued as X'] }, dest);
  assert.equal(ok.status, 'delivered');
  assert.equal(ok.diagnostic, 'smtp; 250 2.0.0 queued as X');
  const temp = outcomeFromReply('a@x', 'rcpt', { code: 451, enhanced: null, lines: ['later'] }, dest);
  assert.deepEqual([temp.status, temp.enhanced, temp.diagnostic], ['temporary', '4.0.0', 'smtp; 451 later']);
  const perm = outcomeFromReply('a@x', 'rcpt', { code: 550, enhanced: '5.1.1', lines: ['no such user'] }, dest);
  assert.deepEqual([perm.status, perm.code, perm.enhanced, perm.remoteHost, perm.remoteIp], ['permanent', 550, '5.1.1', 'mx.example.com', '192.0.2.1']);
});

test('an out-of-sequence code is temporary, never a bounce', () => {
  const o = outcomeFromReply('a@x', 'rcpt', { code: 354, enhanced: null, lines: ['go on'] }, dest);
  assert.deepEqual([o.status, o.enhanced], ['temporary', '4.5.0']);
  const f = failureFromReply('data', { code: 250, enhanced: null, lines: ['ok?'] });
  assert.deepEqual([f.status, f.errorCode], ['temporary', 'ERR_DELIVERY_PROTOCOL']);
});

test('a softened 5xx (greeting) is temporary with a 4.x.x status', () => {
  const f = failureFromReply('greeting', { code: 554, enhanced: '5.7.1', lines: ['go away'] }, true);
  assert.deepEqual([f.status, f.code, f.enhanced, f.errorCode], ['temporary', 554, '4.7.1', 'ERR_DELIVERY_DEFERRED']);
});

test('errors without a reply are temporary with an X-Postline diagnostic', () => {
  const f = failureFromError('connect', new PostlineError('ERR_DELIVERY_CONNECT', 'connect to mx[192.0.2.1]:25: Connection refused'));
  assert.deepEqual([f.status, f.code, f.enhanced, f.diagnostic], ['temporary', null, '4.4.1', 'X-Postline; connect to mx[192.0.2.1]:25: Connection refused']);
  assert.equal(failureFromError('rcpt', new Error('boom')).errorCode, 'ERR_DELIVERY_PROTOCOL');
});
