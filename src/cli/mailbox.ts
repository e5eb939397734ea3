/** `postline mailbox export ADDRESS --format mbox [--out FILE]`: every folder of one user, as mbox. */
import { open } from 'node:fs/promises';
import type { Config } from '../config/types.js';
import { silentLogger } from '../core/log.js';
import { isPostlineError } from '../core/errors.js';
import { Store } from '../store/store.js';
import { mboxEntry } from '../store/mbox.js';

export interface ExportOptions {
  address: string;
  format: 'mbox';
  /** file path, or null for stdout */
  out: string | null;
}

/** Runs the export; returns the exit code. Errors are written with `err` as one line. */
export async function runMailboxExport(config: Config, options: ExportOptions, err: (line: string) => void): Promise<number> {
  let store: Store;
  try {
    // Read-only: works next to a running server and never changes the log.
    store = await Store.open({ dataDir: config.dataDir, segmentSize: config.store.segmentSize, fsync: config.store.fsync, logger: silentLogger, readOnly: true });
  } catch (e) {
    err(`postline: mailbox export: cannot open the store in ${config.dataDir}: ${(e as Error).message}`);
    return 1;
  }
  const owner = options.address.toLowerCase();
  const folders = store.listFolders(owner);
  if (folders.length === 0) {
    await store.close();
    err(`postline: mailbox export: no mailbox for ${owner}`);
    return 1;
  }
  const sink = options.out ? await open(options.out, 'w') : null;
  const write = async (buf: Buffer): Promise<void> => {
    if (sink) await sink.write(buf);
    else if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
  };
  let exported = 0;
  let failed = 0;
  try {
    for (const folder of folders) {
      for (const m of store.listMessages(owner, folder.name)) {
        try {
          const body = await store.readMessage(owner, folder.name, m.uid);
          await write(mboxEntry(body, { folder: folder.name, internalDate: m.internalDate, flags: m.flags }));
          exported++;
        } catch (e) {
          if (!isPostlineError(e)) throw e;
          failed++;
          err(`postline: mailbox export: ${folder.name} uid ${m.uid}: ${e.message}`);
        }
      }
    }
  } finally {
    await sink?.sync();
    await sink?.close();
    await store.close();
  }
  if (options.out) err(`exported ${exported} message(s) from ${folders.length} folder(s) to ${options.out}`);
  return failed === 0 ? 0 : 1;
}
