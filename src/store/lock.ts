/**
 * One server per data directory: dataDir/LOCK holds the owner's pid. A lock
 * left by a process that no longer exists (kill -9) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PostlineError } from '../core/errors.js';

export interface DirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataDir(dataDir: string): Promise<DirLock> {
  const file = join(dataDir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      await fh.write(`${process.pid}\n`);
      await fh.close();
      return { release: () => unlink(file).catch(() => {}) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && (pid === process.pid || alive(pid))) {
        throw new PostlineError('ERR_STORE_LOCKED', `data directory ${dataDir} is in use by another postline process (pid ${pid})`);
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new PostlineError('ERR_STORE_LOCKED', `cannot lock data directory ${dataDir}`);
}
