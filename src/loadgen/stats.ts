/**
 * What every load generator reports, and the few helpers they share:
 * latencies in a preallocated Float64Array, errors counted by key, nearest-rank
 * percentiles, and the progress ticker (counters read on a timer, so the hot
 * path only ever increments numbers).
 *
 * src/loadgen is a standalone client layer: it imports nothing from the
 * server (only node: modules), so `postline bench` and bench/ measure any
 * server the same way.
 */

/** The summary of one run; `postline bench --json` prints these fields. */
export interface LoadResult {
  /** Messages accepted (SMTP 250 after the data) or retrieved (IMAP FETCH, POP3 RETR). */
  ok: number;
  /** Failed operations: a refused transaction, a failed command, a dropped connection or login. */
  failed: number;
  seconds: number;
  /** ok / seconds. */
  rate: number;
  /** Message bytes of the ok messages (as sent, or as the server holds them for POP3/IMAP). */
  bytes: number;
  /** bytes / seconds / 1,048,576 (binary MB, as sizes everywhere in postline). */
  mbPerSec: number;
  /** Latency percentiles in ms (nearest rank); NaN when nothing succeeded (JSON null). */
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Failures by key: a reply code ("550", "-ERR", "NO", "BAD"), a socket error code ("ECONNREFUSED"), "closed" or "timeout". */
  errors: Record<string, number>;
  /** The first failure in words (a server reply line or an error message), for the one-line report when nothing worked. */
  firstError: string | null;
  /**
   * CPU time (user + system, all threads) this process spent during the run:
   * near `seconds` means the client, not the server, may have set the pace.
   */
  cpuSeconds: number;
}

/**
 * net `onread` options for a client connection: reads land in one reused
 * 64 KB buffer and reach `feed` as a view that is valid only during the
 * call (feed copies whatever it keeps). A bulk read is ~40 MB, and a fresh
 * buffer per 'data' event was most of a client's garbage.
 */
export function reusedReadBuffer(feed: (chunk: Buffer) => void): { buffer: Buffer; callback: (n: number, buf: Uint8Array) => boolean } {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  return { buffer, callback: (n) => (feed(buffer.subarray(0, n)), true) };
}

/** A failure with the key it is counted under. */
export class LoadError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'LoadError';
  }
}

/**
 * The target could not be reached at all (no connection ever succeeded):
 * the run stops instead of counting the same refusal N times.
 */
export class UnreachableError extends Error {
  constructor(
    readonly target: string,
    readonly key: string,
  ) {
    super(`cannot connect to ${target} (${key})`);
    this.name = 'UnreachableError';
  }
}

/** HOST:PORT, with an IPv6 host in brackets. */
export function formatTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Opens the sessions' connections for a run and tells a target that is not
 * there at all (no connection ever made: the run stops with one
 * UnreachableError) from a failure worth counting in the tally.
 */
export class Connector {
  readonly target: string;
  unreachable: UnreachableError | null = null;
  private everConnected = false;

  constructor(
    host: string,
    port: number,
    private readonly tally: Tally,
  ) {
    this.target = formatTarget(host, port);
  }

  /** The opened connection, or null when opening failed (counted or remembered as unreachable). */
  async open<C>(open: () => Promise<C>): Promise<C | null> {
    try {
      const conn = await open();
      this.everConnected = true;
      return conn;
    } catch (err) {
      const socketLevel = !(err instanceof LoadError) || err.key === 'timeout';
      if (!this.everConnected && socketLevel) this.unreachable ??= new UnreachableError(this.target, errorKey(err));
      else this.tally.fail(errorKey(err), (err as Error).message);
      return null;
    }
  }

  /** After the run: nothing was done because nothing could be reached. */
  throwIfUnreachable(): void {
    if (this.unreachable !== null && this.tally.ok === 0 && this.tally.failed === 0) throw this.unreachable;
  }
}

/** The key a thrown error is counted under. */
export function errorKey(err: unknown): string {
  if (err instanceof LoadError) return err.key;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return 'error';
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const i = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return sorted[i]!;
}

/** Latencies of successful operations, in a buffer sized once (or grown by doubling when the count is not known). */
export class Latencies {
  private values: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(Math.max(16, capacity));
  }

  add(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  /** Sorts in place and returns p50/p95/p99 (NaN when empty). */
  percentiles(): { p50Ms: number; p95Ms: number; p99Ms: number } {
    const sorted = this.values.subarray(0, this.count).sort();
    return { p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), p99Ms: percentile(sorted, 99) };
  }
}

/** Counters shared by the sessions of one run. */
export class Tally {
  ok = 0;
  failed = 0;
  bytes = 0;
  readonly errors: Record<string, number> = {};
  firstError: string | null = null;
  readonly latencies: Latencies;
  private readonly cpuAtStart = process.cpuUsage();

  constructor(expected: number) {
    this.latencies = new Latencies(expected);
  }

  fail(key: string, text?: string): void {
    this.failed++;
    this.errors[key] = (this.errors[key] ?? 0) + 1;
    this.firstError ??= text ?? key;
  }

  result(seconds: number): LoadResult {
    return {
      ok: this.ok,
      failed: this.failed,
      seconds,
      rate: seconds > 0 ? this.ok / seconds : 0,
      bytes: this.bytes,
      mbPerSec: seconds > 0 ? this.bytes / seconds / 1048576 : 0,
      ...this.latencies.percentiles(),
      errors: { ...this.errors },
      firstError: this.firstError,
      cpuSeconds: cpuSince(this.cpuAtStart),
    };
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

// ---------------------------------------------------------------- progress

export interface Progress {
  /** ok + failed so far. */
  done: number;
  ok: number;
  failed: number;
  /** What the run will do in all; 0 while not yet known (IMAP/POP3 before the first SELECT/STAT). */
  total: number;
  elapsedMs: number;
}

export type ProgressListener = (p: Progress) => void;

/** How often progress is reported: at most 10 times a second. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * One timer per run: calls `tick` every intervalMs (progress, and the
 * generators' stall checks). Unref'd: it never keeps a finished run alive.
 */
export class Ticker {
  private readonly timer: ReturnType<typeof setInterval>;
  private ticks = 0;

  constructor(intervalMs: number, tick: (n: number) => void) {
    this.timer = setInterval(() => tick(++this.ticks), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Default: a connection with no reply for this long is dropped and counted as "timeout". */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Stall detection without a timer per socket (a socket timeout re-arms on
 * every read and write): a connection bumps an activity counter when bytes
 * arrive; check() runs once a second and says whether the counter has not
 * moved for timeoutMs while the connection was waiting for the server.
 */
export class StallCheck {
  private seen = -1;
  private wasWaiting = false;
  private stalledMs = 0;

  /**
   * periodMs since the last call; true once `activity` did not move for
   * timeoutMs while `waiting` (counted only between two waiting checks, so it
   * fires after timeoutMs at the earliest, one period later at the latest).
   */
  check(activity: number, waiting: boolean, periodMs: number, timeoutMs: number): boolean {
    const counted = waiting && this.wasWaiting && activity === this.seen;
    this.seen = activity;
    this.wasWaiting = waiting;
    this.stalledMs = counted ? this.stalledMs + periodMs : 0;
    return this.stalledMs >= timeoutMs;
  }
}

/** What runSessions needs of a connection: its activity counter, whether it waits for the server, and a way to drop it. */
export interface WatchedConnection {
  readonly activity: number;
  readonly busy: boolean;
  destroy(err?: Error): void;
}

/**
 * Runs every session (`session(i)` for each slot of `conns`) with one
 * ticker: progress every PROGRESS_INTERVAL_MS when someone listens, and once
 * a second a stall check that drops a connection silent for timeoutMs.
 * Returns the elapsed seconds; the final progress report is the caller's.
 */
export async function runSessions(o: {
  conns: readonly (WatchedConnection | null)[];
  session: (i: number) => Promise<void>;
  progress: (elapsedMs: number) => void;
  reportProgress: boolean;
  timeoutMs: number;
}): Promise<number> {
  const stalls = o.conns.map(() => new StallCheck());
  const started = performance.now();
  const interval = o.reportProgress ? PROGRESS_INTERVAL_MS : 1000;
  const ticker = new Ticker(interval, (n) => {
    o.progress(performance.now() - started);
    if ((n * interval) % 1000 !== 0) return;
    o.conns.forEach((c, i) => {
      if (c !== null && stalls[i]!.check(c.activity, c.busy, 1000, o.timeoutMs)) c.destroy(new LoadError('timeout', `no reply within ${o.timeoutMs / 1000} s`));
    });
  });
  try {
    await Promise.all(o.conns.map((_, i) => o.session(i)));
  } finally {
    ticker.stop();
  }
  return (performance.now() - started) / 1000;
}
