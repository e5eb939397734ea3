/**
 * kill -9 of a real `postline serve` process during a load of concurrent SMTP
 * senders: every message that got its 250 is in its mailbox after restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore } from '../helpers/store.js';
import { RawSmtp } from '../helpers/smtp-client.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function startServer(dataDir: string, config: string): Promise<{ port: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      const m = /"listener":"smtp","address":"[^"]*:(\d+)"/.exec(buf);
      if (m) {
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({
          port: Number(m[1]),
          kill: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGKILL');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}) in ${dataDir}`)));
  });
}

test('kill -9 during concurrent SMTP deliveries loses no acknowledged message', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const config = join(dir.path, 'postline.yaml');
  writeFileSync(
    config,
    `hostname: mx.example.org\ndataDir: ${dir.path}/data\ndomains: [example.org]\nusers: [{ address: ivanov@example.org, password: "x" }]\nlisten: { smtp: "127.0.0.1:0" }\nstore: { fsync: batch }\nworkers: { threads: 1 }\n`,
  );
  const acknowledged = new Set<string>();
  try {
    for (let round = 0; round < 3; round++) {
      const server = await startServer(dir.path, config);
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
          // the server died under us: expected
        } finally {
          c?.close();
        }
      };
      const senders = Array.from({ length: 16 }, (_, w) => sender(w));
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      await server.kill();
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
});
