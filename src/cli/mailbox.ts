// Owned by the store work: `postline mailbox export`. (stub until the store lands)
import type { Config } from '../config/types.js';

export interface ExportOptions {
  address: string;
  format: 'mbox';
  /** file path, or null for stdout */
  out: string | null;
}

/** Runs `postline mailbox export`; returns the exit code. Errors are written with `err` as one line. */
export async function runMailboxExport(config: Config, options: ExportOptions, err: (line: string) => void): Promise<number> {
  err(`mailbox export: not implemented yet (${config.dataDir}, ${options.address})`);
  return 1;
}
