/**
 * The outbound queue runner: takes queued messages when they are due,
 * routes each recipient domain (src/delivery/router.ts), delivers over SMTP
 * (or a webhook), and records what happened per recipient in the store:
 *
 *   delivered        → queueDone 'delivered'
 *   5xx / no domain  → DSN to the sender, then queueDone 'bounced'
 *   4xx / no answer  → queueAttempt with the next time from delivery.retry
 *                      (the last delay repeats); past maxQueueLifetime → bounced
 *
 * Order matters: a recipient's outcome is recorded only after it happened
 * (the remote 250, the DSN stored), so a crash in between repeats the step
 * — at worst a second copy — and never loses a message or a bounce.
 * Mail from the null sender `<>` is never bounced (RFC 5321 §4.5.5).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';
import type { QueueItem, QueueOutcome } from '../store/queue-index.js';
import type { Route } from '../delivery/router.js';
import type { DeliveryResult, Destination, OutboundDsn, OutboundMessage } from '../delivery/types.js';
import { renderDsn, type DsnRecipient } from './dsn.js';
import { countReceived } from '../codec/smtp/trace.js';

/** What the scheduler needs of the store. */
export interface QueueStore {
  queueItems(): QueueItem[];
  queueItem(id: string): QueueItem | undefined;
  readQueueBody(id: string): Promise<Buffer>;
  recordQueueAttempt(id: string, attempts: number, nextAttempt: number, errors: [string, string][]): Promise<void>;
  recordQueueDone(id: string, outcomes: [string, QueueOutcome, string][]): Promise<void>;
}

export interface QueueRouter {
  route(domain: string): Promise<Route>;
}

export interface QueueTransport {
  deliver(destination: Destination, message: OutboundMessage): Promise<DeliveryResult>;
}

/** Where bounces go: main sends them to the sender's INBOX when local, else queues them (from <>). */
export interface BounceSink {
  sendBounce(recipient: string, message: Buffer): Promise<void>;
}

/** POSTs a message to a webhook route; see webhook.ts. */
export type WebhookDeliver = (url: string, message: OutboundMessage) => Promise<{ status: 'delivered' | 'temporary' | 'permanent'; text: string }>;

export interface SchedulerOptions {
  store: QueueStore;
  router: QueueRouter;
  transport: QueueTransport;
  webhook: WebhookDeliver;
  bounces: BounceSink;
  hostname: string;
  retryMs: readonly number[];
  maxQueueLifetimeMs: number;
  clock: Clock;
  logger: Logger;
  /** Messages being delivered at once. */
  concurrency?: number;
  /** Whether ip:port is one of our own SMTP listeners (an MX pointing back at us would loop). */
  isSelf?: (ip: string, port: number) => boolean;
}

const DEFAULT_CONCURRENCY = 100;
/** Memory for bodies handed over by intake (the rest are read back from the store). */
const FRESH_BODY_BYTES = 64 * 1024 * 1024;
/** More Received headers than this: a mail loop (RFC 5321 §6.3); bounce instead of sending it round again. */
const MAX_HOPS = 30;
/** Distinct status codes counted separately in stats.deferredByStatus; the rest count as "other". */
const MAX_STATUS_KEYS = 100;

interface Verdicts {
  delivered: [string, string][];
  bounced: DsnRecipient[];
  /** recipient, diagnostic text, RFC 3463 status (for /metrics). */
  deferred: [string, string, string][];
}

export class QueueScheduler {
  /** Recipient outcomes once durably recorded, for /metrics. */
  readonly stats = { delivered: 0, deferred: 0, bounced: 0, deferredByStatus: new Map<string, number>() };
  private opts: SchedulerOptions;
  /**
   * Due now, in arrival order. A queue rather than a scan of everything
   * queued: under load thousands of messages wait here, and choosing the next
   * one must not cost more as the queue grows.
   */
  private ready: string[] = [];
  private readonly readySet = new Set<string>();
  /** Not due yet: id → when (ms). Scanned only when it changes or its timer fires. */
  private readonly later = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private timer: object | null = null;
  private timerAt = Infinity;
  private stopped = false;

  /** New routes, retry delays or lifetime (SIGHUP): used from the next attempt on. */
  reconfigure(changes: Pick<SchedulerOptions, 'router' | 'retryMs' | 'maxQueueLifetimeMs'>): void {
    this.opts = { ...this.opts, ...changes };
  }

  constructor(options: SchedulerOptions) {
    this.opts = options;
  }

  /** Picks up what the store already holds (after a restart: everything not finished). */
  start(): void {
    for (const item of this.opts.store.queueItems().sort((a, b) => a.nextAttempt - b.nextAttempt)) this.schedule(item.id, item.nextAttempt);
    this.pump();
  }

  /**
   * A message was just queued (its record is durable): try it now. `body`,
   * when given, saves the first attempt reading back what intake still holds.
   */
  kick(id: string, body?: Buffer): void {
    if (this.stopped) return;
    if (body && this.freshBytes + body.length <= FRESH_BODY_BYTES) {
      this.fresh.set(id, body);
      this.freshBytes += body.length;
    }
    this.schedule(id, 0);
    this.pump();
  }

  /** Bodies of just-queued messages, for their first attempt (bounded by FRESH_BODY_BYTES). */
  private readonly fresh = new Map<string, Buffer>();
  private freshBytes = 0;

  private takeFresh(id: string): Buffer | undefined {
    const body = this.fresh.get(id);
    if (body) {
      this.fresh.delete(id);
      this.freshBytes -= body.length;
    }
    return body;
  }

  /** `postline queue flush`: everything is due now. Returns how many messages are queued. */
  flush(): number {
    for (const item of this.opts.store.queueItems()) this.schedule(item.id, 0);
    this.pump();
    return this.ready.length + this.later.size + this.running.size;
  }

  /** `postline queue delete ID`: drops the message without a bounce (like postsuper -d). */
  async delete(id: string): Promise<boolean> {
    await this.running.get(id);
    const item = this.opts.store.queueItem(id);
    this.takeFresh(id);
    if (!item) return false;
    this.later.delete(id);
    if (this.readySet.delete(id)) this.ready = this.ready.filter((r) => r !== id);
    await this.opts.store.recordQueueDone(
      id,
      item.pending.map((r) => [r, 'deleted', 'deleted by the administrator']),
    );
    return true;
  }

  /** Resolves when no delivery is in progress (those started meanwhile included). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Stops taking new work and waits for deliveries in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    await Promise.all([...this.running.values()]);
  }

  private schedule(id: string, at: number): void {
    if (at <= this.opts.clock.now()) {
      this.later.delete(id);
      if (!this.readySet.has(id)) {
        this.readySet.add(id);
        this.ready.push(id);
      }
      return;
    }
    this.later.set(id, at);
    this.armTimer();
  }

  /** One timer, for the earliest message not due yet. */
  private armTimer(): void {
    if (this.stopped) return;
    let earliest = Infinity;
    for (const at of this.later.values()) if (at < earliest) earliest = at;
    if (earliest === this.timerAt) return;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = earliest;
    if (earliest === Infinity) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      const now = this.opts.clock.now();
      const due = [...this.later].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
      for (const [id] of due) this.schedule(id, 0);
      this.armTimer();
      this.pump();
    }, Math.max(0, earliest - this.opts.clock.now()));
    // Never keep the process alive just for a retry hours away.
    (this.timer as { unref?(): unknown }).unref?.();
  }

  /** Starts due messages while fewer than `concurrency` are being delivered. */
  private pump(): void {
    if (this.stopped) return;
    const limit = this.opts.concurrency ?? DEFAULT_CONCURRENCY;
    let skipped: string[] | null = null;
    while (this.running.size < limit && this.ready.length > 0) {
      const id = this.ready.shift()!;
      this.readySet.delete(id);
      if (this.running.has(id)) {
        // Kicked again while its attempt runs (a flush): try it once more afterwards.
        (skipped ??= []).push(id);
        continue;
      }
      const run = this.attempt(id)
        .catch((err: unknown) => {
          // A store failure (disk full, say): keep the message and try again after the first retry delay.
          this.opts.logger.error({ err, queueId: id }, 'delivery attempt failed; will retry');
          if (this.opts.store.queueItem(id)) this.schedule(id, this.opts.clock.now() + (this.opts.retryMs[0] ?? 60_000));
        })
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
      this.running.set(id, run);
    }
    if (skipped) for (const id of skipped) this.schedule(id, 0);
  }

  private async attempt(id: string): Promise<void> {
    const fresh = this.takeFresh(id);
    const item = this.opts.store.queueItem(id);
    if (!item || item.pending.length === 0) return;
    const body = fresh ?? (await this.opts.store.readQueueBody(id));
    const verdicts: Verdicts = { delivered: [], bounced: [], deferred: [] };
    if (countReceived(body) > MAX_HOPS) {
      for (const r of item.pending) verdicts.bounced.push({ recipient: r, action: 'failed', status: '5.4.6', diagnostic: `X-Postline; mail loop: more than ${MAX_HOPS} Received headers` });
    } else {
      const byDomain = new Map<string, string[]>();
      for (const r of item.pending) {
        const domain = r.slice(r.lastIndexOf('@') + 1).toLowerCase();
        byDomain.set(domain, [...(byDomain.get(domain) ?? []), r]);
      }
      await Promise.all([...byDomain].map(([domain, recipients]) => this.deliverDomain(item, body, domain, recipients, verdicts)));
    }
    await this.settle(item, body, verdicts);
  }

  private async deliverDomain(item: QueueItem, body: Buffer, domain: string, recipients: string[], v: Verdicts): Promise<void> {
    const route = await this.opts.router.route(domain);
    const message = this.outbound(item, body, recipients);
    switch (route.kind) {
      case 'bounce':
        for (const r of recipients) v.bounced.push({ recipient: r, action: 'failed', status: route.status, diagnostic: `X-Postline; ${route.text}` });
        return;
      case 'defer':
        // Routing defers only when DNS fails: 4.4.3, directory server failure.
        for (const r of recipients) v.deferred.push([r, route.text, '4.4.3']);
        return;
      case 'webhook': {
        const result = await this.opts.webhook(route.url, message);
        for (const r of recipients) {
          if (result.status === 'delivered') v.delivered.push([r, result.text]);
          else if (result.status === 'permanent') v.bounced.push({ recipient: r, action: 'failed', status: '5.0.0', diagnostic: `X-Postline; ${result.text}`, remoteMta: route.url });
          else v.deferred.push([r, result.text, '4.0.0']);
        }
        return;
      }
      case 'smtp':
        return this.deliverSmtp(route.hosts, message, v);
    }
  }

  /**
   * MX hosts in order, each host's addresses in turn. The next address is
   * tried only when this one never gave per-recipient answers (connection,
   * greeting, EHLO or TLS trouble); once a server answers for the
   * recipients, its answers stand.
   */
  private async deliverSmtp(hosts: { name: string; port: number; addresses: string[] }[], message: OutboundMessage, v: Verdicts): Promise<void> {
    let last: DeliveryResult | null = null;
    for (const host of hosts) {
      for (const ip of host.addresses) {
        if (this.opts.isSelf?.(ip, host.port)) {
          // Postfix: "mail for X loops back to myself". The domain is not ours, yet its MX is us: a configuration error, never a loop.
          for (const r of message.recipients) v.bounced.push({ recipient: r, action: 'failed', status: '5.4.6', diagnostic: `X-Postline; mail for ${r.slice(r.lastIndexOf('@') + 1)} loops back to myself (${host.name})` });
          return;
        }
        const result = await this.opts.transport.deliver({ host: host.name, port: host.port, ip }, message);
        last = result;
        const unanswered = result.failure !== null && ['connect', 'greeting', 'helo', 'starttls'].includes(result.failure.stage) && result.failure.status === 'temporary';
        if (unanswered) {
          this.opts.logger.info({ host: host.name, ip, port: host.port, reason: result.failure!.text }, 'delivery host unavailable; trying the next');
          continue;
        }
        this.collect(result, v);
        return;
      }
    }
    if (last) this.collect(last, v);
    else for (const r of message.recipients) v.deferred.push([r, 'no mail host to try', '4.4.1']);
  }

  private collect(result: DeliveryResult, v: Verdicts): void {
    for (const o of result.recipients) {
      if (o.status === 'delivered') v.delivered.push([o.recipient, `${o.code ?? ''} ${o.text}`.trim()]);
      else if (o.status === 'permanent') v.bounced.push({ recipient: o.recipient, action: 'failed', status: o.enhanced, diagnostic: o.diagnostic, remoteMta: o.remoteHost, lastAttempt: this.opts.clock.now() });
      else v.deferred.push([o.recipient, o.diagnostic, o.enhanced]);
    }
  }

  private outbound(item: QueueItem, body: Buffer, recipients: string[]): OutboundMessage {
    const dsn = (item.dsn ?? {}) as OutboundDsn;
    const message: OutboundMessage = { sender: item.sender, recipients, body, smtputf8: item.smtputf8, body8bit: item.body8bit };
    if (dsn.ret || dsn.envid || dsn.notify || dsn.orcpt) message.dsn = { ret: dsn.ret, envid: dsn.envid, notify: dsn.notify, orcpt: dsn.orcpt };
    return message;
  }

  /** Records the attempt's outcomes in the safe order (see the module comment). */
  private async settle(item: QueueItem, body: Buffer, v: Verdicts): Promise<void> {
    const now = this.opts.clock.now();
    const log = this.opts.logger;
    if (v.delivered.length > 0) {
      await this.opts.store.recordQueueDone(item.id, v.delivered.map(([r, text]) => [r, 'delivered', text]));
      this.stats.delivered += v.delivered.length;
      log.info({ queueId: item.id, recipients: v.delivered.map(([r]) => r) }, 'delivered');
    }
    if (v.deferred.length > 0 && now - item.arrived >= this.opts.maxQueueLifetimeMs) {
      for (const [r, text] of v.deferred.splice(0)) v.bounced.push({ recipient: r, action: 'failed', status: '4.4.7', diagnostic: text.includes(';') ? text : `X-Postline; ${text}`, lastAttempt: now });
    }
    if (v.bounced.length > 0) {
      // Never bounce a bounce: mail from <> that cannot be delivered is dropped (and logged).
      if (item.sender !== null) await this.opts.bounces.sendBounce(item.sender, this.renderBounce(item, body, v.bounced, now));
      await this.opts.store.recordQueueDone(item.id, v.bounced.map((b) => [b.recipient, 'bounced', b.diagnostic ?? b.status]));
      this.stats.bounced += v.bounced.length;
      log.warn({ queueId: item.id, recipients: v.bounced.map((b) => b.recipient), sender: item.sender ?? '<>' }, item.sender === null ? 'undeliverable mail from <> dropped' : 'bounced');
    }
    if (v.deferred.length > 0) {
      const attempts = item.attempts + 1;
      const delays = this.opts.retryMs;
      const delay = delays.length > 0 ? delays[Math.min(attempts - 1, delays.length - 1)]! : 60_000;
      const next = now + delay;
      await this.opts.store.recordQueueAttempt(item.id, attempts, next, v.deferred.map(([r, text]): [string, string] => [r, text]));
      this.countDeferrals(v.deferred);
      this.schedule(item.id, next);
      log.info({ queueId: item.id, recipients: v.deferred.map(([r]) => r), attempts, retryInMs: delay, reason: v.deferred[0]![1] }, 'deferred');
    }
  }

  /** Counted per status once the attempt is recorded; the number of distinct codes is capped (remote servers choose them). */
  private countDeferrals(deferred: [string, string, string][]): void {
    this.stats.deferred += deferred.length;
    const byStatus = this.stats.deferredByStatus;
    for (const [, , status] of deferred) {
      const key = byStatus.has(status) || byStatus.size < MAX_STATUS_KEYS ? status : 'other';
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
    }
  }

    private renderBounce(item: QueueItem, body: Buffer, failed: DsnRecipient[], now: number): Buffer {
    const dsn = (item.dsn ?? {}) as OutboundDsn;
    const orcpt = dsn.orcpt ?? {};
    return renderDsn({
      reportingMta: this.opts.hostname,
      arrivalDate: item.arrived,
      ...(dsn.envid ? { originalEnvelopeId: dsn.envid } : {}),
      sender: item.sender!,
      failed: failed.map((f) => (orcpt[f.recipient] ? { ...f, originalRecipient: orcpt[f.recipient] } : f)),
      original: body,
      returnContent: dsn.ret === 'FULL' ? 'full' : 'headers',
      messageId: () => `${randomBytes(8).toString('hex')}@${this.opts.hostname}`,
      now,
    });
  }
}

