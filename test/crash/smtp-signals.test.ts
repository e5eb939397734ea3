/**
 * kill -9 (and SIGTERM, the graceful stop) of a real `postline serve` process
 * during a load of concurrent SMTP senders: every message that got its 250 is
 * in its mailbox after restart. SIGTERM must also exit 0 in good time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { startServeChild } from '../helpers/serve-child.js';
import { openTestStore } from '../helpers/store.js';
import { RawSmtp } from '../helpers/smtp-client.js';

/**
 * Rounds of: start the server, 16 senders in a loop, the signal after a
 * random moment, wait for the exit. Then every acknowledged message must be
 * in the mailbox. Returns the exit codes.
 */
async function loadAndStop(sig: NodeJS.Signals, rounds: number): Promise<{ exitCodes: (number | null)[]; stopMs: number[] }> {
  const dir = tempDir();
  const config = join(dir.path, 'postline.yaml');
  writeFileSync(
    config,
    `hostname: mx.example.org\ndataDir: ${dir.path}/data\ndomains: [example.org]\nusers: [{ address: ivanov@example.org, password: "x" }]\nlisten: { smtp: "127.0.0.1:0" }\nstore: { fsync: batch }\nworkers: { threads: 1 }\n`,
  );
  const acknowledged = new Set<string>();
  const exitCodes: (number | null)[] = [];
  const stopMs: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const server = await startServeChild(config);
      let stop = false;
      const sender = async (w: number): Promise<void> => {
        let c: RawSmtp | null = null;
        try {
          c = await RawSmtp.connect(server.port);
          await c.reply();
          await c.cmd('EHLO load.example');
          for (let n = 0; !stop; n++) {
            const id = `r${round}w${w}n${n}`;
            c.write(`MAIL FROM:<load@remote.example>\r\nRCPT TO:<ivanov@example.org>\r\nDATA\r\n`);
            if ((await c.reply()).code !== 250 || (await c.reply()).code !== 250 || (await c.reply()).code !== 354) return;
            c.write(`Message-ID: <${id}@load.example>\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n.\r\n`);
            const end = await c.reply();
            if (end.code === 250) acknowledged.add(id);
          }
        } catch {
          // the server died or closed under us: expected
        } finally {
          c?.close();
        }
      };
      const senders = Array.from({ length: 16 }, (_, w) => sender(w));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      const signalled = Date.now();
      exitCodes.push(await server.signal(sig));
      stopMs.push(Date.now() - signalled);
      stop = true;
      await Promise.all(senders);
    }
    assert.ok(acknowledged.size > 50, `only ${acknowledged.size} messages acknowledged`);
    const store = await openTestStore(join(dir.path, 'data'));
    try {
      const found = new Set<string>();
      for (const m of store.listMessages('ivanov@example.org', 'INBOX')) {
        const body = (await store.readMessage('ivanov@example.org', 'INBOX', m.uid)).toString();
        const id = /^Subject: (\S+)$/m.exec(body)?.[1];
        if (id) found.add(id);
      }
      const lost = [...acknowledged].filter((id) => !found.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged messages lost`);
    } finally {
      await store.close();
    }
  } finally {
    dir.remove();
  }
  return { exitCodes, stopMs };
}

test('kill -9 during concurrent SMTP deliveries loses no acknowledged message', { timeout: 120_000 }, async () => {
  await loadAndStop('SIGKILL', 3);
});

test('SIGTERM during concurrent SMTP deliveries: exit 0 within the grace period, no acknowledged message lost', { timeout: 120_000 }, async () => {
  const { exitCodes, stopMs } = await loadAndStop('SIGTERM', 2);
  assert.deepEqual(exitCodes, [0, 0]);
  // Sessions are told 421 at their next command; the 10 s grace is only for a stuck one.
  for (const ms of stopMs) assert.ok(ms < 10_000, `graceful stop took ${ms} ms`);
});
