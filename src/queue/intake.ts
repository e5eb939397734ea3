/**
 * Intake: where an accepted message becomes durable. Local recipients get it
 * in their INBOX (one record for all of them); remote recipients get one
 * queue entry for outbound delivery. The SMTP 250 waits for both fsyncs —
 * with group commit they usually ride the same one.
 */
import type { Store } from '../store/store.js';

/** The parts of a recipient decision intake needs (structurally the policy's Recipient). */
export type IntakeRecipient = { kind: 'local'; mailbox: string; original: string } | { kind: 'remote'; address: string; domain: string };

export interface IntakeEnvelope {
  id: string;
  sender: string | null;
  recipients: IntakeRecipient[];
  dsn: { ret?: 'FULL' | 'HDRS'; envid?: string; notify: Map<string, string[]>; orcpt: Map<string, string> };
  smtputf8: boolean;
  body8bit: boolean;
}

export class Intake {
  /** Messages committed, by where they went (for /metrics): only mailboxes, only the queue, or both. */
  readonly stats = { local: 0, queued: 0, mixed: 0 };

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    /** Called once a queue entry is durable, so the queue runner can try it at once. */
    private readonly onQueued: (id: string, body: Buffer) => void = () => {},
  ) {}

  async commit(envelope: IntakeEnvelope, message: Buffer): Promise<void> {
    const local = [...new Set(envelope.recipients.flatMap((r) => (r.kind === 'local' ? [r.mailbox] : [])))];
    const remote = envelope.recipients.flatMap((r) => (r.kind === 'remote' ? [r.address] : []));
    const writes: Promise<unknown>[] = [];
    if (local.length > 0) writes.push(this.store.deliver({ recipients: local, body: message }));
    if (remote.length > 0) {
      const dsn: Record<string, unknown> = {};
      if (envelope.dsn.ret) dsn.ret = envelope.dsn.ret;
      if (envelope.dsn.envid) dsn.envid = envelope.dsn.envid;
      if (envelope.dsn.notify.size) dsn.notify = Object.fromEntries(envelope.dsn.notify);
      if (envelope.dsn.orcpt.size) dsn.orcpt = Object.fromEntries(envelope.dsn.orcpt);
      writes.push(
        this.store.enqueue({
          id: envelope.id,
          sender: envelope.sender,
          recipients: remote,
          arrived: this.now(),
          body: message,
          dsn: Object.keys(dsn).length ? dsn : undefined,
          smtputf8: envelope.smtputf8,
          body8bit: envelope.body8bit,
        }).then(() => this.onQueued(envelope.id, message)),
      );
    }
    await Promise.all(writes);
    if (local.length > 0 && remote.length > 0) this.stats.mixed++;
    else if (local.length > 0) this.stats.local++;
    else if (remote.length > 0) this.stats.queued++;
  }
}
