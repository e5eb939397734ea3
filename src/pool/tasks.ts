/**
 * The task contract between the main thread and workers/tasks.ts: task name →
 * input → output. Both sides import this file, so a change shows up as a type
 * error on both. Inputs and outputs are plain data and buffers only.
 */
import type { EncodeBatchInput, EncodeBatchOutput } from '../store/log/encode.js';
import type { MimeInfo } from '../codec/mime/index.js';

export interface TaskMap {
  encodeBatch: { input: EncodeBatchInput; output: EncodeBatchOutput };
  verifyPassword: { input: { password: string; phc: string }; output: boolean };
  /** MIME structures (ENVELOPE/BODYSTRUCTURE material) of many messages: one task per IMAP FETCH batch. */
  parseMime: { input: { bodies: Uint8Array[] }; output: MimeInfo[] };
}

export type TaskName = keyof TaskMap;
