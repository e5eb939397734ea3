/**
 * kill -9 of a real `postline serve` while it is relaying queued mail: the
 * next server has every acknowledged message delivered after restart, and
 * a message whose delivery finished is not sent again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { startServeChild } from '../helpers/serve-child.js';
import { RawSmtp } from '../helpers/smtp-client.js';
import { ScriptedSmtpServer } from '../helpers/scripted-smtp-server.js';

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const subjectOf = (data: Buffer | null): string | null => (data ? (/^Subject: (\S+)\r$/m.exec(data.toString())?.[1] ?? null) : null);

test('kill -9 in the middle of outbound delivery: after restart every queued message arrives, finished ones are not sent again', { timeout: 120_000 }, async () => {
  // The remote side: the first 4 messages are answered at once, every later one only after a long pause (the kill comes first).
  let answered = 0;
  let slow = true;
  const sink = await ScriptedSmtpServer.start({
    script: { dataEnd: () => (answered++ < 4 || !slow ? undefined : { delayMs: 60_000, reply: '250 2.0.0 too late' }) },
  });
  const dir = tempDir();
  const config = join(dir.path, 'postline.yaml');
  writeFileSync(
    config,
    `hostname: mx.example.org\ndataDir: ${dir.path}/data\ndomains: [example.org]\nlisten: { smtp: "127.0.0.1:0" }\nrelay: { trustedNetworks: [127.0.0.1/32] }\n` +
      `delivery: { routes: { remote.example: "127.0.0.1:${sink.port}" }, retry: [1s] }\nstore: { fsync: batch }\nworkers: { threads: 1 }\n`,
  );
  try {
    let server = await startServeChild(config);
    const acknowledged: string[] = [];
    const c = await RawSmtp.connect(server.port);
    await c.reply();
    await c.cmd('EHLO client.example');
    for (let n = 0; n < 12; n++) {
      const id = `m${n}`;
      assert.equal((await c.cmd('MAIL FROM:<ivanov@example.org>')).code, 250);
      assert.equal((await c.cmd(`RCPT TO:<r${n % 3}@remote.example>`)).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      const end = await c.cmd(`Subject: ${id}\r\nMessage-ID: <${id}@example.org>\r\n\r\nbody ${id}\r\n.`);
      if (end.code === 250) acknowledged.push(id);
    }
    c.close();
    assert.equal(acknowledged.length, 12);
    // Some deliveries finished, at least one is in the middle of its DATA when the server dies.
    await until(() => sink.transactions.filter((t) => t.completed).length >= 4 && sink.transactions.some((t) => t.data !== null && !t.completed), 'deliveries in flight');
    const finishedBefore = new Set(sink.transactions.filter((t) => t.completed).map((t) => subjectOf(t.data)));
    // A delivery is finished for us once its outcome is recorded ("delivered" is logged after that record's fsync).
    await until(() => server.logs.filter((l) => l.includes('"msg":"delivered"')).length >= finishedBefore.size, 'outcomes recorded');
    await server.signal('SIGKILL');

    slow = false;
    const seenBefore = sink.transactions.length;
    server = await startServeChild(config);
    try {
      await until(() => {
        const arrived = new Set(sink.transactions.filter((t) => t.completed).map((t) => subjectOf(t.data)));
        return acknowledged.every((id) => arrived.has(id));
      }, 'every acknowledged message at the remote side');
      const resent = sink.transactions.slice(seenBefore).filter((t) => t.completed && finishedBefore.has(subjectOf(t.data)));
      assert.deepEqual(resent.map((t) => subjectOf(t.data)), [], 'messages finished before the kill were sent again');
    } finally {
      await server.signal('SIGTERM');
    }
  } finally {
    await sink.close();
    dir.remove();
  }
});
