/**
 * The records of one readMessageBatch, decoded on demand (see
 * MessageBatch in src/protocol/mailbox-port.ts). A POP3 session reading a
 * 64-message window decodes the message it is about to send, and the next
 * one while its client is busy reading, instead of the whole window in one
 * ~0.6 ms block that a one-at-a-time client would wait through.
 * (It satisfies the protocol port's MessageBatch structurally: the store
 * does not import the protocols.)
 */
import { decodeMessageRecords, type StoredMessage } from './message-record.js';

export class RecordBatch {
  private readonly records: (StoredMessage | null)[];
  private readonly salt: number;
  /** undefined: not decoded yet; an Error: its record is damaged. */
  private readonly bodies: (Buffer | Error | null | undefined)[];

  constructor(records: (StoredMessage | null)[], salt: number) {
    this.records = records;
    this.salt = salt;
    this.bodies = new Array<Buffer | Error | null | undefined>(records.length);
  }

  get length(): number {
    return this.records.length;
  }

  body(k: number, run = 1): Buffer | null {
    if (k < 0 || k >= this.records.length) throw new RangeError(`message ${k} of a batch of ${this.records.length}`);
    if (this.bodies[k] === undefined) this.decode(k, run);
    const body = this.bodies[k]!;
    if (body instanceof Error) throw body;
    return body;
  }

  private decode(from: number, run: number): void {
    const ks: number[] = [];
    for (let k = from; k < this.records.length && ks.length < Math.max(1, run) && this.bodies[k] === undefined; k++) {
      if (this.records[k] === null) this.bodies[k] = null;
      else ks.push(k);
    }
    try {
      const decoded = decodeMessageRecords(ks.map((k) => this.records[k]!), this.salt);
      ks.forEach((k, n) => this.settle(k, decoded[n]!));
    } catch {
      // One damaged record fails the whole run: decode them one by one, so the error stays with its message.
      for (const k of ks) {
        try {
          this.settle(k, decodeMessageRecords([this.records[k]!], this.salt)[0]!);
        } catch (err) {
          this.settle(k, err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  }

  private settle(k: number, body: Buffer | Error): void {
    this.bodies[k] = body;
    // The record's bytes are no longer needed (they are a view of the window's read buffer, freed with the last view).
    this.records[k] = null;
  }
}
