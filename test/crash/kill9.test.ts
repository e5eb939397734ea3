/**
 * Crash test: a child appends with fsync=batch and reports every
 * acknowledgement; we SIGKILL it at random moments, 20 rounds on the same
 * data directory, and after each restart check that every acknowledged
 * message is there byte for byte, UIDs are unique and only grow, and flags
 * are as last acknowledged (or as the one change that was in flight).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/tmp.js';
import { openTestStore } from '../helpers/store.js';
import { crashBody, CRASH_USER, versionOf } from './crash-body.js';

const child = fileURLToPath(new URL('./append-child.js', import.meta.url));

interface Acks {
  messages: Map<number, string>;
  lastFlag: Map<number, number>;
  pendingFlag: Map<number, number>;
}

function runRound(dataDir: string, round: number, acks: Acks, killAfterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dataDir, String(round)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let count = 0;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [kind, uidText, value] = line.split(' ');
        const uid = Number(uidText);
        if (kind === 'READY') setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
        else if (kind === 'A') {
          assert.ok(!acks.messages.has(uid), `uid ${uid} acknowledged twice`);
          acks.messages.set(uid, value!);
          count++;
        } else if (kind === 'P') acks.pendingFlag.set(uid, Number(value));
        else if (kind === 'F') {
          acks.lastFlag.set(uid, Number(value));
          acks.pendingFlag.delete(uid);
        }
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal} before being killed`));
      else resolve(count);
    });
  });
}

test('kill -9 at random points loses no acknowledged message or flag change (20 rounds)', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  const acks: Acks = { messages: new Map(), lastFlag: new Map(), pendingFlag: new Map() };
  let highestUid = 0;
  let total = 0;
  try {
    for (let round = 1; round <= 20; round++) {
      const killAfter = 30 + Math.floor(Math.random() * 400);
      const before = new Set(acks.messages.keys());
      total += await runRound(dir.path, round, acks, killAfter);
      // UIDs handed out in this round are above every UID of earlier rounds.
      for (const uid of acks.messages.keys()) if (!before.has(uid)) assert.ok(uid > highestUid, `round ${round}: uid ${uid} not above ${highestUid}`);

      const store = await openTestStore(dir.path);
      try {
        // A child killed before its first acknowledgement may not even have created the INBOX.
        const listed = store.folder(CRASH_USER, 'INBOX') ? store.listMessages(CRASH_USER, 'INBOX') : [];
        const byUid = new Map(listed.map((m) => [m.uid, m]));
        for (let i = 1; i < listed.length; i++) assert.ok(listed[i]!.uid > listed[i - 1]!.uid, 'uids strictly increasing');
        for (const [uid, id] of acks.messages) {
          assert.ok(byUid.has(uid), `round ${round}: acknowledged uid ${uid} (${id}) lost`);
          const body = await store.readMessage(CRASH_USER, 'INBOX', uid);
          assert.ok(body.equals(crashBody(id)), `round ${round}: uid ${uid} body differs`);
        }
        for (const uid of new Set([...acks.lastFlag.keys(), ...acks.pendingFlag.keys()])) {
          const version = versionOf(byUid.get(uid)!.flags);
          // Never changed before: version 0 (no bits). The in-flight change may or may not have landed.
          const allowed = [acks.lastFlag.get(uid) ?? 0, acks.pendingFlag.get(uid)].filter((v) => v !== undefined);
          assert.ok(allowed.includes(version), `round ${round}: uid ${uid} has flag version ${version}, expected one of ${allowed.join(', ')}`);
          // Whatever survived is now the state to build on.
          acks.lastFlag.set(uid, version);
          acks.pendingFlag.delete(uid);
        }
        highestUid = Math.max(highestUid, ...listed.map((m) => m.uid));
      } finally {
        await store.close();
      }
    }
    assert.ok(total > 200, `only ${total} acknowledged appends over 20 rounds`);
  } finally {
    dir.remove();
  }
});
