/** Small durable-file helpers shared by the log, checkpoints and the lock. */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync a directory so a rename or create inside it survives a machine crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems refuse fsync on directories (EINVAL); nothing more to do there.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` atomically. Order matters: write and fsync a temp file in
 * the same directory, rename it over the target, then fsync the directory;
 * a crash at any point leaves either the old or the new content.
 */
export async function writeFileAtomic(file: string, data: Uint8Array, durable = true): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(data, 0, data.length, 0);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  if (durable) await fsyncDir(dirname(file));
}
