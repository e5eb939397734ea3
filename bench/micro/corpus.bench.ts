/**
 * How fast the corpus generator is, per kind and size. Mostly here to
 * exercise the plumbing, but it also tells a macro benchmark whether building
 * its corpus up front is cheap enough to ignore.
 */
import assert from 'node:assert/strict';
import { generateMessage, mulberry32, MESSAGE_KINDS, SIZES } from '../corpus.js';
import type { BenchContext, MicroTask } from '../lib/runner.js';

export async function run(ctx: BenchContext): Promise<void> {
  const sizes = ctx.quick ? [SIZES['4k']] : [SIZES['1k'], SIZES['4k'], SIZES['64k']];
  const tasks: MicroTask[] = [];
  for (const kind of MESSAGE_KINDS) {
    for (const size of sizes) {
      const rng = mulberry32(size + kind.length);
      tasks.push({
        name: `generateMessage ${kind} ${size / 1024}KB`,
        fn: () => generateMessage(rng, kind, size),
        check(out: Buffer) {
          assert.ok(Math.abs(out.length - size) <= size * 0.03, `${out.length} bytes for a ${size}-byte target`);
          assert.ok(out.indexOf('\r\n\r\n') > 0, 'no header/body separator');
          assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(out.toString('latin1')), 'bare CR or LF');
        },
      });
    }
  }
  await ctx.runMicro('corpus', tasks);
}
