/**
 * Shared benchmark plumbing: the environment header, a tinybench wrapper that
 * checks a function's output before timing it, a plain-text table, and the
 * results object that `--json` writes and `--compare` reads.
 *
 * A figure without the machine it was measured on is not worth keeping, so
 * the environment is printed first and stored with the figures.
 */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Bench } from 'tinybench';

export interface Environment {
  cpu: string;
  cores: number;
  memoryBytes: number;
  os: string;
  runtime: string; // "node v20.20.2" or "bun 1.4.5 (node v22...)"
  date: string; // ISO 8601
  command: string;
  commit: string | null; // git HEAD, when run from a checkout
}

export interface Figure {
  value: number;
  unit: string;
  higherIsBetter: boolean;
}

/** What `--json` writes; a file in this shape is also a `--compare` baseline. */
export interface Results {
  environment: Environment | null;
  figures: Record<string, Figure>;
}

/** A benchmark module's view of the run (bench/run.ts builds it). */
export interface BenchContext {
  /** `--quick`: small sizes and short timings, for smoke runs and CI. */
  quick: boolean;
  /** Arguments after `--` on the command line, for the module to interpret. */
  args: readonly string[];
  recordResult: typeof recordResult;
  /** runMicro with the timings that suit this run (short under --quick). */
  runMicro: (name: string, tasks: readonly MicroTask[]) => Promise<MicroRow[]>;
}

const results: Results = { environment: null, figures: {} };

export function environment(): Environment {
  const cpus = os.cpus();
  const bun = process.versions['bun'];
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    runtime: bun ? `bun ${bun} (node ${process.version})` : `node ${process.version}`,
    date: new Date().toISOString(),
    command: commandLine(),
    commit: gitHead(),
  };
}

/** Prints the environment header and records it with the results. */
export function printEnvironment(print: (line: string) => void = console.log): Environment {
  const env = environment();
  results.environment = env;
  print(`# postline benchmarks`);
  print(`cpu      ${env.cpu} (${env.cores} cores)`);
  print(`memory   ${(env.memoryBytes / 2 ** 30).toFixed(1)} GiB`);
  print(`os       ${env.os}`);
  print(`runtime  ${env.runtime}`);
  print(`date     ${env.date}`);
  print(`commit   ${env.commit ?? 'unknown'}`);
  print(`command  ${env.command}`);
  return env;
}

/**
 * Records one figure under a stable name (convention: `module/what`, e.g.
 * `store/append 4KB fsync=batch`). Units ending in `/s` count as
 * higher-is-better, anything else (ms, bytes, ...) as lower-is-better,
 * unless said otherwise.
 */
export function recordResult(name: string, value: number, unit: string, higherIsBetter: boolean = unit.endsWith('/s')): void {
  if (!Number.isFinite(value)) throw new RangeError(`${name}: figure must be a finite number, got ${value}`);
  results.figures[name] = { value, unit, higherIsBetter };
}

/** A deep copy of what has been recorded so far. */
export function getResults(): Results {
  return structuredClone(results);
}

export function writeResults(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
}

// ---------------------------------------------------------------- micro benchmarks

export interface MicroTask {
  name: string;
  fn: () => unknown;
  /**
   * Called once with fn's (awaited) output before anything is timed; throw
   * (node:assert) if it is wrong. A fast function that returns the wrong
   * answer is not a result. Method syntax so a check may narrow its
   * parameter, e.g. `check(out: Buffer) { ... }`.
   */
  check?(output: unknown): void | Promise<void>;
}

export interface MicroOptions {
  /** Milliseconds of measurement per task (tinybench default 1000). */
  time?: number;
  warmupTime?: number;
  /** Minimum samples per task, however long they take. */
  iterations?: number;
}

export const QUICK_MICRO: MicroOptions = { time: 100, warmupTime: 20, iterations: 10 };

export interface MicroRow {
  task: string;
  opsPerSec: number;
  meanMs: number;
  p99Ms: number;
  rmePct: number;
  samples: number;
}

/**
 * Checks every task, then times them with tinybench, prints a table and
 * records each task's ops/s as the figure `${name}/${task.name}`.
 */
export async function runMicro(name: string, tasks: readonly MicroTask[], opts: MicroOptions = {}): Promise<MicroRow[]> {
  for (const task of tasks) {
    try {
      await task.check?.(await task.fn());
    } catch (err) {
      throw new Error(`${name}/${task.name}: output check failed: ${(err as Error).message}`, { cause: err });
    }
  }
  const bench = new Bench({ name, throws: true, time: opts.time ?? 1000, warmupTime: opts.warmupTime ?? 250, iterations: opts.iterations ?? 64 });
  for (const task of tasks) bench.add(task.name, task.fn);
  await bench.run();
  const rows: MicroRow[] = bench.tasks.map((t) => {
    const r = t.result;
    if (!r || r.error || !r.latency) throw new Error(`${name}/${t.name}: no result${r?.error ? `: ${r.error.message}` : ''}`);
    return { task: t.name, opsPerSec: r.throughput.mean, meanMs: r.latency.mean, p99Ms: r.latency.p99 ?? r.latency.max, rmePct: r.latency.rme, samples: r.latency.samples.length };
  });
  for (const row of rows) recordResult(`${name}/${row.task}`, row.opsPerSec, 'ops/s', true);
  console.log(`\n## ${name}\n`);
  console.log(formatTable(rows.map((r) => ({
    task: r.task,
    'ops/s': formatCount(r.opsPerSec),
    mean: formatDuration(r.meanMs),
    p99: formatDuration(r.p99Ms),
    '±': `${r.rmePct.toFixed(1)}%`,
    samples: r.samples,
  }))));
  return rows;
}

// ---------------------------------------------------------------- formatting

/** Aligned plain-text table; the first column is left-aligned, the rest right-aligned (numbers). */
export function formatTable(rows: readonly Record<string, string | number>[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0]!);
  const cells = [columns, ...rows.map((r) => columns.map((c) => String(r[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatDuration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  if (ms >= 0.001) return `${(ms * 1000).toFixed(2)} µs`;
  return `${(ms * 1e6).toFixed(0)} ns`;
}

export function formatCount(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

// ---------------------------------------------------------------- environment details

function commandLine(): string {
  const script = process.argv[1] ? relative(process.cwd(), process.argv[1]) || process.argv[1] : '';
  const words = [basename(process.execPath), ...process.execArgv, script, ...process.argv.slice(2)].filter(Boolean);
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Read-only (`rev-parse` never writes to the repository); null outside a checkout. */
function gitHead(): string | null {
  const r = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() || null : null;
}
