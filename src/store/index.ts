/** Public entry of the store: what the rest of postline may use. */
import type { Logger } from '../core/log.js';
import { Store } from './store.js';
import type { WorkerPool } from '../pool/pool.js';

export { Store } from './store.js';
export type { DeliverInput, Placement, FolderSummary, MessageSummary, StoreStats, RecoveryReport } from './store.js';
export type { Change } from './mailbox/mailboxes.js';
export type { CompactionReport } from './compaction.js';

export interface StoreOpenOptions {
  dataDir: string;
  segmentSize: number;
  fsync: 'batch' | 'always' | 'off';
  threads: number | 'auto';
  logger: Logger;
  /** A pool shared with the rest of the server; without it the store makes its own. */
  pool?: WorkerPool;
}

export function openStore(options: StoreOpenOptions): Promise<Store> {
  return Store.open(options);
}
