/**
 * The task contract between the main thread and workers/tasks.ts: task name →
 * input → output. Both sides import this file, so a change shows up as a type
 * error on both. Inputs and outputs are plain data and buffers only.
 */
import type { EncodeBatchInput, EncodeBatchOutput } from '../store/log/encode.js';

export interface TaskMap {
  encodeBatch: { input: EncodeBatchInput; output: EncodeBatchOutput };
  verifyPassword: { input: { password: string; phc: string }; output: boolean };
}

export type TaskName = keyof TaskMap;
