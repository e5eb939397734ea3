/**
 * /metrics: postline's numbers in the Prometheus text format (prom-client).
 *
 * Pull, not push: the protocol, queue and store modules keep plain numeric
 * counters (`stats` objects, `stats()` methods) and know nothing of
 * prom-client; the `collect()` callbacks below read them when Prometheus
 * scrapes. The one exception is the fsync histograms, which need every
 * observation: the store calls an observer hook and we feed the histogram.
 *
 * Each server gets its own Registry (never prom-client's global one), so
 * several servers in one process — the tests — do not clash.
 *
 * This module is the only place that imports prom-client (src/http gets a
 * `render()` port from main). Its inputs are the structural `MetricsSources`
 * below, wired by main, so it imports no other part of postline.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Per listener (protocol = listener name: smtp, submission, smtps, pop3, pop3s, imap, imaps). */
export interface ListenerCounts {
  protocol: string;
  up: boolean;
  open: number;
  accepted: number;
  refused: number;
}

/** Messages committed by SMTP intake, by where they went. */
export interface IntakeCounts {
  /** Only local mailboxes. */
  local: number;
  /** Only the outbound queue. */
  queued: number;
  /** Both local mailboxes and the queue. */
  mixed: number;
}

/** Queue runner outcomes, per recipient, counted once durably recorded. */
export interface OutcomeCounts {
  delivered: number;
  deferred: number;
  bounced: number;
  /** Deferrals by RFC 3463 enhanced status code ("4.4.1"). */
  deferredByStatus: ReadonlyMap<string, number>;
}

export interface QueueSnapshotItem {
  readonly pending: readonly string[];
  readonly arrived: number;
}

export interface StoreCounts {
  segments: number;
  logBytes: number;
  messages: number;
  appends: number;
  fsyncs: number;
}

/** Wait times in milliseconds (piscina's histogram summary), or null before any task ran. */
export interface PoolCounts {
  threads: number;
  utilization: number;
  queueSize: number;
  waitTimeMs: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
}

export interface DnsCounts {
  hits: number;
  misses: number;
  queries: number;
  entries: number;
  evictions: number;
}

export interface MetricsSources {
  listeners(): ListenerCounts[];
  intake(): IntakeCounts;
  outcomes(): OutcomeCounts;
  queueItems(): readonly QueueSnapshotItem[];
  store(): StoreCounts;
  /** null while writable, else why not. */
  storeWriteFailure(): Error | null;
  /** Called after every fsync with the records it acknowledged; returns an unsubscribe function. */
  observeFsync(observer: (records: number, seconds: number) => void): () => void;
  pool?: () => PoolCounts;
  dns?: () => DnsCounts;
  /** ms since the epoch (the injected clock), for queue ages. */
  now(): number;
}

export interface ServerMetrics {
  readonly contentType: string;
  /** The exposition text; reads every source now. */
  render(): Promise<string>;
  /** Detaches from the sources (the fsync hook). */
  close(): void;
}

/**
 * Bounded label sets: a queue full of mail for thousands of domains, or
 * remote servers inventing status codes, must not make the scrape huge.
 * Past these, the remainder is summed under the label "other".
 */
const MAX_DOMAIN_LABELS = 100;
const MAX_STATUS_LABELS = 50;
const OTHER = 'other';

/** Records per fsync: 1 (fsync=always, or a quiet server) up to the log's batch cut (128) and a little past it. */
const FSYNC_RECORD_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/** fdatasync latency: ~50 µs (NVMe, tmpfs) to a second (a very sick disk). */
const FSYNC_SECONDS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export function createMetrics(sources: MetricsSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const P = 'postline_';

  // A counter whose value lives elsewhere: reset, then set from the source at scrape time.
  const setCounter = <T extends string>(counter: Counter<T>, value: number, labels?: Partial<Record<T, string>>): void => {
    if (labels) counter.inc(labels, value);
    else counter.inc(value);
  };
  // The unlabelled ones, most of them: one value read at scrape time.
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        setCounter(this, read());
      },
    });
  };

  // ---------------------------------------------------------------- connections
  new Gauge({
    name: `${P}listener_up`,
    help: 'Whether the listener is accepting connections (1) or not (0).',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const l of sources.listeners()) this.set({ protocol: l.protocol }, l.up ? 1 : 0);
    },
  });
  new Gauge({
    name: `${P}connections_open`,
    help: 'Connections admitted and not yet closed, by listener.',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const l of sources.listeners()) this.set({ protocol: l.protocol }, l.open);
    },
  });
  new Counter({
    name: `${P}connections_accepted_total`,
    help: 'TCP connections accepted by listener (including those then refused by connection limits).',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const l of sources.listeners()) setCounter(this, l.accepted, { protocol: l.protocol });
    },
  });
  new Counter({
    name: `${P}connections_refused_total`,
    help: 'Connections refused by limits.maxConnections / maxConnectionsPerIp, by listener.',
    labelNames: ['protocol'],
    registers,
    collect() {
      this.reset();
      for (const l of sources.listeners()) setCounter(this, l.refused, { protocol: l.protocol });
    },
  });

  // ---------------------------------------------------------------- mail flow
  new Counter({
    name: `${P}messages_accepted_total`,
    help: 'Messages accepted over SMTP (250 after DATA/BDAT), by destination: local mailboxes, the outbound queue, or both (mixed).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      const c = sources.intake();
      setCounter(this, c.local, { kind: 'local' });
      setCounter(this, c.queued, { kind: 'queued' });
      setCounter(this, c.mixed, { kind: 'mixed' });
    },
  });
  const outcome = (name: string, help: string, pick: (o: OutcomeCounts) => number): void => counter(`${P}${name}`, help, () => pick(sources.outcomes()));
  outcome('recipients_delivered_total', 'Queued recipients delivered to the next hop (remote 250 or webhook 2xx).', (o) => o.delivered);
  outcome('recipients_deferred_total', 'Delivery attempts that ended temporarily for a recipient (will be retried).', (o) => o.deferred);
  outcome('recipients_bounced_total', 'Queued recipients given up on (permanent failure or maxQueueLifetime); a DSN went to the sender.', (o) => o.bounced);
  new Counter({
    name: `${P}deferrals_total`,
    help: 'Deferred recipients by RFC 3463 enhanced status code (e.g. 4.4.1 = no answer from host).',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      for (const [status, n] of capLabels(sources.outcomes().deferredByStatus, MAX_STATUS_LABELS, (n) => n, (a, b) => a + b)) setCounter(this, n, { status });
    },
  });

  // ---------------------------------------------------------------- queue
  // One pass over the queue per scrape, shared by the three gauges below (render() clears it).
  let snapshot: { at: number; messages: number; byDomain: Map<string, { depth: number; oldest: number }> } | null = null;
  const queueSnapshot = (): NonNullable<typeof snapshot> => {
    if (snapshot) return snapshot;
    const byDomain = new Map<string, { depth: number; oldest: number }>();
    let messages = 0;
    for (const item of sources.queueItems()) {
      if (item.pending.length === 0) continue;
      messages++;
      const domains = new Set(item.pending.map((r) => r.slice(r.lastIndexOf('@') + 1).toLowerCase()));
      for (const d of domains) {
        const entry = byDomain.get(d);
        if (entry) {
          entry.depth++;
          entry.oldest = Math.min(entry.oldest, item.arrived);
        } else byDomain.set(d, { depth: 1, oldest: item.arrived });
      }
    }
    const capped = capLabels(byDomain, MAX_DOMAIN_LABELS, (e) => e.depth, (a, b) => ({ depth: a.depth + b.depth, oldest: Math.min(a.oldest, b.oldest) }));
    snapshot = { at: sources.now(), messages, byDomain: capped };
    return snapshot;
  };
  gauge(`${P}queue_messages`, 'Messages in the outbound queue with recipients still pending.', () => queueSnapshot().messages);
  new Gauge({
    name: `${P}queue_depth`,
    help: 'Queued messages with a pending recipient at the destination domain (the largest domains; the rest summed as "other").',
    labelNames: ['domain'],
    registers,
    collect() {
      this.reset();
      for (const [domain, e] of queueSnapshot().byDomain) this.set({ domain }, e.depth);
    },
  });
  new Gauge({
    name: `${P}queue_oldest_age_seconds`,
    help: 'Age of the oldest queued message per destination domain (same domains as postline_queue_depth).',
    labelNames: ['domain'],
    registers,
    collect() {
      this.reset();
      const { byDomain, at } = queueSnapshot();
      for (const [domain, e] of byDomain) this.set({ domain }, Math.max(0, (at - e.oldest) / 1000));
    },
  });

  // ---------------------------------------------------------------- store
  const store = (name: string, help: string, pick: (s: StoreCounts) => number): void => gauge(`${P}${name}`, help, () => pick(sources.store()));
  store('store_bytes', 'Bytes in the log segments on disk.', (s) => s.logBytes);
  store('store_segments', 'Log segment files.', (s) => s.segments);
  store('store_messages', 'Messages in all mailboxes.', (s) => s.messages);
  gauge(`${P}store_writable`, 'Whether the store takes writes (0 after a failed write or fsync, until restart).', () => (sources.storeWriteFailure() === null ? 1 : 0));
  counter(`${P}store_appends_total`, 'Records appended to the log.', () => sources.store().appends);
  counter(`${P}store_fsyncs_total`, 'fdatasync calls on the log (group commit: one per batch of records).', () => sources.store().fsyncs);
  const fsyncRecords = new Histogram({
    name: `${P}store_fsync_batch_records`,
    help: 'Records acknowledged by one fsync (group commit batch size).',
    buckets: FSYNC_RECORD_BUCKETS,
    registers,
  });
  const fsyncSeconds = new Histogram({
    name: `${P}store_fsync_duration_seconds`,
    help: 'Time one fdatasync of the log took.',
    buckets: FSYNC_SECONDS_BUCKETS,
    registers,
  });
  const unobserve = sources.observeFsync((records, seconds) => {
    fsyncRecords.observe(records);
    fsyncSeconds.observe(seconds);
  });

  // ---------------------------------------------------------------- worker pool
  const poolSource = sources.pool;
  if (poolSource) {
    gauge(`${P}worker_pool_threads`, 'Worker threads in the pool.', () => poolSource().threads);
    gauge(`${P}worker_pool_utilization`, 'Share of the pool capacity spent running tasks since start (0-1, piscina utilization).', () => poolSource().utilization);
    gauge(`${P}worker_pool_queue_size`, 'Tasks waiting for a free worker now.', () => poolSource().queueSize);
    new Gauge({
      name: `${P}worker_pool_wait_seconds`,
      help: 'Time tasks waited for a worker since start (piscina waitTime summary; quantile="1" is the maximum).',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.reset();
        const w = poolSource().waitTimeMs;
        if (!w) return;
        this.set({ quantile: '0.5' }, w.p50 / 1000);
        this.set({ quantile: '0.9' }, w.p90 / 1000);
        this.set({ quantile: '0.99' }, w.p99 / 1000);
        this.set({ quantile: '1' }, w.max / 1000);
      },
    });
  }

  // ---------------------------------------------------------------- DNS cache
  const dnsSource = sources.dns;
  if (dnsSource) {
    const dnsCounter = (name: string, help: string, pick: (d: DnsCounts) => number): void => counter(`${P}${name}`, help, () => pick(dnsSource()));
    dnsCounter('dns_cache_hits_total', 'DNS lookups answered from the cache.', (d) => d.hits);
    dnsCounter('dns_cache_misses_total', 'DNS lookups not in the cache (each started or joined an upstream query).', (d) => d.misses);
    dnsCounter('dns_queries_total', 'Upstream DNS queries sent.', (d) => d.queries);
    gauge(`${P}dns_cache_hit_ratio`, 'hits / (hits + misses) since start (0 before the first lookup).', () => {
      const d = dnsSource();
      return d.hits + d.misses === 0 ? 0 : d.hits / (d.hits + d.misses);
    });
    gauge(`${P}dns_cache_entries`, 'Answers held in the DNS cache.', () => dnsSource().entries);
  }

  // ---------------------------------------------------------------- process
  // The conventional client-library names (no postline_ prefix), so stock
  // dashboards work. prom-client's collectDefaultMetrics is not used: it
  // installs a GC observer per registry that is never removed.
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage().rss);
  gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.', () => process.memoryUsage().heapUsed);
  counter('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', () => {
    const cpu = process.cpuUsage();
    return (cpu.user + cpu.system) / 1e6;
  });
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', () => startTime);

  return {
    contentType: registry.contentType,
    render: () => {
      snapshot = null;
      return registry.metrics();
    },
    close: () => {
      unobserve();
      registry.clear();
    },
  };
}

/**
 * At most `max` labels: the largest entries (by `rank`) as they are, the rest
 * merged under "other" (together with a real "other" key, should one exist).
 */
function capLabels<V>(values: ReadonlyMap<string, V>, max: number, rank: (v: V) => number, merge: (a: V, b: V) => V): Map<string, V> {
  if (values.size <= max) return new Map(values);
  const sorted = [...values].filter(([k]) => k !== OTHER).sort((a, b) => rank(b[1]) - rank(a[1]) || (a[0] < b[0] ? -1 : 1));
  const kept = new Map(sorted.slice(0, max - 1));
  let rest = values.get(OTHER);
  for (const [, v] of sorted.slice(max - 1)) rest = rest === undefined ? v : merge(rest, v);
  if (rest !== undefined) kept.set(OTHER, rest);
  return kept;
}
