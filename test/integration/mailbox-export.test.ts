/**
 * `postline mailbox export` end to end: a real store on disk, the real CLI
 * in a child process, and the mbox it writes parsed back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore } from '../helpers/store.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(dataDir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const config = join(dataDir, 'postline.yaml');
  writeFileSync(config, `dataDir: ${dataDir}\ndomains: [example.org]\n`);
  const r = spawnSync(process.execPath, [cli, ...args, '--config', config], { encoding: 'latin1' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Splits an mboxrd file into messages (From_ line dropped, '>From ' unquoted one level). */
function parseMbox(text: string): string[] {
  const parts = text.split(/^From \S+ .*\n/m).slice(1);
  return parts.map((p) => p.replace(/\n$/, '').replace(/^>(>*From )/gm, '$1'));
}

const messages = [
  'From: a@example.org\r\nSubject: first\r\n\r\nHello.\r\nFrom the start of a line, this must be quoted.\r\n>From already quoted once.\r\n',
  'From: b@example.org\r\nSubject: second\r\n\r\nJust text.\r\n',
  'From: c@example.org\r\nSubject: in a folder\r\n\r\nFiled away.\r\n',
];

test('mailbox export writes every folder as mboxrd, with flags, while the server holds the store', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  try {
    const u = 'ivanov@example.org';
    await store.deliver({ recipients: [u], body: Buffer.from(messages[0]!), flags: ['\\Seen', '\\Answered', 'Work'] });
    await store.deliver({ recipients: [u], body: Buffer.from(messages[1]!) });
    await store.createFolder(u, 'Archive');
    await store.deliver({ recipients: [u], folder: 'Archive', body: Buffer.from(messages[2]!), flags: ['\\Flagged'] });

    // The store stays open (LOCK held), as with a running server.
    const out = join(dir.path, 'export.mbox');
    const r = run(dir.path, ['mailbox', 'export', u, '--format', 'mbox', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /exported 3 message\(s\) from 6 folder\(s\)/);
    const text = readFileSync(out, 'latin1');
    assert.equal((text.match(/^From \S+ \w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$/gm) ?? []).length, 3, 'one From_ line per message');
    assert.match(text, /^>From the start of a line/m);
    assert.match(text, /^>>From already quoted once/m);
    const parsed = parseMbox(text);
    assert.equal(parsed.length, 3);
    assert.match(parsed[0]!, /^Status: RO$/m);
    assert.match(parsed[0]!, /^X-Status: A$/m);
    assert.match(parsed[0]!, /^X-Keywords: Work$/m);
    assert.match(parsed[0]!, /^X-Postline-Folder: INBOX$/m);
    assert.match(parsed[2]!, /^X-Postline-Folder: Archive$/m);
    assert.match(parsed[2]!, /^X-Status: F$/m);
    // Bodies come back intact (LF line ends in mbox).
    const body0 = parsed[0]!.slice(parsed[0]!.indexOf('\n\n') + 2);
    assert.equal(body0, 'Hello.\nFrom the start of a line, this must be quoted.\n>From already quoted once.\n');

    // To stdout too.
    const toStdout = run(dir.path, ['mailbox', 'export', u]);
    assert.equal(toStdout.code, 0);
    assert.equal(parseMbox(toStdout.stdout).length, 3);
  } finally {
    await store.close();
    dir.remove();
  }
});

test('mailbox export of an unknown user fails with one clear line', async () => {
  const dir = tempDir();
  const store = await openTestStore(dir.path);
  await store.deliver({ recipients: ['someone@example.org'], body: Buffer.from(messages[1]!) });
  await store.close();
  try {
    const r = run(dir.path, ['mailbox', 'export', 'nobody@example.org']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'postline: mailbox export: no mailbox for nobody@example.org');
  } finally {
    dir.remove();
  }
});
