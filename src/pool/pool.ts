/**
 * The worker pool (piscina) behind a typed `run(task, input)`.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { TaskMap, TaskName } from './tasks.js';

/**
 * Workers load workers/tasks.js with import(), not require(). On Node 20.19+
 * piscina's require() of that ES module aborts the whole process (V8 FATAL
 * "IsGraphAsync must be used on an instantiated module") when the worker is
 * terminated while the module loads, i.e. a pool destroyed right after it was
 * made (store-full.test.js died so in CI). Reproduced with 150 rounds of four
 * pools, each destroyed 0–400 ms after it was made: 3 of 4 runs aborted,
 * 0 of 10 with this flag. Where the flag is unknown (older Node, Bun) the
 * workers inherit the parent's options as before.
 */
const WORKER_EXEC_ARGV = process.allowedNodeEnvironmentFlags?.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : undefined;

export interface PoolOptions {
  threads: number | 'auto';
}

export class WorkerPool {
  private readonly piscina: Piscina;
  readonly threads: number;

  constructor(options: PoolOptions) {
    // 'auto' = one worker per core. Callers decide how many to keep busy: the
    // log runs a second encode at once only for batches of big messages,
    // because small-message work is bound by the main thread (see docs/decisions.md).
    this.threads = options.threads === 'auto' ? Math.max(1, availableParallelism()) : options.threads;
    this.piscina = new Piscina({
      filename: new URL('../../workers/tasks.js', import.meta.url).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: 60_000,
      execArgv: WORKER_EXEC_ARGV,
    });
  }

  run<K extends TaskName>(task: K, input: TaskMap[K]['input'], transfer?: ArrayBufferLike[]): Promise<TaskMap[K]['output']> {
    // piscina's transferList type is loose; ArrayBuffers are what we move.
    return this.piscina.run(input, { name: task, transferList: transfer as never });
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** How long tasks waited for a worker since start, in ms (piscina's histogram summary); null before any. */
  get waitTime(): { p50: number; p90: number; p99: number; max: number; mean: number } | null {
    // piscina types this as any; the fields are its HistogramSummary's.
    const w = this.piscina.waitTime as { p50: number; p90: number; p99: number; max: number; mean: number } | null;
    return w ? { p50: w.p50, p90: w.p90, p99: w.p99, max: w.max, mean: w.mean } : null;
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
