/**
 * Decompressing a read window of stored messages: 64 snappy blocks of 4 KB
 * corpus messages (a POP3 read-ahead window, an IMAP FETCH batch), one
 * native call per block against one call for the window (uncompressMany).
 */
import assert from 'node:assert/strict';
import { compressSync, uncompressMany, uncompressSync } from '../../src/core/native.js';
import { generateMessage, mulberry32, SIZES } from '../corpus.js';
import type { BenchContext, MicroTask } from '../lib/runner.js';

const WINDOW = 64;

export async function run(ctx: BenchContext): Promise<void> {
  const rng = mulberry32(4096);
  const messages = Array.from({ length: WINDOW }, () => generateMessage(rng, 'plain', SIZES['4k']));
  const blocks = messages.map((m) => compressSync(m));
  const same = (out: Buffer[]): void => {
    assert.equal(out.length, WINDOW);
    out.forEach((body, k) => assert.ok(body.equals(messages[k]!), `message ${k} differs`));
  };
  const tasks: MicroTask[] = [
    { name: `uncompressSync × ${WINDOW} (4KB plain)`, fn: () => blocks.map((b) => uncompressSync(b)), check: (out) => same(out as Buffer[]) },
    { name: `uncompressMany of ${WINDOW} (4KB plain)`, fn: () => uncompressMany(blocks), check: (out) => same(out as Buffer[]) },
  ];
  await ctx.runMicro('decode', tasks);
}
