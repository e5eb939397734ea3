/**
 * The native helpers (napi-rs, CommonJS packages) behind one ESM module:
 * snappy compression and CRC32C. Node's ESM loader cannot see their named
 * exports, so they are taken from the default export here, once.
 */
import snappy from '@napi-rs/snappy';
import crc from '@node-rs/crc32';

export const compressSync: (input: Buffer | Uint8Array) => Buffer = snappy.compressSync;
export const uncompressSync = (input: Uint8Array): Buffer => snappy.uncompressSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength)) as Buffer;
export const crc32c: (input: Buffer | Uint8Array, initialState?: number) => number = crc.crc32c;
