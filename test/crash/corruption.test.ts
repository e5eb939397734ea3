/**
 * Damaged logs: a truncated tail, a flipped byte in the last record, a flipped
 * byte in a middle record. Recovery keeps every intact record before the
 * damage, `postline log verify` reports it and exits 1, and nothing damaged
 * is ever served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore, sampleMessage } from '../helpers/store.js';
import { isPostlineError } from '../../src/core/errors.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const USER = 'ivanov@example.org';

function logVerify(dataDir: string): { code: number | null; stdout: string } {
  const config = join(dataDir, 'postline.yaml');
  writeFileSync(config, `dataDir: ${dataDir}\ndomains: [example.org]\n`);
  const r = spawnSync(process.execPath, [cli, 'log', 'verify', '--config', config], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout + r.stderr };
}

function segmentFile(dataDir: string): string {
  const names = readdirSync(join(dataDir, 'log')).filter((n) => n.endsWith('.seg')).sort();
  return join(dataDir, 'log', names[names.length - 1]!);
}

/** Writes n messages, closes the store, and returns the message record offsets of the (single) segment. */
async function populate(dataDir: string, n: number): Promise<number[]> {
  const store = await openTestStore(dataDir);
  for (let i = 0; i < n; i++) await store.deliver({ recipients: [USER], body: sampleMessage(i) });
  const inbox = store.folder(USER, 'INBOX')!;
  const offsets = Array.from({ length: inbox.count }, (_, i) => inbox.off[i]!);
  await store.close();
  return offsets;
}

function flip(file: string, at: number): void {
  const buf = readFileSync(file);
  buf[at]! ^= 0x5a;
  writeFileSync(file, buf);
}

async function expectIntact(dataDir: string, uids: number[], missing: number[]): Promise<void> {
  const store = await openTestStore(dataDir);
  try {
    const listed = store.listMessages(USER, 'INBOX').map((m) => m.uid);
    for (const uid of uids) {
      assert.ok(listed.includes(uid), `uid ${uid} kept`);
      assert.ok((await store.readMessage(USER, 'INBOX', uid)).equals(sampleMessage(uid - 1)), `uid ${uid} byte-identical`);
    }
    for (const uid of missing) assert.ok(!listed.includes(uid), `damaged uid ${uid} not listed`);
    // New appends after recovery work and are readable.
    const [p] = await store.deliver({ recipients: [USER], body: sampleMessage(999) });
    assert.ok((await store.readMessage(USER, 'INBOX', p!.uid)).equals(sampleMessage(999)));
  } finally {
    await store.close();
  }
}

test('a clean log verifies with exit 0', async () => {
  const dir = tempDir();
  try {
    await populate(dir.path, 5);
    const r = logVerify(dir.path);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^records: 10$/m); // 5 folder creates + 5 messages
    assert.match(r.stdout, /^log ok$/m);
  } finally {
    dir.remove();
  }
});

test('a truncated tail: verify reports it, recovery cuts it and keeps everything before', async () => {
  const dir = tempDir();
  try {
    await populate(dir.path, 10);
    rmSync(join(dir.path, 'index', 'checkpoint')); // the checkpoint would point past the cut
    const file = segmentFile(dir.path);
    truncateSync(file, statSync(file).size - 7);
    const r = logVerify(dir.path);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /damage: segment 0000000001\.seg offset \d+ length \d+: truncated record/);
    await expectIntact(dir.path, [1, 2, 3, 4, 5, 6, 7, 8, 9], [10]);
    assert.equal(logVerify(dir.path).code, 0, 'after recovery the torn tail is gone');
  } finally {
    dir.remove();
  }
});

test('a checkpoint that points past a truncated tail is not trusted', async () => {
  const dir = tempDir();
  try {
    await populate(dir.path, 10);
    const file = segmentFile(dir.path);
    truncateSync(file, statSync(file).size - 7);
    await expectIntact(dir.path, [1, 2, 3, 4, 5, 6, 7, 8, 9], [10]);
  } finally {
    dir.remove();
  }
});

test('a flipped byte in the last record: it is dropped, the rest kept', async () => {
  const dir = tempDir();
  try {
    const offsets = await populate(dir.path, 10);
    rmSync(join(dir.path, 'index', 'checkpoint'));
    flip(segmentFile(dir.path), offsets[9]! + 40);
    const r = logVerify(dir.path);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`offset ${offsets[9]} length \\d+: checksum mismatch`));
    await expectIntact(dir.path, [1, 2, 3, 4, 5, 6, 7, 8, 9], [10]);
  } finally {
    dir.remove();
  }
});

test('a flipped byte in a middle record: records before and after it survive, the damaged one is never served', async () => {
  const dir = tempDir();
  try {
    const offsets = await populate(dir.path, 10);
    rmSync(join(dir.path, 'index', 'checkpoint'));
    flip(segmentFile(dir.path), offsets[4]! + 30);
    const r = logVerify(dir.path);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`offset ${offsets[4]} length \\d+: checksum mismatch`));
    await expectIntact(dir.path, [1, 2, 3, 4, 6, 7, 8, 9, 10], [5]);
    assert.equal(logVerify(dir.path).code, 1, 'damage in the middle is not silently erased');
  } finally {
    dir.remove();
  }
});

test('damage under a valid checkpoint is caught at read time: an error, never bad bytes', async () => {
  const dir = tempDir();
  try {
    const offsets = await populate(dir.path, 10);
    flip(segmentFile(dir.path), offsets[6]! + 50);
    const store = await openTestStore(dir.path);
    try {
      assert.match(store.recovery.checkpoint, /^segment /);
      await assert.rejects(store.readMessage(USER, 'INBOX', 7), (e) => isPostlineError(e, 'ERR_STORE_CRC'));
      assert.ok((await store.readMessage(USER, 'INBOX', 8)).equals(sampleMessage(7)));
    } finally {
      await store.close();
    }
    assert.equal(logVerify(dir.path).code, 1);
  } finally {
    dir.remove();
  }
});

test('garbage appended after the last record is cut as a torn tail', async () => {
  const dir = tempDir();
  try {
    await populate(dir.path, 3);
    const file = segmentFile(dir.path);
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('PL\x00\x01garbage that looks a bit like a header')]));
    await expectIntact(dir.path, [1, 2, 3], []);
    assert.equal(logVerify(dir.path).code, 0);
  } finally {
    dir.remove();
  }
});
