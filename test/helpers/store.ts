/** Opening real stores on temp directories for tests. */
import { silentLogger } from '../../src/core/log.js';
import { Store, type StoreOptions } from '../../src/store/store.js';

export function openTestStore(dataDir: string, overrides: Partial<StoreOptions> = {}): Promise<Store> {
  return Store.open({
    dataDir,
    segmentSize: 1024 * 1024,
    fsync: 'batch',
    logger: silentLogger,
    threads: 1,
    checkpointIntervalMs: 0,
    compactionIntervalMs: 0,
    ...overrides,
  });
}

/** A small RFC 5322 message, unique per n. */
export function sampleMessage(n: number, extra = ''): Buffer {
  return Buffer.from(
    `From: sender${n}@example.org\r\nTo: user@example.org\r\nSubject: message ${n}\r\nMessage-ID: <${n}@example.org>\r\n\r\n` +
      `Hello number ${n}. ${'The quick brown fox jumps over the lazy dog. '.repeat(10 + (n % 7))}${extra}\r\n`,
  );
}

/** Deterministic incompressible bytes (xorshift32), base64-encoded like an attachment. */
export function noise(bytes: number, seed: number): string {
  const out = Buffer.alloc(bytes);
  let x = seed * 2654435761 + 1 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out.toString('base64');
}
