/**
 * bench/lib/fsync-sink.ts, the durable-Node floor the SMTP bench puts beside
 * postline: a real SMTP client (nodemailer) gets its 250s, and what it was
 * told was queued is in the sink's file by then — the floor must pay the
 * same fdatasync postline pays, or it is no floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';

const script = fileURLToPath(new URL('../../../bench/lib/fsync-sink.js', import.meta.url));

test('fsync-sink accepts pipelined mail over reused connections and has every acknowledged body in its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'postline-fsync-sink-'));
  const file = join(dir, 'sink.dat');
  const child = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.setEncoding('utf8');
      child.stdout!.once('data', (d: string) => resolve(Number(d.trim())));
      child.once('exit', (code) => reject(new Error(`fsync-sink exited with ${code}`)));
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 3 });
    try {
      const sent = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          transport.sendMail({ from: 'a@example.org', to: 'b@example.org', subject: `floor ${i}`, text: `body number ${i}\r\n.leading dot stays stuffed\r\n` }),
        ),
      );
      for (const info of sent) assert.match(info.response, /^250 /);
      const written = readFileSync(file, 'latin1');
      for (let i = 0; i < 12; i++) assert.ok(written.includes(`Subject: floor ${i}\r\n`), `message ${i} is in the file`);
      // The sink stores the wire bytes as they came (no unstuffing): it is a floor, not a server.
      assert.ok(written.includes('\r\n..leading dot stays stuffed\r\n'));
    } finally {
      transport.close();
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
