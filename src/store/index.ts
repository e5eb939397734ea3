// Public entry of the store. (stub until the segmented log lands)
import type { Logger } from '../core/log.js';

export interface StoreOpenOptions {
  dataDir: string;
  segmentSize: number;
  fsync: 'batch' | 'always' | 'off';
  threads: number | 'auto';
  logger: Logger;
}

export interface Store {
  close(): Promise<void>;
}

export async function openStore(_options: StoreOpenOptions): Promise<Store> {
  return { close: async () => {} };
}
