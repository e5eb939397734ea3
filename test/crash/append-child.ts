/**
 * Child process for the kill -9 test: appends messages and flag changes with
 * fsync=batch from many concurrent writers and prints each acknowledgement
 * as soon as its promise resolves:
 *   A <uid> <id>      message <id> stored with <uid>
 *   P <uid> <k>       flag change to version k (0..15) on <uid> is about to be issued
 *   F <uid> <k>       flag change k on <uid> acknowledged
 * Usage: node append-child.js DATA_DIR ROUND
 */
import { writeSync } from 'node:fs';
import { silentLogger } from '../../src/core/log.js';
import { Store } from '../../src/store/store.js';
import { crashBody, CRASH_USER, versionFlags } from './crash-body.js';

const [dataDir, round] = process.argv.slice(2);
if (!dataDir || !round) {
  console.error('usage: append-child DATA_DIR ROUND');
  process.exit(2);
}

// writeSync: a line is in the pipe before the next await, so a SIGKILL can
// only lose acknowledgements we never printed, never print one we did not get.
const say = (line: string): void => {
  writeSync(1, line + '\n');
};

const store = await Store.open({ dataDir, segmentSize: 256 * 1024, fsync: 'batch', logger: silentLogger, threads: 1, checkpointEvery: 300, checkpointIntervalMs: 0, compactionIntervalMs: 0 });
say('READY');

async function writer(w: number): Promise<void> {
  const mine: number[] = [];
  const versions = new Map<number, number>();
  for (let seq = 0; ; seq++) {
    const id = `${round}.${w}.${seq}`;
    const [placed] = await store.deliver({ recipients: [CRASH_USER], body: crashBody(id) });
    say(`A ${placed!.uid} ${id}`);
    mine.push(placed!.uid);
    if (seq % 3 === 2) {
      const uid = mine[(seq * 7) % mine.length]!;
      // Each uid belongs to one writer, so its flag changes are strictly sequential.
      const k = ((versions.get(uid) ?? 0) + 1) % 16;
      versions.set(uid, k);
      say(`P ${uid} ${k}`);
      await store.setFlags(CRASH_USER, 'INBOX', [uid], '=', versionFlags(k));
      say(`F ${uid} ${k}`);
    }
  }
}

await Promise.all(Array.from({ length: 24 }, (_, w) => writer(w)));
