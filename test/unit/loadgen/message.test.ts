/** src/loadgen/message.ts: the generated message has the asked size and is valid SMTP data as is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeMessage, minimumSize } from '../../../src/loadgen/message.js';

const base = { from: 'bench@localhost', to: 'postmaster@localhost', date: new Date(Date.UTC(2026, 10, 28, 12, 0, 0)) };

test('every size from the minimum up is met exactly, with CRLF lines only, none over 78 columns, none starting with "."', () => {
  const min = minimumSize(base);
  for (let size = min; size < min + 400; size++) check(size);
  for (const size of [1024, 4096, 65536, 1048576 + 7]) check(size);

  function check(size: number): void {
    const m = makeMessage({ ...base, size });
    assert.equal(m.length, size, `size ${size}`);
    const text = m.toString('latin1');
    assert.ok(text.endsWith('\r\n'));
    assert.equal(text.replace(/\r\n/g, '').search(/[\r\n]/), -1, `no bare CR or LF at size ${size}`);
    for (const line of text.slice(0, -2).split('\r\n')) {
      assert.ok(line.length <= 78, `line of ${line.length} at size ${size}`);
      assert.ok(!line.startsWith('.'), `dot at size ${size}`);
    }
  }
});

test('headers first, then a blank line; a size below the minimum gives the minimum', () => {
  const m = makeMessage({ ...base, size: 1 }).toString('latin1');
  assert.equal(m.length, minimumSize(base));
  assert.match(m, /^From: <bench@localhost>\r\nTo: <postmaster@localhost>\r\nSubject: postline bench\r\nDate: Sat, 28 Nov 2026 12:00:00 \+0000\r\n/);
  assert.match(m, /\r\n\r\n[a-z]\r\n$/);
  assert.deepEqual(makeMessage({ ...base, size: 2000 }), makeMessage({ ...base, size: 2000 }), 'deterministic');
});
