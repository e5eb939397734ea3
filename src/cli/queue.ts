/**
 * `postline queue list | flush | delete ID` — like mailq / postqueue -f /
 * postsuper -d. A running server is asked over its control socket
 * (dataDir/control.sock); without one, `list` reads the store read-only,
 * `delete` writes the outcome itself, and `flush` says there is nobody to
 * flush (queued mail goes out when the server starts).
 */
import { join } from 'node:path';
import { stringOption, type ParsedArgs } from './args.js';
import { usageError, type CliContext } from './context.js';
import { requireConfig } from './load-config.js';
import type { Config } from '../config/types.js';
import { silentLogger } from '../core/log.js';
import { controlRequest } from '../net/control-socket.js';
import { Store } from '../store/store.js';
import type { QueueItem } from '../store/queue-index.js';

export function controlSocketPath(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'control.sock');
}

/** What `queue list` prints per message (and the control socket returns). */
export interface QueueListing {
  id: string;
  arrived: number;
  size: number;
  sender: string | null;
  pending: string[];
  attempts: number;
  nextAttempt: number;
  lastError: Record<string, string>;
}

export function listing(items: QueueItem[]): QueueListing[] {
  return items
    .map((q) => ({ id: q.id, arrived: q.arrived, size: q.size, sender: q.sender, pending: q.pending, attempts: q.attempts, nextAttempt: q.nextAttempt, lastError: q.lastError }))
    .sort((a, b) => a.arrived - b.arrived);
}

export async function runQueueList(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  const answer = await controlRequest(controlSocketPath(config), { op: 'queue-list' });
  let items: QueueListing[];
  if (answer) {
    if (!answer.ok) return fail(ctx, 'list', answer.error);
    items = answer.items as QueueListing[];
  } else {
    const store = await Store.open({ dataDir: config.dataDir, segmentSize: config.store.segmentSize, fsync: config.store.fsync, logger: silentLogger, readOnly: true });
    items = listing(store.queueItems());
    await store.close();
  }
  if (items.length === 0) {
    ctx.out('Mail queue is empty');
    return 0;
  }
  // mailq's shape: id, size, arrival, sender; then the reason and the recipients, indented.
  for (const q of items) {
    ctx.out(`${q.id.padEnd(20)} ${String(q.size).padStart(9)} ${new Date(q.arrived).toISOString()}  ${q.sender ?? '<>'}`);
    const reasons = new Set(q.pending.map((r) => q.lastError[r]).filter((e): e is string => !!e));
    for (const reason of reasons) ctx.out(`  (${reason})`);
    for (const r of q.pending) ctx.out(`    ${r}`);
    if (q.attempts > 0) ctx.out(`  attempts: ${q.attempts}, next: ${new Date(q.nextAttempt).toISOString()}`);
  }
  ctx.out(`-- ${items.length} message${items.length === 1 ? '' : 's'} in the queue`);
  return 0;
}

export async function runQueueFlush(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  const answer = await controlRequest(controlSocketPath(config), { op: 'queue-flush' });
  if (!answer) return fail(ctx, 'flush', 'postline is not running; queued mail is sent when it starts');
  if (!answer.ok) return fail(ctx, 'flush', answer.error);
  ctx.out(`flushing ${String(answer.queued)} queued message(s)`);
  return 0;
}

export async function runQueueDelete(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const id = args.positionals['ID'];
  if (!id) throw usageError('missing ID (see postline queue list)');
  const { config } = requireConfig(ctx, stringOption(args, 'config'));
  const answer = await controlRequest(controlSocketPath(config), { op: 'queue-delete', id });
  let deleted: boolean;
  if (answer) {
    if (!answer.ok) return fail(ctx, 'delete', answer.error);
    deleted = answer.deleted === true;
  } else {
    const store = await Store.open({ dataDir: config.dataDir, segmentSize: config.store.segmentSize, fsync: config.store.fsync, logger: silentLogger, threads: 1, checkpointIntervalMs: 0, compactionIntervalMs: 0 });
    try {
      const item = store.queueItem(id);
      deleted = !!item;
      if (item) await store.recordQueueDone(id, item.pending.map((r) => [r, 'deleted', 'deleted by the administrator']));
    } finally {
      await store.close();
    }
  }
  if (!deleted) return fail(ctx, 'delete', `no queued message ${id}`);
  ctx.out(`deleted ${id}`);
  return 0;
}

function fail(ctx: CliContext, what: string, message: string): number {
  ctx.err(`postline: queue ${what}: ${message}`);
  return 1;
}
