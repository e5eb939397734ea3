/**
 * piscina task module: each named export is one task of src/pool/tasks.ts.
 * Work arrives in batches (many records per task): a task hop costs tens of
 * microseconds, so per-message tasks would cap throughput.
 */
import { move } from 'piscina';
import { encodeBatch as encode, TRANSFER_MIN_BYTES } from '../src/store/log/encode.js';
import type { TaskMap } from '../src/pool/tasks.js';
import { verifyPasswordSync } from '../src/auth/password.js';
import { parseMessage } from '../src/codec/mime/index.js';

type In<K extends keyof TaskMap> = TaskMap[K]['input'];
type Out<K extends keyof TaskMap> = TaskMap[K]['output'];

export function encodeBatch(input: In<'encodeBatch'>): Out<'encodeBatch'> {
  const out = encode(input);
  // move() hands big results back without a copy; small ones are cheaper to copy.
  return out.length >= TRANSFER_MIN_BYTES ? (move(out) as unknown as Out<'encodeBatch'>) : out;
}

/** One login per task: scrypt (~100 ms at ln=15) dwarfs the hop, and logins cannot wait to be batched. */
export function verifyPassword(input: In<'verifyPassword'>): Out<'verifyPassword'> {
  return verifyPasswordSync(input.password, input.phc);
}

/** A batch of messages per task: a parse of a 4 KB message is ~10–15 µs, a thread hop ~35 µs. */
export function parseMime(input: In<'parseMime'>): Out<'parseMime'> {
  return input.bodies.map((body) => parseMessage(body));
}
